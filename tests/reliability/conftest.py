"""Shared pieces of the reliability battery (faults, concurrency, disk full, bad inputs).

    pytest tests/reliability                                   # reduced counts (CI, `make test`)
    RLBOUNDARY_RELIABILITY_FULL=1 pytest tests/reliability     # full counts (`make reliability`)

Every test drives the real `rlboundary` command line in subprocesses (vLLM
in-process inside them, on the tiny character model) against stores under a
temporary directory. Figures (faults injected and survived, bad inputs
answered) are collected in `LEDGER` and printed at the end of the session,
with the seeds used, so the README's numbers come from an actual run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

FULL = os.environ.get("RLBOUNDARY_RELIABILITY_FULL", "") not in ("", "0")
# How many SIGKILLs each fault-injection test delivers.
KILLS = 20 if FULL else 3

# A small math benchmark in the schema of the paper's evaluation files
# (math500.jsonl: unique_id, problem, answer); four problems keep runs short.
PROBLEMS = [
    {"unique_id": "p0", "problem": "What is 2+3?", "answer": "5", "subject": "Arithmetic", "level": 1},
    {"unique_id": "p1", "problem": "What is 7*6?", "answer": "42", "subject": "Arithmetic", "level": 1},
    {"unique_id": "p2", "problem": "Simplify 1/2+1/3.", "answer": "\\frac{5}{6}", "subject": "Algebra", "level": 2},
    {"unique_id": "p3", "problem": "Solve x^2=9 for x>0.", "answer": "3", "subject": "Algebra", "level": 2},
]
N = 8  # samples per problem in the sampling runs
# Sampling arguments shared by every run on the tiny model: 4 problems x
# 8 samples in units of 4, two units per batch -> 4 chunk files per run.
SAMPLE_ARGS = ["--template", "raw", "--benchmark", "math500", "--chunk-size", "4", "--units-per-batch", "2",
               "--max-tokens", "24", "--seed", "0", "--no-progress", "--name", "tiny"]

# name -> list of records; printed by pytest_terminal_summary below.
LEDGER: dict[str, list[dict]] = defaultdict(list)


def record(category: str, **facts) -> None:
    LEDGER[category].append(facts)


def pytest_terminal_summary(terminalreporter):
    if not LEDGER:
        return
    tr = terminalreporter
    tr.section(f"reliability figures ({'full' if FULL else 'reduced'} counts)")
    for category, rows in sorted(LEDGER.items()):
        tr.write_line(f"{category}:")
        for row in rows:
            tr.write_line("  " + ", ".join(f"{k}={v}" for k, v in row.items()))


# --- subprocess helpers ------------------------------------------------------------


def cli_env(outputs: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        RLBOUNDARY_OUTPUTS=str(outputs),
        VLLM_CPU_KVCACHE_SPACE="1",
        VLLM_ENABLE_V1_MULTIPROCESSING="0",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "rlboundary.cli", *map(str, args)]


def start_cli(args, outputs: Path, log: Path, preexec_fn=None, **env_extra) -> subprocess.Popen:
    """Start `rlboundary ARGS` in its own session (so a kill reaches all of it);
    stdout and stderr go to `log`.out / `log`.err (vLLM logs too much for a pipe)."""
    out = open(f"{log}.out", "wb")
    err = open(f"{log}.err", "wb")
    try:
        return subprocess.Popen(
            cli_argv(*args), env=cli_env(outputs, **env_extra), stdout=out, stderr=err,
            start_new_session=True, preexec_fn=preexec_fn,
        )
    finally:
        out.close()
        err.close()


def run_cli(args, outputs: Path, log: Path | None = None, timeout: float = 600, preexec_fn=None, **env_extra):
    """Run `rlboundary ARGS` to the end; return (returncode, stdout, stderr, seconds)."""
    start = time.monotonic()
    if log is None:
        proc = subprocess.run(cli_argv(*args), env=cli_env(outputs, **env_extra), capture_output=True,
                              timeout=timeout, preexec_fn=preexec_fn)
        return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"), time.monotonic() - start
    proc = start_cli(args, outputs, log, preexec_fn=preexec_fn, **env_extra)
    rc = proc.wait(timeout=timeout)
    return rc, Path(f"{log}.out").read_text(errors="replace"), Path(f"{log}.err").read_text(errors="replace"), time.monotonic() - start


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --- stores -----------------------------------------------------------------------


def run_dirs(outputs: Path) -> list[Path]:
    return sorted(p.parent for p in (outputs / "samples").glob("*/*/*/meta.json"))


def only_run_dir(outputs: Path) -> Path:
    dirs = run_dirs(outputs)
    assert len(dirs) == 1, f"expected one run directory under {outputs}, found {dirs}"
    return dirs[0]


def stored_rows(run_dir: Path):
    """Every row of every chunk file, read file by file (a damaged file raises)."""
    import pandas as pd
    import pyarrow.parquet as pq

    from rlboundary.store import RunStore

    frames = [pq.read_table(p).to_pandas() for p in RunStore(run_dir).part_files()]
    if not frames:
        return pd.DataFrame(columns=["problem_id", "sample_idx", "text", "num_tokens", "finish_reason"])
    return pd.concat(frames, ignore_index=True)


def assert_store_intact(run_dir: Path, complete: bool, n: int = N, problem_ids=None) -> "object":
    """The store's invariants, checked directly (not only through store_check):
    every chunk file reads; no (problem_id, sample_idx) twice; sample_idx in
    [0, n); with `complete`, no gap either. Returns the rows."""
    rows = stored_rows(run_dir)
    problem_ids = problem_ids or [p["unique_id"] for p in PROBLEMS]
    keys = list(zip(rows["problem_id"], rows["sample_idx"]))
    assert len(keys) == len(set(keys)), f"duplicate samples in {run_dir}"
    assert all(0 <= i < n for _, i in keys), f"sample_idx outside [0, {n}) in {run_dir}"
    assert set(rows["problem_id"]) <= set(problem_ids)
    if complete:
        assert set(keys) == {(p, i) for p in problem_ids for i in range(n)}, f"gaps in {run_dir}"
    return rows


def tree_hashes(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under root (directories as 'dir')."""
    out = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def math_data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("mathdata")
    with open(d / "math500.jsonl", "w", encoding="utf-8") as f:
        for row in PROBLEMS:
            f.write(json.dumps(row) + "\n")
    return d


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, tiny_model_path, math_data_dir):
    """One unkilled sampling run: its store (the reference every resumed store
    must equal), its duration (the window kill times are drawn from) and argv."""
    outputs = tmp_path_factory.mktemp("reference") / "outputs"
    args = ["sample", "--model", str(tiny_model_path), "--data-dir", str(math_data_dir), "--n", str(N), *SAMPLE_ARGS]
    rc, out, err, seconds = run_cli(args, outputs, log=outputs.parent / "reference")
    assert rc == 0, f"reference sampling run failed (rc={rc}):\n{tail(err)}"
    run_dir = only_run_dir(outputs)
    rows = assert_store_intact(run_dir, complete=True)
    record("reference runs", kind="sample", seconds=round(seconds, 1), samples=len(rows))
    return {"outputs": outputs, "run_dir": run_dir, "seconds": seconds, "args": args,
            "rows": rows.set_index(["problem_id", "sample_idx"]).sort_index()}


