"""Running the report's notebooks side by side: who waits for whom, and with how many threads.

    rlboundary report --jobs 2          # two notebooks at a time (the default on a 2-core CPU)
    RLBOUNDARY_REPORT_JOBS=1 make report

Why: on the CPU a vLLM engine samples on one core, so one notebook at a time leaves the second core
of a 2-core machine idle for most of a cold report. Two notebooks side by side each sample at about
the speed of one alone, *provided* each kernel's OpenMP runs one thread: left at its default, every
process's OpenMP pool spins on every core and two sampling processes ran ~8x slower each
(`benchmarks/report_jobs.py` measures both). So side by side, each kernel gets
`OMP_NUM_THREADS` (and torch's thread count) = cores // jobs. The texts sampled do not change:
vLLM's CPU worker computes the same logits at one thread as at two (checked by the benchmark, and the
report's numbers do not depend on `--jobs`: tests/test_report_jobs.py).

Who waits: two notebooks that share a sampling run (same model, benchmark, seed and settings;
`cost.plan_runs`) must not sample it at once. Each shared run has an *owner*, the notebook asking for
its largest n (the first in report order on a tie); every other notebook reading that run starts
after its owner has finished, and then finds the samples stored (a smaller n is a prefix of a larger
one: `SamplingSettings.chunk_range`). Among the notebooks free to start, the one that owns the most
samples starts first, so the long samplers overlap. Should two notebooks still meet on one run (a
run the plan does not know of), the store's lock makes the second wait
(`store.LOCK_WAIT_ENV`, set for the kernels here) instead of failing, and it then samples only what is
missing.

Runs before notebooks (jobs > 1): before any notebook starts, every run the notebooks sample is
sampled and graded once, up to `jobs` runs at a time, the largest n first (`sample_runs_first`), by
the same code a notebook calls (`figures.graded_runs` with the owner's parameters, so the same run
directories; runs of one model directory under two names one after the other, `twin_groups`). Notebooks
as the unit packed badly: fig01 alone samples two runs at n = 256 and most
other figures read one of them, so the second core idled while fig01 ran (session 18, README "Build
and report times"). A run that fails here is left to its notebook, which meets the same error and
shows it where it belongs.

The organisms the notebooks use are built before any notebook starts (`organisms_needed`), in the
report's own process with every core, exactly as `rlboundary organism build` builds them. So are the
atlas's units (`run_atlas_units`): trained and evaluated `schedule.default_workers` at a time, as
`rlboundary organism atlas --workers N` runs them, before the notebooks share the cores.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Callable

from .errors import UserError
from .machine import gpu_visible, openmp_threads_env, usable_cores

JOBS_ENV = "RLBOUNDARY_REPORT_JOBS"
# More notebooks side by side than this mostly wait on each other's runs (every figure reads the base).
MAX_AUTO_JOBS = 4
# How long a kernel waits for a sibling notebook's run lock: longer than any one run samples here.
SIBLING_LOCK_WAIT_S = 6 * 3600
# Notebooks that build and evaluate their own models (the atlas's units) rather than reading a build.
OWN_BUILDS = ("atlas",)


def default_jobs() -> int:
    """`RLBOUNDARY_REPORT_JOBS` if set; else 1 with a GPU, else one per core up to MAX_AUTO_JOBS."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if value:
        return check_jobs(value, f"{JOBS_ENV}={value!r}")
    return 1 if gpu_visible() else max(1, min(usable_cores(), MAX_AUTO_JOBS))


def check_jobs(value, what: str | None = None) -> int:
    jobs = int(value) if str(value).strip().isdigit() else 0
    if jobs < 1:
        raise UserError(f"{what or f'jobs={value!r}'} is not a positive integer.",
                        "pass 1 (one notebook at a time) or more, e.g. --jobs 2 on a 2-core machine.")
    return jobs


