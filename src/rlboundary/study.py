"""Sampling runs: what to sample, in what batches, into which store.

    from rlboundary.study import sample_run, list_runs
    from rlboundary.models import ModelSpec
    from rlboundary.sampling import SamplingSettings
    store = sample_run(ModelSpec(name="tiny", path="outputs/models/tiny", template="raw"),
                       "math500", SamplingSettings(n=64, max_tokens=128), seed=0,
                       data_dir="/path/to/math/jsonl")
    store.samples()

`sample_run` loads the benchmark and renders its prompts (so that a bad
template or device is refused before anything is stored), asks the run's
store which work units (problem, seed chunk) are still missing, and only then
loads the model: a finished run returns at once. Missing units are generated in batches of at
most `max_units_per_batch` and each batch is written as one chunk file
before the next starts, so memory stays flat as n grows and a killed run
loses at most one batch. A unit's samples are drawn with
`derive_seed(seed, problem_id, chunk)`, so they do not depend on the batch.
Units that a run of the same model files under another name holds are read
from it instead (`twin_runs.py`).

The run key is (model name, benchmark, settings hash, seed). The settings
hashed are the *effective* ones: the stop strings of the model spec and of
its prompt template are folded into `settings.stop`, so that everything
that changes a sample's text is either in the hash or in the model identity
checked against `meta.json`.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from .errors import UserError
from .sampling import GenRequest, SamplingSettings, derive_seed
from .store import RunStore, find_runs, run_dir_for
from .twin_runs import copy_from_twins

# Backend name -> (module, class). Imported only when chosen, so that a
# missing vLLM does not stop `--backend hf` (and vice versa).
BACKENDS: dict[str, tuple[str, str]] = {
    "vllm": ("rlboundary.vllm_backend", "VLLMBackend"),
    "hf": ("rlboundary.hf_backend", "HFBackend"),
    "ray": ("rlboundary.ray_backend", "RayBackend"),
}

# What `sample_run(device=...)` / `rlboundary sample --device` accept.
DEVICES = ("auto", "cpu", "cuda")

# Units per generate() call: with chunk_size 64 that is 2048 sequences, enough
# to keep vLLM's batch full, while a kill loses at most one such batch.
DEFAULT_UNITS_PER_BATCH = 32


def make_backend(name: str, spec, **options: Any):
    """Construct the named sampling backend for `spec` (a ModelSpec)."""
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}.", f"use one of {', '.join(BACKENDS)}.")
    module_name, cls_name = BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            raise UserError(f"backend {name!r} is not available in this installation ({module_name} is missing).",
                            "use --backend vllm or hf.") from err
        if err.name in ("vllm", "ray", "torch", "transformers"):
            raise UserError(f"backend {name!r} needs the {err.name!r} package, which is not installed.",
                            "install it, or pick another --backend (vllm, hf).") from err
        raise
    return getattr(module, cls_name)(spec, **options)


def check_device(backend: str, device: str) -> None:
    """Refuse a device this machine cannot give, before anything is stored.

    Ray is not checked here: its workers may run on other machines than the
    driver, so each worker's backend checks its own device."""
    if device not in DEVICES:
        raise UserError(f"device={device!r} is not known.", f"use one of {', '.join(DEVICES)}.")
    if device == "auto" or backend == "ray":
        return
    if backend == "vllm":
        from .vllm_backend import check_device as check_vllm_device

        check_vllm_device(device)
    elif backend == "hf":
        from .hf_backend import resolve_device

        resolve_device(device)


def with_device(backend: str, device: str, options: dict | None) -> dict:
    """Backend constructor `options` with `device` added (for Ray: to each worker's engine)."""
    options = dict(options or {})
    if device == "auto":
        return options
    if backend == "ray":
        options["engine_options"] = {"device": device, **(options.get("engine_options") or {})}
    else:
        options.setdefault("device", device)
    return options


