"""What this machine offers to run things side by side: its usable CPU cores and whether it has a GPU.

    from rlboundary.machine import usable_cores, gpu_visible

Used to pick how many notebooks (`report_jobs`) and organism build stages (`organism.schedule`) run at
once, and how many OpenMP threads each gets.
"""

from __future__ import annotations

import contextlib
import os
import shutil


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's share), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def gpu_visible() -> bool:
    """An NVIDIA GPU this process could use, found without importing torch. Side-by-side processes
    would each start an engine that claims most of its memory, so callers then run one at a time."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return os.path.exists("/dev/nvidiactl") or shutil.which("nvidia-smi") is not None


@contextlib.contextmanager
def environ(values: dict[str, str]):
    """`values` set in os.environ for the block (and for the processes started in it), then restored."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def openmp_threads_env(threads: int) -> dict[str, str]:
    """OpenMP/MKL thread counts for a process that runs beside others, unless the user set them: at
    OpenMP's default every process's pool spins on every core, and two vLLM processes sampling side by
    side on the CPU ran ~8x slower each (`benchmarks/report_jobs.py`)."""
    return {k: os.environ.get(k) or str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