def kernel_env(jobs: int) -> dict[str, str]:
    """Environment of each kernel when `jobs` notebooks run side by side (none when one at a time,
    so a serial report runs exactly as before). A user's own thread settings win."""
    from .store import LOCK_WAIT_ENV

    if jobs <= 1:
        return {}
    threads = max(1, usable_cores() // jobs)
    return {LOCK_WAIT_ENV: str(SIBLING_LOCK_WAIT_S), **openmp_threads_env(threads),
            "RLBOUNDARY_TORCH_THREADS": os.environ.get("RLBOUNDARY_TORCH_THREADS") or str(threads)}


# --- who waits for whom ------------------------------------------------------------

def _readers_by_run(params_by_notebook: dict) -> dict[tuple, list[tuple[int, str, str, str]]]:
    """Run key (`cost.RunPlan.key`) -> (n, notebook, model name, benchmark) of every notebook asking
    for that run, in report order."""
    from .cost import plan_runs

    runs: dict[tuple, list[tuple[int, str, str, str]]] = {}
    for name, p in params_by_notebook.items():
        for run in plan_runs({name: p}):
            runs.setdefault(run.key, []).append((run.n, name, run.model["name"], run.benchmark))
    return runs


def _owner(readers: list[tuple[int, str, str, str]]) -> tuple[int, str, str, str]:
    """The reader asking for the largest n (the first in report order on a tie)."""
    n_max = max(r[0] for r in readers)
    return next(r for r in readers if r[0] == n_max)


def run_owners(params_by_notebook: dict) -> tuple[dict[str, set[str]], dict[str, int]]:
    """(notebook -> the notebooks it must wait for, notebook -> samples per problem it owns).

    A run's owner is the notebook asking for its largest n (report order breaks ties)."""
    waits: dict[str, set[str]] = {name: set() for name in params_by_notebook}
    owned = {name: 0 for name in params_by_notebook}
    for readers in _readers_by_run(params_by_notebook).values():
        n_max, owner, _, _ = _owner(readers)
        owned[owner] += n_max
        for _, name, _, _ in readers:
            if name != owner:
                waits[name].add(owner)
    return waits, owned


def start_order(ready: list[str], owned: dict[str, int], order: list[str]) -> list[str]:
    """Ready notebooks, the one owning the most samples first (report order on ties)."""
    return sorted(ready, key=lambda name: (-owned[name], order.index(name)))


# --- organisms first ---------------------------------------------------------------

def organisms_needed(params_by_notebook: dict) -> list[tuple[str, int]]:
    """(preset, seed) of every organism build the notebooks read, in first-use order."""
    from .figures import ORGANISM_PREFIX

    needed: list[tuple[str, int]] = []
    for name, p in params_by_notebook.items():
        if name in OWN_BUILDS or not any(str(m["path"]).startswith(ORGANISM_PREFIX) for m in p["models"]):
            continue
        seeds = p["organism_seeds"] if "organism_seeds" in p else [p["organism_seed"]]
        for seed in seeds:
            if (p["organism_preset"], seed) not in needed:
                needed.append((p["organism_preset"], seed))
    return needed


def build_organisms(params_by_notebook: dict, echo: Callable[[str], None]) -> float:
    """Build (or find) every organism the notebooks read; returns the seconds it took."""
    from .organism.build import ensure_organism, load_organism

    start = time.perf_counter()
    for preset, seed in organisms_needed(params_by_notebook):
        if load_organism(preset, seed) is not None:
            continue
        echo(f"[report] building the organism ({preset}, seed {seed}) before the notebooks ...")
        t = time.perf_counter()
        ensure_organism(preset, seed, log=echo)
        echo(f"[report] organism ({preset}, seed {seed}) built in {time.perf_counter() - t:.0f} s")
    return time.perf_counter() - start


def run_atlas_units(params_by_notebook: dict, echo: Callable[[str], None]) -> float:
    """Every atlas unit and confirmation panel the notebooks in OWN_BUILDS need and the outputs lack,
    run now (`atlas_results.run_missing_side_by_side`: two at a time on two cores); returns the
    seconds it took. Inside the notebook they would run while other notebooks sample beside it, three
    or more processes on two cores. A failure is echoed and left to the notebook, which meets the same
    error and shows it on its page."""
    from .organism.atlas_results import run_missing_side_by_side

    start = time.perf_counter()
    for name in OWN_BUILDS:
        if name not in params_by_notebook:
            continue
        p = params_by_notebook[name]
        try:
            run = run_missing_side_by_side(p, list(p.organism_seeds), p.get("confirmation_panel", 0) or 0,
                                           log=lambda line: echo(f"[report] {name}: {line}"))
        except Exception as err:  # noqa: BLE001 - the notebook reports it where it belongs
            echo(f"[report] {name}: its units failed before the notebooks ({type(err).__name__}: {err}); "
                 "the notebook will show the error")
            continue
        if run is not None:
            echo(f"[report] {name}: {len(run['units'])} units and {len(run['confirmations'])} confirmation "
                 f"panels run before the notebooks, {run['workers']} at a time, in {run['wall_seconds']:.0f} s")
    return time.perf_counter() - start


# --- runs first ----------------------------------------------------------------------

def presample_tasks(params_by_notebook: dict) -> list[tuple[str, str, str, int]]:
    """(owner notebook, model name, benchmark, n) of every run the notebooks sample (`cost.plan_runs`;
    the owner as in `run_owners`); largest n first, so the longest runs start first (every run here
    samples the same problems per benchmark)."""
    owners = [_owner(readers) for readers in _readers_by_run(params_by_notebook).values()]
    tasks = list(dict.fromkeys((name, model, bench, n) for n, name, model, bench in owners))  # seeds: one task
    return sorted(tasks, key=lambda t: -t[3])


def twin_groups(params_by_notebook: dict, tasks: list[tuple[str, str, str, int]]) -> list[list[tuple]]:
    """`tasks` grouped by model directory and benchmark, each group in task order, the groups in the
    order of their first task. One model directory under two names (fig08's `rl-rloo-step60` when RL
    stopped at step 60 is the final `rl-rloo`) is then sampled once: the group's runs go one after the
    other in one worker, and the second reads the first's samples (`twin_runs`) instead of sampling
    them beside it (session 19's cold report: 23 s for a run that was already being drawn)."""
    groups: dict[tuple[str, str], list[tuple]] = {}
    for task in tasks:
        owner, model, bench, _ = task
        groups.setdefault((_model_location(params_by_notebook[owner], model), bench), []).append(task)
    return list(groups.values())


def _model_location(params, model: str) -> str:
    """The directory (or hub id) a model entry samples from, organism paths resolved, as its run
    identity records it."""
    from .figures import model_spec
    from .models import recorded_path

    try:
        return recorded_path(model_spec(params, params.model(model)).path)
    except Exception:  # does not resolve: a group of its own, and the error is its notebook's to show
        return f"unresolved:{model}"


def _presample_in_child(runs: list[tuple], env: dict[str, str]) -> list[tuple[float, str]]:
    """Sample and grade each (params, model, benchmark) run in turn, as its owner notebook would;
    (seconds, error) per run."""
    os.environ.update(env)
    from .figures import graded_runs

    out = []
    for params, model, benchmark in runs:
        t = time.perf_counter()
        try:
            for _ in graded_runs(params, models=[model], benchmarks=[benchmark]):
                pass
            out.append((time.perf_counter() - t, ""))
        except Exception as err:  # left to the notebook, which meets it again and shows it in place
            out.append((time.perf_counter() - t, f"{type(err).__name__}: {err}"))
    return out


def sample_runs_first(params_by_notebook: dict, jobs: int, echo: Callable[[str], None]) -> list[dict]:
    """Every run the notebooks sample, up to `jobs` at once (module docstring); one record per run,
    in `presample_tasks` order."""
    tasks = presample_tasks(params_by_notebook)
    if not tasks:
        return []
    env = kernel_env(jobs)
    echo(f"[report] sampling {len(tasks)} runs before the notebooks, up to {jobs} side by side")
    records = {}
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_presample_in_child, [(params_by_notebook[o], m, b) for o, m, b, _ in group], env):
                   group for group in twin_groups(params_by_notebook, tasks)}
        for future in futures:  # submitted, and so started, largest first
            for (owner, model, bench, n), (seconds, error) in zip(futures[future], future.result()):
                records[(owner, model, bench, n)] = {"notebook": owner, "model": model, "benchmark": bench, "n": n,
                                                     "seconds": round(seconds, 1), "error": error}
                echo(f"[report]   {model} / {bench} n={n} ({owner}): "
                     + (f"FAILED, left to the notebook ({error})" if error else f"{seconds:.0f} s"))
    echo(f"[report] runs sampled in {time.perf_counter() - start:.0f} s")
    return [records[task] for task in tasks]


