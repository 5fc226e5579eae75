"""Run the atlas's units (arm x seed) one after the other, in a process pool, or as Ray tasks.

    rlboundary organism atlas --params params/atlas/atlas.yaml --seeds 0,1 --backend local [--workers 2]
    rlboundary organism atlas --params params/atlas/micro.yaml --backend ray --workers 2   # a local 2-worker cluster
    rlboundary organism atlas ... --backend ray --ray-address HEAD:6379                     # an existing cluster
    from rlboundary.organism.atlas_backends import run_atlas

Every unit is `atlas.run_unit` (train through the stage cache, evaluate, store
under `outputs/atlas/<preset>/units/`), so the files are the same whichever
backend ran it; a unit already stored with the same settings is reused.
Each unit runs at usable cores // workers torch and OpenMP threads (1 on a
2-core machine with 2 workers). Before session 18 units side by side set
torch's thread count only and left OpenMP at its default, under which two
processes sampling with vLLM on the CPU each ran ~8x slower
(`benchmarks/report_jobs.py`); the pool's processes and Ray's workers now
get `machine.openmp_threads_env` (unless the user set OMP_NUM_THREADS).

- local, workers 1: in this process, one unit after the other.
- local, workers > 1: a spawned process pool (nothing inherited but the
  environment), like `schedule.py`'s stage graph.
- ray: each unit is a Ray task (`num_cpus=1`) on `ray.init(num_cpus=workers)`,
  a local cluster, or on the cluster at `--ray-address` / `RAY_ADDRESS`. The
  workers read and write the same outputs directory (a shared filesystem on
  a real cluster), and get this process's RLBOUNDARY_* / vLLM / offline
  environment variables. A unit whose task fails raises here after the
  others finished; finished units stay stored and are reused by a rerun.

`run_atlas` writes `outputs/atlas/<preset>/runs/<set>/run.json`: the measured
wall time, backend, workers and the units' own phase times (what `atlas_plan`
predicted beforehand is in `plan.json` beside it; `<set>`:
`atlas_plan.run_set`, one folder per parameter set).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from ..errors import UserError

BACKENDS = ("local", "ray")
# Environment a Ray worker on another node needs to behave like this process.
ENV_PREFIXES = ("RLBOUNDARY_", "VLLM_", "HF_", "TRANSFORMERS_", "TOKENIZERS_", "PYTHONPATH")


def unit_threads(workers: int) -> int:
    from ..machine import usable_cores

    return max(1, usable_cores() // workers)


def unit_env(threads: int) -> dict[str, str]:
    """What every unit's process gets in its environment: this one's RLBOUNDARY_* / vLLM / offline
    variables (`forwarded_env`, for Ray workers on other nodes) and one OpenMP pool of `threads`."""
    from ..machine import openmp_threads_env

    return {**forwarded_env(), **openmp_threads_env(threads)}


def _unit_in_child(arm: str, preset: str, seed: int, n: int, eval_seed: int, threads: int, confirm: int = 0,
                   draw: int = 1, confirm_only: bool = False) -> tuple[dict | None, dict | None, dict]:
    """One unit in a worker process (a pool's or Ray's), its log lines prefixed: (the unit's record,
    None with `confirm_only`; its confirmation panel's record, None with confirm 0; the thread
    settings the unit's process ran with)."""
    from .atlas import run_unit
    from .atlas_confirm import confirm_unit

    def log(line):
        print(f"[{arm} s{seed}] {line}", flush=True)

    unit = None if confirm_only else run_unit(arm, preset, seed, n, eval_seed, threads=threads, log=log)
    confirmation = confirm_unit(arm, preset, seed, n, confirm, draw, eval_seed, threads=threads, log=log) \
        if confirm else None
    return unit, confirmation, process_threads()


def process_threads() -> dict:
    """This process's OpenMP setting and torch's thread count (recorded per unit in run.json)."""
    import torch

    return {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "torch_threads": torch.get_num_threads()}


def forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}


def check_backend(backend: str, workers: int) -> None:
    if backend not in BACKENDS:
        raise UserError(f"unknown atlas backend {backend!r}.", f"use one of: {', '.join(BACKENDS)}.")
    if workers < 1:
        raise UserError(f"--workers {workers} is below 1.", "pass --workers 1 or more.")


