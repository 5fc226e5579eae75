"""The Parquet sample store: atomic chunks under SIGKILL, locking, meta checks, missing units."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow.parquet as pq
import pytest

from rlboundary.errors import UserError
from rlboundary.sampling import SamplingSettings
from rlboundary.store import RunStore, find_runs, run_dir_for

ID = {"model": {"name": "m", "path": "/m"}, "benchmark": "b", "settings": {"t": 1}, "settings_hash": "h", "seed": 0}


def rows(pid: str, idxs) -> list[dict]:
    return [{"problem_id": pid, "sample_idx": i, "text": f"{pid}-{i}", "num_tokens": i, "finish_reason": "stop"} for i in idxs]


def test_write_read_roundtrip_and_schema(tmp_path):
    store = RunStore(tmp_path / "run")
    with store.lock():
        store.ensure_meta(ID, {"n": 4, "problem_ids": ["p", "q"]})
        store.write_chunk(rows("q", range(2)) + rows("p", range(4)))
        store.write_chunk(rows("q", [3, 2]))
    df = store.samples()
    assert list(df.columns) == ["problem_id", "sample_idx", "text", "num_tokens", "finish_reason"]
    assert list(zip(df.problem_id, df.sample_idx)) == [("p", 0), ("p", 1), ("p", 2), ("p", 3), ("q", 0), ("q", 1), ("q", 2), ("q", 3)]
    schema = pq.read_schema(store.part_files()[0])
    assert str(schema.field("sample_idx").type) == "int32" and str(schema.field("num_tokens").type) == "int32"
    assert list(store.samples(columns=["problem_id", "sample_idx"]).columns) == ["problem_id", "sample_idx"]
    assert len(store.samples(max_n=2)) == 4
    s = store.status()
    assert s["complete"] and s["stored"] == 8 and s["missing"] == 0 and s["model"] == "m"


def test_writes_need_the_lock(tmp_path):
    store = RunStore(tmp_path / "run")
    with pytest.raises(RuntimeError, match="lock"):
        store.write_chunk(rows("p", [0]))


def test_meta_mismatch_is_refused(tmp_path):
    store = RunStore(tmp_path / "run")
    with store.lock():
        store.ensure_meta(ID, {"n": 2})
        other = {**ID, "model": {"name": "m", "path": "/elsewhere"}}
        with pytest.raises(UserError, match="model.path: stored '/m', asked '/elsewhere'"):
            store.ensure_meta(other, {"n": 2})
        # The target (n, problems) may change: raising n reuses the run.
        meta = store.ensure_meta(ID, {"n": 8})
    assert meta["target"]["n"] == 8 and json.loads((store.run_dir / "meta.json").read_text())["model"]["path"] == "/m"


def test_missing_units_partial_chunks_and_raised_n(tmp_path):
    store = RunStore(tmp_path / "run")
    s10 = SamplingSettings(n=10, chunk_size=4)
    with store.lock():
        store.ensure_meta(ID)
        assert [(u.problem_id, u.chunk, u.missing) for u in store.missing_units(["a"], s10)] == [
            ("a", 0, (0, 1, 2, 3)), ("a", 1, (4, 5, 6, 7)), ("a", 2, (8, 9))]
        store.write_chunk(rows("a", range(10)) + rows("b", [0, 1, 2, 3, 5]))
    units = store.missing_units(["a", "b"], s10)
    # Chunk-major order; partly stored units list only their missing samples.
    assert [(u.problem_id, u.chunk, u.missing) for u in units] == [("b", 1, (4, 6, 7)), ("b", 2, (8, 9))]
    s16 = SamplingSettings(n=16, chunk_size=4)
    assert [(u.problem_id, u.chunk, u.missing) for u in store.missing_units(["a"], s16)] == [
        ("a", 2, (10, 11)), ("a", 3, (12, 13, 14, 15))]
    assert store.stored_units(4) == {("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)}


def test_second_writer_is_stopped(tmp_path):
    store = RunStore(tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from rlboundary.store import RunStore
            with RunStore({str(store.run_dir)!r}).lock():
                print("locked", flush=True)
                time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"pid {holder.pid}"):
            with store.lock():
                pass
        assert f"pid {holder.pid}" in store.status()["locked_by"]
        holder.send_signal(signal.SIGKILL)  # the OS frees the lock of a killed holder
        holder.wait()
        with store.lock():
            pass
        assert store.status()["locked_by"] is None
    finally:
        holder.kill()
        holder.wait()


WRITER = """
import sys
from rlboundary.store import RunStore
store = RunStore(sys.argv[1])
big = "x" * 20000
with store.lock():
    store.ensure_meta({"seed": 0})
    for k in range(100000):
        store.write_chunk([{"problem_id": f"p{k}", "sample_idx": i, "text": big, "num_tokens": 1,
                            "finish_reason": "stop"} for i in range(50)])
        if k == 1:
            print("writing", flush=True)
