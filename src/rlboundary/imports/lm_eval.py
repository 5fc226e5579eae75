"""lm-evaluation-harness `--log_samples` files.

With `--output_path DIR --log_samples`, lm-eval writes
`DIR/<model>/samples_<task>_<timestamp>.jsonl` (and
`results_<timestamp>.json` beside it): one JSON object per document and
filter with `doc_id`, `doc` (the dataset row), `target` (the gold answer),
`arguments`, `resps` (one list per request; a generate-until task with
`repeats: R` has one request whose list holds the R samples),
`filtered_resps`, `filter` (the filter pipeline's name), `metrics` (the
metric names) and one key per metric with the document's value. Newer
versions add `doc_hash`, `prompt_hash`, `target_hash`.

Samples are the raw `resps`. A metric is one number per document, so it
is a per-sample verdict only when the document has one sample: then the
metric named by `--metric` (default: the first 0/1 metric listed) becomes
the `source` grader's verdict; with repeats > 1 no source verdicts are kept.
Only lines of one filter are read (`--filter`, default the first line's):
the other filters' lines repeat the same responses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from .records import SourceProblem, SourceSample, as_text, line_error, read_json_lines, require

DESCRIPTION = "lm-evaluation-harness --log_samples file (samples_<task>_<time>.jsonl)"
HAS_TEXT = True
GROUPED = True
QUESTION_KEYS = ("problem", "question", "Question", "input", "query")
ID_KEYS = ("unique_id", "id", "idx", "problem_id", "task_id")


def _responses(resps, path: Path, line: int) -> list[str]:
    """Flatten `resps` ([[s1, s2, ...]] per request) to the document's samples."""
    if not isinstance(resps, list):
        raise line_error(path, line, "'resps' is not a list.", "pass a --log_samples file from a generative task.")
    out = []
    for request in resps:
        items = request if isinstance(request, list) else [request]
        for item in items:
            if isinstance(item, list):  # loglikelihood tasks log [logprob, is_greedy] pairs
                raise line_error(path, line, "'resps' holds log-likelihood pairs, not generated text.",
                                 "import a generative (generate_until) task; multiple-choice tasks have no samples.")
            out.append(as_text(item))
    return out


def _verdict(row: dict, metric: str | None) -> tuple[bool | None, str | None]:
    names = [metric] if metric else [m for m in row.get("metrics", []) if isinstance(m, str)]
    for name in names:
        value = row.get(name)
        if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
            return bool(value), name
    return None, None


def read(path: Path, options: dict) -> Iterator[SourceProblem]:
    chosen = options.get("filter")
    metric_used = None
    for line, row in read_json_lines(path):
        require(row, ("doc_id", "resps"), path, line, "lm-eval")
        filt = row.get("filter")
        if chosen is None:
            chosen = filt
        if filt != chosen:
            options.setdefault("_skipped_filters", set()).add(filt)
            continue
        texts = _responses(row["resps"], path, line)
        verdict, name = _verdict(row, options.get("metric")) if len(texts) == 1 else (None, None)
        if options.get("metric") and len(texts) == 1 and verdict is None:
            raise line_error(path, line, f"metric {options['metric']!r} is missing or not 0/1 on this document.",
                             f"pass --metric with one of: {', '.join(map(str, row.get('metrics', [])))}.")
        metric_used = metric_used or name
        doc = row.get("doc") if isinstance(row.get("doc"), dict) else {}
        question = next((as_text(doc[k]) for k in QUESTION_KEYS if doc.get(k) is not None), None)
        doc_key = next((as_text(doc[k]) for k in ID_KEYS if doc.get(k) is not None), None)
        target = row.get("target")
        yield SourceProblem(
            key=str(row["doc_id"]), line=line, question=question,
            gold=as_text(target) if not isinstance(target, (list, dict)) else json.dumps(target),
            samples=[SourceSample(text=t, correct=verdict) for t in texts],
            metadata={"doc_key": doc_key} if doc_key else {},
        )
    options["filter_used"] = chosen
    options["metric_used"] = metric_used


def tool_version(path: Path) -> str | None:
    """lm-eval's version from the results_<time>.json written beside the samples."""
    for results in sorted(path.parent.glob("results_*.json"), reverse=True):
        try:
            data = json.loads(results.read_text())
        except (OSError, ValueError):
            continue
        version = data.get("lm_eval_version") or data.get("git_hash")
        if version:
            return f"lm-eval {version}"
    return None
