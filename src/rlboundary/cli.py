"""The `rlboundary` command line.

    rlboundary --help

Each command group lives in its own module under `rlboundary.commands`
and adds itself to `app` through a `register(app)` function, so that this
file only assembles them. A `UserError` anywhere below is printed as one
line (no traceback) and exits with status 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from .errors import UserError

app = typer.Typer(
    name="rlboundary",
    help="pass@k at large k: does RLVR expand the base model's reasoning boundary?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, in the order their commands are listed by --help.
COMMAND_MODULES = [
    "rlboundary.commands.sampling",  # sample, status
    "rlboundary.commands.verifying",  # verify
    "rlboundary.commands.metrics_cli",  # passk
    "rlboundary.commands.organism",  # organism build|eval
    "rlboundary.commands.reporting",  # report
    "rlboundary.commands.planning",  # plan
    "rlboundary.commands.maintenance",  # check
]


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # module not written yet: skip it
                continue
            raise
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user errors into one-line messages."""
    try:
        app(args=argv, prog_name="rlboundary")
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
