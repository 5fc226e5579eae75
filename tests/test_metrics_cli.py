"""The `rlboundary passk` command on real Parquet verdict files in the store layout.

    .venv/bin/pytest tests/test_metrics_cli.py -q
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from rlboundary import metrics
from rlboundary.commands import metrics_cli
from rlboundary.errors import UserError

GRADER = "math-verify-v1"


def write_run(root, model: str, benchmark: str, counts: dict[str, tuple[int, int]], grader: str = GRADER,
              files: int = 2):
    """A graded run: meta.json plus verdict rows split over several Parquet files."""
    run_dir = root / "samples" / model / benchmark / "abc123-seed0"
    (run_dir / "verdicts" / grader).mkdir(parents=True)
    (run_dir / "meta.json").write_text(json.dumps({"model": {"name": model, "path": "/x"}, "benchmark": benchmark,
                                                   "seed": 0}))
    rows = []
    for pid, (n, c) in counts.items():
        for i in range(n):
            ok = i < c
            rows.append({"problem_id": pid, "sample_idx": np.int32(i), "extracted": "1" if ok else None,
                         "verdict": "correct" if ok else "incorrect", "correct": ok})
    frame = pd.DataFrame(rows)
    for part, chunk in enumerate(np.array_split(frame.index, files)):
        frame.loc[chunk].to_parquet(run_dir / "verdicts" / grader / f"part-{part}.parquet", index=False)
    return run_dir


def invoke(args: list[str]):
    """Run `passk` as the real CLI does: UserError becomes a one-line message and exit 2."""
    app = typer.Typer()
    app.callback()(lambda: None)  # keep `passk` a named sub-command
    metrics_cli.register(app)
    result = CliRunner().invoke(app, ["passk", *args])
    if isinstance(result.exception, UserError):
        return 2, f"error: {result.exception}"
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


BASE_COUNTS = {"p1": (8, 1), "p2": (8, 2), "p3": (8, 0), "p4": (8, 5)}
RL_COUNTS = {"p1": (8, 8), "p2": (8, 0), "p3": (8, 0), "p4": (8, 7)}


@pytest.fixture
def runs(tmp_path):
    return (write_run(tmp_path, "base", "math500", BASE_COUNTS),
            write_run(tmp_path, "rl", "math500", RL_COUNTS))


def test_table_and_parquet_match_the_library(runs, tmp_path):
    base, rl = runs
    out = tmp_path / "curve.parquet"
    code, output = invoke([str(base), str(rl), "--out", str(out), "--n-boot", "200"])
    assert code == 0, output
    written = pd.read_parquet(out)
    counts = pd.concat([metrics_cli.load_run_counts(base), metrics_cli.load_run_counts(rl)])
    expected = metrics.pass_at_k_curve(counts, ks=[1, 2, 4, 8], n_boot=200)
    pd.testing.assert_frame_equal(written, expected)
    assert sorted(written["k"].unique()) == [1, 2, 4, 8]  # default: powers of 2 up to n
    # pass@1 of base is (1+2+0+5)/32 = 0.25, shown on screen with its CI
    row = expected[(expected.model == "base") & (expected.k == 1)].iloc[0]
    assert row.pass_at_k == pytest.approx(0.25)
    assert f"{row.pass_at_k:.4f} [{row.ci_low:.4f}, {row.ci_high:.4f}]" in output
    assert "math500" in output and "base" in output and "rl" in output


def test_base_vs_rl_prints_crossover_and_delta_se(runs):
    base, rl = runs
    code, output = invoke(["--base", str(base), "--rl", str(rl), "--k", "1", "--k", "8", "--n-boot", "100"])
    assert code == 0, output
    base_counts, rl_counts = metrics_cli.load_run_counts(base), metrics_cli.load_run_counts(rl)
    cross = metrics.crossover(base_counts, rl_counts, n_boot=100).iloc[0]
    gap = metrics.sampling_efficiency_gap(base_counts, rl_counts, n_boot=100).iloc[0]
    assert f"crossover (base reaches rl): {cross.description}" in output
    assert f"base ahead) at k = {cross.base_ahead_k}" in output and f"RL ahead) at k = {cross.rl_ahead_k}" in output
    assert f"ΔSE@{int(gap.k_max)} (k={int(gap.k_max)} < 256" in output and f"= {gap.delta_se:.4f}" in output
    # base solves p1, p2, p4; RL solves p1, p4
    assert "both=2, base_only=1, rl_only=0, neither=1" in output


def test_newest_verdict_wins_and_temp_files_are_skipped(tmp_path):
    run_dir = write_run(tmp_path, "m", "b", {"a": (2, 0), "b": (2, 2)})
    vdir = run_dir / "verdicts" / GRADER
    # A re-grade of sample (a, 0), written later (later name), now correct.
    pd.DataFrame({"problem_id": ["a"], "sample_idx": np.array([0], dtype="int32"), "extracted": ["7"],
                  "verdict": ["correct"], "correct": [True]}).to_parquet(vdir / "part-9.parquet", index=False)
    (vdir / ".tmp-part-10.parquet").write_bytes(b"half-written")  # a write in progress
    counts = metrics_cli.load_run_counts(run_dir)
    assert counts[["problem_id", "n", "c"]].values.tolist() == [["a", 2, 1], ["b", 2, 2]]


def test_meta_names_fall_back_to_the_store_layout(tmp_path):
    run_dir = write_run(tmp_path, "qwen", "gsm8k", {"a": (4, 1)})
    (run_dir / "meta.json").unlink()
    assert metrics_cli.read_run_meta(run_dir) == {"model": "qwen", "benchmark": "gsm8k"}


# Builders of bad argument lists, each paired below with the message it must produce.
def _missing_verdicts(tmp_path, runs):
    empty = tmp_path / "samples" / "m" / "b" / "x-seed0"
    empty.mkdir(parents=True)
    return [str(empty)]


def _k_too_large(tmp_path, runs):
    return [str(runs[0]), "--k", "16"]


def _mismatched(tmp_path, runs):
    other = write_run(tmp_path, "rl2", "math500", {"p1": (8, 1), "p9": (8, 1)})
    return ["--base", str(runs[0]), "--rl", str(other)]


def _two_graders(tmp_path, runs):
    extra = runs[0] / "verdicts" / "other-grader"
    extra.mkdir()
    pd.read_parquet(runs[0] / "verdicts" / GRADER / "part-0.parquet").to_parquet(extra / "part-0.parquet")
    return [str(runs[0])]


def _no_run(tmp_path, runs):
    return []


def _base_without_rl(tmp_path, runs):
    return ["--base", str(runs[0])]


def _missing_dir(tmp_path, runs):
    return [str(tmp_path / "nope")]


def _negative_seed(tmp_path, runs):
    return [str(runs[0]), "--seed", "-1"]


def _out_is_a_directory(tmp_path, runs):
    return [str(runs[0]), "--out", str(tmp_path)]


def _out_inside_a_run(tmp_path, runs):
    return [str(runs[0]), "--out", str(runs[0] / "passk.parquet")]


ERROR_CASES = [
    (_negative_seed, "--seed -1 is negative"),
    (_out_is_a_directory, "is not a .parquet file path"),
    (_out_inside_a_run, "is inside a sample run directory"),
    (_missing_verdicts, "no verdicts found"),
    (_k_too_large, "k=16 exceeds n=8"),
    (_mismatched, "different problems"),
    (_two_graders, "several graders"),
    (_no_run, "no run given"),
    (_base_without_rl, "--base and --rl go together"),
    (_missing_dir, "does not exist"),
]


@pytest.mark.parametrize("make_args,message", ERROR_CASES, ids=[c[0].__name__ for c in ERROR_CASES])
def test_bad_arguments_give_one_line_errors(tmp_path, runs, make_args, message):
    code, output = invoke(make_args(tmp_path, runs))
    assert code == 2
    assert message in output
    assert len(output.strip().splitlines()) == 1


def test_grader_option_selects_one_of_several(tmp_path, runs):
    _two_graders(tmp_path, runs)
    code, output = invoke([str(runs[0]), "--grader", GRADER, "--n-boot", "0"])
    assert code == 0, output
    code, output = invoke([str(runs[0]), "--grader", "missing"])
    assert code == 2 and "no verdicts of grader 'missing'" in output


def test_registered_in_the_real_cli(runs, capsys):
    from rlboundary import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["passk", str(runs[0]), "--k", "99"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: k=99 exceeds n=8") and len(err.splitlines()) == 1
