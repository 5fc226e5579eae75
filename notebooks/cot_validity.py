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
# # Chain-of-thought validity
#
# **Claim tested:** Correct answers at low pass rates are mostly backed by valid reasoning, not lucky guesses.
#
# The cell tagged `parameters` holds the default study: the embedded model organism, which runs on a CPU
# (`params/default/cot_validity.yaml`). Other parameter sets: `params/paper/cot_validity.yaml` (the paper's models and scale,
# GPUs) and `params/micro/cot_validity.yaml` (CI). Run them with `rlboundary report --params paper --only cot_validity`
# or `papermill notebooks/cot_validity.ipynb out.ipynb -f params/paper/cot_validity.yaml`.

# %% tags=["parameters"]
models = [
    {'name': 'base', 'path': 'organism:base', 'role': 'base', 'template': 'raw'},
    {'name': 'rl-grpo', 'path': 'organism:rl-grpo', 'role': 'rl', 'template': 'raw'},
    {'name': 'instruct', 'path': 'organism:instruct', 'role': 'instruct', 'template': 'raw'},
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
pass_rate_bins = [0.0, 0.05, 0.2, 0.5, 0.8, 1.0]

# %%
from rlboundary import figures, plots, report, verdicts
from rlboundary.params import notebook_params

params = notebook_params("cot_validity", globals())  # validates the cell above (types, allowed values)
plots.set_style()

# %% [markdown]
# ## Panel: share of correct answers backed by a fully valid trace, by per-problem pass rate
# The organism's verifier checks every step of every trace exactly (`organism.task.check_trace`).
# A correct answer with an invalid step is counted as a lucky guess (or a right answer reached by wrong steps).
# Problems with no correct sample have no bar.

# %%
study = figures.validity_study(params)
fig = plots.validity_bars(study.by_bucket, figures.roles(params), title="correct answers with valid reasoning")
plots.save_figure(fig, "validity_by_pass_rate")

# %% [markdown]
# ## By bucket

# %%
study.by_bucket

# %% [markdown]
# ## Verdict
# Are the base model's correct answers in the lowest pass-rate bucket mostly backed by a valid trace?
# The rule (its text is printed below the verdict) is `rlboundary.verdicts.low_pass_rate_answers_valid`, written before any
# result was seen; the verdict follows from the numbers above, whichever way they fall.

# %%
verdict = verdicts.low_pass_rate_answers_valid(study.by_bucket, study.base_models, study.lowest_bucket)
verdict

# %% [markdown]
# ## Headline numbers

# %%
report.record_headlines("cot_validity", study.headline, verdict=verdict)
study.headline
