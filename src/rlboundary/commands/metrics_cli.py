"""The `passk` command: pass@k with bootstrap CIs from graded runs.

    rlboundary passk RUN_DIR [RUN_DIR ...] [--k 1 --k 16 ...] [--out passk.parquet]
    rlboundary passk --base BASE_RUN --rl RL_RUN      # adds where each is ahead, crossover, ΔSE@n, coverage

A run directory is one sample-store run (`samples/<model>/<benchmark>/<hash>-seed<s>/`)
that `rlboundary verify` has graded: verdicts are read from
`run_dir/verdicts/<grader_id>/*.parquet`, the model and benchmark names from
`run_dir/meta.json`. Prints a table (rows k, one column per model) and
writes the tidy frame (model, benchmark, metric, k, n, n_problems,
pass_at_k, ci_low, ci_high) to Parquet with --out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from .. import metrics
from ..errors import UserError

VERDICT_COLUMNS = ["problem_id", "sample_idx", "correct"]


def _name_of(value, fallback: str) -> str:
    """meta.json may hold a plain name or a serialized spec with a `name` field."""
    if isinstance(value, dict):
        value = value.get("name")
    return str(value) if value else fallback


def read_run_meta(run_dir: Path) -> dict:
    """Model and benchmark names of a run: from meta.json, else from the store layout
    `<model>/<benchmark>/<hash>-seed<seed>`."""
    meta = {}
    meta_path = run_dir / "meta.json"
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"{meta_path} is not valid JSON ({err.msg}).", "restore or re-create the run's meta.json.")
    return {"model": _name_of(meta.get("model"), run_dir.parent.parent.name),
            "benchmark": _name_of(meta.get("benchmark"), run_dir.parent.name)}


def load_run_verdicts(run_dir: Path, grader: str | None = None) -> pd.DataFrame:
    """All verdict rows of one run for one grader (problem_id, sample_idx, correct).

    Reads the Parquet cache directly (the layout in docs/ARCHITECTURE.md), so
    it needs neither the benchmark nor the grader object. Parts are named by
    write time (`part-<ns>-<id>.parquet`); hidden `.tmp-*` files are writes
    in progress and skipped. A sample graded twice (re-graded after its gold
    answer changed) keeps its newest verdict.
    """
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist.", "pass a run directory under outputs/samples/.")
    verdicts_root = run_dir / "verdicts"
    graders = sorted(p.name for p in verdicts_root.iterdir() if p.is_dir() and _verdict_parts(p)) \
        if verdicts_root.is_dir() else []
    if not graders:
        raise UserError(f"no verdicts found in {verdicts_root}.", f"grade the run first: rlboundary verify {run_dir}")
    if grader is None:
        if len(graders) > 1:
            raise UserError(f"{run_dir} has verdicts of several graders: {', '.join(graders)}.",
                            "choose one with --grader.")
        grader = graders[0]
    elif grader not in graders:
        raise UserError(f"{run_dir} has no verdicts of grader {grader!r} (found: {', '.join(graders)}).",
                        "pass one of the graders found, or grade the run with it.")
    frames = []
    for part in _verdict_parts(verdicts_root / grader):
        frame = pd.read_parquet(part)
        missing = set(VERDICT_COLUMNS) - set(frame.columns)
        if missing:
            raise UserError(f"verdict file {part} lacks column(s) {sorted(missing)}.",
                            "re-grade the run with the current `rlboundary verify`.")
        frames.append(frame[VERDICT_COLUMNS])
    verdicts = pd.concat(frames, ignore_index=True)
    verdicts["problem_id"] = verdicts["problem_id"].astype(str)
    return verdicts.drop_duplicates(["problem_id", "sample_idx"], keep="last").reset_index(drop=True)


def _verdict_parts(grader_dir: Path) -> list[Path]:
    """Finished verdict files of one grader, oldest first (names sort by write time)."""
    return sorted(p for p in grader_dir.glob("*.parquet") if not p.name.startswith("."))


def load_run_counts(run_dir: Path, grader: str | None = None) -> pd.DataFrame:
    """Per-problem counts (model, benchmark, problem_id, n, c) of one graded run."""
    meta = read_run_meta(run_dir)
    return metrics.counts_from_verdicts(load_run_verdicts(run_dir, grader), model=meta["model"],
                                        benchmark=meta["benchmark"])


def _format_interval(value: float, low: float, high: float) -> str:
    if pd.isna(low):
        return f"{value:.4f}"
    return f"{value:.4f} [{low:.4f}, {high:.4f}]"


def _print_tables(curve: pd.DataFrame, ci: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for benchmark, group in curve.groupby("benchmark", sort=False):
        models = list(dict.fromkeys(group["model"]))
        sizes = "; ".join(f"{m}: {int(g['n_problems'].iloc[0])} problems, n={int(g['n'].iloc[0])}"
                          for m, g in group.groupby("model", sort=False))
        table = Table(title=f"pass@k on {benchmark}: mean [{ci:.0%} bootstrap CI]", caption=sizes)
        table.add_column("k", justify="right")
        for model in models:
            table.add_column(model, justify="right")
        by_key = {(r.model, r.k): r for r in group.itertuples()}
        for k in sorted(group["k"].unique()):
            cells = []
            for model in models:
                row = by_key.get((model, k))
                cells.append("" if row is None else _format_interval(row.pass_at_k, row.ci_low, row.ci_high))
            table.add_row(str(k), *cells)
        console.print(table)


def _print_comparison(base: pd.DataFrame, rl: pd.DataFrame, n_boot: int, ci: float, seed: int) -> None:
    cross = metrics.crossover(base, rl, n_boot=n_boot, ci=ci, seed=seed).iloc[0]
    gap = metrics.sampling_efficiency_gap(base, rl, n_boot=n_boot, ci=ci, seed=seed).iloc[0]
    pair = metrics.align_problems(base, rl)
    # Coverage compares "solved at least once" at equal n; otherwise both at the smaller n by the estimator.
    cover_k = None if (pair.base_n == pair.rl_n).all() else pair.n_min
    cover = metrics.coverage_sets(base, rl, k=cover_k)

    def k_text(value: float) -> str:
        return "beyond n" if value == float("inf") else f"{int(value)}"

    cross_ci = gap_ci = ""
    if n_boot:  # --n-boot 0 means no intervals
        cross_ci = (f"; {ci:.0%} CI [{k_text(cross.ci_low)}, {k_text(cross.ci_high)}]; "
                    f"no crossover in {cross.frac_no_crossover:.1%} of bootstrap replicates")
        gap_ci = f", {ci:.0%} CI [{gap.ci_low:.4f}, {gap.ci_high:.4f}]"
    if n_boot:
        typer.echo(f"paired base − RL pass@k, {ci:.0%} CI above 0 (base ahead) at k = {cross.base_ahead_k}; "
                   f"below 0 (RL ahead) at k = {cross.rl_ahead_k}")
    typer.echo(f"crossover ({cross.base_model} reaches {cross.rl_model}): {cross.description}{cross_ci}; "
               f"the mean difference changes sign {cross.sign_changes} time(s) over k = 1..{cross.n}")
    typer.echo(f"{gap.label} = base pass@{int(gap.k_max)} − RL pass@1 = {gap.base_pass_at_kmax:.4f} − {gap.rl_pass_at_1:.4f} "
               f"= {gap.delta_se:.4f}{gap_ci}")
    if cover_k is None:
        typer.echo("coverage (solved = at least one correct sample, both at the same n): "
                   + ", ".join(f"{r.set}={r.n_problems}" for r in cover.itertuples()))
    else:
        typer.echo(f"coverage at k={cover_k} tries for both (n differs between the runs; expected counts by the "
                   "unbiased estimator): " + ", ".join(f"{r.set}={r.n_problems:.2f}" for r in cover.itertuples()))


def passk(
    runs: Optional[list[Path]] = typer.Argument(None, help="Graded run directories (one per model)."),
    base: Optional[Path] = typer.Option(None, "--base", help="The base model's run (enables crossover/ΔSE)."),
    rl: Optional[Path] = typer.Option(None, "--rl", help="The RL model's run (with --base)."),
    k: Optional[list[int]] = typer.Option(None, "--k", help="k to report (repeatable); default powers of 2 up to n."),
    grader: Optional[str] = typer.Option(None, "--grader", help="Grader id under verdicts/ when a run has several."),
    n_boot: int = typer.Option(metrics.DEFAULT_N_BOOT, "--n-boot", help="Bootstrap replicates (0: no CIs)."),
    ci: float = typer.Option(metrics.DEFAULT_CI, "--ci", help="Confidence level of the intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the tidy pass@k frame to this Parquet file."),
) -> None:
    """pass@k (unbiased estimator, bootstrap CIs over problems) of graded runs."""
    if (base is None) != (rl is None):
        raise UserError("--base and --rl go together.", "pass both runs, or neither.")
    if n_boot < 0:
        raise UserError(f"--n-boot {n_boot} is negative.", "use 0 (no CIs) or a positive count such as 1000.")
    run_dirs = list(runs or []) + [p for p in (base, rl) if p is not None]
    if not run_dirs:
        raise UserError("no run given.", "pass one or more run directories, or --base and --rl.")
    counts_by_run = {}
    for run_dir in dict.fromkeys(run_dirs):  # a run given twice is read once
        counts_by_run[run_dir] = load_run_counts(run_dir, grader)
    all_counts = pd.concat(counts_by_run.values(), ignore_index=True)
    if all_counts.duplicated(["model", "benchmark", "problem_id"]).any():
        raise UserError("two runs have the same model and benchmark names.",
                        "pass one run per (model, benchmark), e.g. one seed each.")

    if k:
        ks = sorted(set(k))
    else:
        n_min = int(all_counts["n"].min())
        ks = metrics.powers_of_two(n_min)
    curve = metrics.pass_at_k_curve(all_counts, ks=ks, n_boot=n_boot, ci=ci, seed=seed)
    _print_tables(curve, ci)
    if base is not None:
        _print_comparison(counts_by_run[base], counts_by_run[rl], n_boot, ci, seed)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        curve.to_parquet(out, index=False)
        typer.echo(f"wrote {len(curve)} rows to {out}")


def register(app: typer.Typer) -> None:
    app.command("passk")(passk)
