"""Format name -> reader module; `sniff` guesses a record's format for error messages.

Each reader module defines `DESCRIPTION` (one line for --help),
`HAS_TEXT` (False: counts only), `GROUPED` (True: one record per problem,
so a repeated problem is a duplicate), `read(path, options)` yielding
`records.SourceProblem`s, and `tool_version(path)` (None when unknown).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import UserError

FORMATS: dict[str, str] = {
    "qwen-math": "rlboundary.imports.qwen_math",
    "lm-eval": "rlboundary.imports.lm_eval",
    "lighteval": "rlboundary.imports.lighteval",
    "evalplus": "rlboundary.imports.evalplus",
    "jsonl": "rlboundary.imports.generic",
    "csv": "rlboundary.imports.generic",
    "parquet": "rlboundary.imports.generic",
    "counts": "rlboundary.imports.counts",
}

# Keys that identify a record's format (all must be present), most specific first.
SIGNATURES: list[tuple[str, tuple[str, ...]]] = [
    ("qwen-math", ("idx", "gt", "code")),
    ("lm-eval", ("doc_id", "resps")),
    ("lighteval", ("model_response", "doc")),
    ("lighteval", ("predictions", "gold")),
    ("evalplus", ("task_id", "solution")),
    ("evalplus", ("task_id", "completion")),
    ("jsonl", ("problem_id", "response")),
    ("counts", ("problem_id", "n", "c")),
    ("counts", ("problem_id", "sample_idx", "correct")),
]


def get_format(name: str) -> ModuleType:
    if name not in FORMATS:
        raise UserError(f"unknown import format {name!r}.", f"use one of: {', '.join(FORMATS)}.")
    return importlib.import_module(FORMATS[name])


def sniff(row: dict) -> str | None:
    """The format whose signature keys `row` has, or None."""
    for name, keys in SIGNATURES:
        if all(k in row for k in keys):
            return name
    return None
