"""The `sample` and `status` commands.

    rlboundary sample --model outputs/models/tiny --template raw --benchmark math500 \\
        --data-dir /path/to/math/jsonl --limit 20 --n 64 --max-tokens 64 --seed 0
    rlboundary status                       # every run under outputs/samples/
    rlboundary status --model tiny          # only the runs of one model

`sample` resumes: run it again with the same arguments after a crash (or
with a larger --n) and only the missing samples are drawn.
"""

from __future__ import annotations

from typing import List, Optional

import typer

from ..errors import UserError


def sample(
    model: str = typer.Option(..., "--model", help="Local model dir, .gguf file, or Hugging Face hub id."),
    benchmark: str = typer.Option(..., "--benchmark", help="Benchmark name (rlboundary.benchmarks.list_benchmarks)."),
    name: Optional[str] = typer.Option(None, "--name", help="Short model label for the run key (default: from --model)."),
    template: str = typer.Option("qwen-boxed", "--template", help="Prompt template: qwen-boxed, chat, raw, code, ..."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Directory of local benchmark jsonl files."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first LIMIT problems."),
    n: int = typer.Option(..., "--n", help="Samples per problem."),
    temperature: float = typer.Option(0.6, "--temperature", help="Sampling temperature (paper: 0.6)."),
    top_p: float = typer.Option(0.95, "--top-p", help="Nucleus sampling p (paper: 0.95)."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Max new tokens per sample."),
    stop: Optional[List[str]] = typer.Option(None, "--stop", help="Stop string (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Run seed."),
    chunk_size: int = typer.Option(64, "--chunk-size", help="Samples per seeded work unit."),
    backend: str = typer.Option("vllm", "--backend", help="vllm | hf | ray."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda (a device this machine lacks is refused before anything is stored)."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="Tokenizer dir or hub id (GGUF models)."),
    dtype: str = typer.Option("auto", "--dtype", help="auto | float32 | float16 | bfloat16."),
    max_model_len: Optional[int] = typer.Option(None, "--max-model-len", help="Context length cap."),
    tensor_parallel_size: int = typer.Option(1, "--tensor-parallel-size", help="GPUs per vLLM engine (e.g. 4 for a 32B model)."),
    data_parallel_size: int = typer.Option(1, "--data-parallel-size", help="vLLM engines (Ray: one actor each)."),
    units_per_batch: int = typer.Option(32, "--units-per-batch", help="Work units per generate call (one chunk file each batch)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
):
    """Sample N answers per problem into the resumable sample store."""
    from ..models import ModelSpec, default_name
    from ..sampling import SamplingSettings
    from ..study import BACKENDS, sample_run

    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}.", f"use one of {', '.join(BACKENDS)}.")
    spec = ModelSpec(
        name=name or default_name(model),
        path=model,
        template=template,
        tokenizer=tokenizer,
        dtype=dtype,
        max_model_len=max_model_len,
        tensor_parallel_size=tensor_parallel_size,
        data_parallel_size=data_parallel_size,
    )
    settings = SamplingSettings(
        n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=tuple(stop or ()), chunk_size=chunk_size
    )
    store = sample_run(
        spec, benchmark, settings, seed=seed, backend=backend, data_dir=data_dir, limit=limit,
        max_units_per_batch=units_per_batch, progress=progress, device=device,
    )
    typer.echo(_status_line(store.status()))


def _status_line(s: dict) -> str:
    if s["n"] is None:
        state = f"{s['stored']} samples (no target recorded)"
    elif s["complete"]:
        state = f"complete: {s['stored']}/{s['expected']} samples ({s['problems']} problems x n={s['n']})"
    else:
        state = f"incomplete: {s['expected'] - s['missing']}/{s['expected']} samples, {s['missing']} missing ({s['problems']} problems x n={s['n']})"
    extras = []
    if s["duplicates"]:
        extras.append(f"{s['duplicates']} DUPLICATE rows")
    if s["temp_files"]:
        extras.append(f"{s['temp_files']} leftover temp file(s), removed by the next sample run")
    if s["locked_by"]:
        extras.append(f"being written by {s['locked_by']}")
    extra = f" [{'; '.join(extras)}]" if extras else ""
    return f"{s['model']} / {s['benchmark']} / {s['settings_hash']}-seed{s['seed']}: {state}{extra}\n  {s['run_dir']}"


def status(
    model: Optional[str] = typer.Option(None, "--model", help="Only runs of this model name."),
    benchmark: Optional[str] = typer.Option(None, "--benchmark", help="Only runs of this benchmark."),
    root: Optional[str] = typer.Option(None, "--root", help="Sample store root (default: outputs/samples)."),
):
    """What is stored and what is missing, per run key."""
    from ..paths import samples_dir
    from ..study import list_runs

    runs = list_runs(root)
    if model:
        runs = [r for r in runs if r["model"] == model]
    if benchmark:
        runs = [r for r in runs if r["benchmark"] == benchmark]
    if not runs:
        where = root or samples_dir()
        typer.echo(f"no sampling runs under {where}" + (" matching the filters" if (model or benchmark) else ""))
        return
    for r in runs:
        typer.echo(_status_line(r))


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)
    app.command("status")(status)
