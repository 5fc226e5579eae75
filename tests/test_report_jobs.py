"""Notebooks side by side (`rlboundary.report_jobs`): who waits for whom, the kernels' threads,
the store lock that waits for a sibling, and that one OpenMP thread samples the same texts.

The report itself side by side (every notebook, real papermill and vLLM) is test_report.py's
`micro_report`, run with `--jobs 2`; there, the order the waits impose is checked on run.json."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlboundary import report_jobs
from rlboundary.errors import UserError
from rlboundary.params import load_params
from rlboundary.report import report_params
from rlboundary.store import LOCK_WAIT_ENV, RunStore


def test_every_figure_waits_for_the_notebook_that_samples_its_base_and_rl_runs():
    params, _ = report_params(("default",))
    waits, owned = report_jobs.run_owners(params)
    # fig01 asks for base and rl-grpo at n = 256, more than any other notebook: it owns both runs.
    assert waits["fig01_passk_math"] == set()
    assert owned["fig01_passk_math"] == 2 * 256
    for name in ("fig05_accuracy_and_coverage", "fig06_perplexity", "fig07_distillation", "fig08_rl_algorithms",
                 "horizon"):
        assert "fig01_passk_math" in waits[name], name
    # cot_validity reads instruct and distilled, which fig07 samples at the larger n (64 > 8).
    assert waits["cot_validity"] == {"fig01_passk_math", "fig07_distillation"}
    # organism_reach reads the study's runs (sample_source: study): fig01's base and rl-grpo, fig07's rft
    # and distillations; it samples rl-rloo at n = 64 itself, which fig08 reads at n = 32.
    assert waits["organism_reach"] == {"fig01_passk_math", "fig07_distillation"}
    assert owned["organism_reach"] == 64 and "organism_reach" in waits["fig08_rl_algorithms"]
    order = report_jobs.start_order(["organism_reach", "fig01_passk_math"], owned, list(params))
    assert order == ["fig01_passk_math", "organism_reach"]  # the larger sampler starts first
    # With the evaluation cache as its source (organism3), it samples nothing into the store.
    three, _ = report_params(("organism3",), only=["organism_reach"])
    assert report_jobs.run_owners(three) == ({"organism_reach": set()}, {"organism_reach": 0})


def test_runs_are_sampled_first_once_each_by_their_owner_longest_first():
    params, _ = report_params(("default",))
    tasks = report_jobs.presample_tasks(params)
    assert tasks[:2] == [("fig01_passk_math", "base", "organism", 256), ("fig01_passk_math", "rl-grpo", "organism", 256)]
    assert [t[3] for t in tasks] == sorted((t[3] for t in tasks), reverse=True)
    assert len({(t[1], t[2]) for t in tasks}) == len(tasks)  # each run once
    # Every model a notebook samples into the store is in some task, at the largest n any notebook asks.
    for name, p in params.items():
        if name == "organism_reach" or name in report_jobs.OWN_BUILDS:
            continue
        for m in p["models"]:
            assert any(t[1] == m["name"] and t[3] >= p["n"] for t in tasks), (name, m["name"])
    assert ("organism_reach", "rl-rloo", "organism", 64) in tasks


def test_a_run_asked_for_at_equal_n_is_owned_by_the_first_notebook_in_report_order():
    a = load_params("fig05_accuracy_and_coverage", "default")
    b = load_params("horizon", "default")
    waits, owned = report_jobs.run_owners({"fig05_accuracy_and_coverage": a, "horizon": b})
    assert waits == {"fig05_accuracy_and_coverage": set(), "horizon": {"fig05_accuracy_and_coverage"}}
    assert owned["horizon"] == 0


def test_organisms_are_listed_once_per_build_seed_and_the_atlas_builds_its_own():
    params, _ = report_params(("default",))
    assert report_jobs.organisms_needed(params) == [("default", 0)]
    three, _ = report_params(("organism3",), only=["organism_reach"])
    assert report_jobs.organisms_needed(three) == [("default", 0), ("default", 1), ("default", 2)]
    atlas, _ = report_params(("atlas",), only=["atlas"])
    assert report_jobs.organisms_needed(atlas) == []


def test_kernels_side_by_side_get_one_thread_per_core_and_a_waiting_store_lock(monkeypatch):
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RLBOUNDARY_TORCH_THREADS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(report_jobs, "usable_cores", lambda: 4)
    assert report_jobs.kernel_env(1) == {}  # one at a time: the kernels run exactly as they always did
    env = report_jobs.kernel_env(2)
    assert env["OMP_NUM_THREADS"] == env["RLBOUNDARY_TORCH_THREADS"] == "2"
    assert float(env[LOCK_WAIT_ENV]) >= 3600
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's own setting wins
    assert report_jobs.kernel_env(2)["OMP_NUM_THREADS"] == "3"


def test_jobs_from_the_environment_and_bad_values(monkeypatch):
    monkeypatch.setenv(report_jobs.JOBS_ENV, "3")
    assert report_jobs.default_jobs() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(report_jobs.JOBS_ENV, bad)
        with pytest.raises(UserError, match=report_jobs.JOBS_ENV):
            report_jobs.default_jobs()
    monkeypatch.delenv(report_jobs.JOBS_ENV)
    monkeypatch.setattr(report_jobs, "gpu_visible", lambda: True)
    assert report_jobs.default_jobs() == 1  # two engines would each claim most of the GPU's memory
    monkeypatch.setattr(report_jobs, "gpu_visible", lambda: False)
    monkeypatch.setattr(report_jobs, "usable_cores", lambda: 16)
    assert report_jobs.default_jobs() == report_jobs.MAX_AUTO_JOBS
    with pytest.raises(UserError, match="jobs=0"):
        report_jobs.check_jobs(0)


def _hold_lock(run_dir: str, seconds: float, ready) -> None:
    store = RunStore(Path(run_dir))
    with store.lock():
        ready.set()
        time.sleep(seconds)
        (Path(run_dir).parent / "released").write_text("")  # the lock is let go right after this line


def test_the_store_lock_waits_for_a_sibling_only_when_asked(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(run_dir), 4.0, ready))
    holder.start()
    try:
        assert ready.wait(60)
        monkeypatch.delenv(LOCK_WAIT_ENV, raising=False)
        with pytest.raises(UserError, match="another process"):  # the default: refuse at once, name the holder
            with RunStore(run_dir).lock():
                pass
        monkeypatch.setenv(LOCK_WAIT_ENV, "60")
        t = time.perf_counter()
        with RunStore(run_dir).lock():
            waited = time.perf_counter() - t
        assert (tmp_path / "released").exists()  # acquired only once the holder let go
        assert waited > 1.0
    finally:
        holder.join(30)
    monkeypatch.setenv(LOCK_WAIT_ENV, "soon")
    with pytest.raises(UserError, match=LOCK_WAIT_ENV):
        with RunStore(run_dir).lock():
            pass


_SAMPLE = """
import hashlib, json, sys, torch
from rlboundary.organism.benchmark import load_problems
from rlboundary.organism.generation import OrganismSampler
qs = [p.metadata["question"] for p in load_problems("eval", preset="micro", seed=0)][:12]
with OrganismSampler(sys.argv[1], seed=0) as s:
    outs = s.sample(qs, n=16, temperature=0.6, top_p=0.95, max_tokens=48, seed=0)
