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
# # The boundary atlas: under which conditions does RL extend the base's reach?
#
# **Claim tested:** Under none of the atlas's conditions (RL objective, what is reinforced, difficulty of the RL data, pretraining exposure, prolonged RL, out-of-distribution RL, temperature) does RL extend the base's valid reach at the frontier beyond the rule's margin (luck-free pass@n; 5 points on the main set's frontier problems, 35 on a fresh, independently sampled confirmation panel, the smallest its power allows with two seeds), and no more than a resample of the base gains there.
#
# Each arm changes one thing of the organism's default RL stage and tests one published claim about it
# (`rlboundary.organism.atlas.ARMS`: the claim, its citation and the pre-registered expectation that decides
# "reproduced"). Every arm is trained once per build seed from that seed's base and compared with that base on
# the same evaluation problems; CIs resample seeds, then problems. Parameters: `params/atlas/atlas.yaml`
# (the default organism, 17 arms, two seeds, n = 256, a confirmation panel: `rlboundary report --params atlas`);
# `params/default/atlas.yaml`, the default report's small version (six arms that need no base of their own,
# seed 0 only, n = 64, no confirmation panel: one seed decides little, see the verdict's CIs);
# `params/micro/atlas.yaml` runs the machinery in seconds.

# %% tags=["parameters"]
organism_preset = 'default'
organism_seeds = [0, 1]
n = 256
headline_k = 256
bootstrap = 2000
arms = ['grpo', 'dr_grpo', 'rloo', 'reinforce_pp', 'psr', 'nsr', 'passk4', 'valid-reward', 'rl-below', 'rl-at',
        'rl-beyond', 'exposure-0', 'exposure-1', 'exposure-10', 'prolonged', 'ood-plus', 'temperature-1.0']
confirmation_panel = 32
confirmation_draw = 3

# %%
from rlboundary import plots, report
from rlboundary.organism import atlas_results
from rlboundary.params import notebook_params

params = notebook_params("atlas", globals())  # validates the cell above (types, allowed values)
plots.set_style()
study = atlas_results.atlas_study(params)  # runs the units not stored yet (rlboundary organism atlas runs them ahead)

# %% [markdown]
# ## The phase diagram: arms × levels
# Colour: Δ luck-free pass@n (arm − its base, n = the largest k), mean over seeds and problems; a dot where the
# CI over seeds and problems excludes 0. The out-of-distribution arm is shown on the problems outside its RL part.

# %%
fig = plots.atlas_grid(study["grid"], study["n"], title="Δ luck-free pass@n vs the base, per arm and level")
plots.save_figure(fig, "atlas_grid")

# %% [markdown]
# The cells with a dot, in numbers:

# %%
study["grid"][study["grid"]["excludes_0"]].round(3)

# %% [markdown]
# ## Each arm's claim: reproduced or not (computed from the CIs at the frontier)
# `verdict`: the organism's pre-registered rule (extends / narrows / no change detected);
# `reproduced`: every expectation of the arm met (see `expected`), "not reproduced" if any is contradicted.
# `gain_bound` / `loss_bound`: exact upper bounds on the share of the `pairs` (seed, problem) where the arm
# gains / loses reach; a "no gain" or "no loss" statement needs them below the 0.05 margin as well as the CI.
# `verdict_familywise`: the same rule with CIs at 1 - 0.05 / (number of arms) (Bonferroni), which is what
# "k of the arms extend reach" is counted with.

# %%
study["claims"][["arm", "family", "claim", "citation", "expected", "frontier", "d_lf_pass_at_1", "d_lf_pass_at_1_lo",
                 "d_lf_pass_at_1_hi", "d_lf_pass_at_n", "d_lf_pass_at_n_lo", "d_lf_pass_at_n_hi", "pairs",
                 "gain_bound", "loss_bound", "verdict", "verdict_familywise", "expectations", "reproduced"]].round(3)

# %% [markdown]
# ## The confirmation panel: each arm on fresh frontier problems (the session-14 amendment)
# Written before any of its samples (README, "Atlas confirmation amendment"): per arm and seed,
# `confirmation_panel` fresh evaluation problems at the seed's frontier (the panel stream's draw
# `confirmation_draw`), the base, the arm and a resample of the base (the null) each on its own random stream.
# `statements`: what the numbers establish against the margin: *gain* (CI of Δ above 0), *no gain* (upper ends
# of Δ and of the excess gain share over the null below the margin), *loss*, *no loss* (the mirror images);
# `outcomes`: each expectation met / contradicted / undecided by them; `paper_claim`: the paper's claim for the
# arm (its gain counted with a CI Bonferroni-corrected over the arms). The computed verdict below is taken
# from this table when it is there. Empty: no confirmation panel in these parameters.

# %%
study["confirmation_table"]

# %% [markdown]
# ## Along the way: the frontier Δ at RL checkpoints (prolonged RL)

# %%
fig = plots.atlas_checkpoints(study["checkpoints"], study["n"], title="does the boundary move as training goes on?")
plots.save_figure(fig, "atlas_checkpoints")
study["checkpoints"].round(3)

# %% [markdown]
# ## The bases: luck-free pass@n per level, and each seed's frontier
# Every arm is compared with the base of its own seed; the exposure arms change the base itself (a base of
# their own, pretrained with 0 / ~1 / ~10 % rare longer chains), and the temperature arm samples the base at T = 1.0.

# %%
study["bases"].round(3)

# %% [markdown]
# ## Training-reward curves (mean over seeds; thick: frontier-level prompts)

# %%
fig = plots.reward_curves(study["curves"], window=10, title="RL training reward per arm")
plots.save_figure(fig, "atlas_reward_curves")
study["runs"].round(3)  # per seed: steps, stop reason, mean reward of the first and last 10 steps

# %% [markdown]
# ## Cost: the plan's prediction beside the measured time, arm by arm
# `rlboundary plan params/atlas/atlas.yaml` (also printed by `rlboundary organism atlas` before it starts)
# predicts, per arm, from measured stage and sampling times; beside it, the measured wall seconds of the
# units it priced (empty: the plan had nothing to do, or no arm it priced has finished yet).

# %%
study["plan"]

# %% [markdown]
# ## Headline numbers and the computed verdict

# %%
report.record_headlines("atlas", study["headline"], verdict=study["verdict"])
study["headline"]
