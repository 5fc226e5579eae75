"""Disk full in the middle of a sampling run: a one-line error, earlier chunks intact, the rerun completes.

    pytest tests/reliability/test_disk_full.py -q

Two ways to run out of space, both on the real `rlboundary sample`:
- a file-size limit (RLIMIT_FSIZE, set in the child; SIGXFSZ ignored so that
  the write fails with EFBIG instead of killing the process): a run that
  raises n from 8 to 16 cannot write its new chunk;
- a small tmpfs (needs root and mount; full counts only): the run writes
  chunks until the file system is full (ENOSPC), then the tmpfs is grown
  ("space is back") and the rerun completes.
"""

from __future__ import annotations

import resource
import signal
import subprocess

import pytest

from rlboundary.store import RunStore
from rlboundary.store_check import check_run

from .conftest import FULL, N, assert_store_intact, copy_run, only_run_dir, record, run_cli, tail, tree_hashes

CRASH_LEFTOVERS = {"temp-file", "stale-lock"}
# Bytes per file: meta.json (~0.6 kB) and vLLM's torch.distributed FileStore in /tmp
# (2.4 kB, measured) fit; a chunk of 32 samples (~4.2 kB, --units-per-batch 8) does not.
FILE_SIZE_LIMIT = 3072


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def assert_one_line_space_error(rc: int, err: str) -> str:
    """The failed run says, in one line and without a traceback, that space ran out and what to do."""
    assert rc == 2, f"exit status {rc}, expected 2 (a clear error):\n{tail(err, 40)}"
    assert "Traceback" not in err, f"a traceback instead of a one-line error:\n{tail(err, 40)}"
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    line = errors[0]
    assert any(w in line.lower() for w in ("space", "too large", "file size")), line
    assert "Fix:" in line, line
    return line


def test_file_size_limit_mid_run(reference_run, tmp_path):
    outputs = tmp_path / "outputs"
    run_dir = copy_run(reference_run["run_dir"], outputs)
    hashes = tree_hashes(run_dir)
    chunks_before = {p.name: hashes[p.name] for p in RunStore(run_dir).part_files()}
    # --n 16: 8 new work units, all written as one chunk file (--units-per-batch is not part of the run key).
    args = list(reference_run["args"])
    args[args.index("--n") + 1] = "16"
    args[args.index("--units-per-batch") + 1] = "8"
    # Pipes, not log files: the file-size limit would also stop the child writing its own logs.
    rc, out, err, _ = run_cli(args, outputs, preexec_fn=_limit_file_size)
    try:
        line = assert_one_line_space_error(rc, err)
    finally:
        # Whatever the message, the store must be intact: earlier chunks byte for byte.
        after = tree_hashes(run_dir)
        assert {name: after.get(name) for name in chunks_before} == chunks_before
        assert {p.name for p in RunStore(run_dir).part_files()} == set(chunks_before)
        assert RunStore(run_dir).temp_files() == [], "the failed write left its temp file behind"
        result = check_run(run_dir, repair=False)
        assert all(f.kind in CRASH_LEFTOVERS for f in result.findings), result.report()
    # Space is back: the same command completes, and the first 8 samples are unchanged.
    rc, out, err, _ = run_cli(args, outputs, log=tmp_path / "rerun")
    assert rc == 0, tail(err)
    rows = assert_store_intact(run_dir, complete=True, n=16)
    got = rows[rows["sample_idx"] < N].set_index(["problem_id", "sample_idx"]).sort_index()
    assert got.equals(reference_run["rows"][got.columns])
    assert check_run(run_dir).findings == []
    record("faults: disk full", case="RLIMIT_FSIZE (EFBIG) on the new chunk", message=line[:100])


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode}): the RLIMIT_FSIZE test covers disk full")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.skipif(not FULL, reason="full counts only (RLBOUNDARY_RELIABILITY_FULL=1): two more vLLM runs; "
                                     "the RLIMIT_FSIZE test covers disk full in CI")
def test_small_tmpfs_fills_up_mid_run(reference_run, small_tmpfs, tmp_path):
    outputs = small_tmpfs / "outputs"
    args = reference_run["args"]
    rc, out, err, _ = run_cli(args, outputs, log=tmp_path / "full")
    line = assert_one_line_space_error(rc, err)
    run_dir = only_run_dir(outputs)
    written = RunStore(run_dir).part_files()
    assert 0 < len(written) < 4, f"the tmpfs should fill up mid-run, after some chunks ({len(written)} written)"
    before = {p.name: p.read_bytes() for p in written}
    assert RunStore(run_dir).temp_files() == [], "the failed write left its temp file behind"
    assert_store_intact(run_dir, complete=False)
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_tmpfs)], check=True)
    rc, out, err, _ = run_cli(args, outputs, log=tmp_path / "rerun")
    assert rc == 0, tail(err)
    rows = assert_store_intact(run_dir, complete=True)
    assert all((run_dir / name).read_bytes() == data for name, data in before.items())
    assert rows.set_index(["problem_id", "sample_idx"]).sort_index().equals(reference_run["rows"][rows.columns.drop(["problem_id", "sample_idx"])])
    assert check_run(run_dir).findings == []
    record("faults: disk full", case=f"16 kB tmpfs full after {len(written)} of 4 chunks (ENOSPC)", message=line[:100])
