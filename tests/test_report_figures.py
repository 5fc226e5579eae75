"""The statistics in rlboundary.figures that the notebooks show, checked by hand
on small verdict/count tables (the sampling and grading behind them are the
engine's and verifiers' tests; the whole chain runs in test_report.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rlboundary import figures, metrics
from rlboundary.params import load_params


def _verdicts(model, problem, correct, valid):
    return pd.DataFrame({"model": model, "benchmark": "organism", "problem_id": problem,
                         "sample_idx": np.arange(len(correct)), "correct": correct, "trace_valid": valid})


def test_validity_by_pass_rate_counts_by_hand():
    rows = pd.concat([
        # p1: 1 of 10 correct (rate 0.1), and that one is a lucky guess (invalid trace).
        _verdicts("base", "p1", [True] + [False] * 9, [False] * 10),
        # p2: 8 of 10 correct (rate 0.8), 6 of the 8 valid.
        _verdicts("base", "p2", [True] * 8 + [False] * 2, [True] * 6 + [False] * 4),
        # p3: never solved: no bucket.
        _verdicts("base", "p3", [False] * 10, [False] * 10),
    ], ignore_index=True)
    by_bucket, per_problem = figures.validity_by_pass_rate(rows, [0.0, 0.5, 1.0], n_boot=100)
    assert list(by_bucket["bucket"]) == ["(0,0.5]", "(0.5,1]"]
    low, high = by_bucket.iloc[0], by_bucket.iloc[1]
    assert (low["n_correct"], low["valid_fraction"]) == (1, 0.0)
    assert (high["n_correct"], high["valid_fraction"]) == (8, 0.75)
    assert pd.isna(per_problem.set_index("problem_id").loc["p3", "bucket"])


def test_horizon_from_counts_matches_pass_at_k_and_fits():
    steps = np.repeat(np.arange(1, 7), 8)
    n = 16
    # Success falls with the number of steps; c is the expected count, rounded.
    c = np.round(n / (1 + np.exp(steps - 3.5))).astype(int)
    rows = pd.DataFrame({"model": "base", "benchmark": "organism", "problem_id": [f"p{i}" for i in range(len(steps))],
                         "n": n, "c": c, "n_steps": steps})
    points, fits = figures.horizon_from_counts(rows, [1, 4], n_boot=50, fit_boot=20)
    p1 = points[(points["k"] == 1)].set_index("n_steps")["pass_at_k"]
    assert p1.loc[1] == pytest.approx(c[steps == 1].mean() / n)
    p4 = points[(points["k"] == 4)].set_index("n_steps")["pass_at_k"]
    assert p4.loc[5] == pytest.approx(metrics.pass_at_k(np.full(8, n), c[steps == 5], [4]).mean())
    h1 = fits.set_index("k").loc[1, "h50"]
    h4 = fits.set_index("k").loc[4, "h50"]
    assert h1 == pytest.approx(3.5, abs=0.3) and h4 > h1  # more tries reach further


def _pass_at_k(n: int, c: int, k: int) -> float:
    return 1 - math.comb(n - c, k) / math.comb(n, k)  # Chen et al., from the binomials


def test_compare_to_base_and_headline_against_an_independent_computation():
    """Fixed counts; every headline number recomputed by hand with math.comb (not by rlboundary.metrics)."""
    p = load_params("fig01_passk_math", "micro")  # headline_k 4
    n, k = 8, 4
    base_c = [0, 1, 2, 3, 4, 1, 0, 2]
    rl_c = [0, 8, 8, 8, 0, 0, 0, 8]
    ids = [f"p{i}" for i in range(8)]
    base = pd.DataFrame({"model": "base", "benchmark": p.benchmarks[0], "problem_id": ids, "n": n, "c": base_c})
    rl = base.assign(model="rl-grpo", c=rl_c)
    rows = pd.concat([base, rl], ignore_index=True)
    comp = figures.compare_to_base(p, rows)
    assert list(comp["model"]) == ["rl-grpo"] and comp["base"].iloc[0] == "base" and comp["k_max"].iloc[0] == k
    base_at = {kk: sum(_pass_at_k(n, c, kk) for c in base_c) / 8 for kk in range(1, n + 1)}
    rl_at = {kk: sum(_pass_at_k(n, c, kk) for c in rl_c) / 8 for kk in range(1, n + 1)}
    # base pass@4 = (0 + .5 + 11/14 + 13/14 + 69/70 + .5 + 0 + 11/14) / 8; RL pass@1 = 4/8; first crossing k=4
    assert comp["delta_se"].iloc[0] == pytest.approx(base_at[k] - rl_at[1], abs=1e-12)
    assert comp["delta_se_label"].iloc[0] == "ΔSE@4 (k=4 < 256: not the paper's ΔSE@256)"
    assert comp["diff_at_k"].iloc[0] == pytest.approx(base_at[k] - rl_at[k], abs=1e-12)
    first = min(kk for kk in base_at if base_at[kk] >= rl_at[kk])
    assert comp["crossover"].iloc[0] == f"k={first}" and comp["crossover_k"].iloc[0] == first
    curves = metrics.pass_at_k_curve(rows, ks=[1, 2, 4, 8], n_boot=0)
    head = figures.headline_table(p, curves, comp).set_index("model")
    assert pd.isna(head.loc["base", "ΔSE@k"]) and pd.isna(head.loc["base", "first crossing"])
    assert head.loc["rl-grpo", "pass@1"] == pytest.approx(0.5, abs=1e-12)
    assert head.loc["base", "pass@1"] == pytest.approx(13 / 64, abs=1e-12)
    assert head.loc["base", "pass@k"] == pytest.approx(base_at[k], abs=1e-12)
    assert head.loc["rl-grpo", "ΔSE@k"] == pytest.approx(base_at[k] - 0.5, abs=1e-12)


def test_passk_study_plots_each_model_to_its_own_n(monkeypatch, tmp_path):
    """A model with its own n for a benchmark (the paper's LLaMA on
    OlympiadBench: 1024 where the Qwen models have 128) is plotted to its n,
    and a model limited to some benchmarks is left out of the others."""
    f = tmp_path / "p.yaml"
    f.write_text("models:\n"
                 "  - {name: base, path: organism:base, role: base}\n"
                 "  - {name: rl, path: organism:rl-grpo, role: rl, n_per_benchmark: {organism:micro: 16}}\n"
                 "  - {name: only-train, path: organism:base, role: base, benchmarks: [organism:micro-train]}\n"
                 "benchmarks: [organism:micro, organism:micro-train]\nn: 8\nheadline_k: 256\nbootstrap: 10\n")
    p = load_params("fig01_passk_math", f)
    seen = []

    def fake_verdicts(params, models=None, benchmarks=None, grader=None, labels=False):
        # One row per sample, as figures.verdicts returns them (n from the params).
        rows = []
        for bench in params.benchmarks:
            for m in params.models:
                if not params.runs_on(m, bench):
                    continue
                seen.append((m["name"], bench))
                n = params.n_for(bench, m)
                for pid in ("p0", "p1"):
                    rows.append(pd.DataFrame({"model": m["name"], "benchmark": bench, "seed": 0, "problem_id": pid,
                                              "sample_idx": np.arange(n), "correct": np.arange(n) % 4 == 0}))
        out = pd.concat(rows, ignore_index=True)
        return out.assign(label=None) if labels else out  # no answers to vote with: no maj@k

    monkeypatch.setattr(figures, "verdicts", fake_verdicts)
    study = figures.passk_study(p)
    top = study.curves.groupby(["model", "benchmark"])["k"].max()
    assert top[("rl", "organism:micro")] == 16 and top[("base", "organism:micro")] == 8 and top[("rl", "organism:micro-train")] == 8
    assert ("only-train", "organism:micro") not in seen and top[("only-train", "organism:micro-train")] == 8


def test_the_index_links_a_skipped_notebooks_page_from_an_earlier_run_with_its_date(tmp_path):
    # After `report --params atlas`, the default set's pages are still on disk: the index says so
    # (dated, as an earlier run's), and links nothing for a notebook that never ran here.
    from rlboundary.report import write_index

    (tmp_path / "fig01_passk_math.html").write_text("<html></html>")
    index = write_index(tmp_path, [], ["atlas"], 1.0,
                        skipped={"fig01_passk_math": "no yaml", "horizon": "no yaml"}).read_text()
    assert "<a href='fig01_passk_math.html'>its page from an earlier run (" in index
    assert "horizon.html" not in index
