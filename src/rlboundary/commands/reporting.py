"""`rlboundary report`: run every figure notebook and publish the HTML report.

    rlboundary report                         # the organism (params/default)
    rlboundary report --params onegpu         # hub models on one GPU (about 1 GPU-hour)
    rlboundary report --params paper --yes    # the paper's models (GPUs, hub); no question asked
    rlboundary report --params micro --only fig01_passk_math
    rlboundary report --params default --params my.yaml --show-code

Before anything runs, the report prints what sampling will cost (the
estimate of `rlboundary plan` for the same parameters). Above
`ASK_ABOVE_GPU_HOURS` it asks to continue, but only in an interactive
terminal: with `--yes`, when stdin is not a terminal (papermill, pipes,
batch jobs) or when `$CI` is set it never asks.

See rlboundary.report for what it writes and rlboundary.params for the
parameter files.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

# A run above this many estimated GPU-hours asks before it starts (interactive terminals only).
ASK_ABOVE_GPU_HOURS = 1.0


def can_ask() -> bool:
    """Whether a question can be put to a person: stdin is a terminal and this is not CI."""
    try:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # a closed stdin
        interactive = False
    return interactive and not os.environ.get("CI")


def plan_first(param_sets: dict, yes: bool, echo=typer.echo) -> None:
    """Print the plan's estimate; above the threshold, in a terminal, ask to go on.

    A "no" stops the command (exit status 1) before anything is sampled."""
    from .. import cost
    from .planning import estimate_runs, plan_total

    gpu = "h100"
    runs = cost.plan_runs(param_sets)
    if not any(cost.architecture_of(m["path"], m["name"])[0] for r in runs for m in (r.model, r.shape_from) if m):
        # No model of a known shape (the organism's own models): nothing to price,
        # and loading every benchmark to count problems would only cost time.
        echo(f"[report] plan: {len(runs)} runs; GPU-hours not estimated (no model of a known shape)")
        return
    estimates, skipped = estimate_runs(param_sets, gpu=gpu)
    line, hours = plan_total(estimates, skipped, gpu)
    echo(f"[report] plan: {line}  (details: rlboundary plan PARAMS)")
    if hours is None or hours <= ASK_ABOVE_GPU_HOURS or yes or not can_ask():
        return
    if not typer.confirm(f"[report] this may take about {hours:.1f} GPU-hours. Continue?", default=False):
        echo("[report] not started.")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        params: List[str] = typer.Option(
            ["default"], "--params", "-p",
            help="parameter set (default|onegpu|paper|micro), a directory of <notebook>.yaml, or a YAML file; "
                 "repeat to layer (later wins)."),
        only: Optional[List[str]] = typer.Option(
            None, "--only", help="run only this notebook (repeatable), e.g. fig01_passk_math."),
        show_code: bool = typer.Option(False, "--show-code", help="keep code cells in the HTML pages."),
        jobs: Optional[int] = typer.Option(
            None, "--jobs", "-j", help="notebooks run side by side (default: one per CPU core up to 4 without a "
                                       "GPU, 1 with one; env RLBOUNDARY_REPORT_JOBS)."),
        yes: bool = typer.Option(False, "--yes", "-y",
                                 help=f"start without asking, even above {ASK_ABOVE_GPU_HOURS:g} estimated GPU-hours."),
    ) -> None:
        """Execute every figure notebook (papermill), convert to HTML, write outputs/report/index.html."""
        from ..report import report_params, run_report

        param_sets, _ = report_params(params, only)  # validated before anything is priced or run
        plan_first(param_sets, yes)
        run_report(params, only=only, show_code=show_code, echo=typer.echo, jobs=jobs)
