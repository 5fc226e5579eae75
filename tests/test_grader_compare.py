"""`rlboundary passk --graders ... --maj` on a real stored run: graders read by
name (graded on demand through the real workers), a `source` verdict set in
the cache layout, the disagreement table, maj@k beside pass@k."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rlboundary.errors import UserError
from rlboundary.store import RunStore
from rlboundary.verify.compare import disagreements, run_verdicts
from test_metrics_cli import invoke

PROBLEMS = [
    {"problem": "Half of one?", "answer": "\\frac{1}{2}", "unique_id": "p1"},
    {"problem": "What percent is one half?", "answer": "50", "unique_id": "p2"},
    {"problem": "Name the interval.", "answer": "[1,2]", "unique_id": "p3"},
]
# Responses where the paper's grader and math-verify differ (a percentage,
# 1e-4 tolerance, brackets, two boxes), and where they agree.
RESPONSES = {
    "p1": ["so $\\boxed{\\frac12}$", "so $\\boxed{0.5}$", "so $\\boxed{0.50001}$", "\\boxed{1}, then \\boxed{2}", "no idea"],
    "p2": ["$\\boxed{0.5}$", "$\\boxed{50}$", "$\\boxed{50\\%}$", "$\\boxed{51}$", "$\\boxed{0.5}$"],
    "p3": ["$\\boxed{(1,2)}$", "$\\boxed{[1,2]}$", "$\\boxed{[1,2]}$", "$\\boxed{[1,3]}$", "$\\boxed{(1,2)}$"],
}


@pytest.fixture
def graded_run(tmp_path):
    data = tmp_path / "data" / "math500"  # the official code's layout: <name>/test.jsonl
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in PROBLEMS))
    store = RunStore(tmp_path / "samples" / "tiny" / "math500" / "h-seed0")
    with store.lock():
        store.ensure_meta({"model": "tiny", "benchmark": "math500", "seed": 0})
        store.write_chunk(pd.DataFrame([{"problem_id": pid, "sample_idx": i, "text": t, "num_tokens": 5, "finish_reason": "stop"}
                                        for pid, texts in RESPONSES.items() for i, t in enumerate(texts)]))
    # An imported file's own verdicts: every sample of p3 "correct".
    source = store.run_dir / "verdicts" / "source"
    source.mkdir(parents=True)
    pd.DataFrame([{"problem_id": pid, "sample_idx": i, "extracted": None, "verdict": "correct" if pid == "p3" else "incorrect",
                   "correct": pid == "p3"} for pid, texts in RESPONSES.items() for i, _ in enumerate(texts)]
                 ).to_parquet(source / "part-0.parquet", index=False)
    return store.run_dir, tmp_path / "data"


def test_graders_by_name_and_their_disagreements(graded_run):
    run_dir, data = graded_run
    mv = run_verdicts(run_dir, "math-verify", data_dir=str(data))  # graded now (no verdicts yet)
    me = run_verdicts(run_dir, "math-equal", data_dir=str(data))
    src = run_verdicts(run_dir, "source")
    assert len(mv) == len(me) == len(src) == 15
    # Read back from the cache the second time (no benchmark needed).
    assert run_verdicts(run_dir, "math-verify")["correct"].tolist() == mv["correct"].tolist()
    table = disagreements({"math-verify": mv, "math-equal": me, "source": src})
    assert table.attrs["samples_compared"] == 15
    assert table["samples"].sum() == table.attrs["samples_disagreeing"] > 0
    # Every row really is a disagreement, and the counts add up per (problem, verdicts).
    for row in table.itertuples(index=False):
        assert len({row[2] == "correct", row[3] == "correct", row[4] == "correct"}) == 2


def test_passk_command_prints_each_grader_the_table_and_maj(graded_run):
    run_dir, data = graded_run
    code, out = invoke([str(run_dir), "--graders", "math-verify,math-equal,source", "--maj", "--n-boot", "0",
                        "--data-dir", str(data)])
    assert code == 0, out
    for label in ("[math-verify]", "[math-equal]", "[source]", "maj@k", "grader disagreements", "samples differ"):
        assert label in out, label
    # pass@1 under `source` is what its rows say: 5 of 15 samples (p3) correct.
    assert "0.3333" in out


def test_source_missing_is_one_line(tmp_path, graded_run):
    run_dir, data = graded_run
    import shutil

    shutil.rmtree(run_dir / "verdicts" / "source")
    with pytest.raises(UserError, match="exists only for imported runs"):
        run_verdicts(run_dir, "source")
    code, out = invoke([str(run_dir), "--graders", "math-verify,source", "--data-dir", str(data)])
    assert code == 2 and "exists only for imported runs" in out and "\n" not in out.strip()
