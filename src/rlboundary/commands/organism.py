"""The `organism` commands: build the model organism, evaluate it.

    rlboundary organism build [--preset default|micro|large] [--seed 0 | --seeds 0,1,2] [--out DIR] [--force] [--workers 2]
    rlboundary organism eval  [--preset default] [--seed 0] [--n 256] [--model base --model rl-grpo ...]
    rlboundary organism eval  --seeds 0,1,2 [--n 256] [--temperature 1.0]
    rlboundary organism atlas --params params/atlas/atlas.yaml [--seeds 0,1] [--backend local|ray] [--workers 2]
    rlboundary organism atlas --params params/atlas/atlas.yaml --confirm-only [--arms grpo,psr]   # confirmation panels only

`build` trains every model of the organism (see rlboundary/organism/build.py)
and prints where they are and how long it took; `eval` samples them on the
evaluation split and prints pass@k with CIs, the validity of correct
answers by pass-rate bucket, and the guessability baseline. With
`--seeds`, `eval` evaluates every seed's build on the same problems and
prints, per level, luck-free pass@1 and pass@n with CIs over seeds and
problems, then the pre-registered reach comparison (organism/reach.py)
with its computed verdicts. `atlas` trains and evaluates the boundary atlas's
arms (organism/atlas.py) by the chosen backend (organism/atlas_backends.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError

organism_app = typer.Typer(help="The model organism: tiny models trained here on an exactly verifiable task.",
                           no_args_is_help=True)

PRESET_HELP = "micro (seconds, for tests) | default (2-core CPU, about 17 min per seed) | large (GPU)"


def _parse_seeds(seeds: str) -> list[int]:
    try:
        out = [int(x) for x in seeds.split(",") if x.strip()]
    except ValueError:
        out = []
    if not out or any(x < 0 for x in out) or len(set(out)) != len(out):
        raise UserError(f"--seeds {seeds!r} is not a list of distinct non-negative integers.",
                        "pass e.g. --seeds 0,1,2.")
    return out


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
    seeds: Optional[str] = typer.Option(None, help="several builds, one after the other: e.g. 0,1,2"),
    workers: Optional[int] = typer.Option(None, help="stages run side by side after the base, each in its own "
                                          "process (default: $RLBOUNDARY_BUILD_WORKERS, else 1)"),
) -> None:
    """Train every organism model: base, frontier, instruct, RFT, teachers, distilled, RL (several algorithms)."""
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers} is below 1.", "pass --workers 1 (one stage at a time) or 2.")
    _check_preset(preset)
    if seed < 0:
        raise UserError(f"--seed {seed} is negative.", "pass --seed 0 or another integer >= 0.")
    if seeds is not None and out is not None:
        raise UserError("--out names one build directory, --seeds asks for several.", "drop --out or --seeds.")
    for s in (_parse_seeds(seeds) if seeds is not None else [seed]):
        _build_one(preset, s, out, force, workers)


def _build_one(preset: str, seed: int, out: Optional[Path], force: bool, workers: Optional[int]) -> None:
    from ..organism.build import build_organism

    models = build_organism(preset, seed, out=out, log=typer.echo, force=force, workers=workers)
    m = models.manifest
    typer.echo(f"organism {m['preset']} seed {m['seed']}: {len(models)} models in {models.root}")
    typer.echo(f"build time {m['build_seconds']:.0f} s of stage time, {m.get('wall_seconds', 0):.0f} s wall in this "
               f"run, on {m['device']} ({m['machine'].get('build_workers', 1)} worker(s); "
               f"{m['machine']['torch_threads']} torch threads, load {m['machine']['loadavg_start'][0]:.1f})")
    f = m["frontier"]
    typer.echo(f"frontier level {f['frontier']} (in range: {f['in_range']}); base luck-free pass@n on training "
               f"problems: " + ", ".join(f"level {k}: {v['luck_free_pass_at_n']:.3f}" for k, v in f["base_reach"].items()))
    for e in m["models"]:
        typer.echo(f"  {e['name']:<22} {e['role']:<10} step {e['step']}")


@organism_app.command("eval")
def evaluate(
    preset: str = typer.Option("default", help=PRESET_HELP),
    seed: int = typer.Option(0, help="build seed of the organism to evaluate"),
    n: int = typer.Option(256, help="samples per evaluation problem"),
    model: Optional[List[str]] = typer.Option(None, help="model names (default: every final model)"),
    guess_n: int = typer.Option(64, help="no-reasoning samples per problem for the guessability baseline (0: skip)"),
    seeds: Optional[str] = typer.Option(None, help="evaluate several builds, e.g. 0,1,2: per-level table with CIs "
                                                   "over seeds and problems, and the pre-registered verdicts"),
    temperature: float = typer.Option(0.6, help="sampling temperature of every model (the study's is 0.6; "
                                      "samples at other temperatures are cached separately)"),
    panel: Optional[int] = typer.Option(None, help="with --seeds: more evaluation problems at each build's frontier "
                                        "level for the reach comparison (default: the preset's frontier_panel, "
                                        "32 for default; 0: none)"),
    confirm: Optional[int] = typer.Option(None, help="with --seeds: fresh evaluation problems at each build's "
                                          "frontier (after the frontier panel's), every model on its own random "
                                          "stream, judged by the confirmation rule against the null control "
                                          "(default: the preset's confirmation_panel, 32 for default; 0: none)"),
    confirm_draw: int = typer.Option(1, help="with --confirm: which block of fresh problems (2: a replication on "
                                     "the problems after the first draw's)"),
) -> None:
    """pass@k with CIs, trace validity by pass-rate bucket and guessability on the evaluation split."""
    _check_preset(preset)
    if n < 1:
        raise UserError(f"--n {n} must be >= 1.", "pass --n 256 (the paper's largest k here).")
    if guess_n < 0:
        raise UserError(f"--guess-n {guess_n} is negative.", "pass --guess-n 64, or 0 to skip the guessability baseline.")
    if not 0 < temperature <= 2:
        raise UserError(f"--temperature {temperature} is outside (0, 2].",
                        "pass --temperature 0.6 (the study's) or 1.0 (hotter sampling).")
    from ..organism.evaluate import evaluate_organism, evaluate_seeds, format_levels, format_reach, format_table

    if (panel is not None or confirm is not None) and seeds is None:
        raise UserError("--panel and --confirm only apply to the multi-seed reach comparison.",
                        "add --seeds 0,1,2, or drop them.")
    if seeds is not None:
        result = evaluate_seeds(preset, tuple(_parse_seeds(seeds)), n=n, names=list(model) if model else None,
                                log=typer.echo, temperature=temperature, panel=panel, confirm=confirm,
                                confirm_draw=confirm_draw)
        typer.echo(format_levels(result))
        typer.echo("\npre-registered reach comparison (model minus base; organism/reach.py):")
        typer.echo(format_reach(result))
        return

    models = None
    if model:
        from ..organism.build import ensure_organism

        built = ensure_organism(preset, seed, log=typer.echo)
        unknown = [x for x in model if x not in built]
        if unknown:
            raise UserError(f"unknown organism model(s) {unknown}.", f"use --model with one of: {', '.join(built)}.")
        models = list(model)
    result = evaluate_organism(preset, seed, n=n, names=models, guess_n=guess_n, log=typer.echo,
                               temperature=temperature)
    typer.echo(format_table(result))
    typer.echo("\npass@k counting only correct answers whose every step is valid (no lucky guesses):")
    typer.echo(format_table(result, "passk_valid"))
    typer.echo("\nvalid traces among correct answers, by per-problem pass rate:")
    typer.echo(result["validity"].to_string(index=False))
    if not result["guessing"].empty:
        typer.echo("\nguessability (answer pre-filled at \\boxed{, no reasoning):")
        typer.echo(result["guessing"].to_string(index=False))


@organism_app.command("power")
def power(
    preset: str = typer.Option("default", help=PRESET_HELP),
    seeds: str = typer.Option("0,1,2", help="build seeds whose training-split reaches to simulate from"),
    problems: int = typer.Option(32, help="confirmation problems per seed"),
    replicates: int = typer.Option(300, help="simulated panels per scenario"),
    worst_case: bool = typer.Option(False, "--worst-case", help="only the worst case (reach .5 on every pair), "
                                    "which needs no build"),
    max_margin: float = typer.Option(0.30, help="margins .05, .10, ... up to this (the atlas's 2-seed design "
                                     "needs 0.5)"),
) -> None:
    """How often the confirmation rule can say each verdict, before any sample: its power per margin."""
    from ..organism.power import format_power, simulate_power, training_split_reach

    _check_preset(preset)
    if problems < 1 or replicates < 1:
        raise UserError(f"--problems {problems} / --replicates {replicates} must be >= 1.",
                        "pass e.g. --problems 32 --replicates 300.")
    if not 0.05 <= max_margin <= 1:
        raise UserError(f"--max-margin {max_margin} is outside [0.05, 1].", "pass e.g. --max-margin 0.5.")
    margins = tuple(round(0.05 * i, 2) for i in range(1, int(round(max_margin / 0.05)) + 1))
    chosen = _parse_seeds(seeds)
    typer.echo(format_power(simulate_power(problems, len(chosen), replicates=replicates, margins=margins),
                            f"worst case: reach .5 on every pair ('extends': the model at .8); "
                            f"{len(chosen)} seeds x {problems} problems"))
    if worst_case:
        return
    base, teacher, levels = training_split_reach(preset, chosen)
    typer.echo("")
    typer.echo(format_power(simulate_power(problems, len(chosen), base_reach=base, model_reach=teacher,
                                           levels=levels, replicates=replicates, margins=margins),
                            f"training-split reaches at the frontier: base {base}, 'extends' = the stronger "
                            f"teacher's {teacher}; levels {levels}"))


@organism_app.command("atlas")
def atlas(
    params: str = typer.Option("atlas", "--params", help="the atlas's parameters: params/atlas/atlas.yaml, another "
                               "YAML file, or a parameter-set directory holding atlas.yaml"),
    seeds: Optional[str] = typer.Option(None, help="build seeds, e.g. 0,1 (default: the parameters' organism_seeds)"),
    backend: str = typer.Option("local", help="local (this machine) | ray (a Ray task per unit)"),
    workers: int = typer.Option(1, help="units at once: local processes, or the CPUs of a local Ray cluster"),
    ray_address: Optional[str] = typer.Option(None, help="an existing Ray cluster (else RAY_ADDRESS, else a local one)"),
    arms: Optional[str] = typer.Option(None, help="only these arms, e.g. grpo,psr (default: the parameters' arms)"),
    confirm: Optional[int] = typer.Option(None, help="fresh frontier problems per unit for the confirmation rule "
                                          "(default: the parameters' confirmation_panel; 0: none)"),
    confirm_draw: Optional[int] = typer.Option(None, help="the panel stream's block of confirmation problems "
                                               "(default: the parameters' confirmation_draw)"),
    confirm_only: bool = typer.Option(False, "--confirm-only", help="train what the arms need and sample only "
                                      "their confirmation panels (no main-set evaluation)"),
    costs_from: Optional[Path] = typer.Option(None, "--costs-from", help="price the plan printed first from this "
                                              "other outputs directory's measurements (a fresh one has none)"),
) -> None:
    """Train and evaluate every atlas arm x seed (issue #12), then print each arm's claim and verdict."""
    from ..organism.atlas import get_arm
    from ..organism.atlas_backends import check_backend, run_atlas
    from ..organism.atlas_confirm import confirmation_rows, format_confirmation
    from ..organism.atlas_plan import format_plan, plan_atlas
    from ..organism.atlas_results import summarise
    from ..params import load_params

    check_backend(backend, workers)
    p = load_params("atlas", params)
    chosen = _parse_seeds(seeds) if seeds is not None else list(p.organism_seeds)
    names = [a.strip() for a in arms.split(",") if a.strip()] if arms is not None else list(p.arms)
    for name in names:
        get_arm(name)  # a bad name stops here, in one line
    count = p.confirmation_panel if confirm is None else confirm
    draw = p.confirmation_draw if confirm_draw is None else confirm_draw
    if count < 0 or draw < 1:
        raise UserError(f"--confirm {count} / --confirm-draw {draw}: need a count >= 0 and a draw >= 1.",
                        "e.g. --confirm 32 --confirm-draw 3.")
    try:  # the prediction, recorded before anything runs (plan.json)
        from ..organism.atlas_backends import unit_threads
        from ..organism.atlas_plan import costs_measured_in

        costs = costs_measured_in(costs_from, p.organism_preset, unit_threads(workers)) if costs_from else None
        typer.echo(format_plan(plan_atlas(names, p.organism_preset, chosen, p.n, confirm=count, draw=draw,
                                          confirm_only=confirm_only, workers=workers, costs=costs)))
    except UserError as err:
        typer.echo(f"[atlas] no prediction: {err}")
    run = run_atlas(names, p.organism_preset, chosen, p.n, backend=backend, workers=workers,
                    ray_address=ray_address, confirm=count, draw=draw, confirm_only=confirm_only, log=typer.echo)
    if run["records"]:
        study = summarise(p.organism_preset, names, chosen, p.n, run["records"], n_boot=p.bootstrap)
        cols = ["arm", "frontier", "d_lf_pass_at_1", "d_lf_pass_at_n", "d_lf_pass_at_n_lo", "d_lf_pass_at_n_hi",
                "verdict", "reproduced"]
        typer.echo(study["claims"][cols].round(3).to_string(index=False))
    if run["confirmations"]:
        typer.echo(format_confirmation(confirmation_rows(p.organism_preset, names, run["confirmations"],
                                                         n_boot=p.bootstrap)))
    typer.echo(f"wall time {run['wall_seconds']:.0f} s; figures and the claims table: "
               f"rlboundary report --params {params}")


def register(app: typer.Typer) -> None:
    app.add_typer(organism_app, name="organism")
