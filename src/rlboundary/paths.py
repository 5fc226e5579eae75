"""Every path the project uses, from one place.

Generated files live under `outputs/` at the project root, or under
`$RLBOUNDARY_OUTPUTS` when set (tests point it at a temporary directory).
Nothing is created on import; callers `mkdir` what they write.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# src/rlboundary -> project root (only meaningful in a source checkout).
PROJECT_ROOT = PACKAGE_DIR.parent.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
PARAMS_DIR = PROJECT_ROOT / "params"


def outputs_dir() -> Path:
    """Root of everything generated (samples, verdicts, models, reports)."""
    return Path(os.environ.get("RLBOUNDARY_OUTPUTS", PROJECT_ROOT / "outputs")).resolve()


def samples_dir() -> Path:
    """Sample store root: one dataset per run key below it."""
    return outputs_dir() / "samples"


def models_dir() -> Path:
    """Models the project builds itself (the organism, test models)."""
    return outputs_dir() / "models"


def report_dir() -> Path:
    """Executed notebooks, HTML pages, figures and the index page."""
    return outputs_dir() / "report"


def cache_dir() -> Path:
    """Small derived artefacts (metric tables, perplexities)."""
    return outputs_dir() / "cache"


def imported_benchmarks_dir() -> Path:
    """Ad-hoc benchmarks made by `rlboundary import` from a file's own gold answers."""
    return outputs_dir() / "benchmarks"