def make_grading_store(outputs: Path, n: int = 64) -> Path:
    """A store whose samples give many distinct answers (each one a real
    math-verify comparison), so that grading runs long enough to be killed."""
    from rlboundary.models import ModelSpec
    from rlboundary.sampling import SamplingSettings
    from rlboundary.store import RunStore, run_dir_for
    from rlboundary.study import effective_settings, run_identity

    spec = ModelSpec(name="synthetic", path="/nowhere/synthetic", template="raw")
    settings = effective_settings(spec, SamplingSettings(n=n, max_tokens=16, chunk_size=16))
    store = RunStore(run_dir_for(spec.name, "math500", settings.settings_hash(), 0, root=outputs / "samples"))
    forms = ["{a}", "\\frac{{{a}}}{{7}}", "{a}\\sqrt{{2}}", "x^{{{a}}}+1", "\\dfrac{{{a}}}{{3}}+\\pi"]
    with store.lock():
        store.ensure_meta(run_identity(spec, "math500", settings, 0),
                          target={"n": n, "problem_ids": [p["unique_id"] for p in PROBLEMS]})
        for c in range(settings.n_chunks()):
            rows = []
            for p in PROBLEMS:
                for i in settings.chunk_range(c):
                    answer = p["answer"] if i % 8 == 0 else forms[i % len(forms)].format(a=i)
                    rows.append({"problem_id": p["unique_id"], "sample_idx": i, "text": f"Thus \\boxed{{{answer}}}.",
                                 "num_tokens": 8, "finish_reason": "stop"})
            store.write_chunk(rows)
    return store.run_dir


def read_verdict_rows(run_dir: Path):
    """Every stored verdict row, file by file (a damaged file raises)."""
    import pandas as pd
    import pyarrow.parquet as pq

    parts = sorted((run_dir / "verdicts").glob("*/part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=["problem_id", "sample_idx", "extracted", "verdict", "correct"])
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


def copy_run(run_dir: Path, outputs: Path) -> Path:
    """Copy a run directory into another outputs tree at the same relative place."""
    rel = run_dir.relative_to(run_dir.parents[3])  # samples/<model>/<bench>/<key>
    target = outputs / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(run_dir, target)
    return target
