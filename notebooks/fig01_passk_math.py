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
# # Figures 1-2: pass@k on math, base vs RL
#
# **Claim tested:** At the largest k sampled, the base model's pass@k is higher than the RL model's.
#
# The cell tagged `parameters` holds the default study: the embedded model organism, which runs on a CPU
# (`params/default/fig01_passk_math.yaml`). Other parameter sets: `params/paper/fig01_passk_math.yaml` (the paper's models and scale,
# GPUs) and `params/micro/fig01_passk_math.yaml` (CI). Run them with `rlboundary report --params paper --only fig01_passk_math`
# or `papermill notebooks/fig01_passk_math.ipynb out.ipynb -f params/paper/fig01_passk_math.yaml`.

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
graders = []
maj = True

# %%
from rlboundary import figures, plots, report, verdicts
from rlboundary.params import notebook_params

params = notebook_params("fig01_passk_math", globals())  # validates the cell above (types, allowed values)
plots.set_style()

# %% [markdown]
# ## Samples and verdicts
# Sampled once and stored (Parquet under `outputs/samples`), graded once (verdicts cached beside them):
# a rerun reads them back. One row per model and benchmark.

# %%
study = figures.passk_study(params)
figures.run_summary(study.counts)

# %% [markdown]
# ## Panel: pass@k against k, base vs RL, one panel per benchmark
# Unbiased pass@k (Chen et al.), averaged over problems; bands: bootstrap CIs over problems;
# dotted line: the first crossing, the smallest k at which the mean base pass@k reaches the RL model's
# (where the curves cross, if they do; the table below gives the k where the paired difference is significant).
# Dashed with crosses (`maj`): maj@k, the majority answer of k samples — what a user without an oracle
# verifier gets. Hatched (several `graders`): the spread of pass@k between graders.

# %%
fig = plots.passk_curves(study.curves, figures.roles(params), study.comparisons, title="pass@k, base vs RL",
                         grader_curves=study.grader_curves, maj_curves=study.maj_curves)
plots.save_figure(fig, "passk_curves")

# %% [markdown]
# ## Base against RL: paired differences, crossings and ΔSE@k
# `diff_at_k`: base − RL pass@k at k_max (`headline_k` clipped to n) with its paired bootstrap CI;
# `base_ahead_k` / `rl_ahead_k`: the k where that paired difference's CI lies above / below 0;
# `crossover`: the first crossing (mean base ≥ mean RL) and `sign_changes`: how often the mean difference changes sign;
# ΔSE@k = base pass@k − RL pass@1 at k = k_max (the paper's is ΔSE@256; a smaller k is flagged).

# %%
study.comparisons

# %% [markdown]
# Crossing and ΔSE@k under each grader (only with several `graders`): how much the choice of grader moves them.

# %%
study.grader_comparisons

# %% [markdown]
# ## Verdict
# Is the base model's pass@k above the RL model's at the largest k? Decided from the paired difference and its CI in the table above.
# The rule (its text is printed below the verdict) is `rlboundary.verdicts.base_ahead_at_large_k`, written before any
# result was seen; the verdict follows from the numbers above, whichever way they fall.

# %%
verdict = verdicts.base_ahead_at_large_k(study.comparisons)
verdict

# %% [markdown]
# ## Headline numbers

# %%
report.record_headlines("fig01_passk_math", study.headline, note=study.note, verdict=verdict)
study.headline