def effective_settings(spec, settings: SamplingSettings) -> SamplingSettings:
    """`settings` with the model's and the template's stop strings folded in."""
    from .prompts import template_stop

    stop = list(dict.fromkeys([*settings.stop, *spec.stop, *template_stop(spec.template)]))
    return dataclasses.replace(settings, stop=tuple(stop))


def run_identity(spec, benchmark_name: str, settings: SamplingSettings, seed: int) -> dict:
    """What meta.json must agree on for a run directory to be reused."""
    return {
        "model": {"name": spec.name, **spec.identity()},
        "benchmark": benchmark_name,
        "settings": settings.identity(),
        "settings_hash": settings.settings_hash(),
        "seed": seed,
    }


def run_store(spec, benchmark_name: str, settings: SamplingSettings, seed: int) -> RunStore:
    """The store of a run key (effective settings, see module docstring)."""
    eff = effective_settings(spec, settings)
    return RunStore(run_dir_for(spec.name, benchmark_name, eff.settings_hash(), seed,
                                weights=spec.identity().get("weights")))


def _as_spec(model_spec):
    from .models import ModelSpec

    if isinstance(model_spec, ModelSpec):
        return model_spec
    if isinstance(model_spec, dict):
        return ModelSpec.from_dict(model_spec)
    raise UserError(f"model_spec must be a ModelSpec or a mapping, got {type(model_spec).__name__}.", "pass ModelSpec(name=..., path=...).")


def _check_seed(seed) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UserError(f"seed={seed!r} must be a non-negative integer.", "pass e.g. --seed 0.")
    return seed


def sample_run(
    model_spec,
    benchmark_name: str,
    settings: SamplingSettings,
    seed: int = 0,
    backend: str | Any = "vllm",
    data_dir: str | None = None,
    limit: int | None = None,
    max_units_per_batch: int = DEFAULT_UNITS_PER_BATCH,
    progress: bool = True,
    backend_options: dict | None = None,
    device: str = "auto",
) -> RunStore:
    """Sample whatever the run key still lacks; return its store.

    `backend` is a name ("vllm", "hf", "ray") or an already built backend
    object (kept open, so that several runs can share one loaded engine).
    `device` ("auto", "cpu", "cuda") is passed to a named backend; a device
    this machine lacks is refused before anything is stored.
    """
    from .benchmarks import data_source, get_benchmark
    from .prompts import get_template, render_prompt

    spec = _as_spec(model_spec)
    seed = _check_seed(seed)
    if not isinstance(max_units_per_batch, int) or max_units_per_batch < 1:
        raise UserError(f"max_units_per_batch={max_units_per_batch!r} must be >= 1.", "pass a positive batch size.")
    if isinstance(backend, str) and backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}.", f"use one of {', '.join(BACKENDS)}.")
    if isinstance(backend, str):
        from .models import resolve_model

        resolve_model(spec)  # a bad path or an offline hub id fails before anything is written
        check_device(backend, device)
        backend_options = with_device(backend, device, backend_options)
    elif device != "auto":
        raise UserError(f"device={device!r} was given with an already built backend.", "build the backend on that device instead.")
    bench = get_benchmark(benchmark_name, data_dir=data_dir, limit=limit)
    source = data_source(benchmark_name, data_dir)  # recorded, so `verify` finds the same data
    eff = effective_settings(spec, settings)
    store = run_store(spec, bench.name, settings, seed)

    # Prompts are rendered before the store is touched, so that a template
    # error (e.g. "chat" on a model without a chat template) stores nothing.
    tokenizer = None
    if get_template(spec.template).needs_tokenizer:
        from .models import load_tokenizer

        tokenizer = load_tokenizer(spec)
    prompts = {p.id: render_prompt(p, spec.template, tokenizer) for p in bench.problems}

    with store.lock():
        identity = run_identity(spec, bench.name, eff, seed)
        store.ensure_meta(
            identity,
            target={"n": eff.n, "problem_ids": bench.problem_ids, "limit": limit, "data_dir": data_dir,
                    "data_source": source},
        )
        store.remove_temp_files()  # leftovers of a killed writer; we hold the lock
        units = store.missing_units(bench.problem_ids, eff)
        # The same model files stored under another name: their samples, not new draws (twin_runs.py).
        units = copy_from_twins(store, units, identity, log=print if progress else None)
        if not units:
            return store

        owns_backend = isinstance(backend, str)
        engine = make_backend(backend, spec, **(backend_options or {})) if owns_backend else backend
        total = sum(len(u.missing) for u in units)
        bar = _progress(total, f"{spec.name} / {bench.name}", progress)
        try:
            if getattr(engine, "streams_units", False):
                # Ray: every unit in one call, so that no worker idles at batch
                # ends; finished units are written every max_units_per_batch.
                _generate_streaming(engine, units, prompts, eff, seed, store, bar, max_units_per_batch)
            else:
                for start in range(0, len(units), max_units_per_batch):
                    batch = units[start : start + max_units_per_batch]
                    rows = _generate_batch(engine, batch, prompts, eff, seed)
                    store.write_chunk(rows)
                    bar.update(len(rows))
        finally:
            bar.close()
            if owns_backend:
                engine.close()
    return store


