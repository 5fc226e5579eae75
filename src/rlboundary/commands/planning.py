"""The `plan` command: samples, tokens and GPU-hours of a parameter set, before launch.

    rlboundary plan params/paper/fig01_passk_math.yaml
    rlboundary plan paper --gpu h200                 # every notebook of a named set
    rlboundary plan my.yaml --fill 0.1 --tokens-per-s 5000
    rlboundary plan params/atlas/atlas.yaml          # the atlas: predicted wall time on this machine

PARAMS is what `rlboundary report --params` takes: a named set (default,
paper, micro), a directory of <notebook>.yaml files, a notebook's YAML file
(its name says which notebook), or a study-level YAML file. Runs that several
notebooks share are counted once. How each number is estimated, and which
figures are assumptions, is in `rlboundary.cost`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import cost
from ..errors import UserError


def load_param_sets(source: str) -> dict:
    """{notebook: Params} for every notebook that `source` parameterises."""
    from .. import params

    path = params.resolve_source(source)
    if path.is_dir():
        notebooks = [nb for nb in params.NOTEBOOKS if (path / f"{nb}.yaml").exists()]
        if not notebooks:
            raise UserError(f"{path} holds no <notebook>.yaml file.", f"add one of: {', '.join(params.NOTEBOOKS)}.")
        return {nb: params.load_params(nb, path) for nb in notebooks}
    if path.stem in params.NOTEBOOKS:
        return {path.stem: params.load_params(path.stem, path)}
    # An atlas file under another name (params/atlas/micro.yaml: it lists `arms`), a study-level
    # or sectioned file: plan it as the atlas, as the sectioned notebooks, else as Figure 1.
    data = params._read_yaml(path) or {}
    if isinstance(data, dict) and "arms" in data:
        return {"atlas": params.load_params("atlas", path)}
    sections = [k for k in data if k in params.NOTEBOOKS] if isinstance(data, dict) else []
    return {nb: params.load_params(nb, path) for nb in (sections or ["fig01_passk_math"])}


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "?"
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}{unit}"
    return f"{x:.3g}{unit}"


def print_plan(estimates: list[cost.Estimate], gpu: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Estimated cost on {gpu.upper()} GPUs (GPU-hours = estimate; ceiling: every response at max_tokens)")
    for col in ("model", "benchmark", "seed", "problems", "n", "samples to draw", "prefill tok",
                "mean resp tok", "generated tok", "batch", "tok/s/replica", "GPUs", "GPU-h", "GPU-h ceiling"):
        table.add_column(col, justify="left" if col in ("model", "benchmark") else "right")
    for e in estimates:
        table.add_row(e.run.model["name"], e.run.benchmark, str(e.run.seed), str(e.problems), str(e.run.n),
                      _fmt(e.samples_todo), _fmt(e.prompt_tokens), f"{e.mean_response_tokens:.0f}",
                      _fmt(e.generated_tokens), str(e.batch or "-"), _fmt(e.tokens_per_s), str(e.gpus_per_replica),
                      _fmt(e.gpu_hours), _fmt(e.gpu_hours_ceiling))
    known = [e for e in estimates if e.gpu_hours is not None]
    table.add_row("TOTAL", "", "", "", "", _fmt(sum(e.samples_todo for e in estimates)),
                  _fmt(sum(e.prompt_tokens for e in estimates)), "", _fmt(sum(e.generated_tokens for e in estimates)),
                  "", "", "", _fmt(sum(e.gpu_hours for e in known)) + ("" if len(known) == len(estimates) else "+?"),
                  _fmt(sum(e.gpu_hours_ceiling for e in known)), style="bold")
    console = Console(width=200)
    console.print(table)
    # Where every number came from, once per distinct source.
    lines = dict.fromkeys([f"prompts {e.run.benchmark}: {e.prompt_source}" for e in estimates]
                          + [f"shape {e.run.model['name']}: {e.shape_source}" for e in estimates]
                          + [f"mean response: {e.response_source}" for e in estimates]
                          + [f"tokens/s: {e.throughput_source}" for e in estimates])
    console.print(f"prompt tokens at {cost.CHARS_PER_TOKEN} chars/token (ASSUMED), prefilled once per "
                  f"work unit of {estimates[0].run.chunk_size} samples.")
    for line in lines:
        console.print(line)


def summary_figures(estimates: list[cost.Estimate], gpu: str) -> dict[str, str]:
    """Totals as name=value figures (for `make bench`)."""
    if not estimates:
        return {}
    known = [e for e in estimates if e.gpu_hours is not None]
    unknown = "" if len(known) == len(estimates) else f"+{len(estimates) - len(known)}unknown"
    return {
        "samples": f"{sum(e.samples_todo for e in estimates)}",
        "generated_tokens": f"{sum(e.generated_tokens for e in estimates):.3g}",
        f"{gpu}_gpu_hours": f"{sum(e.gpu_hours for e in known):.4g}{unknown}",
        f"{gpu}_gpu_hours_ceiling": f"{sum(e.gpu_hours_ceiling for e in known):.4g}{unknown}",
    }


def estimate_runs(param_sets: dict, gpu: str = "h100", engine: str = "vllm", fill: float = cost.DEFAULT_FILL,
                  tokens_per_s: float | None = None) -> tuple[list[cost.Estimate], list[str]]:
    """Estimates of every run of `param_sets` ({notebook: Params}), and why
    runs that cannot be sized were left out."""
    done, skipped = [], []
    for run in cost.plan_runs(param_sets):
        try:
            done.append(cost.estimate(run, gpu=gpu, engine=engine, fill=fill, tokens_per_s=tokens_per_s))
        except UserError as err:
            skipped.append(f"{run.model['name']} / {run.benchmark}: {err}")
    return done, skipped


def plan_total(estimates: list[cost.Estimate], skipped: list[str], gpu: str) -> tuple[str, float | None]:
    """One line that sums up a plan, and its estimated GPU-hours (None when
    no run could be priced: unknown model shapes, e.g. the organism)."""
    known = [e for e in estimates if e.gpu_hours is not None]
    unpriced = len(estimates) - len(known) + len(skipped)
    samples = sum(e.samples_todo for e in estimates)
    tokens = sum(e.generated_tokens for e in estimates)
    line = f"{len(estimates) + len(skipped)} runs, {_fmt(samples)} samples to draw, {_fmt(tokens)} tokens to generate"
    if not known:
        return f"{line}; GPU-hours not estimated ({unpriced} runs of unknown model shape)", None
    hours = sum(e.gpu_hours for e in known)
    ceiling = sum(e.gpu_hours_ceiling for e in known)
    line += f"; about {hours:.2f} GPU-hours on one {gpu.upper()} (ceiling {ceiling:.2f}, every response at max_tokens)"
    if unpriced:
        line += f", plus {unpriced} runs not priced"
    return line, hours


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        params_source: str = typer.Argument(..., metavar="PARAMS", help="a named set, a directory, or a YAML file"),
        gpu: str = typer.Option("h100", help=f"GPU to price on: {', '.join(cost.GPUS)}"),
        engine: str = typer.Option("vllm", help="engine whose throughput figure is used (vllm, transformers-static, transformers)"),
        fill: float = typer.Option(cost.DEFAULT_FILL, help="ASSUMED mean share of max_tokens a response uses (stored samples override it)"),
        tokens_per_s: Optional[float] = typer.Option(None, "--tokens-per-s", help="your measured decode tokens/s per replica (replaces the roofline model)"),
        summary: bool = typer.Option(False, "--summary", help="print only name=value totals (per notebook and for the whole set)"),
        workers: Optional[int] = typer.Option(None, help="atlas: units at once (default: what `rlboundary report --params atlas` runs with, 2 on 2 cores)"),
        costs_from: Optional[Path] = typer.Option(None, "--costs-from", help="atlas: take the measured stage, RL and sampling times from this other outputs directory of this machine (a fresh one has none)"),
    ) -> None:
        """Print samples, tokens and estimated GPU-hours of a parameter set before running it."""
        cost.check_options(gpu, engine, fill, tokens_per_s)
        sets = load_param_sets(params_source)
        if "atlas" in sets:  # the atlas trains as well as samples: wall time on this machine, not GPU-hours
            from ..organism.atlas_backends import unit_threads
            from ..organism.atlas_plan import costs_measured_in, format_plan, plan_atlas
            from ..organism.schedule import default_workers

            a = sets.pop("atlas")
            if workers is not None and workers < 1:
                raise UserError(f"--workers {workers} is below 1.", "pass --workers 1 or more.")
            workers = workers or default_workers()
            costs = costs_measured_in(costs_from, a.organism_preset, unit_threads(workers)) if costs_from else None
            # The confirmation panels too: `rlboundary report --params atlas` samples them (atlas_results).
            typer.echo(format_plan(plan_atlas(a.arms, a.organism_preset, list(a.organism_seeds), a.n,
                                              confirm=a.get("confirmation_panel", 0) or 0,
                                              draw=a.get("confirmation_draw", 1), workers=workers, costs=costs)))
            if not sets:
                return

        def estimates_of(param_sets: dict) -> tuple[list[cost.Estimate], list[str]]:
            return estimate_runs(param_sets, gpu=gpu, engine=engine, fill=fill, tokens_per_s=tokens_per_s)

        if summary:
            # GPU-hours of each notebook alone, then every total of the whole set.
            label = Path(params_source).stem
            if len(sets) > 1:
                for nb, p in sets.items():
                    done, skipped = estimates_of({nb: p})
                    hours = summary_figures(done, gpu).get(f"{gpu}_gpu_hours", "?")
                    typer.echo(f"plan_{nb}_{gpu}_gpu_hours={hours}" + (f"+{len(skipped)}unsized" if skipped and done else ""))
            done, skipped = estimates_of(sets)
            for key, value in summary_figures(done, gpu).items():
                typer.echo(f"plan_{label}_{key}={value}")
            if skipped:
                typer.echo(f"plan_{label}_runs_not_sized={len(skipped)}  ({skipped[0]})")
            return
        estimates, skipped = estimates_of(sets)
        typer.echo(f"{len(estimates) + len(skipped)} runs from {', '.join(sets)} ({Path(params_source).name})")
        if estimates:
            print_plan(estimates, gpu)
        for line in skipped:
            typer.echo(f"not sized: {line}")
        typer.echo(f"total: {plan_total(estimates, skipped, gpu)[0]}")
