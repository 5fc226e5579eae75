"""Two runs on the same run key at once: one writes, the other stops (sampling) or waits (grading).

    pytest tests/reliability/test_concurrency.py -q

Real `rlboundary` subprocesses started together. Sampling: the store's lock
lets exactly one of them write; the other stops at once with a one-line
message naming the holder, and every chunk file carries the writer's pid.
Grading: the verdict cache's lock makes the second grader wait, then find
every verdict cached; no sample is graded twice.
"""

from __future__ import annotations

import re
from pathlib import Path

from rlboundary.store import RunStore
from rlboundary.store_check import check_run

from .conftest import (N, assert_store_intact, copy_run, make_grading_store, only_run_dir, read_verdict_rows, record,
                       run_cli, start_cli, tail, tree_hashes)


def _finish(procs, logs, timeout=900):
    results = []
    for proc, log in zip(procs, logs):
        rc = proc.wait(timeout=timeout)
        results.append((rc, Path(f"{log}.out").read_text(errors="replace"), Path(f"{log}.err").read_text(errors="replace")))
    return results


def test_two_samplers_on_one_run_key(reference_run, tmp_path):
    outputs = tmp_path / "outputs"
    args = reference_run["args"]
    logs = [tmp_path / "a", tmp_path / "b"]
    procs = [start_cli(args, outputs, log) for log in logs]  # started together: a real race
    results = _finish(procs, logs)
    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0, 2], f"expected one writer and one refusal, got exit codes {codes}:\n" + "\n".join(tail(e) for _, _, e in results)
    winner = next(i for i, (rc, _, _) in enumerate(results) if rc == 0)
    loser_err = results[1 - winner][2]
    errors = [line for line in loser_err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in loser_err, loser_err
    assert re.search(r"another process \(pid \d+ since .*\) is writing run .* Fix: wait for it to finish", errors[0]), errors[0]
    run_dir = only_run_dir(outputs)
    rows = assert_store_intact(run_dir, complete=True)
    # Every chunk was written by the winner: part-<ns>-<pid>-<id>.parquet.
    writers = {p.name.split("-")[2] for p in RunStore(run_dir).part_files()}
    assert writers == {str(procs[winner].pid)}, writers
    assert check_run(run_dir).findings == []
    # The loser run again afterwards finds nothing to do and writes nothing.
    before = tree_hashes(run_dir)
    rc, out, err, _ = run_cli(args, outputs)
    assert rc == 0 and "complete: 32/32" in out, tail(err)
    after = tree_hashes(run_dir)
    assert {k: v for k, v in after.items() if k.startswith("part-")} == {k: v for k, v in before.items() if k.startswith("part-")}
    record("concurrency", case="two `sample` on one run key", outcome="one wrote, one refused with a one-line message",
           samples=len(rows), n=N)


def test_two_graders_on_one_run(tmp_path, math_data_dir):
    outputs = tmp_path / "outputs"
    run_dir = copy_run(make_grading_store(tmp_path / "template", n=16), outputs)
    args = ["verify", str(run_dir), "--data-dir", str(math_data_dir), "--workers", "1"]
    logs = [tmp_path / "g1", tmp_path / "g2"]
    procs = [start_cli(args, outputs, log) for log in logs]
    results = _finish(procs, logs)
    assert [rc for rc, _, _ in results] == [0, 0], "\n".join(tail(e) for _, _, e in results)
    lines = [out.strip().splitlines()[-1] for _, out, _ in results]
    # One grader graded everything; the other waited for the lock and found it all cached.
    assert sorted(re.search(r"\((\d+) cached, (\d+) new\)", line).groups() for line in lines) == [("0", "64"), ("64", "0")], lines
    v = read_verdict_rows(run_dir)
    keys = list(zip(v["problem_id"], v["sample_idx"]))
    assert len(keys) == len(set(keys)) == 64
    assert check_run(run_dir).findings == []
    record("concurrency", case="two `verify` on one run", outcome="second waited, found all 64 verdicts cached")
