"""The grading driver: dedupe, fan-out, on-disk cache, worker timeouts and
crashes, and the `verify` command. Real worker processes, real Parquet."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlboundary.errors import UserError
from rlboundary.verify.grading import GradingProblem, get_grader, grade_frame, grade_run, read_verdicts, verdict_dir


@dataclass(frozen=True)
class CountingGrader:
    """Key = lower-cased stripped text; logs every grade() call to a file."""

    log_path: str
    grader_id: str = "counting-v1"
    item_timeout_s: float = 5.0

    def extract(self, text, problem):
        return text.strip().lower() or None

    def grade(self, key, problem):
        with open(self.log_path, "a") as fh:
            fh.write(f"{problem.id}\t{key}\n")
        return ("correct" if key == problem.reference else "incorrect"), {"key_len": len(key)}


@dataclass(frozen=True)
class MisbehavingGrader:
    """Keys name a misbehaviour: spin (CPU), hang (no CPU), die, raise, bad verdict."""

    grader_id: str = "misbehaving-v1"
    item_timeout_s: float = 1.0

    def extract(self, text, problem):
        if text == "extract-raises":
            raise ValueError("cannot extract")
        return text

    def grade(self, key, problem):
        if key == "spin":
            while True:
                pass
        if key == "hang":
            time.sleep(3600)
        if key == "die":
            os._exit(3)
        if key == "raise":
            raise ValueError("grader bug")
        if key == "bad":
            return "maybe", {}
        return "correct", {}


def _samples(rows):
    return pd.DataFrame(
        {
            "problem_id": [r[0] for r in rows],
            "sample_idx": pd.Series([r[1] for r in rows], dtype="int32"),
            "text": pd.Series([r[2] for r in rows], dtype=object),
        }
    )


PROBLEMS = [GradingProblem("p1", "", "a", {}), GradingProblem("p2", "", "b", {})]


def _log_lines(path):
    return Path(path).read_text().splitlines() if Path(path).exists() else []


def test_each_distinct_answer_is_graded_once_and_fanned_out(tmp_path):
    log = tmp_path / "calls.log"
    rows = [("p1", i, ["a", " A", "c", "d"][i % 4]) for i in range(40)] + [("p2", i, ["b", "a", ""][i % 3]) for i in range(30)]
    verdicts = grade_frame(_samples(rows), PROBLEMS, CountingGrader(str(log)), workers=2)
    assert len(verdicts) == 70
    calls = _log_lines(log)
    # p1: keys a, c, d; p2: keys b, a ('' is no answer: never graded)
    assert sorted(calls) == sorted(["p1\ta", "p1\tc", "p1\td", "p2\tb", "p2\ta"])
    stats = verdicts.attrs["stats"]
    assert (stats.distinct, stats.graded, stats.new) == (5, 5, 70)
    by = verdicts.set_index(["problem_id", "sample_idx"])
    assert by.loc[("p1", 1), "verdict"] == "correct" and by.loc[("p1", 1), "extracted"] == "a"
    assert by.loc[("p1", 2), "verdict"] == "incorrect"
    assert by.loc[("p2", 2), "verdict"] == "unparseable" and pd.isna(by.loc[("p2", 2), "extracted"])
    assert verdicts["correct"].sum() == 20 + 10
    assert by.loc[("p1", 0), "key_len"] == 1  # grader extras become columns
    assert list(verdicts.columns[:5]) == ["problem_id", "sample_idx", "extracted", "verdict", "correct"]


def _write_samples(run_dir: Path, rows, name: str):
    run_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(_samples(rows), preserve_index=False), run_dir / f"part-{name}.parquet")


def test_cache_grades_only_new_samples_and_invalidates(tmp_path):
    run = tmp_path / "run"
    log = tmp_path / "calls.log"
    grader = CountingGrader(str(log))
    _write_samples(run, [("p1", i, "a" if i % 2 else "c") for i in range(10)], "0")
    first = grade_run(run, PROBLEMS, grader)
    assert first.attrs["stats"].new == 10 and len(_log_lines(log)) == 2
    parts = list(verdict_dir(run, grader).glob("part-*.parquet"))
    assert parts and not list(verdict_dir(run, grader).glob(".tmp-*"))

    # Nothing new: nothing graded, same verdicts.
    again = grade_run(run, PROBLEMS, grader)
    assert again.attrs["stats"].cached == 10 and again.attrs["stats"].new == 0
    assert len(_log_lines(log)) == 2
    pd.testing.assert_frame_equal(first[["problem_id", "sample_idx", "verdict"]], again[["problem_id", "sample_idx", "verdict"]])

    # More samples: repeated answers reuse stored verdicts, a new answer is graded.
    _write_samples(run, [("p1", i, "a" if i % 2 else "z") for i in range(10, 20)] + [("p2", 0, "b")], "1")
    more = grade_run(run, PROBLEMS, grader)
    s = more.attrs["stats"]
    assert (s.cached, s.new, s.graded) == (10, 11, 2)  # graded: (p1, z) and (p2, b)
    assert len(more) == 21 and len(_log_lines(log)) == 4

    # A changed gold answer re-grades that problem's samples only.
    changed = [GradingProblem("p1", "", "z", {}), PROBLEMS[1]]
    regraded = grade_run(run, changed, grader)
    assert regraded.attrs["stats"].new == 20 and regraded.attrs["stats"].cached == 1
    assert regraded.set_index(["problem_id", "sample_idx"]).loc[("p1", 10), "verdict"] == "correct"

    # A new grader version is a fresh cache in its own directory.
    other = CountingGrader(str(log), grader_id="counting-v2")
    fresh = grade_run(run, changed, other)
    assert fresh.attrs["stats"].cached == 0 and verdict_dir(run, other) != verdict_dir(run, grader)
    assert len(read_verdicts(run, other)) == 21


@dataclass(frozen=True)
class LastWordGrader:
    """Key = the text's last word; decided in the calling process (`grade_fast`), no workers."""

    grader_id: str = "last-word-v1"
    item_timeout_s: float = 5.0

    def extract(self, text, problem):
        return text.rsplit(" ", 1)[-1] or None

    def grade_fast(self, key, problem):
        return ("correct" if key == problem.reference else "incorrect"), {}

    def grade(self, key, problem):
        return self.grade_fast(key, problem)


