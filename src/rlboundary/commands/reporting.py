"""`rlboundary report`: run every figure notebook and publish the HTML report.

    rlboundary report                         # the organism (params/default)
    rlboundary report --params paper          # the paper's models (GPUs, hub)
    rlboundary report --params micro --only fig01_passk_math
    rlboundary report --params default --params my.yaml --show-code

See rlboundary.report for what it writes and rlboundary.params for the
parameter files.
"""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        params: List[str] = typer.Option(
            ["default"], "--params", "-p",
            help="parameter set (default|paper|micro), a directory of <notebook>.yaml, or a YAML file; "
                 "repeat to layer (later wins)."),
        only: Optional[List[str]] = typer.Option(
            None, "--only", help="run only this notebook (repeatable), e.g. fig01_passk_math."),
        show_code: bool = typer.Option(False, "--show-code", help="keep code cells in the HTML pages."),
    ) -> None:
        """Execute every figure notebook (papermill), convert to HTML, write outputs/report/index.html."""
        from ..report import run_report

        run_report(params, only=only, show_code=show_code, echo=typer.echo)
