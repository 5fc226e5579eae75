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
# # Figure 8: RL algorithms and training steps
#
# **Claim tested:** Every RL algorithm raises pass@1 over the base, yet stays below the base model's pass@k at the largest k (ΔSE@k = base pass@k − RL pass@1 > 0).
#
# The cell tagged `parameters` holds the default study: the embedded model organism, which runs on a CPU
# (`params/default/fig08_rl_algorithms.yaml`). Other parameter sets: `params/paper/fig08_rl_algorithms.yaml` (the paper's models and scale,
# GPUs) and `params/micro/fig08_rl_algorithms.yaml` (CI). Run them with `rlboundary report --params paper --only fig08_rl_algorithms`
# or `papermill notebooks/fig08_rl_algorithms.ipynb out.ipynb -f params/paper/fig08_rl_algorithms.yaml`.

# %% tags=["parameters"]
models = [
    {'name': 'base', 'path': 'organism:base', 'role': 'base', 'template': 'raw'},
    {'name': 'rl-grpo-step60', 'path': 'organism:rl-grpo-step60', 'role': 'rl', 'template': 'raw', 'algorithm': 'grpo', 'step': 60},
    {'name': 'rl-grpo', 'path': 'organism:rl-grpo', 'role': 'rl', 'template': 'raw', 'algorithm': 'grpo'},
    {'name': 'rl-rloo-step60', 'path': 'organism:rl-rloo-step60', 'role': 'rl', 'template': 'raw', 'algorithm': 'rloo', 'step': 60},
    {'name': 'rl-rloo', 'path': 'organism:rl-rloo', 'role': 'rl', 'template': 'raw', 'algorithm': 'rloo'},
]
benchmarks = ['organism']
limit = None
n = 32
headline_k = 32
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

params = notebook_params("fig08_rl_algorithms", globals())  # validates the cell above (types, allowed values)
plots.set_style()

# %% [markdown]
# ## Panel: pass@1 and pass@k per RL algorithm (last checkpoint)
# Bars: bootstrap CIs over problems; dashed line: the base model's pass@k; ΔSE@k = base pass@k − RL pass@1
# at k = n (the paper's is ΔSE@256; the headline note flags a smaller k).
# The problems of all listed benchmarks are pooled into one evaluation set.

# %%
study = figures.algorithm_study(params)
fig = plots.algorithm_bars(study.summary, base_top=study.base_top, k_label=f"pass@{study.k}",
                           title=f"RL algorithms vs the base model ({study.base})")
plots.save_figure(fig, "algorithms")

# %% [markdown]
# ## Panel: pass@1 and pass@k along RL training

# %%
fig = plots.training_step_curves(study.steps, k_label=f"pass@{study.k}", title="along RL training")
plots.save_figure(fig, "training_steps")

# %% [markdown]
# ## Panel: the RL training reward (models trained here)
# Thick: reward on frontier-level prompts, where training stops once it plateaus; thin: all prompts.
# Running means over 10 steps; a dot where training stopped.

# %%
curves = figures.rl_reward_curves(params)
fig = plots.reward_curves(curves, title="RL training reward")
plots.save_figure(fig, "rl_reward")

# %% [markdown]
# ## Every checkpoint

# %%
study.steps

# %% [markdown]
# ## Verdict
# Does every algorithm raise pass@1 over the base while staying below the base's pass@k (paired CIs)?
# The rule (its text is printed below the verdict) is `rlboundary.verdicts.rl_algorithms_below_base_reach`, written before any
# result was seen; the verdict follows from the numbers above, whichever way they fall.

# %%
verdict = verdicts.rl_algorithms_below_base_reach(study.summary, study.k)
verdict

# %% [markdown]
# ## Headline numbers

# %%
report.record_headlines("fig08_rl_algorithms", study.headline, note=study.note, verdict=verdict)
study.headline
