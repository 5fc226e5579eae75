"""The `import` command: another tool's samples as a run in the sample store.

    rlboundary import qwen-math PATH --model qwen-base --benchmark math500 [--seed 0] [--data-dir DIR]
    rlboundary import lm-eval samples_minerva_math_2026-01-01T00-00-00.jsonl --model m --benchmark minerva_math
    rlboundary import counts counts.csv --model base --benchmark aime24
    rlboundary passk RUN_DIR --grader source      # the tool's own verdicts

Formats: qwen-math, lm-eval, lighteval, evalplus, jsonl, csv, parquet,
counts (see `rlboundary.imports`). Prints the run directory and what was
stored; a second import of the same file finds the run and stores nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import UserError


def import_command(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="qwen-math | lm-eval | lighteval | evalplus | jsonl | csv | parquet | counts"),
    path: Path = typer.Argument(..., help="The file the tool wrote."),
    model: str = typer.Option(..., "--model", help="Model name of the run (a label; it names a directory)."),
    benchmark: str = typer.Option(..., "--benchmark", help="A registered benchmark to match problems to, or a new name "
                                                           "for an ad-hoc benchmark from the file's gold answers."),
    seed: int = typer.Option(0, "--seed", help="Seed label of the run (one run per seed)."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Local benchmark data (as for `sample`)."),
    filter_name: Optional[str] = typer.Option(None, "--filter", help="lm-eval: the filter whose lines to read (default: the first line's)."),
    metric: Optional[str] = typer.Option(None, "--metric", help="lm-eval/lighteval: the 0/1 metric kept as the source verdict."),
    allow_empty: bool = typer.Option(False, "--allow-empty", help="Keep empty responses (they grade as unparseable)."),
    allow_ragged: bool = typer.Option(False, "--allow-ragged", help="Allow problems with different sample counts."),
) -> None:
    """Import another tool's generations (or outcome counts) as a run."""
    from ..imports.importer import import_run
    from ..imports.registry import FORMATS

    if fmt not in FORMATS:
        raise UserError(f"unknown import format {fmt!r}.", f"use one of: {', '.join(FORMATS)}.")
    result = import_run(fmt, path, model=model, benchmark=benchmark, seed=seed, data_dir=data_dir, filter=filter_name,
                        metric=metric, allow_empty=allow_empty, allow_ragged=allow_ragged)
    if result.get("already"):
        typer.echo(f"already imported (same file, same options): {result['run_dir']}")
        return
    prov = result["provenance"]
    verdicts = "kept as grader 'source'" if result["source_verdicts"] else "none in the source"
    typer.echo(f"imported {result['problems']} problems x n={result['n']} ({result['samples']} samples) from {path} "
               f"[{fmt}{', ' + prov['tool_version'] if prov.get('tool_version') else ''}] -> {result['run_dir']}")
    typer.echo(f"  benchmark {benchmark}{' (ad-hoc: the file’s own problems)' if prov['adhoc_benchmark'] else ''}; "
               f"source verdicts: {verdicts}; sha256 {prov['source_sha256'][:16]}…"
               + ("; no response text: count-based figures only" if not prov["has_text"] else ""))
    if prov.get("skipped_filters"):
        typer.echo(f"  lm-eval filter {prov['filter']!r} read; skipped the lines of {', '.join(prov['skipped_filters'])}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
