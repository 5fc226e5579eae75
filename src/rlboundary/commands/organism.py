"""The `organism` commands: build the model organism, evaluate it.

    rlboundary organism build [--preset default|micro|large] [--seed 0] [--out DIR] [--force]
    rlboundary organism eval  [--preset default] [--seed 0] [--n 256] [--model base --model rl-grpo ...]

`build` trains base, instruct, teacher, distilled and RL models (see
rlboundary/organism/build.py) and prints where they are and how long it
took; `eval` samples them on the evaluation split and prints pass@k with
CIs, the validity of correct answers by pass-rate bucket, and the
guessability baseline.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError

organism_app = typer.Typer(help="The model organism: tiny models trained here on an exactly verifiable task.",
                           no_args_is_help=True)

PRESET_HELP = "micro (seconds, for tests) | default (2-core CPU, <= 15 min) | large (GPU)"


def _check_preset(preset: str) -> None:
    from ..organism.presets import PRESETS

    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}.", f"use --preset with one of: {', '.join(PRESETS)}.")


@organism_app.command("build")
def build(
    preset: str = typer.Option("default", help=PRESET_HELP),
    seed: int = typer.Option(0, help="build seed (every stage is deterministic in it)"),
    out: Optional[Path] = typer.Option(None, help="directory for the models (default: outputs/models/organism/<preset>-seed<seed>)"),
    force: bool = typer.Option(False, help="rebuild even if a complete build exists"),
) -> None:
    """Train every organism model: base, instruct, teacher, distilled, RL (several algorithms)."""
    _check_preset(preset)
    if seed < 0:
        raise UserError(f"--seed {seed} is negative.", "pass --seed 0 or another integer >= 0.")
    from ..organism.build import build_organism

    models = build_organism(preset, seed, out=out, log=typer.echo, force=force)
    m = models.manifest
    typer.echo(f"organism {m['preset']} seed {m['seed']}: {len(models)} models in {models.root}")
    typer.echo(f"build time {m['build_seconds']:.0f} s on {m['device']} "
               f"({m['machine']['torch_threads']} torch threads, load {m['machine']['loadavg_start'][0]:.1f})")
    for e in m["models"]:
        typer.echo(f"  {e['name']:<22} {e['role']:<10} step {e['step']}")


@organism_app.command("eval")
def evaluate(
    preset: str = typer.Option("default", help=PRESET_HELP),
    seed: int = typer.Option(0, help="build seed of the organism to evaluate"),
    n: int = typer.Option(256, help="samples per evaluation problem"),
    model: Optional[List[str]] = typer.Option(None, help="model names (default: every final model)"),
    guess_n: int = typer.Option(64, help="no-reasoning samples per problem for the guessability baseline (0: skip)"),
) -> None:
    """pass@k with CIs, trace validity by pass-rate bucket and guessability on the evaluation split."""
    _check_preset(preset)
    if n < 1:
        raise UserError(f"--n {n} must be >= 1.", "pass --n 256 (the paper's largest k here).")
    from ..organism.evaluate import evaluate_organism, format_table

    models = None
    if model:
        from ..organism.build import ensure_organism

        built = ensure_organism(preset, seed, log=typer.echo)
        unknown = [x for x in model if x not in built]
        if unknown:
            raise UserError(f"unknown organism model(s) {unknown}.", f"use --model with one of: {', '.join(built)}.")
        models = list(model)
    result = evaluate_organism(preset, seed, n=n, names=models, guess_n=guess_n, log=typer.echo)
    typer.echo(format_table(result))
    typer.echo("\npass@k counting only correct answers whose every step is valid (no lucky guesses):")
    typer.echo(format_table(result, "passk_valid"))
    typer.echo("\nvalid traces among correct answers, by per-problem pass rate:")
    typer.echo(result["validity"].to_string(index=False))
    if not result["guessing"].empty:
        typer.echo("\nguessability (answer pre-filled at \\boxed{, no reasoning):")
        typer.echo(result["guessing"].to_string(index=False))


def register(app: typer.Typer) -> None:
    app.add_typer(organism_app, name="organism")
