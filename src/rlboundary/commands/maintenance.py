"""The `check` command: verify sample stores and repair what a crash left.

    rlboundary check RUN_DIR [RUN_DIR ...]     # verify + repair these runs
    rlboundary check --all                     # every run under outputs/samples/
    rlboundary check --all --dry-run           # report only, change nothing

Prints one block per run: its state (ok | repaired | needs repair | PROBLEM),
one line per finding with what was done, and notes (incomplete runs,
ungraded samples). Damaged chunks are moved to `RUN_DIR/quarantine/`, never
deleted. Exit status: 0 when every store is sound afterwards, 1 when a
problem remains (unrepairable, or not repaired because of --dry-run or a
live writer), 2 for a bad argument. See rlboundary.store_check.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError


def check(
    runs: Optional[List[Path]] = typer.Argument(None, help="Run directories to check."),
    all_runs: bool = typer.Option(False, "--all", help="Check every run under the sample store root."),
    root: Optional[str] = typer.Option(None, "--root", help="Sample store root for --all (default: outputs/samples)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report only: repair nothing."),
) -> None:
    """Verify sample stores (chunks, duplicates, meta.json, verdict caches) and repair crash leftovers."""
    from ..paths import samples_dir
    from ..store_check import check_all, check_run

    if runs and all_runs:
        raise UserError("pass run directories or --all, not both.", "drop --all to check only the directories given.")
    if not runs and not all_runs:
        raise UserError("no run directory given.", "pass RUN_DIR (see `rlboundary status`) or --all.")
    results = check_all(root, repair=not dry_run) if all_runs else [check_run(r, repair=not dry_run) for r in runs]
    if not results:
        typer.echo(f"no sampling runs under {root or samples_dir()}")
        return
    for r in results:
        typer.echo(r.report())
    states = [r.status() for r in results]
    summary = ", ".join(f"{states.count(s)} {s}" for s in ("ok", "repaired", "needs repair", "PROBLEM") if states.count(s))
    typer.echo(f"checked {len(results)} run(s): {summary}")
    if not all(r.sound for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
