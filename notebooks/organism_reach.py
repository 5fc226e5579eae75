# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The organism: does RL extend valid reach? (pre-registered rule)
#
# **Claim tested:** RL does not extend the base model's valid reach: at the frontier level an RL model solves, with a fully valid trace, no more problems than its base beyond the rule's equivalence margin (luck-free pass@n; 5 points on the frontier endpoint, 30 on a fresh, independently sampled confirmation panel, the smallest its power allows), and no more than a resample of the base gains there.
#
# The frontier is the level where the base's luck-free pass@n on training problems is partial (or nearest to it). Decided by the rule pre-registered in the README
# (`rlboundary.organism.reach`); RFT and both distillations are judged by the same rule as controls.
#
# Only the organism can ask this without lucky guesses: a sample counts when its answer is right AND every
# step checks. Each seed is a separate build (its own base, frontier, RL, controls); CIs resample seeds,
# then problems. Parameters: `params/default/organism_reach.yaml` (one seed, n = 64, for the report's budget;
# `sample_source: study`, the samples of the report's pass@k and distillation notebooks, read from the run
# store); `params/organism3/organism_reach.yaml` (seeds 0, 1, 2 at n = 256, the README's result, sampled and
# cached by `rlboundary organism eval`).
#
# On the confirmation panel the verdict is read as pre-registered: the stronger teacher (positive control)
# must come out "contradicted" or the draw is not read; with `confirmation_draws` [1, 2] the first draw
# decides and the second replicates it or turns the verdict to "inconclusive" (`reach.replicated_claim`).

# %% tags=["parameters"]
models = [
    {'name': 'base', 'path': 'organism:base', 'role': 'base', 'template': 'raw'},
    {'name': 'rl-grpo', 'path': 'organism:rl-grpo', 'role': 'rl', 'template': 'raw'},
    {'name': 'rl-rloo', 'path': 'organism:rl-rloo', 'role': 'rl', 'template': 'raw'},
    {'name': 'rft', 'path': 'organism:rft', 'role': 'rft', 'template': 'raw'},
    {'name': 'distilled-matched', 'path': 'organism:distilled-matched', 'role': 'distilled', 'template': 'raw'},
    {'name': 'distilled', 'path': 'organism:distilled', 'role': 'distilled', 'template': 'raw'},
]
benchmarks = ['organism']
n = 64
headline_k = 64
organism_preset = 'default'
organism_seeds = [0]
frontier_panel = 0
confirmation_panel = 0
confirmation_draws = [1]
sample_source = 'study'
temperature = 0.6
top_p = 0.95
max_tokens = 96
seeds = [0]
organism_seed = 0
bootstrap = 2000

# %%
from rlboundary import plots, report
from rlboundary.organism import reach
from rlboundary.params import notebook_params

params = notebook_params("organism_reach", globals())  # validates the cell above (types, allowed values)
plots.set_style()
study = reach.reach_study(params)

# %% [markdown]
# ## Panel: luck-free pass@1 and pass@n per level
# Yellow: each seed's frontier level; grey: the unseen level (longer than anything any model trained on).

# %%
fig = plots.reach_levels(study["levels"], study["n"], study["frontier"], study["unseen"],
                         title="luck-free reach by level")
plots.save_figure(fig, "organism_reach_levels")

# %% [markdown]
# ## Panel: model minus base at the frontier and unseen levels
# Solid line: no change; dotted: the equivalence margin of the paper's claim (+0.05 at the frontier; on the
# confirmation panel, when sampled, the margin the power simulation set before any of its samples).

# %%
fig = plots.reach_forest(study["reach"], study["n"],
                         margin={"frontier": reach.EQUIVALENCE_MARGIN, "confirmation": reach.CONFIRMATION_MARGIN},
                         title="Δ luck-free pass@n vs the base (CI over seeds and problems)")
plots.save_figure(fig, "organism_reach_forest")

# %% [markdown]
# ## The pre-registered comparison, and the frontier of each build

# %%
study["reach"]

# %%
study["frontier_table"]

# %% [markdown]
# ## Headline numbers and the computed verdict

# %%
report.record_headlines("organism_reach", study["headline"], verdict=study["verdict"])
study["headline"]
