"""Generic sample tables: jsonl, csv or parquet with one row per sample.

Columns: `problem_id` and `response` (required); optional `correct`
(the source's verdict: true/false or 1/0), `gold` (the gold answer, for an
ad-hoc benchmark), `question` (to match a registered benchmark by text),
`sample_idx` (explicit sample numbers, 0..n-1 per problem; otherwise rows
are numbered in order of appearance).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .records import SourceProblem, SourceSample, as_bool, as_int, as_text, line_error, read_json_lines, read_table_rows, require

DESCRIPTION = "generic rows: problem_id, response [, correct, gold, question, sample_idx]"
HAS_TEXT = True
GROUPED = False

EXTENSIONS = {"jsonl": (".jsonl", ".gz", ".json"), "csv": (".csv", ".tsv"), "parquet": (".parquet",)}


def rows(path: Path, fmt: str):
    if path.suffix.lower() not in EXTENSIONS[fmt]:
        raise line_error(path, 1, f"the file name does not end in {' or '.join(EXTENSIONS[fmt])} (format {fmt}).",
                         "name the format the file is in (jsonl, csv or parquet).")
    return read_json_lines(path) if fmt == "jsonl" else read_table_rows(path)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value != value  # NaN


def read(path: Path, options: dict) -> Iterator[SourceProblem]:
    fmt = options.get("format", "jsonl")
    explicit = None
    for line, row in rows(path, fmt):
        require(row, ("problem_id", "response"), path, line, fmt)
        has_idx = not _blank(row.get("sample_idx"))
        if explicit is None:
            explicit = has_idx
        elif explicit != has_idx:
            raise line_error(path, line, "some rows have a sample_idx and others do not.",
                             "give every row a sample_idx, or none.")
        yield SourceProblem(
            key=str(as_text(row["problem_id"])), line=line,
            question=None if _blank(row.get("question")) else as_text(row["question"]),
            gold=None if _blank(row.get("gold")) else as_text(row["gold"]),
            samples=[SourceSample(
                text=None if row["response"] is None else as_text(row["response"]),
                correct=None if _blank(row.get("correct")) else as_bool(row["correct"], path, line, "correct"),
                sample_idx=as_int(row["sample_idx"], path, line, "sample_idx") if has_idx else None,
            )],
        )


def tool_version(path: Path) -> str | None:
    return None
