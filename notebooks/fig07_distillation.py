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
# # Figure 7: distillation vs RL
#
# **Claim tested:** Distillation, unlike RL, expands the base model's reach: at the largest k the distilled model's pass@k is above the base's, the RL model's is not.
#
# The cell tagged `parameters` holds the default study: the embedded model organism, which runs on a CPU
# (`params/default/fig07_distillation.yaml`). Other parameter sets: `params/paper/fig07_distillation.yaml` (the paper's models and scale,
# GPUs) and `params/micro/fig07_distillation.yaml` (CI). Run them with `rlboundary report --params paper --only fig07_distillation`
# or `papermill notebooks/fig07_distillation.ipynb out.ipynb -f params/paper/fig07_distillation.yaml`.

# %% tags=["parameters"]
models = [
    {'name': 'base', 'path': 'organism:base', 'role': 'base', 'template': 'raw'},
    {'name': 'instruct', 'path': 'organism:instruct', 'role': 'instruct', 'template': 'raw'},
    {'name': 'rl-grpo', 'path': 'organism:rl-grpo', 'role': 'rl', 'template': 'raw'},
    {'name': 'rft', 'path': 'organism:rft', 'role': 'rft', 'template': 'raw'},
    {'name': 'distilled-matched', 'path': 'organism:distilled-matched', 'role': 'distilled', 'template': 'raw'},
    {'name': 'distilled', 'path': 'organism:distilled', 'role': 'distilled', 'template': 'raw'},
]
benchmarks = ['organism']
limit = None
n = 64
headline_k = 64
temperature = 0.6
top_p = 0.95
max_tokens = 96
seeds = [0]
backend = 'vllm'
organism_preset = 'default'
organism_seed = 0
bootstrap = 1000
distilled_models = ['distilled']

# %%
from rlboundary import figures, plots, report, verdicts
from rlboundary.params import notebook_params

params = notebook_params("fig07_distillation", globals())  # validates the cell above (types, allowed values)
plots.set_style()

# %% [markdown]
# ## Samples and verdicts
# One row per model and benchmark (cached samples and verdicts are read back, not recomputed).

# %%
study = figures.passk_study(params)
figures.run_summary(study.counts)

# %% [markdown]
# ## Panel: pass@k of base, instruct, RL, RFT and distilled models
# If distillation expands the boundary, the distilled curve stays above the base curve at large k,
# while the RL curve meets or falls below it. RFT (SFT on the base's own verified samples) and distillation
# from a teacher whose reach matches the base's are controls: same prompts, no stronger teacher.

# %%
fig = plots.passk_curves(study.curves, figures.roles(params), study.comparisons, title="base, instruct, RL, distilled")
plots.save_figure(fig, "passk_distillation")

# %% [markdown]
# ## Each model against the base: paired difference at the largest k, crossings and ΔSE@k
# `diff_at_k` is base − model pass@k at k_max with its paired bootstrap CI.

# %%
study.comparisons

# %% [markdown]
# ## Verdict
# Is the distilled model's pass@k at the largest k above the base's while the RL model's is not?
# The rule (its text is printed below the verdict) is `rlboundary.verdicts.distillation_expands_unlike_rl`, written before any
# result was seen; the verdict follows from the numbers above, whichever way they fall.

# %%
verdict = verdicts.distillation_expands_unlike_rl(study.comparisons, params.distilled_models)
verdict

# %% [markdown]
# ## Headline numbers

# %%
report.record_headlines("fig07_distillation", study.headline, note=study.note, verdict=verdict)
study.headline
