"""`rlboundary check`: stores corrupted on purpose are reported and repaired, never emptied.

Each test copies one graded store (written through the real RunStore and
graded by the real math-verify grader), breaks it the way a crash, a full
disk or a careless copy would, and runs the checker: in-process for the
details of its report, through the CLI for exit codes and output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlboundary.store import RunStore, sample_schema
from rlboundary.store_check import check_run

from .conftest import PROBLEMS, cli_env, record, run_cli, tree_hashes

N_SYNTH = 8


def make_store(outputs: Path, n: int = N_SYNTH, chunk: int = 4) -> Path:
    """A complete run of a fictitious model: every problem x n samples, one
    chunk file per seed chunk, texts ending in right or wrong boxed answers."""
    from rlboundary.models import ModelSpec
    from rlboundary.sampling import SamplingSettings
    from rlboundary.store import run_dir_for
    from rlboundary.study import effective_settings, run_identity

    spec = ModelSpec(name="synthetic", path="/nowhere/synthetic", template="raw")
    settings = effective_settings(spec, SamplingSettings(n=n, max_tokens=16, chunk_size=chunk))
    store = RunStore(run_dir_for(spec.name, "math500", settings.settings_hash(), 0, root=outputs / "samples"))
    ids = [p["unique_id"] for p in PROBLEMS]
    with store.lock():
        store.ensure_meta(run_identity(spec, "math500", settings, 0), target={"n": n, "problem_ids": ids})
        for c in range(settings.n_chunks()):
            rows = []
            for p in PROBLEMS:
                for i in settings.chunk_range(c):
                    answer = p["answer"] if i % 3 == 0 else f"{i + 100}"
                    rows.append({"problem_id": p["unique_id"], "sample_idx": i, "text": f"so the answer is \\boxed{{{answer}}}",
                                 "num_tokens": 10 + i, "finish_reason": "stop"})
            store.write_chunk(rows)
    return store.run_dir


@pytest.fixture(scope="module")
def graded_template(tmp_path_factory, math_data_dir):
    """A graded synthetic store, built once; tests get copies."""
    from rlboundary.benchmarks import get_benchmark
    from rlboundary.verify.grading import grade_run

    outputs = tmp_path_factory.mktemp("graded") / "outputs"
    run_dir = make_store(outputs)
    verdicts = grade_run(run_dir, get_benchmark("math500", data_dir=math_data_dir), "math-verify", workers=1)
    assert len(verdicts) == len(PROBLEMS) * N_SYNTH and verdicts["correct"].sum() == len(PROBLEMS) * 3
    return outputs


@pytest.fixture
def store_copy(graded_template, tmp_path) -> Path:
    outputs = tmp_path / "corrupted"
    shutil.copytree(graded_template, outputs)
    (run_dir,) = [p.parent for p in (outputs / "samples").glob("*/*/*/meta.json")]
    return run_dir


def kinds(result, repaired=None):
    return sorted(f.kind for f in result.findings if repaired is None or f.repaired == repaired)


def verdict_files(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "verdicts").glob("*/part-*.parquet"))


def verdict_keys(run_dir: Path) -> list[tuple]:
    keys = []
    for p in verdict_files(run_dir):
        t = pq.read_table(p, columns=["problem_id", "sample_idx"])
        keys += list(zip(t.column("problem_id").to_pylist(), t.column("sample_idx").to_pylist()))
    return keys


def sample_keys(run_dir: Path) -> set[tuple]:
    df = RunStore(run_dir).stored_index()
    return set(zip(df["problem_id"], df["sample_idx"]))


def test_a_sound_store_is_ok_and_untouched(store_copy):
    before = tree_hashes(store_copy)
    result = check_run(store_copy)
    assert result.findings == [] and result.status() == "ok" and result.sound
    assert result.samples == len(PROBLEMS) * N_SYNTH and result.chunks == 2
    assert any("32 of 32 samples graded" in n for n in result.notes), result.notes
    assert tree_hashes(store_copy) == before


def test_truncated_chunk_is_quarantined_and_its_verdicts_dropped(store_copy):
    victim = RunStore(store_copy).part_files()[1]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # a half-written chunk
    result = check_run(store_copy)
    # Grading may store its verdicts in several parts: one orphan finding per part that held the chunk's samples.
    orphan_parts = kinds(result).count("orphan-verdicts")
    assert set(kinds(result)) == {"orphan-verdicts", "unreadable-chunk"} and result.sound, result.report()
    assert kinds(result).count("unreadable-chunk") == 1, result.report()
    quarantined = list((store_copy / "quarantine").rglob(victim.name))
    assert len(quarantined) == 1 and quarantined[0].read_bytes() == data[: len(data) // 2], "quarantine must keep the bytes"
    assert not victim.exists()
    # The remaining store reads, and every verdict left belongs to a stored sample.
    assert len(sample_keys(store_copy)) == len(PROBLEMS) * 4
    assert set(verdict_keys(store_copy)) == sample_keys(store_copy)
    assert len(list((store_copy / "quarantine").rglob("verdicts/*/part-*.parquet"))) == orphan_parts, "original verdicts kept"
    assert any(n.startswith("incomplete: 16 of 32") for n in result.notes), result.notes
    again = check_run(store_copy)
    assert again.findings == [], again.report()


def test_garbage_chunk_and_wrong_schema_are_quarantined(store_copy):
    (store_copy / "part-99999999999999999990-1-garbage.parquet").write_bytes(b"\x00garbage\xff" * 100)
    wrong = pa.table({"problem_id": ["p0"], "sample_idx": pa.array([99], pa.int64()), "text": ["x"],
                      "num_tokens": pa.array([1], pa.int32()), "finish_reason": ["stop"]})
    pq.write_table(wrong, store_copy / "part-99999999999999999991-1-wrong.parquet")
    result = check_run(store_copy)
    assert kinds(result) == ["unreadable-chunk", "wrong-schema"] and result.sound, result.report()
    assert len(RunStore(store_copy).samples()) == len(PROBLEMS) * N_SYNTH  # readers work again
    assert len(list((store_copy / "quarantine").rglob("part-*.parquet"))) == 2


def test_duplicate_chunk_under_another_name_is_quarantined(store_copy):
    first = RunStore(store_copy).part_files()[0]
    shutil.copy(first, store_copy / "part-99999999999999999999-1-copy.parquet")
    assert RunStore(store_copy).status()["duplicates"] == len(PROBLEMS) * 4
    result = check_run(store_copy)
    (finding,) = result.findings
    assert finding.kind == "duplicate-chunk" and finding.repaired and "texts identical" in finding.problem
    assert RunStore(store_copy).status()["duplicates"] == 0 and RunStore(store_copy).status()["complete"]


def test_partly_overlapping_chunk_is_reported_not_repaired(store_copy):
    rows = RunStore(store_copy).samples().iloc[:3].copy()
    extra = rows.iloc[:1].assign(sample_idx=rows["sample_idx"].iloc[0] + 1000)
    # The stored rows may predate the token_ids column: write the overlap with their own schema.
    schema = sample_schema(with_token_ids="token_ids" in rows.columns)
    table = pa.Table.from_pandas(pd.concat([rows, extra]), schema=schema, preserve_index=False)
    path = store_copy / "part-99999999999999999999-1-overlap.parquet"
    pq.write_table(table, path)
    before = tree_hashes(store_copy)
    result = check_run(store_copy)
    assert [f.kind for f in result.unrepaired] == ["overlapping-chunk"] and not result.sound
    assert result.status() == "PROBLEM"
    assert path.exists() and tree_hashes(store_copy) == before, "an unrepairable file must be left where it is"


def test_leftover_temp_files_and_stale_lock_owner_are_removed(store_copy):
    (store_copy / ".tmp-part-00000000000000000001-1-dead.parquet").write_bytes(b"PAR1 half")
    vdir = next((store_copy / "verdicts").iterdir())
    (vdir / ".tmp-part-00000000000000000002-dead.parquet").write_bytes(b"")
    (store_copy / ".lock.owner").write_text("pid 999999 since 2025-01-01 00:00:00\n")
    dry = check_run(store_copy, repair=False)
    assert kinds(dry, repaired=False) == ["stale-lock", "temp-file", "temp-file"] and not dry.sound
    assert (store_copy / ".lock.owner").exists()
    result = check_run(store_copy)
    assert kinds(result, repaired=True) == ["stale-lock", "temp-file", "temp-file"] and result.sound, result.report()
    assert not list(store_copy.rglob(".tmp-*")) and not (store_copy / ".lock.owner").exists()


def test_meta_problems_are_not_repairable(store_copy):
    meta_path = store_copy / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["settings"]["temperature"] = 1.5  # no longer what the directory's hash says
    meta_path.write_text(json.dumps(meta))
    result = check_run(store_copy)
    assert [f.kind for f in result.unrepaired] == ["meta"] and "settings hash" in result.unrepaired[0].problem
    meta_path.write_text("{not json")
    result = check_run(store_copy)
    assert [f.kind for f in result.unrepaired] == ["meta"] and "not valid JSON" in result.unrepaired[0].problem
    meta_path.unlink()
    result = check_run(store_copy)
    assert [f.kind for f in result.unrepaired] == ["meta"] and "missing" in result.unrepaired[0].problem


def test_a_live_writer_is_left_alone(store_copy):
    """A run whose lock is held is checked read-only: its temp file may be a chunk in flight."""
    tmp = store_copy / ".tmp-part-00000000000000000003-1-inflight.parquet"
    tmp.write_bytes(b"in flight")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time\nfrom rlboundary.store import RunStore\n"
         f"with RunStore({str(store_copy)!r}).lock():\n    print('locked', flush=True)\n    time.sleep(60)"],
        stdout=subprocess.PIPE, env=cli_env(store_copy.parents[3]),
    )
    try:
        assert holder.stdout.readline().strip() == b"locked"
        result = check_run(store_copy)
        assert result.busy and "pid" in result.busy and result.findings == []
        assert tmp.exists()
    finally:
        holder.kill()
        holder.wait()
    # The holder died by SIGKILL: now its note is stale and the temp file a leftover.
    result = check_run(store_copy)
    assert kinds(result, repaired=True) == ["stale-lock", "temp-file"], result.report()


def test_cli_reports_repairs_and_exit_codes(store_copy, tmp_path):
    outputs = store_copy.parents[3]
    victim = RunStore(store_copy).part_files()[0]
    victim.write_bytes(victim.read_bytes()[:100])
    before = tree_hashes(outputs)
    rc, out, err, _ = run_cli(["check", "--all", "--dry-run"], outputs)
    assert rc == 1 and "needs repair" in out and "would move to quarantine/" in out, out + err
    assert tree_hashes(outputs) == before, "--dry-run must change nothing"
    rc, out, err, _ = run_cli(["check", str(store_copy)], outputs)
    assert rc == 0 and "repaired" in out and "moved to quarantine/" in out and "checked 1 run(s): 1 repaired" in out, out + err
    rc, out, err, _ = run_cli(["check", "--all"], outputs)
    assert rc == 0 and "checked 1 run(s): 1 ok" in out, out + err
    # An unrepairable problem: exit 1, and the report says what to do.
    (store_copy / "meta.json").write_text("[]")
    rc, out, err, _ = run_cli(["check", str(store_copy)], outputs)
    assert rc == 1 and "NOT REPAIRABLE" in out and "PROBLEM" in out, out + err
    record("check command", corruptions_repaired=1, unrepairable_reported=1)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["check"], "no run directory given"),
        (["check", "/nonexistent/run"], "does not exist"),
        (["check", "{outputs}"], "is not a sample store run directory"),
        (["check", "{run_dir}", "--all"], "not both"),
    ],
)
def test_cli_usage_errors_are_one_line(argv, fragment, store_copy):
    outputs = store_copy.parents[3]
    argv = [a.format(outputs=outputs, run_dir=store_copy) for a in argv]
    rc, out, err, _ = run_cli(argv, outputs)
    assert rc == 2 and fragment in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