def test_grade_run_grades_in_bounded_chunks_reusing_answers_across_them(tmp_path, monkeypatch):
    """The run's text is read and graded in chunks of at most CHUNK_SAMPLES
    samples; a (problem, answer) graded in one chunk is reused in the next,
    and the verdicts are those of grading everything at once."""
    from rlboundary.verify import grading

    run, log = tmp_path / "run", tmp_path / "calls.log"
    rows = [(pid, i, ["a", "b", "c", f"x{i % 5}"][i % 4]) for pid in ("p1", "p2") for i in range(30)]
    for j in range(0, len(rows), 20):  # three sample parts, each spanning problems
        _write_samples(run, rows[j : j + 20], str(j))
    sizes = []
    real = grading._grade_samples
    monkeypatch.setattr(grading, "_grade_samples", lambda samples, *a, **kw: sizes.append(len(samples)) or real(samples, *a, **kw))
    monkeypatch.setattr(grading, "CHUNK_SAMPLES", 7)
    got = grade_run(run, PROBLEMS, CountingGrader(str(log)), workers=1)
    assert max(sizes) <= 7 and sum(sizes) == 60 and len(sizes) == 9
    calls = _log_lines(log)
    assert len(calls) == len(set(calls)) == 2 * 8  # each (problem, key) graded once in the whole run
    assert got.attrs["stats"].distinct == 16 and got.attrs["stats"].new == 60
    whole = grade_frame(_samples(rows), PROBLEMS, CountingGrader(str(tmp_path / "other.log")), workers=1)
    cols = ["problem_id", "sample_idx", "extracted", "verdict", "correct", "key_len"]
    pd.testing.assert_frame_equal(got[cols], whole[cols])
    # Stored chunk by chunk, and read back whole.
    assert len(list(verdict_dir(run, CountingGrader(str(log))).glob("part-*.parquet"))) >= 9
    again = grade_run(run, PROBLEMS, CountingGrader(str(log)))
    assert again.attrs["stats"].cached == 60 and len(_log_lines(log)) == 16
    pd.testing.assert_frame_equal(again[cols], whole[cols])


def test_grade_run_memory_follows_the_chunk_not_the_run(tmp_path, monkeypatch):
    """Grading a run with 40 MB of response text holds one chunk's text at a
    time (Python allocations, traced): grading all of it at once held it all."""
    import tracemalloc

    from rlboundary.verify import grading

    run = tmp_path / "run"
    body = "y" * 50_000
    for part in range(8):  # 8 parts x 100 samples x 50 kB, every text distinct
        _write_samples(run, [(("p1", "p2")[i % 2], part * 100 + i, f"{part}.{i} {body} a") for i in range(100)], str(part))
    monkeypatch.setattr(grading, "CHUNK_TEXT_BYTES", 2 * 2**20)
    tracemalloc.start()
    try:
        got = grade_run(run, PROBLEMS, LastWordGrader())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(got) == 800 and got["correct"].sum() == 400  # every sample answers 'a': p1's gold
    assert peak < 16 * 2**20, f"peak traced memory {peak / 2**20:.0f} MB for 40 MB of text"


