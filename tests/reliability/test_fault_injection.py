"""Fault injection: sampling and grading runs killed with SIGKILL at random moments, then rerun.

    pytest tests/reliability/test_fault_injection.py -q          # 3 kills each
    RLBOUNDARY_RELIABILITY_FULL=1 pytest tests/reliability/test_fault_injection.py -q   # 20 each

A chain of runs on one store: each run is started, killed (its whole process
group, SIGKILL) at a time drawn uniformly over the duration of an unkilled
run of the same job (seeded RNG; the seed and the times are printed), and
the next run resumes the store, until KILLS kills have landed. Sampling runs
are mostly vLLM start-up, so random times rarely fall between two chunk
writes: the sampling chain's first kill is therefore aimed, delivered as soon
as the run's first chunk file appears (it still has chunks to write). A run that
finishes before its kill time must exit 0 with a complete store; the chain
then starts over in a fresh outputs tree, so that later kills still find
work to interrupt. After every kill the store must hold no duplicate, every
chunk file must read, `rlboundary check` may find only crash leftovers (temp
files, a stale lock note), and what is stored must equal the unkilled
reference run row for row (samples are seeded per work unit, verdicts are
deterministic). The last run of each chain completes and leaves nothing to
repair. Set RLBOUNDARY_KILL_SEED to draw other kill times.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from rlboundary.store_check import check_run

from .conftest import (KILLS, assert_store_intact, copy_run, make_grading_store, read_verdict_rows, record, run_cli,
                       run_dirs, start_cli, stored_rows, tail)

# A chain of up to 4 x KILLS runs of a minute or more each outlasts the suite's
# 900 s default on a loaded 2-core machine.
CHAIN_TIMEOUT_S = 7200 if KILLS > 3 else 2400

# What a killed writer may leave, and the next run (or `rlboundary check`) removes.
CRASH_LEFTOVERS = {"temp-file", "stale-lock"}
KILL_SEED = int(os.environ.get("RLBOUNDARY_KILL_SEED", "20250417"))


def kill_chain(argv_for, fresh_outputs, window: float, seed: int, after_each, logdir: Path, tag: str,
               chunk_files=None) -> dict:
    """Run `rlboundary argv_for(outputs)` until KILLS runs were killed (their
    process group, SIGKILL) at a random time in [0, window); `after_each(outputs,
    killed)` checks the store after every run. Ends by resuming every tree to the end.

    With `chunk_files(outputs) -> list of chunk paths`, the first kill is aimed
    instead: it lands as soon as the run has written a new chunk file."""
    rng = random.Random(seed)
    outputs = fresh_outputs(0)
    trees = [outputs]
    landed, finished, times = 0, 0, []
    aim_at_chunk = chunk_files is not None
    for i in itertools.count():
        if landed == KILLS:
            break
        # A run can finish before its kill time (runs vary in length): such
        # runs are checked too, but only kills that land count towards KILLS.
        assert i < 4 * KILLS, f"only {landed} of {KILLS} kills landed in {i} runs: is the window {window:.1f} s too long?"
        t = None if aim_at_chunk else rng.uniform(0.0, window)
        times.append("first-chunk" if t is None else round(t, 2))
        log = logdir / f"{tag}{i}"
        chunks_before = set(chunk_files(outputs)) if chunk_files else set()
        proc = start_cli(argv_for(outputs), outputs, log)
        try:
            rc = proc.wait(timeout=t) if t is not None else _wait_for_new_chunk(proc, outputs, chunk_files, chunks_before,
                                                                                  timeout=20 * window)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            _wait_group_gone(proc.pid)
            landed += 1
            aim_at_chunk = False
            after_each(outputs, killed=True)
            continue
        assert rc == 0, f"{tag} run {i} (not killed) failed with exit {rc}:\n{tail(Path(f'{log}.err').read_text(errors='replace'))}"
        finished += 1
        after_each(outputs, killed=False)
        outputs = fresh_outputs(len(trees))  # nothing left to interrupt here
        trees.append(outputs)
    print(f"{tag}: kill seed {seed}, window {window:.1f} s, kill times {times}: "
          f"{landed} landed mid-run, {finished} runs finished first")
    for j, tree in enumerate(trees):
        rc, out, err, _ = run_cli(argv_for(tree), tree, log=logdir / f"{tag}-final{j}")
        assert rc == 0, f"the {tag} rerun after the kills failed with exit {rc}:\n{tail(err)}"
        after_each(tree, killed=False)
    return {"trees": trees, "landed": landed, "finished_first": finished, "times": times}


def _wait_for_new_chunk(proc: subprocess.Popen, outputs: Path, chunk_files, before: set, timeout: float) -> int:
    """Return proc's exit status if it ends first; raise TimeoutExpired (the
    signal to kill it) as soon as it has written a chunk file not in `before`."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if set(chunk_files(outputs)) - before:
            raise subprocess.TimeoutExpired(proc.args, 0)
        if time.monotonic() > deadline:
            pytest.fail(f"no chunk file appeared in {timeout:.0f} s: the run stalled")
        time.sleep(0.02)
    return proc.returncode


