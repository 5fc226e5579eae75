"""Helpers for tests that need a built organism (the session's micro build is conftest's `micro_organism`)."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_micro_organism(build: dict, outputs) -> None:
    """Copy the session's micro build under `outputs` (models/organism/micro-seed0, what a build there writes)."""
    rel = Path("models") / "organism" / "micro-seed0"
    shutil.copytree(Path(build["outputs"]) / rel, Path(outputs) / rel)
