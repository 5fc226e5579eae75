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
# # Figures 3-4: pass@k on code, base vs RL
#
# **Claim tested:** On code with executed tests, too, the base model's pass@k at the largest k sampled is higher than the RL model's.
#
# The cell tagged `parameters` holds the default study (`params/default/fig03_passk_code.yaml`): it lists no code
# benchmark, since the embedded organism has no code model, so the notebook samples nothing and reports
# "not run: needs a code model". Other parameter sets: `params/paper/fig03_passk_code.yaml` (the paper's models and scale,
# GPUs) and `params/micro/fig03_passk_code.yaml` (CI). Run them with `rlboundary report --params paper --only fig03_passk_code`
# or `papermill notebooks/fig03_passk_code.ipynb out.ipynb -f params/paper/fig03_passk_code.yaml`.

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

# %%
from rlboundary import figures, plots, report, verdicts
from rlboundary.params import notebook_params

params = notebook_params("fig03_passk_code", globals())  # validates the cell above (types, allowed values)
plots.set_style()

# %% [markdown]
# ## Samples and verdicts
# Sampled once and stored (Parquet under `outputs/samples`), graded once (verdicts cached beside them):
# a rerun reads them back. One row per model and benchmark.

# %%
study = figures.code_passk_study(params)  # not run (and says so) without a code benchmark
figures.run_summary(study.counts)

# %% [markdown]
# ## Panel: pass@k against k, base vs RL, one panel per benchmark
# Unbiased pass@k (Chen et al.), averaged over problems; bands: bootstrap CIs over problems;
# dotted line: the first crossing, the smallest k at which the mean base pass@k reaches the RL model's
# (where the curves cross, if they do; the table below gives the k where the paired difference is significant).

# %%
fig = plots.passk_curves(study.curves, figures.roles(params), study.comparisons, title="pass@k on code (executed tests), base vs RL")
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
# ## Verdict
# Is the base model's pass@k above the RL model's at the largest k? Decided from the paired difference and its CI in the table above.
# The rule (its text is printed below the verdict) is `rlboundary.verdicts.base_ahead_at_large_k_on_code`, written before any
# result was seen; the verdict follows from the numbers above, whichever way they fall.

# %%
verdict = verdicts.base_ahead_at_large_k_on_code(study.comparisons, not_run_reason=study.not_run)
verdict

# %% [markdown]
# ## Headline numbers

# %%
report.record_headlines("fig03_passk_code", study.headline, note=study.note, verdict=verdict)
study.headline
