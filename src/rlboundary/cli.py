"""The `rlboundary` command line.

    rlboundary --help

Each command group lives in its own module under `rlboundary.commands`
and adds itself to `app` through a `register(app)` function, so that this
file only assembles them. A `UserError` anywhere below is printed as one
line (no traceback) and exits with status 2.
"""

from __future__ import annotations

import errno
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
    "rlboundary.commands.importing",  # import
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
    except OSError as err:
        # A full disk (or a file-size/quota limit) is the user's to fix, and every
        # store write is atomic, so what was stored before is intact.
        if err.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise
        typer.echo(
            f"error: out of disk space ({err.strerror}). Fix: free space (or raise the limit) and run "
            "the same command again: what was stored before is intact and only the rest is redone.",
            err=True,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
