"""The `passk` command: pass@k with bootstrap CIs from graded runs.

    rlboundary passk RUN_DIR [RUN_DIR ...] [--k 1 --k 16 ...] [--out passk.parquet]
    rlboundary passk --base BASE_RUN --rl RL_RUN      # adds where each is ahead, crossover, ΔSE@n, coverage
    rlboundary passk RUN_DIR --graders math-verify,math-equal,source   # per grader + disagreements
    rlboundary passk RUN_DIR --maj                    # maj@k (majority vote) beside pass@k

A run directory is one sample-store run (`samples/<model>/<benchmark>/<hash>-seed<s>/`)
that `rlboundary verify` has graded: verdicts are read from
`run_dir/verdicts/<grader_id>/*.parquet`, the model and benchmark names from
`run_dir/meta.json`. Prints a table (rows k, one column per model) and
writes the tidy frame (model, benchmark, metric, k, n, n_problems,
pass_at_k, ci_low, ci_high; + `grader` with --graders, + `what` = pass@k |
maj@k with --maj) to Parquet with --out.

`--graders a,b,...` reads each grader by name (`verify.compare.run_verdicts`:
project graders are graded now if their verdicts are missing; `source` is
an imported run's own), prints pass@k per grader and, per run, the
disagreement table: problem, answer (the paper's extraction), each grader's
verdict, how many samples gave it. `--maj` adds maj@k (`majority`): the
majority answer of k samples, exact or Monte Carlo as printed.
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
    from ..verify.compare import read_verdict_dir

    return read_verdict_dir(verdicts_root / grader)[VERDICT_COLUMNS].reset_index(drop=True)


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


def _console():
    """A rich console; piped output gets a wide page instead of 80 columns,
    so that model [grader] headers are not cut."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def _print_tables(curve: pd.DataFrame, ci: float) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    curve = curve.assign(grader=curve["grader"] if "grader" in curve else None,
                         what=curve["what"] if "what" in curve else "pass@k")
    for benchmark, group in curve.groupby("benchmark", sort=False):
        columns = list(dict.fromkeys((r.model, r.grader, r.what) for r in group.itertuples()))
        sizes = "; ".join(f"{m}: {int(g['n_problems'].iloc[0])} problems, n={int(g['n'].iloc[0])}"
                          for m, g in group.groupby("model", sort=False))
        whats = " and ".join(dict.fromkeys(group["what"]))
        table = Table(title=f"{whats} on {benchmark}: mean [{ci:.0%} bootstrap CI]", caption=sizes)
        table.add_column("k", justify="right")
        for model, grader, what in columns:
            label = model + (f" [{grader}]" if grader else "") + (f" {what}" if what != "pass@k" else "")
            table.add_column(escape(label), justify="right")  # "[grader]" is not rich markup
        by_key = {(r.model, r.grader, r.what, r.k): r for r in group.itertuples()}
        for k in sorted(group["k"].unique()):
            cells = []
            for model, grader, what in columns:
                row = by_key.get((model, grader, what, k))
                cells.append("" if row is None else _format_interval(row.pass_at_k, row.ci_low, row.ci_high))
            table.add_row(str(k), *cells)
        console.print(table)


