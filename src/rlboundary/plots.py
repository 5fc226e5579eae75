"""Paper-style figures (seaborn/matplotlib) for the figure notebooks.

Every function takes the tidy frames that `rlboundary.metrics` and
`rlboundary.figures` return and gives back a matplotlib Figure; nothing here
computes a statistic. Conventions shared by every figure:
- k on a log2 axis, confidence bands as shaded areas, the crossover k as a
  dotted vertical line;
- one colour per model role (ROLE_COLORS) and per RL algorithm
  (ALGORITHM_COLORS), the same in every figure; several models of one role
  differ by line style.

    from rlboundary import plots
    fig = plots.passk_curves(curves, roles={"base": "base", "rl": "rl"})
    plots.save_figure(fig, "passk_organism")   # PNG + PDF in the report's figures dir
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

# Seaborn's colour-blind palette, fixed by role so a colour means the same
# thing in every figure: base blue, RL vermilion, instruct green, teacher
# pink, distilled brown.
ROLE_COLORS = {
    "base": "#0173b2",
    "rl": "#d55e00",
    "instruct": "#029e73",
    "teacher": "#cc78bc",
    "distilled": "#ca9161",
    "rft": "#56b4e9",
}
# RL algorithms (Figure 8): warm shades, distinct from the role colours.
ALGORITHM_COLORS = {
    "grpo": "#d55e00",
    "rloo": "#de8f05",
    "dr_grpo": "#8c2d04",
    "dapo": "#e7298a",
    "ppo": "#a50f15",
    "reinforce++": "#fdae6b",
    "remax": "#7f2704",
}
_FALLBACK = ["#949494", "#56b4e9", "#ece133", "#fbafe4", "#000000"]
LINESTYLES = ["-", "--", ":", "-."]
# Response sources in the perplexity figure take the colour of the model that wrote them.
SOURCE_ROLES = {"base": "base", "rl": "rl", "teacher": "teacher", "ground_truth": None}
GROUND_TRUTH_COLOR = "#555555"


def set_style() -> None:
    """The paper look: white grid, compact fonts. Call once per notebook."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9,
                  rc={"axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 110})


def algorithm_color(algorithm: str | None) -> str:
    if algorithm is None:
        return ROLE_COLORS["rl"]
    key = algorithm.lower()
    if key in ALGORITHM_COLORS:
        return ALGORITHM_COLORS[key]
    # Unknown algorithms get a stable colour from their name, not their order.
    return _FALLBACK[sum(map(ord, key)) % len(_FALLBACK)]


def model_styles(roles: Mapping[str, str]) -> dict[str, dict]:
    """Colour and line style per model: colour by role, style by rank within the role."""
    styles, seen = {}, {}
    for model, role in roles.items():
        rank = seen.get(role, 0)
        seen[role] = rank + 1
        styles[model] = {"color": ROLE_COLORS.get(role, _FALLBACK[0]), "linestyle": LINESTYLES[rank % len(LINESTYLES)]}
    return styles


def _log2_k_axis(ax, ks) -> None:
    ax.set_xscale("log", base=2)
    ks = sorted(set(int(k) for k in ks))
    ax.set_xticks(ks)
    # Past 8 ticks the labels of a small panel collide ("5121024"): label every
    # other one, counted from the largest k (the headline k is always labelled).
    step = -(-len(ks) // 8)
    ax.set_xticklabels([str(k) if (len(ks) - 1 - i) % step == 0 else "" for i, k in enumerate(ks)], fontsize=8)
    ax.set_xlabel("k")


def _grid(n_panels: int, ncols: int = 3, width: float = 3.6, height: float = 3.0):
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n_panels))
    nrows = -(-n_panels // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n_panels])


def passk_curves(curves: pd.DataFrame, roles: Mapping[str, str], crossovers: pd.DataFrame | None = None,
                 title: str | None = None, ncols: int = 3, grader_curves: pd.DataFrame | None = None,
                 maj_curves: pd.DataFrame | None = None):
    """pass@k vs k, one panel per benchmark, CI bands, crossover k marked.

    `curves`: model, benchmark, k, pass_at_k, ci_low, ci_high (metrics.pass_at_k_curve).
    `roles`: model name -> role (colour). `crossovers`: metrics.crossover rows.
    `grader_curves`: the same curves under several graders (+ `grader`): the
    spread between them is a hatched band. `maj_curves`: maj@k
    (majority.maj_at_k_curve), drawn dashed with crosses.
    No curves (a study that did not run, e.g. code without a code model): no figure, None."""
    if curves.empty:
        return None
    benchmarks = list(dict.fromkeys(curves["benchmark"]))
    styles = model_styles({m: roles[m] for m in dict.fromkeys(curves["model"])})
    fig, axes = _grid(len(benchmarks), ncols)
    for ax, bench in zip(axes, benchmarks):
        sub = curves[curves["benchmark"] == bench]
        for model, group in sub.groupby("model", sort=False):
            group = group.sort_values("k")
            st = styles[model]
            ax.plot(group["k"], group["pass_at_k"], marker="o", markersize=3, label=model, **st)
            if group["ci_low"].notna().any():
                ax.fill_between(group["k"], group["ci_low"], group["ci_high"], color=st["color"], alpha=0.18, lw=0)
            if grader_curves is not None and grader_curves["grader"].nunique() > 1:
                spread = (grader_curves[(grader_curves["model"] == model) & (grader_curves["benchmark"] == bench)]
                          .groupby("k")["pass_at_k"].agg(["min", "max"]).reset_index())
                ax.fill_between(spread["k"], spread["min"], spread["max"], facecolor="none", edgecolor=st["color"],
                                hatch="////", lw=0, label=f"{model}: spread over {grader_curves['grader'].nunique()} graders")
            if maj_curves is not None:
                m = maj_curves[(maj_curves["model"] == model) & (maj_curves["benchmark"] == bench)].sort_values("k")
                ax.plot(m["k"], m["maj_at_k"], color=st["color"], ls="--", marker="x", markersize=3, lw=1,
                        label=f"{model} maj@k")
        if crossovers is not None and len(crossovers):
            for _, row in crossovers[crossovers["benchmark"] == bench].iterrows():
                if np.isfinite(row["crossover_k"]) and row.get("rl_ahead_at_k1", True):
                    ax.axvline(row["crossover_k"], color="#333333", ls=":", lw=1)
                    ax.annotate(f"crossover k={int(row['crossover_k'])}", (row["crossover_k"], 0.02),
                                xycoords=("data", "axes fraction"), fontsize=7, rotation=90, ha="right", va="bottom")
        _log2_k_axis(ax, sub["k"])
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("pass@k")
        ax.set_title(bench)
    axes[0].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def accuracy_histogram(hist: pd.DataFrame, roles: Mapping[str, str], title: str | None = None):
    """Per-problem accuracy histogram (the paper's bins), bars per model, one panel per benchmark.

    `hist`: model, benchmark, bin, bin_index, fraction (metrics.accuracy_histogram)."""
    benchmarks = list(dict.fromkeys(hist["benchmark"]))
    models = list(dict.fromkeys(hist["model"]))
    fig, axes = _grid(len(benchmarks), ncols=2, width=5.5, height=3.2)
    width = 0.8 / len(models)
    for ax, bench in zip(axes, benchmarks):
        sub = hist[hist["benchmark"] == bench]
        for i, model in enumerate(models):
            g = sub[sub["model"] == model].sort_values("bin_index")
            ax.bar(g["bin_index"] + (i - (len(models) - 1) / 2) * width, g["fraction"], width=width,
                   color=ROLE_COLORS.get(roles[model], _FALLBACK[0]), label=model)
        labels = sub.drop_duplicates("bin_index").sort_values("bin_index")["bin"]
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=45, fontsize=7)
        ax.set_xlabel("per-problem accuracy c/n")
        ax.set_ylabel("fraction of problems")
        ax.set_title(bench)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def coverage_table(coverage: pd.DataFrame, max_ids: int = 8) -> pd.DataFrame:
    """The solvable-problem table for display: one row per (benchmark, set),
    with counts, fractions and the first problem ids."""
    out = coverage[["benchmark", "set", "n_problems", "fraction"]].copy()
    out["fraction"] = out["fraction"].map(lambda f: f"{100 * f:.1f} %")
    out["problem ids"] = coverage["problem_ids"].map(
        lambda ids: ", ".join(map(str, ids[:max_ids])) + (f", … (+{len(ids) - max_ids})" if len(ids) > max_ids else ""))
    return out.reset_index(drop=True)


