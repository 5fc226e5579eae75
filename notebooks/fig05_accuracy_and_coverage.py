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
# # Figure 5 and the coverage table
#
# **Claim tested:** The problems RL solves are (nearly) a subset of the base model's: few of the problems RL solves at n samples go unsolved by the base at the same n.
#
# The cell tagged `parameters` holds the default study: the embedded model organism, which runs on a CPU
# (`params/default/fig05_accuracy_and_coverage.yaml`). Other parameter sets: `params/paper/fig05_accuracy_and_coverage.yaml` (the paper's models and scale,
# GPUs) and `params/micro/fig05_accuracy_and_coverage.yaml` (CI). Run them with `rlboundary report --params paper --only fig05_accuracy_and_coverage`
# or `papermill notebooks/fig05_accuracy_and_coverage.ipynb out.ipynb -f params/paper/fig05_accuracy_and_coverage.yaml`.

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
base_model = 'base'
rl_model = 'rl-grpo'

# %%
from rlboundary import explore, figures, plots, report, verdicts
from rlboundary.params import notebook_params

params = notebook_params("fig05_accuracy_and_coverage", globals())  # validates the cell above (types, allowed values)
plots.set_style()

# %% [markdown]
# ## Panel: per-problem accuracy histogram
# Accuracy c/n of each problem in the paper's bins: exactly 0, (0, 0.1], …, (0.9, 1), exactly 1.
# If RL sharpens the base model's distribution, mass moves towards 1 and towards 0 at once.

# %%
study = figures.accuracy_and_coverage(params)
fig = plots.accuracy_histogram(study.histogram, figures.roles(params), title="per-problem accuracy")
plots.save_figure(fig, "accuracy_histogram")

# %% [markdown]
# ## Panel: which problems each model solves at least once in n samples (both at the same n)
# If RL only narrows the base model's distribution, "RL only" is (nearly) empty.

# %%
fig = plots.coverage_bars(study.coverage, title="solvable problems")
plots.save_figure(fig, "coverage")

# %% [markdown]
# ## The coverage table, with problem ids

# %%
plots.coverage_table(study.coverage)

# %% [markdown]
# Every problem behind this table, with its samples: [problems.html](problems.html)
# (only the [base-only problems](problems.html#coverage=base_only), the [RL-only ones](problems.html#coverage=rl_only)),
# next to this page in the published report. In JupyterLab, the same table is `explore.problems(params)` (last cells).

# %% [markdown]
# ## Verdict
# How many of the problems RL solves does the base model never solve at the same n? An exact (Clopper–Pearson) interval on that share.
# The rule (its text is printed below the verdict) is `rlboundary.verdicts.rl_solves_nearly_a_subset`, written before any
# result was seen; the verdict follows from the numbers above, whichever way they fall.

# %%
verdict = verdicts.rl_solves_nearly_a_subset(study.coverage, ci=params.ci_level)
verdict

# %% [markdown]
# ## Headline numbers

# %%
report.record_headlines("fig05_accuracy_and_coverage", study.headline, verdict=verdict)
study.headline

# %% [markdown]
# ## Case studies: base-only problems, computed
# The paper's appendix shows hand-picked problems the base model solves and the RL model does not. Here they are
# picked by a rule stated with them: the base model's correct sample beside the RL model's most common answer.

# %%
problems = explore.problems(params)
explore.case_studies()

# %% [markdown]
# ## Explore the problems yourself
# `explore.problems(params)` is the table of problems.html as a DataFrame (one row per problem: pass rates, pass@k,
# coverage set); `explore.samples(problem_id, model)` gives one problem's samples with their texts and verdicts.

# %%
base, rl = figures.base_and_rl(params)
explore.samples(problems["problem_id"].iloc[0], rl).head()