def _live_group_members(pgid: int) -> list[int]:
    """Processes of group `pgid` that are not zombies (read from /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
    """Wait until no process of the killed group is left (e.g. grading workers)."""
    deadline = time.monotonic() + timeout
    while _live_group_members(pgid):
        if time.monotonic() > deadline:
            pytest.fail(f"processes {_live_group_members(pgid)} of killed group {pgid} still alive after {timeout} s")
        time.sleep(0.05)


def assert_only_crash_leftovers(run_dir: Path) -> None:
    result = check_run(run_dir, repair=False)
    unexpected = [f for f in result.findings if f.kind not in CRASH_LEFTOVERS]
    assert not unexpected, result.report()


# --- sampling -------------------------------------------------------------------------


@pytest.mark.timeout(CHAIN_TIMEOUT_S)
def test_sampling_survives_sigkill(reference_run, tmp_path):
    ref = reference_run["rows"]
    between_chunks = []  # kills of a run that had written some of its chunks, not all
    stored_before = {}  # outputs tree -> samples stored when its last run ended

    def after_each(outputs: Path, killed: bool):
        dirs = run_dirs(outputs)
        if not dirs:  # killed before meta.json: nothing may be stored anywhere
            assert not list(outputs.rglob("part-*.parquet"))
            return
        (run_dir,) = dirs
        rows = assert_store_intact(run_dir, complete=not killed)
        if killed and stored_before.get(outputs, 0) < len(rows) < len(ref):
            between_chunks.append(len(rows))
        stored_before[outputs] = len(rows)
        assert_only_crash_leftovers(run_dir)
        if len(rows):  # resumed samples are the very samples of the unkilled run
            got = rows.set_index(["problem_id", "sample_idx"]).sort_index()
            pd.testing.assert_frame_equal(got, ref.loc[got.index], check_like=True)
        if not killed:
            assert check_run(run_dir).findings == [], "a finished run leaves nothing to repair"

    stats = kill_chain(lambda outputs: reference_run["args"], lambda i: tmp_path / f"outputs{i}",
                       reference_run["seconds"], KILL_SEED, after_each, tmp_path, "sample",
                       chunk_files=lambda outputs: list(outputs.glob("samples/*/*/*/part-*.parquet")))
    assert between_chunks, "no kill landed between two chunk writes (the aimed first kill should)"
    record("faults: SIGKILL during `rlboundary sample`", kills=stats["landed"],
           kills_between_chunk_writes=len(between_chunks),
           runs_finished_before_their_kill_time=stats["finished_first"], seed=KILL_SEED,
           window_s=round(reference_run["seconds"], 1), all_resumed_identical=True)


# --- grading --------------------------------------------------------------------------


@pytest.mark.timeout(CHAIN_TIMEOUT_S)
def test_grading_survives_sigkill(tmp_path, math_data_dir):
    template = tmp_path / "template"
    run_dir = make_grading_store(template)
    samples = set(zip(*[stored_rows(run_dir)[c] for c in ("problem_id", "sample_idx")]))
    rel_args = ["--data-dir", str(math_data_dir), "--workers", "2"]

    # The unkilled reference: its duration is the kill window, its verdicts the truth.
    ref_out = tmp_path / "ref"
    ref_dir = copy_run(run_dir, ref_out)
    rc, out, err, seconds = run_cli(["verify", str(ref_dir), *rel_args], ref_out, log=tmp_path / "ref")
    assert rc == 0, tail(err)
    ref = read_verdict_rows(ref_dir).set_index(["problem_id", "sample_idx"]).sort_index()
    assert set(ref.index) == samples and ref.index.is_unique
    record("reference runs", kind="verify", seconds=round(seconds, 1), samples=len(samples),
           distinct_answers=int(ref.reset_index()[["problem_id", "extracted"]].drop_duplicates().shape[0]))

    chain_dirs = {}

    def fresh(i: int) -> Path:
        outputs = tmp_path / f"outputs{i}"
        chain_dirs[outputs] = copy_run(run_dir, outputs)
        return outputs

    def after_each(outputs: Path, killed: bool):
        rd = chain_dirs[outputs]
        assert_store_intact(rd, complete=True, n=64)  # grading never touches samples
        v = read_verdict_rows(rd)
        keys = list(zip(v["problem_id"], v["sample_idx"]))
        assert len(keys) == len(set(keys)), "a sample has two verdicts"
        assert set(keys) <= samples, "a verdict for a sample that does not exist"
        if not killed:
            assert set(keys) == samples, "a finished grading run left samples without a verdict"
        if len(v):
            got = v.set_index(["problem_id", "sample_idx"]).sort_index()
            cols = ["extracted", "verdict", "correct"]
            pd.testing.assert_frame_equal(got[cols], ref.loc[got.index, cols])
        assert_only_crash_leftovers(rd)

    rel = run_dir.relative_to(template)  # each tree holds its copy at the same place
    stats = kill_chain(lambda outputs: ["verify", str(outputs / rel), *rel_args], fresh, seconds, KILL_SEED + 1,
                       after_each, tmp_path, "verify")
    record("faults: SIGKILL during `rlboundary verify`", kills=stats["landed"],
           runs_finished_before_their_kill_time=stats["finished_first"], seed=KILL_SEED + 1, window_s=round(seconds, 1),
           all_resumed_identical=True)
