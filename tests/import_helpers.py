"""Shared by the import tests: run the real CLI in-process, list what the store holds."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "data" / "imports"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """`rlboundary ARGS` as the console script runs it: (exit code, stdout, stderr)."""
    import os

    from rlboundary import cli

    os.environ["COLUMNS"] = "200"  # rich tables: no wrapping inside the checked lines
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def stored_files(outputs: Path) -> list[Path]:
    """Every file under the sample store (a failed import must leave none)."""
    root = outputs / "samples"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def run_dirs(outputs: Path) -> list[Path]:
    return sorted(p.parent for p in (outputs / "samples").glob("*/*/*/meta.json"))
