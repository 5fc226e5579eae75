"""The command line as a new user meets it: no vLLM variables in the environment.

    pytest tests/test_cli_clean_env.py -q -m slow    # both tests: vLLM start-ups, about a minute each

Every command runs `rlboundary` in a subprocess whose environment has no
VLLM_* variable at all (the package must pick its own engine settings), from a
working directory that is not the data's, on the tiny character model:
- `sample` through vLLM, then `verify RUN` with no `--data-dir` (the run's
  meta.json recorded where its problems came from), then `passk RUN`;
- a vLLM engine that cannot start is one `error:` line naming the cause and
  the fix, exit status 2, no traceback.
"""

from __future__ import annotations

import re

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rlboundary.vllm_backend import KV_CACHE_ENV, default_cpu_kv_cache_gib

pytest.importorskip("vllm")

PROBLEMS = [
    {"unique_id": "p0", "problem": "What is 2+3?", "answer": "5"},
    {"unique_id": "p1", "problem": "What is 7*6?", "answer": "42"},
    {"unique_id": "p2", "problem": "Simplify 1/2+1/3.", "answer": "\\frac{5}{6}"},
]


def clean_env(outputs: Path, **extra: str) -> dict:
    """This process's environment without any VLLM_* variable (or a data directory)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VLLM_") and k != "RLBOUNDARY_MATH_DATA"}
    env.update(RLBOUNDARY_OUTPUTS=str(outputs), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def cli(args: list[str], env: dict, cwd: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlboundary.cli", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "math500.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    return d


def sample_args(model: Path, data: Path) -> list:
    return ["sample", "--model", model, "--name", "tiny", "--template", "raw", "--benchmark", "math500",
            "--data-dir", data, "--n", 4, "--chunk-size", 4, "--max-tokens", 16, "--seed", 0, "--no-progress"]


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    shown = f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, shown
    assert proc.returncode == 2, shown
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Fix:" in errors[0], shown
    return errors[0]


@pytest.mark.slow
@pytest.mark.timeout(3600)  # vLLM start-ups; minutes each on a busy 2-core machine
def test_an_engine_that_cannot_start_is_one_line_with_the_fix(tmp_path, tiny_model_path, data_dir):
    env = clean_env(tmp_path / "outputs", **{KV_CACHE_ENV: "100000"})  # more GiB than any machine has free
    error = one_error_line(cli(sample_args(tiny_model_path, data_dir), env, tmp_path))
    assert "vLLM engine" in error and "failed to start" in error and str(tiny_model_path) in error
    assert f"{KV_CACHE_ENV} to a number of GiB" in error and "now 100000" in error


@pytest.mark.slow
@pytest.mark.timeout(3600)  # vLLM start-ups; minutes each on a busy 2-core machine
def test_sample_verify_passk_with_no_vllm_variables(tmp_path, tiny_model_path, data_dir):
    outputs = tmp_path / "outputs"
    env = clean_env(outputs)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    sampled = cli(sample_args(tiny_model_path, data_dir), env, elsewhere)
    assert sampled.returncode == 0, sampled.stderr[-3000:]
    assert "complete: 12/12 samples" in sampled.stdout, sampled.stdout[-2000:]
    # The package's KV cache default reached vLLM (it logs an explicit size), not vLLM's own sizing.
    # vLLM logs the KV cache it reserved as "Explicitly set (1.0/12.34) GiB for KV cache".
    reserved = re.search(r"Explicitly set \((\d+(?:\.\d+)?)/", sampled.stdout + sampled.stderr)
    assert reserved and float(reserved.group(1)) == pytest.approx(default_cpu_kv_cache_gib(), abs=0.01)
    (run_dir,) = [p.parent for p in outputs.glob("samples/tiny/math500/*/meta.json")]
    source = json.loads((run_dir / "meta.json").read_text())["target"]["data_source"]
    assert source == {"local_file": str((data_dir / "math500.jsonl").resolve())}

    verified = cli(["verify", run_dir], env, elsewhere)  # no --data-dir: the recorded source
    assert verified.returncode == 0, verified.stderr[-3000:]
    assert "12 samples (0 cached, 12 new)" in verified.stdout, verified.stdout

    passk = cli(["passk", run_dir, "--k", 1, "--k", 4], env, elsewhere)
    assert passk.returncode == 0, passk.stderr[-3000:]
    assert "pass@4" in passk.stdout or "k=4" in passk.stdout or " 4 " in passk.stdout, passk.stdout

    # The recorded data gone: one line naming the file and the fix (--data-dir).
    shutil.move(data_dir, tmp_path / "moved")
    error = one_error_line(cli(["verify", run_dir], env, elsewhere))
    assert str((data_dir / "math500.jsonl").resolve()) in error and "--data-dir" in error
    # --data-dir still overrides the recorded source.
    moved = cli(["verify", run_dir, "--data-dir", tmp_path / "moved"], env, elsewhere)
    assert moved.returncode == 0 and "12 cached" in moved.stdout, moved.stdout + moved.stderr[-2000:]
