"""lighteval `--save-details` Parquet files.

lighteval writes `{output_dir}/details/{model}/{timestamp}/details_{task}_{timestamp}.parquet`,
one row per document. Since lighteval 0.10 the columns are `doc` (the Doc:
`query`, `choices`, `gold_index`, `original_query`, `specific`, `id`,
`task_name`, `num_samples`, ...), `model_response` (`text`: the generations,
one per sample; `text_post_processed`, `input`, `output_tokens`, ...) and
`metric` (metric name -> the document's value). Older releases wrote flat
columns (`example`, `full_prompt`, `predictions`, `gold`, `metrics`,
`specifics`); both are read.

The gold answer is `choices[gold_index]` (lighteval's math tasks keep the
answer there) or `gold`. A metric is per document: it is kept as the
`source` verdict only when the document has one sample and the metric
(`--metric`, default the first 0/1 one) is 0/1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from .records import SourceProblem, SourceSample, as_text, line_error, read_table_rows, require

DESCRIPTION = "lighteval --save-details parquet (details_<task>_<time>.parquet)"
HAS_TEXT = True
GROUPED = True


def _maybe_json(value):
    """Old releases stored nested columns as JSON strings."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _gold(choices, gold_index, gold) -> str | None:
    if isinstance(gold_index, list):
        gold_index = gold_index[0] if gold_index else None
    if isinstance(choices, list) and isinstance(gold_index, int) and 0 <= gold_index < len(choices):
        return as_text(choices[gold_index])
    if isinstance(gold, list):
        return as_text(gold[0]) if gold else None
    return as_text(gold)


def _verdict(metrics: dict, metric: str | None) -> bool | None:
    names = [metric] if metric else list(metrics)
    for name in names:
        value = metrics.get(name)
        if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
            return bool(value)
    return None


def read(path: Path, options: dict) -> Iterator[SourceProblem]:
    for line, row in read_table_rows(path):
        if "model_response" in row:
            require(row, ("doc", "model_response"), path, line, "lighteval")
            doc = _maybe_json(row["doc"]) or {}
            response = _maybe_json(row["model_response"]) or {}
            texts = response.get("text") or []
            metrics = _maybe_json(row.get("metric")) or {}
            question = doc.get("original_query") or doc.get("query")
            gold = _gold(doc.get("choices"), doc.get("gold_index"), None)
            key = doc.get("id")
        else:
            require(row, ("predictions", "gold"), path, line, "lighteval")
            texts = _maybe_json(row["predictions"]) or []
            metrics = _maybe_json(row.get("metrics")) or {}
            question = row.get("example") or row.get("full_prompt")
            gold = _gold(_maybe_json(row.get("choices")), _maybe_json(row.get("gold_index")), _maybe_json(row["gold"]))
            key = None
        if not isinstance(texts, list):
            texts = [texts]
        if any(isinstance(t, (list, dict)) for t in texts):
            raise line_error(path, line, "the responses are not text.", "import a generative lighteval task.")
        verdict = _verdict(metrics if isinstance(metrics, dict) else {}, options.get("metric")) if len(texts) == 1 else None
        yield SourceProblem(key=str(key) if key not in (None, "") else str(line - 1), line=line,
                            question=as_text(question), gold=gold,
                            samples=[SourceSample(text=as_text(t), correct=verdict) for t in texts])


def tool_version(path: Path) -> str | None:
    return None  # the details file records no version (results_*.json has lighteval_sha)