# --- running -------------------------------------------------------------------------

def _run_in_child(name: str, params, out, kernel: str, show_code: bool, env: dict[str, str]):
    """One notebook in a worker process (spawned), with the side-by-side environment."""
    os.environ.update(env)
    from .report import run_notebook

    return run_notebook(name, params, out, kernel, show_code)


def run_side_by_side(params_by_notebook: dict, out, kernel: str, show_code: bool, jobs: int,
                     echo: Callable[[str], None], runs_sampled: bool = False) -> list:
    """Run every notebook, up to `jobs` at once in the order above; results in report order.
    `runs_sampled`: every run the plan knows is stored already (`sample_runs_first` succeeded), so no
    notebook waits for another."""
    from .report import result_line

    names = list(params_by_notebook)
    waits, owned = run_owners(params_by_notebook)
    if runs_sampled:
        waits = {name: set() for name in names}
    env = kernel_env(jobs)
    echo(f"[report] {len(names)} notebooks, up to {jobs} side by side"
         + (f" ({env['OMP_NUM_THREADS']} thread(s) each)" if env else ""))
    results: dict[str, object] = {}
    running: dict = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        try:
            while len(results) < len(names):
                started = set(running.values()) | set(results)
                ready = [n for n in names if n not in started and waits[n] <= set(results)]
                if not ready and not running:  # notebooks waiting on each other: the store lock serialises them
                    ready = [n for n in names if n not in started][:1]
                for name in start_order(ready, owned, names)[: jobs - len(running)]:
                    echo(f"[report] {name} ..." + (f" (after {', '.join(sorted(waits[name]))})" if waits[name] else ""))
                    running[pool.submit(_run_in_child, name, params_by_notebook[name], out, kernel, show_code,
                                        env)] = name
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    results[name] = future.result()
                    echo(result_line(results[name]))
        except BaseException:
            for future in running:
                future.cancel()
            raise
    return [results[name] for name in names]
