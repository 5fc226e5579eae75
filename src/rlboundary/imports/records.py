"""What every format reader yields, and the helpers readers share.

A reader turns a file into a stream of `SourceProblem`s: one per problem
for formats that group samples by problem (qwen-math, lm-eval, lighteval,
per-problem counts), one per row for formats with a row per sample
(evalplus, generic columns, outcome matrices); the importer merges rows of
one problem. `line` is where the record starts in the file (1-based; the
row number for Parquet/CSV), so every error can name it.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import UserError


@dataclass
class SourceSample:
    text: str | None  # None: the source holds no text (counts)
    correct: bool | None = None  # the source tool's verdict, if it gave one
    extracted: str | None = None  # the source's extracted answer, if any
    sample_idx: int | None = None  # explicit index; None: order of appearance
    finish_reason: str | None = None


@dataclass
class SourceProblem:
    key: str  # the source's id of the problem (idx, doc_id, task_id, problem_id)
    line: int
    samples: list[SourceSample]
    question: str | None = None
    gold: str | None = None
    metadata: dict = field(default_factory=dict)


def line_error(path: Path, line: int, problem: str, fix: str) -> UserError:
    """A bad-input error that names the file and line."""
    return UserError(f"{path}:{line}: {problem}", fix)


def read_json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) of a .jsonl(.gz) file, one line in memory at a time."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise line_error(path, lineno, f"not valid UTF-8 ({err.reason}).", "re-save the file as UTF-8.") from None
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as err:
                raise line_error(path, lineno, f"not valid JSON ({err.msg} at column {err.colno}).",
                                 "fix or delete that line (a truncated last line means the writer was killed).") from None
            if not isinstance(row, dict):
                raise line_error(path, lineno, f"a JSON {type(row).__name__}, not an object.",
                                 "each line must be one JSON object.")
            yield lineno, row


def read_table_rows(path: Path, batch_rows: int = 256) -> Iterator[tuple[int, dict]]:
    """(row number, row) of a Parquet or CSV file, streamed in batches."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as err:  # pyarrow raises several types for a non-Parquet file
            raise UserError(f"{path} is not a readable Parquet file ({type(err).__name__}: {str(err)[:120]}).",
                            "pass a Parquet file, or name the right format.") from None
        row_no = 0
        for batch in pf.iter_batches(batch_size=batch_rows):
            for row in batch.to_pylist():
                row_no += 1
                yield row_no, row
        return
    if suffix in (".csv", ".tsv"):
        import csv

        with open(path, newline="", encoding="utf-8", errors="strict") as f:
            reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
            try:
                for row in reader:
                    # Row 1 is the header: data rows start at line 2.
                    if None in row:
                        raise line_error(path, reader.line_num, f"{len(row[None])} more field(s) than the header has.",
                                         "quote fields that contain the delimiter.")
                    yield reader.line_num, row
            except UnicodeDecodeError as err:
                raise UserError(f"{path} is not valid UTF-8 ({err.reason}).", "re-save the file as UTF-8.") from None
            except csv.Error as err:
                raise line_error(path, reader.line_num, f"malformed CSV ({err}).", "fix that line.") from None
        return
    yield from read_json_lines(path)


def require(row: dict, keys: tuple[str, ...], path: Path, line: int, fmt: str) -> None:
    """Every key in `keys` must be present; otherwise say which format the row looks like."""
    missing = [k for k in keys if k not in row]
    if not missing:
        return
    from .registry import sniff

    guess = sniff(row)
    looks = f" It looks like a {guess} record: the file mixes formats, or is not {fmt}." if guess and guess != fmt else ""
    raise line_error(path, line, f"not a {fmt} record: it lacks {', '.join(repr(k) for k in missing)} "
                                 f"(keys: {', '.join(sorted(map(str, row))[:8])}).{looks}",
                     f"import it with the format it was written in (rlboundary import --help lists them), "
                     f"or split a file that mixes formats.")


def as_bool(value: Any, path: Path, line: int, what: str) -> bool:
    """A verdict as a bool: true/false, 1/0, 1.0/0.0, "true"/"false"/"1"/"0"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "1.0", "0.0"):
        return value.strip().lower() in ("true", "1", "1.0")
    raise line_error(path, line, f"{what}={value!r} is not a verdict.", "use true/false or 1/0.")


def as_int(value: Any, path: Path, line: int, what: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value) if isinstance(value, str) else value
        if int(number) != number:
            raise ValueError
        return int(number)
    except (TypeError, ValueError):
        raise line_error(path, line, f"{what}={value!r} is not a whole number.", f"write {what} as an integer.") from None


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