def _print_disagreements(run_dir: Path, verdicts: dict, answers: pd.DataFrame | None, rows: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..verify.compare import disagreements, pairwise_agreement

    names = list(verdicts)
    table = disagreements(verdicts, answers)
    pairs = "; ".join(f"{a} vs {b}: {d} of {n} samples differ" for a, b, d, n in pairwise_agreement(verdicts, names))
    out = Table(title=escape(f"grader disagreements in {run_dir} ({table.attrs['samples_disagreeing']} of "
                             f"{table.attrs['samples_compared']} samples; showing {min(rows, len(table))} of {len(table)} rows)"),
                caption=escape(pairs))
    for col in ["problem", "answer", *names, "samples"]:
        out.add_column(col, justify="right" if col == "samples" else "left", overflow="fold")
    for r in table.head(rows).itertuples(index=False):
        # Answers are LaTeX ("[1,2)"): escaped, so rich shows them instead of reading markup.
        out.add_row(escape(str(r[0])), escape(str(r[1])[:60]), *[escape(str(x)) for x in r[2:-1]], str(r[-1]))
    _console().print(out)


def _answers(run_dir: Path, kind: str) -> pd.DataFrame | None:
    """problem_id, sample_idx, answer (the vote label) of a run's samples; None without texts."""
    from .. import majority
    from ..verify.grading import read_samples

    samples = read_samples(run_dir)
    if samples.empty or samples["text"].isna().all():
        return None
    labels = majority.vote_labels(samples["text"].tolist(), kind) if kind in majority.TEXT_ANSWER_KINDS else None
    if labels is None:
        return None
    return pd.DataFrame({"problem_id": samples["problem_id"].astype(str), "sample_idx": samples["sample_idx"], "answer": labels})


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


def _grader_list(graders: str | None) -> list[str]:
    names = [g.strip() for g in (graders or "").split(",") if g.strip()]
    if len(set(names)) != len(names):
        raise UserError(f"--graders {graders!r} names a grader twice.", "list each grader once.")
    return names


def passk(
    runs: Optional[list[Path]] = typer.Argument(None, help="Graded run directories (one per model)."),
    base: Optional[Path] = typer.Option(None, "--base", help="The base model's run (enables crossover/ΔSE)."),
    rl: Optional[Path] = typer.Option(None, "--rl", help="The RL model's run (with --base)."),
    k: Optional[list[int]] = typer.Option(None, "--k", help="k to report (repeatable); default powers of 2 up to n."),
    grader: Optional[str] = typer.Option(None, "--grader", help="Grader id under verdicts/ when a run has several."),
    graders: Optional[str] = typer.Option(None, "--graders", help="Comma-separated grader names (math-verify,math-equal,source): "
                                          "pass@k per grader and their disagreements."),
    maj: bool = typer.Option(False, "--maj", help="Also print maj@k (majority vote over the samples' answers)."),
    rows: int = typer.Option(20, "--rows", help="Rows of the disagreement table to print."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Local benchmark files (to grade runs not graded yet)."),
    n_boot: int = typer.Option(metrics.DEFAULT_N_BOOT, "--n-boot", help="Bootstrap replicates (0: no CIs)."),
    ci: float = typer.Option(metrics.DEFAULT_CI, "--ci", help="Confidence level of the intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the tidy pass@k frame to this Parquet file."),
) -> None:
    """pass@k (unbiased estimator, bootstrap CIs over problems) of graded runs."""
    from ..verify.compare import benchmark_kind, run_verdicts

    if (base is None) != (rl is None):
        raise UserError("--base and --rl go together.", "pass both runs, or neither.")
    if n_boot < 0:
        raise UserError(f"--n-boot {n_boot} is negative.", "use 0 (no CIs) or a positive count such as 1000.")
    if seed < 0:
        raise UserError(f"--seed {seed} is negative.", "use a bootstrap seed >= 0, e.g. --seed 0.")
    if out is not None and (out.is_dir() or out.suffix != ".parquet"):
        raise UserError(f"--out {out} is not a .parquet file path.", "pass a file name such as passk.parquet.")
    if out is not None and (out.resolve().parent / "meta.json").is_file():  # a sample run's own directory
        raise UserError(f"--out {out} is inside a sample run directory.", "write the table outside outputs/samples/.")
    if grader and graders:
        raise UserError("--grader and --graders go separately.", "use --graders with grader names, or --grader with one id.")
    names = _grader_list(graders)
    run_dirs = list(dict.fromkeys(list(runs or []) + [p for p in (base, rl) if p is not None]))
    if not run_dirs:
        raise UserError("no run given.", "pass one or more run directories, or --base and --rl.")
    # (run, grader label) -> counts; the grader label is None without --graders.
    counts_by: dict[tuple[Path, str | None], pd.DataFrame] = {}
    verdicts_by: dict[Path, dict[str, pd.DataFrame]] = {}
    for run_dir in run_dirs:
        if not names:
            counts_by[(run_dir, None)] = load_run_counts(run_dir, grader)
            continue
        meta = read_run_meta(run_dir)
        verdicts_by[run_dir] = {}
        for name in names:
            v = run_verdicts(run_dir, name, data_dir=data_dir)
            verdicts_by[run_dir][name] = v
            counts_by[(run_dir, name)] = metrics.counts_from_verdicts(v, model=meta["model"], benchmark=meta["benchmark"])
    all_counts = pd.concat(counts_by.values(), ignore_index=True)
    first = names[0] if names else None
    check = pd.concat([counts_by[(r, first)] for r in run_dirs], ignore_index=True)
    if check.duplicated(["model", "benchmark", "problem_id"]).any():
        raise UserError("two runs have the same model and benchmark names.",
                        "pass one run per (model, benchmark), e.g. one seed each.")

    ks = sorted(set(k)) if k else metrics.powers_of_two(int(all_counts["n"].min()))
    curves = []
    for (run_dir, name), counts in counts_by.items():
        curve = metrics.pass_at_k_curve(counts, ks=ks, n_boot=n_boot, ci=ci, seed=seed)
        curves.append(curve.assign(grader=name, what="pass@k"))
    if maj:
        curves += _maj_curves(run_dirs, names or [grader], verdicts_by, ks, n_boot, ci, seed)
    curve = pd.concat(curves, ignore_index=True)
    _print_tables(curve, ci)
    for run_dir in verdicts_by if len(names) > 1 else []:
        _print_disagreements(run_dir, verdicts_by[run_dir], _answers(run_dir, benchmark_kind(read_run_meta(run_dir)["benchmark"])), rows)
    if base is not None:
        for name in (names or [None]):
            if name is not None:
                typer.echo(f"— graded by {name}:")
            _print_comparison(counts_by[(base, name)], counts_by[(rl, name)], n_boot, ci, seed)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        # `grader` only with --graders, `what` only with --maj: the plain frame keeps its columns.
        plain = [c for c, keep in (("grader", curve["grader"].notna().any()), ("what", maj)) if not keep]
        curve.drop(columns=plain).to_parquet(out, index=False)
        typer.echo(f"wrote {len(curve)} rows to {out}")


def _maj_curves(run_dirs, names, verdicts_by, ks, n_boot, ci, seed) -> list[pd.DataFrame]:
    """maj@k per run (and grader), in the pass@k frame's columns (value in pass_at_k)."""
    from .. import majority
    from ..verify.compare import benchmark_kind

    out = []
    for run_dir in run_dirs:
        meta = read_run_meta(run_dir)
        kind = benchmark_kind(meta["benchmark"])
        answers = _answers(run_dir, kind)
        for name in names:
            v = verdicts_by[run_dir][name] if run_dir in verdicts_by else load_run_verdicts_full(run_dir, name)
            if answers is not None:
                v = v.merge(answers, on=["problem_id", "sample_idx"], how="left")
                labels = v["answer"].tolist()
            elif "extracted" in v and v["extracted"].notna().any():
                labels = majority.vote_labels([], "other", v["extracted"].tolist())
            else:
                typer.echo(f"maj@k: {run_dir} has no answers to vote with (no texts, no extracted answers); left out.")
                continue
            curve = majority.maj_at_k_curve(majority.vote_frame(v, labels), ks, meta["model"], meta["benchmark"],
                                            n_boot=n_boot, ci=ci, seed=seed)
            typer.echo(f"maj@k of {meta['model']}{f' [{name}]' if name else ''}: {curve['method'].iloc[0]} "
                       f"(ties split evenly; Monte Carlo: {majority.DEFAULT_DRAWS} draws per problem and k)")
            out.append(curve.rename(columns={"maj_at_k": "pass_at_k"}).drop(columns=["method"]).assign(grader=name, what="maj@k"))
    return out


def load_run_verdicts_full(run_dir: Path, grader: str | None) -> pd.DataFrame:
    """All verdict columns of one run's grader (id under verdicts/, or the only one)."""
    from ..verify.compare import read_verdict_dir

    load_run_verdicts(run_dir, grader)  # one-line errors for a missing or ambiguous grader
    root = run_dir / "verdicts"
    return read_verdict_dir(root / (grader or next(p.name for p in sorted(root.iterdir()) if p.is_dir() and _verdict_parts(p))))


def register(app: typer.Typer) -> None:
    app.command("passk")(passk)
