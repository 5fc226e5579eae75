"""Which organism stages may run side by side, and running them so.

Every stage after the base depends on a few others only (`DEPENDS`): once
the base is trained, the frontier measurement and the instruct SFT can run
together; once the frontier is known, the teacher chain, both RL runs and
rejection sampling are independent. `run_stage_graph` runs the base alone
(with every torch thread), then keeps `workers` stages running at once, each
in its own process at cores // workers torch and OpenMP threads, longest
remaining chain first. Every stage still goes through `build.run_stage`, so a
stage finished before a kill is reused. A stage's weights do not depend on
its thread count: the instruct SFT, RFT and GRPO trained at one thread gave
the stored two-thread build's weights digests exactly (session 17), and so did
whole builds side by side.

A stage whose work splits into independent measurements lists them as
parts (`stage_parts`, so far the frontier: its candidate levels in two
parts); with workers > 1 the parts run in the pool first, and the stage
itself, once they are all stored, only reads them (session 19: the frontier
stage is on the build's critical path and ran beside a 43-s instruct SFT,
then alone for ~80 s).

Side by side is the default on a CPU with two or more cores (`AUTO_WORKERS`).
It did not pay until session 17 (`benchmarks/organism_build_workers.py`:
1,017 s side by side vs 989 s one at a time): each stage process left
OpenMP at its default, and two processes sampling with vLLM then spin on
both cores and run ~8x slower each (`benchmarks/report_jobs.py`).
With one OpenMP thread per stage process (`machine.openmp_threads_env`), the same
benchmark measured the stages after the base in 608 s side by side vs 751 s
one at a time (1.23x, 2026-12-01).

    from rlboundary.organism.schedule import run_stage_graph
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context

# Stage -> the stages whose outputs it reads. "rl-*" stands for every RL algorithm.
DEPENDS = {
    "base": (),
    "frontier": ("base",),
    "instruct": ("base",),
    "rft": ("frontier",),
    "teacher": ("frontier",),
    "teacher-matched": ("teacher",),
    "distilled-matched": ("teacher-matched",),
    "distilled": ("teacher",),
    "rl-*": ("frontier",),
}

# Start order among ready stages: the longest chain after a stage first (the
# teacher's chain, teacher -> matched teacher -> matched distillation, is the
# build's critical path once the frontier is known).
PRIORITY = ["base", "frontier", "teacher", "teacher-matched", "distilled-matched", "rl-*", "distilled", "rft",
            "instruct"]

WORKERS_ENV = "RLBOUNDARY_BUILD_WORKERS"
# Stages side by side by default on a CPU with cores to spare: measured on 2 cores only (module docstring).
AUTO_WORKERS = 2


def depends(stage: str) -> tuple[str, ...]:
    return DEPENDS["rl-*" if stage.startswith("rl-") else stage]


def priority(stage: str) -> int:
    return PRIORITY.index("rl-*" if stage.startswith("rl-") else stage)


def default_workers() -> int:
    """`RLBOUNDARY_BUILD_WORKERS` if set; else 1 with a GPU (each stage's engine claims most of its
    memory) or on one core, else AUTO_WORKERS."""
    from ..machine import gpu_visible, usable_cores

    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return 1 if gpu_visible() else max(1, min(usable_cores(), AUTO_WORKERS))
    if not value.isdigit() or int(value) < 1:
        from ..errors import UserError

        raise UserError(f"{WORKERS_ENV}={value!r} is not a positive integer.",
                        f"set {WORKERS_ENV} to 1 (stages one at a time) or 2 (two stages side by side).")
    return int(value)


def ready_stages(stages: list[str], done: set[str], running: set[str]) -> list[str]:
    """Stages not yet started whose dependencies are all done, by PRIORITY."""
    ready = [s for s in stages if s not in done and s not in running and all(d in done for d in depends(s))]
    return sorted(ready, key=lambda s: (priority(s), stages.index(s)))


PART_SEPARATOR = "#"  # a part's task name: "<stage>#<part>", e.g. "frontier#levels-8-6-4-2"


def ready_tasks(stages: list[str], parts: dict[str, list[str]], done: set[str], running: set[str]) -> list[str]:
    """What may start now, by PRIORITY: for a ready stage with parts (`stage_parts`), its parts not
    yet done or running, in their order; the stage itself once every part is done."""
    out = []
    for s in ready_stages(stages, done, running):
        tasks = [f"{s}{PART_SEPARATOR}{k}" for k in parts.get(s, [])]
        left = [t for t in tasks if t not in done and t not in running]
        if left:
            out += left
        elif all(t in done for t in tasks):
            out.append(s)
    return out


def _task_in_child(task: str, preset, seed: int, root: str, threads: int):
    """Run one stage (its record) or one stage part (its seconds) in a worker process (spawned:
    nothing inherited)."""
    from pathlib import Path

    os.environ["RLBOUNDARY_TORCH_THREADS"] = str(threads)
    if PART_SEPARATOR in task:
        from .stage_parts import run_part

        stage, key = task.split(PART_SEPARATOR, 1)
        return run_part(stage, key, preset, seed, Path(root))
    from .build import run_stage

    return run_stage(task, preset, seed, Path(root), lambda line: print(line, flush=True))


def run_stage_graph(p, seed: int, root, log, device: str, workers: int) -> dict[str, dict]:
    """Every stage's record; with workers > 1, independent stages (and the parts
    of a stage, `stage_parts`) run side by side."""
    from ..machine import environ, openmp_threads_env, usable_cores
    from .build import run_stage, stage_names, stale_stages
    from .stage_parts import parts_of

    stages = stage_names(p)
    for s in stages:  # every stage must be placed in the graph (a new stage needs an entry)
        depends(s), priority(s)
    if workers <= 1:
        return {s: run_stage(s, p, seed, root, log, device) for s in stages}
    records = {"base": run_stage("base", p, seed, root, log, device)}
    reusable = set(stages) - set(stale_stages(p, seed, root))  # finished before: reused here, no process
    parts = {s: parts_of(s, p) for s in stages if s not in reusable}
    threads = max(1, usable_cores() // workers)
    log(f"[build] after the base: up to {workers} stages side by side, {threads} torch thread(s) each")
    running: dict = {}
    parts_done: set[str] = set()
    # Spawned stage processes inherit the environment: one OpenMP pool of `threads` each.
    with environ(openmp_threads_env(threads)), \
            ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        while len(records) < len(stages):
            for task in ready_tasks(stages, parts, set(records) | parts_done, set(running.values())):
                if task in reusable:  # no process to start, and its "reusing" log line is the caller's
                    records[task] = run_stage(task, p, seed, root, log, device)
                    continue
                if len(running) >= workers:
                    break
                log(f"[build] start {task}")
                running[pool.submit(_task_in_child, task, p, seed, str(root), threads)] = task
            if not running:  # every ready stage was reused: look for the stages they unblock
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task = running.pop(future)
                result = future.result()  # a failed stage or part raises here; finished ones stay reusable
                if PART_SEPARATOR in task:
                    parts_done.add(task)
                    log(f"[build] {task} done in {result:.0f} s")
                else:
                    records[task] = result
                    log(f"[build] {task} done in {result['seconds']:.0f} s")
    return {s: records[s] for s in stages}