def coverage_bars(coverage: pd.DataFrame, title: str | None = None):
    """Stacked bar per benchmark: both / base only / RL only / neither, counts written in."""
    import matplotlib.pyplot as plt

    colors = {"both": "#7f7f7f", "base_only": ROLE_COLORS["base"], "rl_only": ROLE_COLORS["rl"], "neither": "#e5e5e5"}
    pivot = coverage.pivot(index="benchmark", columns="set", values="fraction")
    counts = coverage.pivot(index="benchmark", columns="set", values="n_problems")
    pivot = pivot[[c for c in colors if c in pivot.columns]]
    fig, ax = plt.subplots(figsize=(7, 1.6 + 0.55 * len(pivot)))
    left = np.zeros(len(pivot))
    for col in pivot.columns:
        widths = pivot[col].to_numpy()
        ax.barh(pivot.index, widths, left=left, height=0.6, color=colors[col], edgecolor="white",
                label=col.replace("_", " "))
        for y, (x0, w, c) in enumerate(zip(left, widths, counts[col].reindex(pivot.index))):
            if w > 0.04:
                ax.text(x0 + w / 2, y, str(int(c)), ha="center", va="center", fontsize=8,
                        color="white" if col in ("both", "base_only", "rl_only") else "#333333")
        left += widths
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction of problems solved at least once in n samples")
    ax.legend(fontsize=8, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def perplexity_boxplots(ppl: pd.DataFrame, title: str | None = None):
    """Perplexity boxplots: x = response source, one panel per (scorer, variant).

    `ppl`: scorer, source, variant, perplexity (one row per scored response)."""
    import seaborn as sns

    # One row per scoring model, one column per variant (all tokens | without copies).
    panels = [(s, v) for s in dict.fromkeys(ppl["scorer"]) for v in dict.fromkeys(ppl["variant"])
              if ((ppl["scorer"] == s) & (ppl["variant"] == v)).any()]
    fig, axes = _grid(len(panels), ncols=2, width=4.8, height=3.4)
    for ax, (scorer, variant) in zip(axes, panels):
        sub = ppl[(ppl["scorer"] == scorer) & (ppl["variant"] == variant)]
        order = list(dict.fromkeys(sub["source"]))
        palette = {s: ROLE_COLORS.get(SOURCE_ROLES.get(s, s) or "", GROUND_TRUTH_COLOR) for s in order}
        sns.boxplot(data=sub, x="source", y="perplexity", hue="source", order=order, palette=palette,
                    legend=False, ax=ax, fliersize=2)
        ax.set_yscale("log")
        ax.set_title(f"scored by {scorer} ({variant})", fontsize=9)
        ax.set_xlabel("responses from")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def algorithm_bars(summary: pd.DataFrame, base_top: float | None = None, k_label: str = "pass@k", title: str | None = None):
    """pass@1 and pass@k per RL algorithm (final checkpoint), with ΔSE.

    `summary`: algorithm, pass_at_1, pass_at_1_low/high, pass_at_k, pass_at_k_low/high,
    delta_se (one row per algorithm). `base_top`: the base model's pass@k, drawn as a line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    x = np.arange(len(summary))
    colors = [algorithm_color(a) for a in summary["algorithm"]]
    for ax, col, label in ((axes[0], "pass_at_1", "pass@1"), (axes[1], "pass_at_k", k_label)):
        err = np.vstack([summary[col] - summary[f"{col}_low"], summary[f"{col}_high"] - summary[col]])
        ax.bar(x, summary[col], color=colors, yerr=err, capsize=3)
        ax.set_xticks(x)
        ax.set_xticklabels(summary["algorithm"], rotation=20)
        ax.set_ylabel(label)
        ax.set_ylim(0, 1.05)
        if base_top is not None:
            ax.axhline(base_top, color=ROLE_COLORS["base"], ls="--", lw=1.2, label=f"base {k_label}")
            ax.legend(fontsize=7, loc="upper left")
    for xi, (_, row) in zip(x, summary.iterrows()):
        axes[0].annotate(f"ΔSE={row['delta_se']:.2f}", (xi, row["pass_at_1"]), xytext=(0, 12),
                         textcoords="offset points", ha="center", fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def training_step_curves(steps: pd.DataFrame, k_label: str = "pass@k", title: str | None = None):
    """pass@1 (solid) and pass@k (dashed) vs training step, one line per algorithm.

    `steps`: algorithm, step, pass_at_1, pass_at_k (+ _low/_high)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for algorithm, g in steps.groupby("algorithm", sort=False):
        g = g.sort_values("step")
        c = algorithm_color(algorithm)
        ax.plot(g["step"], g["pass_at_1"], "-o", color=c, ms=3, label=f"{algorithm} pass@1")
        ax.plot(g["step"], g["pass_at_k"], "--s", color=c, ms=3, label=f"{algorithm} {k_label}")
        ax.fill_between(g["step"], g["pass_at_1_low"], g["pass_at_1_high"], color=c, alpha=0.15, lw=0)
        ax.fill_between(g["step"], g["pass_at_k_low"], g["pass_at_k_high"], color=c, alpha=0.15, lw=0)
    ax.set_xticks(sorted(steps["step"].unique()))
    return _finish_step_axes(fig, ax, "pass rate", title)


def _finish_step_axes(fig, ax, ylabel: str, title: str | None):
    """Shared finish of the per-training-step plots: labels, 0-1 scale, legend."""
    ax.set_xlabel("RL training step")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, ncols=2)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def reward_curves(curves: pd.DataFrame, window: int = 10, title: str | None = None):
    """RL training reward vs step, one colour per algorithm: all prompts (thin) and
    frontier-level prompts (thick), each a running mean over `window` steps; a mark
    where training stopped. `curves`: algorithm, step, reward, frontier_reward, stopped."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    if curves.empty:
        ax.text(0.5, 0.5, "no training-reward curves: the RL models were not trained here", ha="center",
                va="center", transform=ax.transAxes, fontsize=8)
        ax.set_axis_off()
        return fig
    for algorithm, g in curves.groupby("algorithm", sort=False):
        g = g.sort_values("step")
        c = algorithm_color(algorithm)
        smooth = g[["reward", "frontier_reward"]].rolling(window, min_periods=1).mean()
        ax.plot(g["step"], smooth["reward"], "-", color=c, lw=0.8, alpha=0.6, label=f"{algorithm}: all prompts")
        ax.plot(g["step"], smooth["frontier_reward"], "-", color=c, lw=2, label=f"{algorithm}: frontier level")
        ax.plot(g["step"].iloc[-1], smooth["frontier_reward"].iloc[-1], "o", color=c, ms=5)
    return _finish_step_axes(fig, ax, f"training reward (running mean, {window} steps)", title)


def reach_levels(levels: pd.DataFrame, n: int, frontier: Mapping[int, int], unseen: int, title: str | None = None):
    """Luck-free pass@1 and pass@n per level, one line per model, CIs over seeds and
    problems as bands; the frontier level(s) and the unseen level shaded.

    `levels`: model, level, lf_pass_at_1(_lo/_hi), lf_pass_at_n(_lo/_hi)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    models = list(dict.fromkeys(levels["model"]))
    palette = plt.get_cmap("tab10")
    for ax, col, label in zip(axes, ("lf_pass_at_1", "lf_pass_at_n"), ("luck-free pass@1", f"luck-free pass@{n}")):
        for level in sorted(set(frontier.values())):
            ax.axvspan(level - 0.4, level + 0.4, color="#f0e442", alpha=0.25, lw=0)
        ax.axvspan(unseen - 0.4, unseen + 0.4, color="#999999", alpha=0.2, lw=0)
        for i, model in enumerate(models):
            g = levels[levels["model"] == model].sort_values("level")
            c = ROLE_COLORS["base"] if model == "base" else palette(i % 10)
            ax.plot(g["level"], g[col], "-o", ms=3, color=c, label=model, lw=2 if model == "base" else 1)
            ax.fill_between(g["level"], g[f"{col}_lo"], g[f"{col}_hi"], color=c, alpha=0.12, lw=0)
        ax.set_xlabel("level (turns); yellow: frontier, grey: unseen")
        ax.set_title(label)
        ax.set_ylim(-0.02, 1.05)
    axes[0].set_ylabel("share of problems / samples")
    axes[1].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def reach_forest(reach: pd.DataFrame, n: int, margin: float | Mapping[str, float] | None = None,
                 title: str | None = None):
    """Model minus base, luck-free pass@n, with CIs, at the frontier and unseen levels (and on the
    confirmation panel when `reach` has it); 0 (no change) and the equivalence margin marked (one
    margin, or one per endpoint). `reach`: model, endpoint, d_lf_pass_at_n(_lo/_hi)."""
    import matplotlib.pyplot as plt

    present = list(dict.fromkeys(reach["endpoint"]))
    # confirmation draws after the frontier and unseen levels ("confirmation", or one "confirmation draw d" each)
    endpoints = ([e for e in ("frontier", "unseen") if e in present] +
                 sorted(e for e in present if e.startswith("confirmation")))
    margins = dict(margin) if isinstance(margin, Mapping) else {e: margin for e in endpoints}
    for e in endpoints:  # a draw's margin is the confirmation panel's
        if e.startswith("confirmation") and e not in margins and "confirmation" in margins:
            margins[e] = margins["confirmation"]
    fig, axes = plt.subplots(1, len(endpoints), figsize=(5 * len(endpoints), 0.4 * reach["model"].nunique() + 1.4),
                             sharey=True, squeeze=False)
    for ax, endpoint in zip(axes[0], endpoints):
        g = reach[reach["endpoint"] == endpoint].reset_index(drop=True)
        y = range(len(g))
        ax.errorbar(g["d_lf_pass_at_n"], y, xerr=[g["d_lf_pass_at_n"] - g["d_lf_pass_at_n_lo"],
                                                  g["d_lf_pass_at_n_hi"] - g["d_lf_pass_at_n"]],
                    fmt="o", color="#333333", capsize=3)
        ax.axvline(0, color="#0173b2", lw=1)
        if margins.get(endpoint) is not None:
            ax.axvline(margins[endpoint], color="#0173b2", lw=1, ls=":")
        ax.set_yticks(list(y), g["model"])
        ax.set_xlabel(f"Δ luck-free pass@{n} (model − base)")
        ax.set_title(endpoint.replace("confirmation", "confirmation panel", 1) if endpoint.startswith("confirmation")
                     else f"{endpoint} level")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def horizon_curves(points: pd.DataFrame, fits: pd.DataFrame, roles: Mapping[str, str], title: str | None = None):
    """pass@k vs number of steps with the fitted logistic and its 50 % horizon, one panel per k.

    `points`: model, k, n_steps, pass_at_k, ci_low, ci_high (means per step count).
    `fits`: model, k, h50, scale, floor, ci_low, ci_high, extrapolated (horizon.horizon_fit rows).
    The fitted curve decays to its chance floor (grey dashed line: what guessing alone scores)."""
    from .horizon import logistic, with_floor

    ks = sorted(points["k"].unique())
    styles = model_styles({m: roles[m] for m in dict.fromkeys(points["model"])})
    fig, axes = _grid(len(ks), ncols=len(ks), width=4.2, height=3.3)
    grid = np.linspace(points["n_steps"].min(), points["n_steps"].max(), 200)
    for ax, k in zip(axes, ks):
        for model, g in points[points["k"] == k].groupby("model", sort=False):
            g = g.sort_values("n_steps")
            st = styles[model]
            ax.errorbar(g["n_steps"], g["pass_at_k"], yerr=[g["pass_at_k"] - g["ci_low"], g["ci_high"] - g["pass_at_k"]],
                        fmt="o", ms=4, capsize=2, color=st["color"], label=model)
            fit = fits[(fits["model"] == model) & (fits["k"] == k)]
            if len(fit):
                f = fit.iloc[0]
                floor = float(f.get("floor", 0.0))
                ax.plot(grid, with_floor(logistic(grid, f["h50"], f["scale"]), floor), color=st["color"],
                        ls=st["linestyle"], lw=1.2)
                if not f["extrapolated"]:
                    ax.axvline(f["h50"], color=st["color"], ls=":", lw=1)
        floors = fits.loc[fits["k"] == k, "floor"] if "floor" in fits else pd.Series([0.0])
        if len(floors) and floors.iloc[0] > 0:
            ax.axhline(floors.iloc[0], color="#999999", ls="--", lw=0.8)
            ax.annotate("chance", (grid[0], floors.iloc[0]), fontsize=7, va="bottom", color="#777777")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("reasoning steps")
        ax.set_ylabel(f"pass@{k}")
        ax.set_title(f"pass@{k}")
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def validity_bars(validity: pd.DataFrame, roles: Mapping[str, str], title: str | None = None):
    """Fraction of correct answers whose every step is valid, by pass-rate bucket, bars per model.

    `validity`: model, bucket, n_correct, valid_fraction, ci_low, ci_high."""
    import matplotlib.pyplot as plt

    buckets = list(dict.fromkeys(validity["bucket"]))
    models = list(dict.fromkeys(validity["model"]))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.2 + 1.1 * len(buckets)), 3.4))
    if validity.empty:  # say so on the figure rather than draw nothing
        ax.text(0.5, 0.5, "no correct answer in any bucket", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        if title:
            ax.set_title(title)
        return fig
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        g = validity[validity["model"] == model].set_index("bucket").reindex(buckets)
        x = np.arange(len(buckets)) + (i - (len(models) - 1) / 2) * width
        err = np.vstack([g["valid_fraction"] - g["ci_low"], g["ci_high"] - g["valid_fraction"]])
        ax.bar(x, g["valid_fraction"], width=width, yerr=np.nan_to_num(err), capsize=2,
               color=ROLE_COLORS.get(roles[model], _FALLBACK[0]), label=model)
    ax.set_xticks(range(len(buckets)))
    ax.set_xticklabels(buckets, fontsize=8)
    ax.set_xlabel("per-problem pass rate (c/n)")
    ax.set_ylabel("correct answers with valid trace")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def atlas_grid(grid: pd.DataFrame, n: int, title: str | None = None):
    """The atlas's phase diagram: arms (rows) x levels (columns), colour = Δ luck-free pass@n
    (arm − its base), a dot where the CI over seeds and problems excludes 0.
    `grid`: arm, level, d_lf_pass_at_n, excludes_0."""
    import matplotlib.pyplot as plt

    arms = list(dict.fromkeys(grid["arm"]))
    levels = sorted(grid["level"].unique())
    values = grid.pivot(index="arm", columns="level", values="d_lf_pass_at_n").reindex(index=arms, columns=levels)
    marks = grid.pivot(index="arm", columns="level", values="excludes_0").reindex(index=arms, columns=levels)
    fig, ax = plt.subplots(figsize=(0.55 * len(levels) + 3.2, 0.34 * len(arms) + 1.4))
    lim = max(0.05, float(values.abs().max().max()) if values.notna().any().any() else 0.05)
    im = ax.imshow(values.to_numpy(dtype=float), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ys, xs = np.nonzero(marks.fillna(False).to_numpy(dtype=bool))
    ax.plot(xs, ys, "o", color="black", ms=3, ls="none", label="CI excludes 0")
    ax.set_xticks(range(len(levels)), [str(x) for x in levels])
    ax.set_yticks(range(len(arms)), arms)
    ax.set_xlabel("level (turns)")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label=f"Δ luck-free pass@{n} (arm − base)")
    if len(xs):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=7, frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def atlas_checkpoints(along: pd.DataFrame, n: int, title: str | None = None):
    """Δ luck-free pass@n at the frontier vs RL step, with CIs (arms evaluated along the way)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    if along.empty:
        ax.text(0.5, 0.5, "no arm evaluated at checkpoints along the way", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
        ax.set_axis_off()
        return fig
    for arm, g in along.groupby("arm", sort=False):
        g = g.sort_values("step")
        c = algorithm_color(arm)
        ax.plot(g["step"], g["d_lf_pass_at_n"], "-o", ms=3, color=c, label=arm)
        ax.fill_between(g["step"], g["d_lf_pass_at_n_lo"], g["d_lf_pass_at_n_hi"], color=c, alpha=0.15, lw=0)
    ax.axhline(0, color="#0173b2", lw=1)
    fig = _finish_step_axes(fig, ax, f"Δ luck-free pass@{n} at the frontier", title)
    ax.set_ylim(-1.05, 1.05)  # a difference, not a rate
    return fig


# --- saving ------------------------------------------------------------------

FIGURES_ENV = "RLBOUNDARY_FIGURES_DIR"


def figures_dir() -> Path:
    """Where `save_figure` writes: set per notebook by the report runner,
    else the report's `figures/interactive` (a notebook run by hand)."""
    from .paths import report_dir

    env = os.environ.get(FIGURES_ENV)
    return Path(env) if env else report_dir() / "figures" / "interactive"


def save_figure(fig, name: str) -> dict[str, Path]:
    """Write `fig` as <figures_dir>/<name>.png and .pdf; return both paths.

    `fig=None` (a study that did not run) writes nothing and returns {}; the
    report accepts a notebook without figures only when its verdict is "not run"."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"figure name {name!r} must be a plain file stem")
    if fig is None:
        return {}
    out = figures_dir()
    out.mkdir(parents=True, exist_ok=True)
    paths = {"png": out / f"{name}.png", "pdf": out / f"{name}.pdf"}
    fig.savefig(paths["png"], dpi=150, bbox_inches="tight")
    fig.savefig(paths["pdf"], bbox_inches="tight")
    return paths