print(json.dumps({"threads": torch.get_num_threads(),
                  "digest": hashlib.sha256(json.dumps(outs).encode()).hexdigest(), "samples": sum(map(len, outs))}))
"""


def test_one_openmp_thread_samples_the_same_texts(micro_organism, tmp_path):
    """The report's numbers must not depend on --jobs: a kernel side by side (OMP_NUM_THREADS=1) samples
    exactly what a kernel alone (vLLM's own thread setting) does."""
    base = str(micro_organism["dir"] / "base")
    seen = {}
    for label, threads in (("alone", None), ("side by side", "1")):
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        if threads:
            env["OMP_NUM_THREADS"] = threads
        proc = subprocess.run([sys.executable, "-c", _SAMPLE, base], env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        seen[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["side by side"]["threads"] == 1
    assert seen["alone"]["samples"] == seen["side by side"]["samples"] == 12 * 16
    assert seen["alone"]["digest"] == seen["side by side"]["digest"]


def test_runs_of_one_model_directory_under_two_names_go_to_one_worker_in_order(tiny_model_path, tmp_path):
    """One directory listed twice (a checkpoint that is also the final model) must not be sampled twice
    side by side: its runs form one group, so the second reads the first's samples (twin_runs)."""
    import shutil

    from rlboundary.params import validate

    shutil.copytree(tiny_model_path, tmp_path / "copy")
    models = [{"name": name, "path": str(path), "role": "rl", "template": "raw"}
              for name, path in (("final", tiny_model_path), ("other", tmp_path / "copy"),
                                 ("step60", tiny_model_path))]
    params = validate("fig08_rl_algorithms", {"models": models, "benchmarks": ["math500"], "n": 8},
                      source="test")
    nb = "fig08_rl_algorithms"
    tasks = [(nb, "final", "math500", 8), (nb, "other", "math500", 8), (nb, "step60", "math500", 8),
             (nb, "final", "aime24", 8)]
    assert report_jobs.twin_groups({nb: params}, tasks) == [[tasks[0], tasks[2]], [tasks[1]], [tasks[3]]]
