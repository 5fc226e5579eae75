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
# # Figure 6: perplexity of RL outputs under the base model
#
# **Claim tested:** RL's responses are ones the base model already finds likely: under the base model they have lower perplexity than the base model's own samples.
#
# The cell tagged `parameters` holds the default study: the embedded model organism, which runs on a CPU
# (`params/default/fig06_perplexity.yaml`). Other parameter sets: `params/paper/fig06_perplexity.yaml` (the paper's models and scale,
# GPUs) and `params/micro/fig06_perplexity.yaml` (CI). Run them with `rlboundary report --params paper --only fig06_perplexity`
# or `papermill notebooks/fig06_perplexity.ipynb out.ipynb -f params/paper/fig06_perplexity.yaml`.

# %% tags=["parameters"]
models = [
    {'name': 'base', 'path': 'organism:base', 'role': 'base', 'template': 'raw'},
    {'name': 'rl-grpo', 'path': 'organism:rl-grpo', 'role': 'rl', 'template': 'raw'},
    {'name': 'teacher', 'path': 'organism:teacher', 'role': 'teacher', 'template': 'raw'},
]
benchmarks = ['organism']
limit = None
n = 8
headline_k = 8
temperature = 0.6
top_p = 0.95
max_tokens = 96
seeds = [0]
backend = 'vllm'
organism_preset = 'default'
organism_seed = 0
bootstrap = 1000
scoring_model = 'base'
rl_model = 'rl-grpo'
responses_per_problem = 8
include_ground_truth = True
copy_min_tokens = 4

# %%
from rlboundary import figures, plots, report, verdicts
from rlboundary.params import notebook_params

params = notebook_params("fig06_perplexity", globals())  # validates the cell above (types, allowed values)
plots.set_style()

# %% [markdown]
# ## Scoring stored responses
# The first `responses_per_problem` stored samples of each model (sampled now if missing) are scored
# token by token; PPL(y | x) = exp(−mean log p). Scores are cached under `outputs/cache/perplexity`.

# %%
study = figures.perplexity_study(params)
study.headline

# %% [markdown]
# ## Panel: perplexity under the base model (left) and of RL responses under the RL model
# Left column: all response tokens, as in the paper. Right column: the variant that leaves out response
# tokens copied from the prompt (runs of ≥ `copy_min_tokens` tokens that also occur in the prompt) — a
# response that restates the question is likely under any model, so copying alone can lower perplexity.

# %%
fig = plots.perplexity_boxplots(study.long, title="perplexity of responses")
plots.save_figure(fig, "perplexity")

# %% [markdown]
# ## RL against base responses under the scoring model, paired over problems
# `diff`: mean over problems of log PPL(RL responses) − log PPL(base responses), both under the scoring model, with
# a bootstrap CI over problems; `ppl_ratio` = exp(diff), the ratio of geometric-mean perplexities.

# %%
study.gaps

# %% [markdown]
# ## Verdict
# Are RL's responses more likely under the base model than the base model's own samples?
# The rule (its text is printed below the verdict) is `rlboundary.verdicts.rl_responses_likely_under_base`, written before any
# result was seen; the verdict follows from the numbers above, whichever way they fall.

# %%
verdict = verdicts.rl_responses_likely_under_base(study.gaps)
verdict

# %% [markdown]
# ## Headline numbers
# Median perplexity per scoring model, response source and variant.

# %%
report.record_headlines("fig06_perplexity", study.headline, note=study.note, verdict=verdict)
study.headline