def run_atlas(arms: list[str], preset: str, seeds: list[int], n: int, backend: str = "local", workers: int = 1,
              ray_address: str | None = None, eval_seed: int = 0, confirm: int = 0, draw: int = 1,
              confirm_only: bool = False, set_name: str | None = None, log=print) -> dict:
    """Every (arm, seed) unit, by `backend`; returns {"records": [unit records], "confirmations":
    [confirmation records], "wall_seconds", ...} (also run.json). `confirm` > 0 also samples each
    unit's confirmation panel (draw `draw`, `atlas_confirm.confirm_unit`); `confirm_only` skips the
    main-set evaluation (the RL runs are still trained: the confirmation needs them). `set_name`: the
    parameter set the run is recorded under (default: these arms and seeds; a caller running only
    what a set lacks passes the set's, `atlas_plan.run_set`)."""
    from .atlas import get_arm
    from .atlas_plan import run_set, set_dir

    for a in arms:
        get_arm(a)  # a bad name stops here, before anything runs
    check_backend(backend, workers)
    if confirm_only and not confirm:
        raise UserError("confirm_only without a confirmation panel samples nothing.",
                        "pass --confirm 32 (or set confirmation_panel in the parameters), or drop --confirm-only.")
    # Arm-major: an interrupted run leaves whole arms (every seed) behind; bases are still
    # shared, since a stage built by an earlier unit is copied by every later one that needs it.
    units = [(a, s) for a in arms for s in seeds]
    threads = unit_threads(workers)
    log(f"[atlas] {len(units)} units ({len(arms)} arms x {len(seeds)} seeds) on {backend}, {workers} worker(s), "
        f"{threads} torch thread(s) each")
    start = time.perf_counter()
    extra = (confirm, draw, confirm_only)
    if backend == "ray":
        results = _run_ray(units, preset, n, eval_seed, workers, threads, ray_address, log, extra)
    elif workers == 1:
        results = [_unit_in_child(a, preset, s, n, eval_seed, threads, *extra) for a, s in units]
    else:
        from ..machine import environ, openmp_threads_env

        # Spawned processes inherit the environment: one OpenMP pool of `threads` each.
        with environ(openmp_threads_env(threads)), \
                ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_unit_in_child, a, preset, s, n, eval_seed, threads, *extra) for a, s in units]
            results = [f.result() for f in futures]
    records = [u for u, _, _ in results if u is not None]
    confirmations = [c for _, c, _ in results if c is not None]
    wall = time.perf_counter() - start
    set_name = set_name or run_set(arms, seeds, n, confirm, draw, confirm_only)
    run = {"preset": preset, "set": set_name, "arms": arms, "seeds": seeds, "n": n, "backend": backend,
           "workers": workers, "torch_threads": threads, "wall_seconds": wall, "cpu_count": os.cpu_count(),
           "loadavg_end": list(os.getloadavg()), "confirm": confirm, "confirm_draw": draw,
           "confirm_only": confirm_only,
           "unit_processes": [{"arm": a, "seed": s, **seen} for (a, s), (_, _, seen) in zip(units, results)],
           "units": [{"arm": r["arm"], "seed": r["seed"], "seconds": r["seconds"]} for r in records],
           "confirmations": [{"arm": r["arm"], "seed": r["seed"], "seconds": r["seconds"]} for r in confirmations]}
    out = set_dir(preset, set_name)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps(run, indent=1))
    log(f"[atlas] {len(units)} units in {wall:.0f} s wall")
    return {**run, "records": records, "confirmations": confirmations}


def _run_ray(units, preset: str, n: int, eval_seed: int, workers: int, threads: int, address: str | None,
             log, extra: tuple = ()) -> list[tuple]:
    try:
        import ray
    except ImportError:
        raise UserError("--backend ray needs Ray.", "pip install -e '.[ray]' (ray==2.60.0).") from None
    address = address or os.environ.get("RAY_ADDRESS")
    runtime_env = {"env_vars": unit_env(threads)}
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=True)
        else:  # a local cluster of `workers` CPUs: at most `workers` units at once
            _start_local_ray(ray, workers, runtime_env, log)
    log(f"[atlas] Ray cluster: {ray.cluster_resources().get('CPU', 0):g} CPUs")
    task = ray.remote(num_cpus=1, max_retries=1)(_unit_in_child)
    refs = [task.remote(a, preset, s, n, eval_seed, threads, *extra) for a, s in units]
    try:
        return ray.get(refs)
    finally:
        if started_here:
            ray.shutdown()


RAY_START_ATTEMPTS = 3


def _start_local_ray(ray, workers: int, runtime_env: dict, log) -> None:
    """ray.init of a local cluster, retried: Ray waits a fixed 30 s for its raylet to register,
    which a fully loaded 2-core machine can miss (seen here while other work ran)."""
    for attempt in range(1, RAY_START_ATTEMPTS + 1):
        try:
            ray.init(num_cpus=workers, include_dashboard=False, runtime_env=runtime_env, log_to_driver=True,
                     object_store_memory=100 * 1024 ** 2)
            return
        except Exception as err:  # Ray raises a bare Exception for this
            if "timed out during startup" not in str(err) or attempt == RAY_START_ATTEMPTS:
                raise
            log(f"[atlas] the local Ray cluster did not start in time (attempt {attempt}); starting it again")
            ray.shutdown()
