"""Helpers for tests that need a built organism (the session's micro build is conftest's `micro_organism`)."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_micro_organism(build: dict, outputs) -> None:
    """Copy the session's micro build under `outputs`, where `build.organism_dir` puts it for that root."""
    shutil.copytree(build["dir"], Path(outputs) / Path(build["dir"]).relative_to(build["outputs"]))