"""


def test_sigkill_mid_write_leaves_only_whole_chunks(tmp_path):
    run = tmp_path / "run"
    for delay in (0.05, 0.3, 0.7):
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(run)], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "writing"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        store = RunStore(run)
        assert store.part_files()
        for part in store.part_files():  # every visible chunk is complete and readable
            t = pq.read_table(part)
            assert t.num_rows == 50
        df = store.samples(columns=["problem_id", "sample_idx"])
        assert len(df) == 50 * len(store.part_files())
    # Leftover temp files (a chunk in flight) are ignored by readers, reported, and
    # removed by the next writer.
    (run / ".tmp-part-crashed.parquet").write_bytes(b"PAR1 half a file")
    assert store.status()["temp_files"] >= 1
    n_rows = len(store.samples())
    with store.lock():
        assert store.remove_temp_files() >= 1
    assert store.temp_files() == [] and len(store.samples()) == n_rows


FULL_DISK_WRITER = """
import errno, os, resource, signal, sys
from rlboundary.store import RunStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write then fails with EFBIG
store = RunStore(sys.argv[1])
with store.lock():
    store.ensure_meta({"seed": 0})
    store.write_chunk([{"problem_id": "p0", "sample_idx": 0, "text": "small", "num_tokens": 1, "finish_reason": "stop"}])
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        store.write_chunk([{"problem_id": "p1", "sample_idx": i, "text": os.urandom(2000).hex(), "num_tokens": 1,
                            "finish_reason": "stop"} for i in range(20)])
    except OSError as err:
        print("failed", errno.errorcode[err.errno])
"""


def test_failed_write_leaves_no_temp_file(tmp_path):
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-c", FULL_DISK_WRITER, str(run)], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "failed EFBIG", out.stderr[-2000:]
    store = RunStore(run)
    assert store.temp_files() == [] and len(store.part_files()) == 1
    assert store.samples()["problem_id"].tolist() == ["p0"]


def test_find_runs_and_run_dir(tmp_path):
    d = run_dir_for("tiny", "organism:test", "abc", 3, root=tmp_path)
    assert d == tmp_path / "tiny" / "organism-test" / "abc-seed3"
    store = RunStore(d)
    with store.lock():
        store.ensure_meta({**ID, "benchmark": "organism:test"}, {"n": 2, "problem_ids": ["a"]})
        store.write_chunk(rows("a", [0]))
    [found] = find_runs(tmp_path)
    s = found.status()
    assert (s["benchmark"], s["missing"], s["complete"]) == ("organism:test", 1, False)


def test_token_ids_are_stored_and_old_parts_without_them_still_read(tmp_path):
    import pyarrow as pa

    from rlboundary.store import TOKEN_IDS, sample_schema

    store = RunStore(tmp_path / "run")
    with store.lock():
        store.ensure_meta(ID, {"n": 2, "problem_ids": ["p", "q"]})
        store.write_chunk([{**r, TOKEN_IDS: (5, 6, 7)} for r in rows("p", range(2))])
    # A part written before the column existed: the old five-column schema.
    old = pa.Table.from_pylist(rows("q", range(2)), schema=sample_schema(with_token_ids=False))
    pq.write_table(old, store.run_dir / "part-00000000000000000001-1-old.parquet")
    df = store.samples(columns=["problem_id", "sample_idx", "text", TOKEN_IDS])
    assert [list(x) if x is not None else None for x in df[TOKEN_IDS]] == [[5, 6, 7], [5, 6, 7], None, None]
    assert list(store.samples().columns) == ["problem_id", "sample_idx", "text", "num_tokens", "finish_reason"]
    from rlboundary.store_check import check_run

    report = check_run(store.run_dir, repair=False)
    assert not [f for f in report.findings if f.kind == "wrong-schema"], report.findings


def test_retrained_local_weights_get_their_own_run_directory(tmp_path, monkeypatch):
    """A model retrained at the same path (e.g. a rebuilt organism) must not be
    served the old weights' samples: its weights' hash keys the run."""
    from rlboundary.models import ModelSpec
    from rlboundary.sampling import SamplingSettings
    from rlboundary.store_check import check_run
    from rlboundary.study import run_identity, run_store

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path / "out"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"first weights")
    spec = ModelSpec(name="m", path=str(model), template="raw")
    settings = SamplingSettings(n=2)
    first = run_store(spec, "organism", settings, 0)
    assert spec.identity()["weights"] in first.run_dir.name
    (model / "model.safetensors").write_bytes(b"retrained weights")
    second = run_store(spec, "organism", settings, 0)
    assert second.run_dir != first.run_dir and second.run_dir.parent == first.run_dir.parent
    # The store checker accepts the new directory name for such a run.
    with second.lock():
        second.ensure_meta(run_identity(spec, "organism", settings, 0))
    assert check_run(second.run_dir, repair=False).findings == []


def test_a_damaged_part_or_meta_is_a_one_line_error_that_names_the_repair(tmp_path):
    store = RunStore(tmp_path / "run")
    with store.lock():
        store.ensure_meta(ID, {"n": 4, "problem_ids": ["p"]})
        store.write_chunk(rows("p", range(2)))
        store.write_chunk(rows("p", [2, 3]))
    bad = store.part_files()[1]
    good = store.part_files()[0].read_bytes()
    bad.write_bytes(b"\0" * 64)  # zeroed by a crash
    with pytest.raises(UserError, match=f"sample file {bad} is unreadable.*rlboundary check"):
        store.samples()
    assert store.part_files()[0].read_bytes() == good  # reading touched nothing
    (store.run_dir / "meta.json").write_text('{"model": ')
    with pytest.raises(UserError, match="meta.json is damaged.*rlboundary check"):
        store.read_meta()
    with pytest.raises(UserError, match="meta.json is damaged"), store.lock():
        store.ensure_meta(ID, {"n": 4})
    assert (store.run_dir / "meta.json").read_text() == '{"model": '  # never overwritten from a later command


def test_a_named_store_root_that_does_not_exist_is_an_error(tmp_path):
    from rlboundary.store_check import find_run_dirs

    for find in (find_runs, find_run_dirs):
        with pytest.raises(UserError, match="is not a directory"):
            find(tmp_path / "typo")
        assert find(tmp_path) == []  # an existing, empty root: no runs