@pytest.mark.timeout(300)
def test_timeouts_crashes_and_errors_become_verdicts():
    rows = [("p1", i, t) for i, t in enumerate(["spin", "hang", "die", "raise", "bad", "ok", "extract-raises"])]
    start = time.monotonic()
    verdicts = grade_frame(_samples(rows), PROBLEMS, MisbehavingGrader(), workers=2)
    elapsed = time.monotonic() - start
    got = dict(zip(verdicts["sample_idx"], verdicts["verdict"]))
    detail = dict(zip(verdicts["sample_idx"], verdicts["detail"]))
    assert got == {0: "timeout", 1: "timeout", 2: "error", 3: "error", 4: "error", 5: "correct", 6: "error"}, detail
    detail = dict(zip(verdicts["sample_idx"], verdicts["detail"]))
    assert "CPU" in detail[0] and "wall time" in detail[1] and "worker died" in detail[2]
    assert verdicts.attrs["stats"].killed_workers == 1
    assert elapsed < 60  # the hang costs its wall deadline (3*1+10 s), not the run
    # The pool replaced its dead and killed workers: it still grades.
    assert grade_frame(_samples([("p1", 0, "ok")]), PROBLEMS, MisbehavingGrader())["verdict"].tolist() == ["correct"]


@pytest.mark.timeout(300)
def test_items_queued_behind_a_hang_or_a_crash_still_get_their_verdicts():
    """Workers keep a queue of items in their pipes; the items queued behind
    one that hangs (killed) or crashes its worker are sent again to the
    replacement, never lost or blamed."""
    texts = [f"ok{i}" for i in range(60)] + ["hang"] + [f"ok{i}" for i in range(60, 120)] + ["die"] + [f"ok{i}" for i in range(120, 180)]
    rows = [("p1", i, t) for i, t in enumerate(texts)]
    start = time.monotonic()
    verdicts = grade_frame(_samples(rows), PROBLEMS, MisbehavingGrader(), workers=2)
    elapsed = time.monotonic() - start
    got = dict(zip(verdicts["extracted"], verdicts["verdict"]))
    assert got.pop("hang") == "timeout" and got.pop("die") == "error"
    assert set(got.values()) == {"correct"} and len(got) == 180
    assert verdicts.attrs["stats"].killed_workers == 1
    assert elapsed < 90  # one wall deadline (3*1+10 s) plus start-ups, not one per queued item


def test_worker_pool_pipelines_fast_items():
    """Fast items are queued several deep per worker (the round trip to the
    parent, not the grading, would otherwise bound the rate)."""
    from rlboundary.verify.workers import WorkerPool

    rows = [(i, f"ok{i}", PROBLEMS[0]) for i in range(400)]
    with WorkerPool(MisbehavingGrader(), workers=2) as pool:
        got = sorted(item_id for item_id, verdict, _ in pool.imap(rows) if verdict == "correct")
        assert pool._queue_limit() > 1
    assert got == list(range(400))


def test_bad_inputs_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not in the given problems"):
        grade_frame(_samples([("nope", 0, "a")]), PROBLEMS, CountingGrader(str(tmp_path / "l")))
    with pytest.raises(UserError, match="unknown grader"):
        get_grader("no-such-grader")
    with pytest.raises(UserError, match="does not exist"):
        grade_run(tmp_path / "missing", PROBLEMS, "math-verify")
    with pytest.raises(UserError, match="column"):
        grade_frame(pd.DataFrame({"problem_id": ["p1"]}), PROBLEMS, "math-verify")


def test_math_graders_registered_with_versions():
    for name in ("math-verify", "math-equal"):
        g = get_grader(name)
        assert g.grader_id.startswith(name) and any(ch.isdigit() for ch in g.grader_id)
    assert get_grader("math-verify").grader_id != get_grader("math-equal").grader_id


def test_verify_command_errors_are_one_line(tmp_path, capsys):
    from rlboundary.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["verify", str(tmp_path / "nope")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "does not exist" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--benchmark", "math500"])
    assert exc.value.code == 2 and "no stored runs" in capsys.readouterr().err


MATH_DATA = Path("/work/shared/benchmarks/math")


def test_verify_command_grades_a_stored_run(tmp_path, capsys):
    if not (MATH_DATA / "math500.jsonl").exists():
        pytest.skip(f"{MATH_DATA} is absent (reference data of the project's machines)")
    from rlboundary.benchmarks import get_benchmark
    from rlboundary.cli import main

    bench = get_benchmark("math500", data_dir=MATH_DATA, limit=3)
    run = tmp_path / "samples" / "m" / "math500" / "abc-seed0"
    rows = []
    for p in bench.problems:
        rows += [(p.id, i, f"so \\boxed{{{p.reference}}}" if i % 2 == 0 else "\\boxed{-1}") for i in range(4)]
    _write_samples(run, rows, "0")
    (run / "meta.json").write_text(json.dumps({"model": "m", "benchmark": "math500"}))
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(run), "--data-dir", str(MATH_DATA), "--grader", "math-equal"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "12 samples (0 cached, 12 new)" in out and "accuracy 0.5000" in out
    with pytest.raises(SystemExit):
        main(["verify", "--root", str(tmp_path / "samples"), "--model", "m", "--data-dir", str(MATH_DATA), "--grader", "math-equal"])
    assert "12 samples (12 cached, 0 new)" in capsys.readouterr().out
