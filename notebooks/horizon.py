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
# # Long-horizon reasoning
#
# **Claim tested:** At the largest k fitted, the base model's 50 % horizon (steps solved half the way from chance to certainty) is longer than the RL model's: RL does not extend the reach of sampling to longer problems.
#
# The cell tagged `parameters` holds the default study: the embedded model organism, which runs on a CPU
# (`params/default/horizon.yaml`). Other parameter sets: `params/paper/horizon.yaml` (the paper's models and scale,
# GPUs) and `params/micro/horizon.yaml` (CI). Run them with `rlboundary report --params paper --only horizon`
# or `papermill notebooks/horizon.ipynb out.ipynb -f params/paper/horizon.yaml`.

# %% tags=["parameters"]
models = [
    {'name': 'base', 'path': 'organism:base', 'role': 'base', 'template': 'raw'},
    {'name': 'rl-grpo', 'path': 'organism:rl-grpo', 'role': 'rl', 'template': 'raw'},
]
benchmarks = ['organism']
limit = None
n = 256
headline_k = 256
temperature = 0.6
top_p = 0.95
max_tokens = 96
seeds = [0]
backend = 'vllm'
organism_preset = 'default'
organism_seed = 0
bootstrap = 1000
horizon_ks = [1, 8]
horizon_chance = 0.1

# %%
from rlboundary import figures, plots, report, verdicts
from rlboundary.params import notebook_params

params = notebook_params("horizon", globals())  # validates the cell above (types, allowed values)
plots.set_style()

# %% [markdown]
# ## Panel: pass@k against the number of reasoning steps, with the fitted 50 % horizon
# Points: mean pass@k of the problems with that many steps (bootstrap CIs); curves: a logistic fit over
# problems that decays to the chance floor 1 − (1 − `horizon_chance`)^k (grey dashed: what guessing alone scores);
# dotted lines: the 50 % horizon (halfway between the floor and 1) where it lies inside the range of steps tried.

# %%
study = figures.horizon_study(params)
fig = plots.horizon_curves(study.points, study.fits, figures.roles(params), title="success vs reasoning horizon")
plots.save_figure(fig, "horizon")

# %% [markdown]
# ## Fits
# `floor`: the chance floor at that k; `extrapolated` = the 50 % point lies outside the steps tried (beyond them when
# success stays above the halfway point between the floor and 1 at every length tried).

# %%
study.fits

# %% [markdown]
# ## Base against RL: horizon differences
# base − RL 50 % horizon at each k, with a paired bootstrap CI (the same resampled problems for both fits).

# %%
study.comparisons

# %% [markdown]
# ## Verdict
# At the largest k fitted, is the base model's horizon longer than the RL model's?
# The rule (its text is printed below the verdict) is `rlboundary.verdicts.base_horizon_longer`, written before any
# result was seen; the verdict follows from the numbers above, whichever way they fall.

# %%
verdict = verdicts.base_horizon_longer(study.comparisons)
verdict

# %% [markdown]
# ## Headline numbers

# %%
report.record_headlines("horizon", study.headline, verdict=verdict)
study.headline
