"""vLLM engine settings the package chooses itself, and a failed start-up as one line.

    pytest tests/test_engine_defaults.py -q

The defaults apply only where the user's environment has no value, and only
when an engine is built: importing the package changes nothing. The failed
start-up message is checked on exception chains shaped like vLLM's (the
real engine failing is tests/test_cli_clean_env.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rlboundary.errors import UserError
from rlboundary.vllm_backend import (
    KV_CACHE_ENV,
    MULTIPROCESSING_ENV,
    apply_engine_env_defaults,
    default_cpu_kv_cache_gib,
    engine_start_error,
)


def _mem_total_gib() -> float:
    with open("/proc/meminfo") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    return kib / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="needs Linux /proc/meminfo")
def test_kv_cache_default_is_a_sixteenth_of_memory_between_1_and_4_gib():
    expected = int(min(4, max(1, _mem_total_gib() // 16)))
    assert default_cpu_kv_cache_gib() == expected


def test_defaults_fill_only_what_the_user_left_unset():
    env = {KV_CACHE_ENV: "7"}
    added = apply_engine_env_defaults(env)
    assert env[KV_CACHE_ENV] == "7" and added == {MULTIPROCESSING_ENV: "0"}
    env = {KV_CACHE_ENV: "", MULTIPROCESSING_ENV: "1"}  # vLLM reads an empty value as unset
    assert apply_engine_env_defaults(env) == {KV_CACHE_ENV: str(default_cpu_kv_cache_gib())}
    assert env[MULTIPROCESSING_ENV] == "1"


def test_importing_the_package_sets_nothing():
    code = ("import json, os; before = dict(os.environ)\n"
            "import rlboundary.cli, rlboundary.vllm_backend, rlboundary.report, rlboundary.perplexity, rlboundary.study\n"
            "print(json.dumps({k: v for k, v in os.environ.items() if before.get(k) != v}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VLLM_")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {}


def _chained(outer: str, inner: str) -> Exception:
    try:
        try:
            raise ValueError(inner)
        except ValueError as err:
            raise RuntimeError(outer) from err
    except RuntimeError as err:
        return err


def test_a_memory_failure_names_the_kv_cache_setting_on_a_cpu():
    err = _chained("Engine core initialization failed.",
                   "Available memory on node 0 (6.7/9.0 GiB) on kv cache allocation is less than requested "
                   "memory for kv (100000.0 GiB).\nmore lines")
    e = engine_start_error(err, "/m/tiny", on_cpu=True, environ={KV_CACHE_ENV: "100000"})
    text = str(e)
    assert isinstance(e, UserError) and "\n" not in text
    assert "/m/tiny failed to start (ValueError: Available memory on node 0" in text  # the cause, not the wrapper
    assert f"set {KV_CACHE_ENV} to a number of GiB that does (now 100000)" in text and "--max-model-len" in text


def test_a_memory_failure_on_a_gpu_and_any_other_failure():
    gpu = str(engine_start_error(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "org/m", on_cpu=False))
    assert "max_model_len" in gpu and "tensor_parallel_size" in gpu and KV_CACHE_ENV not in gpu
    other = str(engine_start_error(KeyError("architectures"), "org/m", on_cpu=True))
    assert "org/m failed to start (KeyError: 'architectures')" in other and "--backend hf" in other
    long = str(engine_start_error(RuntimeError("x" * 5000), "m", on_cpu=True))
    assert len(long) < 1000


def test_engines_started_and_stopped_with_young_collections_sample_the_same_and_are_freed(tiny_model_path,
                                                                                          monkeypatch):
    # vllm_backend lets vLLM's start-up and shutdown collections be young ones (CPU) and collects fully
    # after a shutdown: the texts must be those of an engine started with vLLM's full collections, the
    # engine must be gone after close(), and gc.collect must be the real one again. (Here and not beside
    # a module's long-lived engine: stopping an in-process engine tears down vLLM's global state.)
    import gc
    import weakref

    from rlboundary import vllm_backend
    from rlboundary.models import ModelSpec
    from rlboundary.sampling import GenRequest, SamplingSettings

    spec = ModelSpec(name="tiny", path=str(tiny_model_path), template="raw", dtype="float32")
    collect = gc.collect
    settings = SamplingSettings(n=4, max_tokens=20, temperature=0.8, top_p=0.95)
    got = {}
    for young in (True, False):
        monkeypatch.setattr(vllm_backend, "YOUNG_COLLECTIONS_DURING_ENGINE_CHANGES", young)
        backend = vllm_backend.VLLMBackend(spec)
        assert gc.collect is collect
        alive = weakref.ref(backend.llm)
        got[young] = [[c.text for c in unit] for unit in
                      backend.generate([GenRequest("Problem 7: x=7.", n=4, seed=107)], settings)]
        backend.close()
        assert alive() is None and gc.collect is collect
    assert got[True] == got[False] and len(set(got[True][0])) > 1
