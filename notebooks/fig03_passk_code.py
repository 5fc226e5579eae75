# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figures 3-4: pass@k on code, base vs RL
#
# **Claim tested:** On code with executed tests, too, the base model's pass@k overtakes the RL model's at large k.
#
# The cell tagged `parameters` holds the default study: the embedded model organism, which runs on a CPU
# (`params/default/fig03_passk_code.yaml`). Other parameter sets: `params/paper/fig03_passk_code.yaml` (the paper's models and scale,
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
from rlboundary import figures, plots, report
from rlboundary.params import notebook_params

params = notebook_params("fig03_passk_code", globals())  # validates the cell above (types, allowed values)
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
# dotted line: the crossover k, the smallest k at which the base model's pass@k reaches the RL model's.

# %%
fig = plots.passk_curves(study.curves, figures.roles(params), study.comparisons, title="pass@k on code (executed tests), base vs RL")
plots.save_figure(fig, "passk_curves")

# %% [markdown]
# ## Crossover k and sampling-efficiency gap
# ΔSE = base pass@k (k = `headline_k`, clipped to n) − RL pass@1, with its paired bootstrap CI.

# %%
study.comparisons

# %% [markdown]
# ## Headline numbers

# %%
report.record_headlines("fig03_passk_code", study.headline)
study.headline
