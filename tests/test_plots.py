"""Figures: paper conventions (log2 k axis, CI bands, crossover line, role colours)
and PNG+PDF saving. Inputs are small random count tables run through the real
metrics functions (a test of rendering, not a result)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests only; notebooks keep the inline backend

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from rlboundary import horizon, metrics, plots
from rlboundary.errors import UserError


def _counts(model, benchmark, acc, n=32, problems=40, seed=0):
    rng = np.random.default_rng(seed)
    p = np.clip(rng.beta(0.5, 0.5, problems) * acc * 2, 0, 1)
    return pd.DataFrame({"model": model, "benchmark": benchmark, "problem_id": [f"p{i}" for i in range(problems)],
                         "n": n, "c": rng.binomial(n, p)})


@pytest.fixture
def pair():
    base = _counts("base", "bench", 0.2, seed=1)
    # RL: sharper on the problems base solves often, zero elsewhere.
    rl = base.assign(model="rl", c=np.where(base["c"] > 8, np.minimum(base["n"], base["c"] * 2), 0))
    return base, rl


def test_passk_curves_log2_axis_bands_and_crossover(pair):
    base, rl = pair
    curves = metrics.pass_at_k_curve(pd.concat([base, rl]), ks=metrics.powers_of_two(32), n_boot=50)
    cross = metrics.crossover(base, rl, n_boot=50)
    fig = plots.passk_curves(curves, {"base": "base", "rl": "rl"}, cross)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    lines = {l.get_label(): to_hex(l.get_color()) for l in ax.get_lines() if not l.get_label().startswith("_")}
    assert lines == {"base": plots.ROLE_COLORS["base"], "rl": plots.ROLE_COLORS["rl"]}
    assert len(ax.collections) == 2  # one CI band per model
    if np.isfinite(cross["crossover_k"].iloc[0]) and cross["rl_ahead_at_k1"].iloc[0]:
        vlines = [l for l in ax.get_lines() if l.get_linestyle() == ":"]
        assert vlines and vlines[0].get_xdata()[0] == cross["crossover_k"].iloc[0]


def test_same_role_same_colour_different_style():
    styles = plots.model_styles({"a": "base", "b": "base", "c": "rl"})
    assert styles["a"]["color"] == styles["b"]["color"] != styles["c"]["color"]
    assert styles["a"]["linestyle"] != styles["b"]["linestyle"]
    assert plots.algorithm_color("GRPO") == plots.algorithm_color("grpo")
    assert plots.algorithm_color("my-algo") == plots.algorithm_color("my-algo")


def test_histogram_coverage_horizon_and_save(pair, tmp_path, monkeypatch):
    base, rl = pair
    both = pd.concat([base, rl])
    roles = {"base": "base", "rl": "rl"}
    monkeypatch.setenv(plots.FIGURES_ENV, str(tmp_path / "figs"))
    fig = plots.accuracy_histogram(metrics.accuracy_histogram(both), roles)
    assert len(fig.axes[0].patches) == 2 * len(metrics.ACCURACY_BINS)
    saved = plots.save_figure(fig, "hist")
    for path in saved.values():
        assert path.exists() and path.stat().st_size > 1000
    assert saved["png"].read_bytes()[:4] == b"\x89PNG" and saved["pdf"].read_bytes()[:4] == b"%PDF"

    cov = metrics.coverage_sets(base, rl)
    table = plots.coverage_table(cov, max_ids=2)
    assert list(table["set"]) == metrics.COVERAGE_SETS
    assert table["n_problems"].sum() == len(base)
    plots.save_figure(plots.coverage_bars(cov), "coverage")

    steps = np.repeat(np.arange(1, 7), 10).astype(float)
    success = 1 / (1 + np.exp(steps - 3.5))
    fit = horizon.horizon_fit(steps, success, n_boot=20)
    points = pd.DataFrame({"model": "base", "k": 1, "n_steps": np.arange(1, 7), "pass_at_k": 1 / (1 + np.exp(np.arange(1, 7) - 3.5))})
    points["ci_low"], points["ci_high"] = points["pass_at_k"] - 0.05, points["pass_at_k"] + 0.05
    fits = pd.DataFrame([{"model": "base", "k": 1, **fit.as_dict()}])
    fig = plots.horizon_curves(points, fits, {"base": "base"})
    assert any(l.get_linestyle() == ":" and abs(l.get_xdata()[0] - fit.h50) < 1e-9 for l in fig.axes[0].get_lines())
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "coverage.pdf", "coverage.png", "hist.pdf", "hist.png"]


def test_save_figure_rejects_paths(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setenv(plots.FIGURES_ENV, str(tmp_path))
    with pytest.raises(ValueError):
        plots.save_figure(plt.figure(), "../escape")


def test_horizon_fit_recovers_a_known_logistic():
    steps = np.repeat(np.arange(1, 11), 30).astype(float)
    truth = horizon.logistic(steps, 5.5, 1.2)
    fit = horizon.horizon_fit(steps, truth, n_boot=50)
    assert fit.h50 == pytest.approx(5.5, abs=0.05) and fit.scale == pytest.approx(1.2, abs=0.05)
    assert fit.ci_low <= fit.h50 <= fit.ci_high and not fit.extrapolated
    # Always solved within the range: the horizon lies beyond it and says so.
    easy = horizon.horizon_fit(steps, horizon.logistic(steps, 30.0, 2.0), n_boot=10)
    assert easy.extrapolated and easy.h50 > 10


def test_grader_spread_band_and_maj_lines(pair):
    base, rl = pair
    ks = metrics.powers_of_two(32)
    both = pd.concat([base, rl])
    curves = metrics.pass_at_k_curve(both, ks=ks, n_boot=0)
    # A second grader that accepts one more sample on every problem with c < n.
    lenient = both.assign(c=np.minimum(both["n"], both["c"] + 1))
    per_grader = pd.concat([curves.assign(grader="a"), metrics.pass_at_k_curve(lenient, ks=ks, n_boot=0).assign(grader="b")])
    maj = curves.rename(columns={"pass_at_k": "maj_at_k"}).assign(maj_at_k=lambda f: f["maj_at_k"] / 2)
    fig = plots.passk_curves(curves, {"base": "base", "rl": "rl"}, grader_curves=per_grader, maj_curves=maj)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if c.get_hatch()]
    assert len(bands) == 2  # one spread band per model
    # The band spans the two graders' curves at every k.
    verts = bands[0].get_paths()[0].vertices
    assert verts[:, 1].max() == pytest.approx(per_grader[per_grader["model"] == "base"]["pass_at_k"].max())
    dashed = [l for l in ax.get_lines() if l.get_label().endswith("maj@k")]
    assert [l.get_linestyle() for l in dashed] == ["--", "--"]
    np.testing.assert_allclose(dashed[0].get_ydata(), maj[maj["model"] == "base"].sort_values("k")["maj_at_k"])


def test_horizon_fit_with_a_chance_floor():
    """Data from a floored logistic: the floored fit recovers h50; the unfloored one cannot see a guesser."""
    steps = np.repeat(np.arange(1.0, 11.0), 20)
    floor8 = horizon.chance_floor(0.1, 8)
    assert floor8 == pytest.approx(1 - 0.9 ** 8) and floor8 > 0.5  # a pure guesser's pass@8: .57
    truth = horizon.with_floor(horizon.logistic(steps, 5.0, 0.8), floor8)
    fit = horizon.horizon_fit(steps, truth, n_boot=20, floor=floor8)
    assert fit.h50 == pytest.approx(5.0, abs=0.05) and fit.floor == pytest.approx(floor8) and fit.status == "inside"
    assert fit.predict([1.0, 10.0]) == pytest.approx([1.0, floor8], abs=0.01)
    # Without the floor, success never drops below .57: a plain logistic bends its "50 %" point far
    # past the true 5 steps (measured: 9.3 of 10), crediting guessing with reach.
    naive = horizon.horizon_fit(steps, truth, n_boot=0)
    assert naive.h50 > 8
    with pytest.raises(UserError):
        horizon.chance_floor(1.0, 1)