def _generate_streaming(engine, units, prompts: dict, settings: SamplingSettings, seed: int, store, bar,
                        flush_every: int) -> None:
    """Generate all `units` with a backend that reports each unit as it
    finishes (`generate(..., on_unit=)`), writing finished units in chunks."""
    by_key = {(u.problem_id, u.chunk): u for u in units}
    pending: list[dict] = []
    done = 0

    def flush():
        if pending:
            store.write_chunk(pending)
            bar.update(len(pending))
            pending.clear()

    def on_unit(request, comps):
        nonlocal done
        pending.extend(_unit_rows(by_key[request.key], comps, settings))
        done += 1
        if done % flush_every == 0:
            flush()

    requests = [_unit_request(u, prompts, settings, seed) for u in units]
    engine.generate(requests, settings, on_unit=on_unit)
    flush()


def _unit_request(u, prompts: dict, settings: SamplingSettings, seed: int) -> GenRequest:
    idx = settings.chunk_range(u.chunk)
    return GenRequest(prompt=prompts[u.problem_id], n=len(idx), seed=derive_seed(seed, u.problem_id, u.chunk),
                      key=(u.problem_id, u.chunk))


def _unit_rows(u, comps, settings: SamplingSettings) -> list[dict]:
    """Rows for the missing samples of one generated unit."""
    idx = settings.chunk_range(u.chunk)
    if len(comps) != len(idx):
        raise RuntimeError(f"backend returned {len(comps)} samples for a unit of {len(idx)}")
    keep = set(u.missing)
    return [{"problem_id": u.problem_id, "sample_idx": i, "text": c.text, "num_tokens": c.num_tokens,
             "finish_reason": c.finish_reason, "token_ids": c.token_ids} for i, c in zip(idx, comps) if i in keep]


def _generate_batch(engine, units, prompts: dict, settings: SamplingSettings, seed: int) -> list[dict]:
    """Rows for the missing samples of `units`.

    A unit is always generated whole (its full chunk range, one seeded
    request), so sample i of chunk c is the same text whatever was stored
    before; only the missing sample_idx values are kept.
    """
    requests = [_unit_request(u, prompts, settings, seed) for u in units]
    outputs = engine.generate(requests, settings)
    if len(outputs) != len(requests):
        raise RuntimeError(f"backend returned {len(outputs)} results for {len(requests)} requests")
    rows: list[dict] = []
    for u, comps in zip(units, outputs):
        rows.extend(_unit_rows(u, comps, settings))
    return rows


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", dynamic_ncols=True)


# --------------------------------------------------------------------------
# Status


def run_status(model_spec, benchmark_name: str, settings: SamplingSettings, seed: int = 0) -> dict:
    """Stored vs missing for one run key (against the target it was last sampled for)."""
    spec = _as_spec(model_spec)
    return run_store(spec, benchmark_name, settings, _check_seed(seed)).status()


def list_runs(root=None) -> list[dict]:
    """One status dict per run directory under the sample store root."""
    return [store.status() for store in find_runs(root)]
