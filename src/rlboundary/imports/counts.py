"""Outcome counts without text: per problem (problem_id, n, c), or an
outcome matrix (problem_id, sample_idx, correct); jsonl, csv or parquet by
the file's extension.

There is no text to regrade, so a counts run holds only the `source`
grader's verdicts: samples are stored without text (c correct ones first:
pass@k, crossover, coverage and histograms depend only on n and c), and
whatever needs text (verify, perplexity, validity) stops with a one-line
error saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .records import SourceProblem, SourceSample, as_bool, as_int, as_text, line_error, read_json_lines, read_table_rows

DESCRIPTION = "outcome counts, no text: problem_id, n, c  or  problem_id, sample_idx, correct"
HAS_TEXT = False
GROUPED = False  # a matrix has a row per sample; per-problem rows are checked for repeats by the importer


def read(path: Path, options: dict) -> Iterator[SourceProblem]:
    source = read_table_rows(path) if path.suffix.lower() in (".csv", ".tsv", ".parquet") else read_json_lines(path)
    layout = None
    for line, row in source:
        this = "nc" if "n" in row and "c" in row else "matrix" if "sample_idx" in row and "correct" in row else None
        if "problem_id" not in row or this is None:
            raise line_error(path, line, f"not a counts row (keys: {', '.join(sorted(map(str, row))[:8])}).",
                             "give problem_id with n and c, or problem_id with sample_idx and correct.")
        if layout is None:
            layout = this
            options["counts_layout"] = layout
        elif layout != this:
            raise line_error(path, line, f"a {this} row in a file that started with {layout} rows: mixed layouts.",
                             "use one layout per file: (problem_id, n, c) or (problem_id, sample_idx, correct).")
        key = str(as_text(row["problem_id"]))
        if layout == "matrix":
            yield SourceProblem(key=key, line=line, samples=[SourceSample(
                text=None, correct=as_bool(row["correct"], path, line, "correct"),
                sample_idx=as_int(row["sample_idx"], path, line, "sample_idx"))])
            continue
        n, c = as_int(row["n"], path, line, "n"), as_int(row["c"], path, line, "c")
        if n < 1:
            raise line_error(path, line, f"n={n}: a problem needs at least one sample.", "drop the row or fix n.")
        if not 0 <= c <= n:
            raise line_error(path, line, f"c={c} correct out of n={n} samples is impossible.", "c must lie in 0..n.")
        yield SourceProblem(key=key, line=line, metadata={"grouped": True},
                            samples=[SourceSample(text=None, correct=i < c) for i in range(n)])


def tool_version(path: Path) -> str | None:
    return None
