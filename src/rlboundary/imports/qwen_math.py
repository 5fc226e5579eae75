"""The Qwen2.5-Math evaluation output, as the paper's official code writes it.

limit-of-RLVR's `math/examples/math_eval/math_eval.py` (a fork of
QwenLM/Qwen2.5-Math `evaluation/math_eval.py`) saves, with
`--save_outputs`, `<output_dir>/<data_name>/<split>_<prompt_type>_<num>_seed<s>_t<T>_s<start>_e<end>.jsonl`:
one JSON object per problem with `idx` (row index of the test file, or its
own `idx`), `question`, `gt_cot`, `gt` (the parsed gold answer), the
dataset's extra fields (`level`, `type`, `answer`, ...), and per sample,
in order, `code` (the responses), `pred` (the extracted answers),
`report`, `finish_reason` (limit-of-RLVR only) and `score` (the paper's
`math_equal` verdicts, added by `evaluate`). `score` becomes the `source`
grader's verdicts, `pred` their extracted answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .records import SourceProblem, SourceSample, as_bool, as_text, line_error, read_json_lines, require

DESCRIPTION = "Qwen2.5-Math / limit-of-RLVR math_eval.py output (idx, question, gt, code, pred, score)"
HAS_TEXT = True
GROUPED = True
METADATA_KEYS = ("level", "type", "subfield", "answer_type", "unit")


def read(path: Path, options: dict) -> Iterator[SourceProblem]:
    for line, row in read_json_lines(path):
        require(row, ("idx", "code"), path, line, "qwen-math")
        codes = row["code"]
        if not isinstance(codes, list):
            raise line_error(path, line, f"'code' is a {type(codes).__name__}, not a list of responses.",
                             "pass the file math_eval.py wrote (one list of responses per problem).")
        n = len(codes)
        preds = row.get("pred")
        scores = row.get("score")
        reasons = row.get("finish_reason")
        for name, values in (("pred", preds), ("score", scores), ("finish_reason", reasons)):
            if values is not None and (not isinstance(values, list) or len(values) != n):
                got = len(values) if isinstance(values, list) else type(values).__name__
                raise line_error(path, line, f"'{name}' has {got} entries but 'code' has {n} responses.",
                                 "the lists must be parallel: re-run the evaluation or drop the broken line.")
        samples = [
            SourceSample(
                text=as_text(codes[j]),
                correct=None if scores is None else as_bool(scores[j], path, line, f"score[{j}]"),
                extracted=None if preds is None else as_text(preds[j]),
                finish_reason=None if reasons is None else as_text(reasons[j]),
            )
            for j in range(n)
        ]
        meta = {k: row[k] for k in METADATA_KEYS if k in row and isinstance(row[k], (str, int, float))}
        yield SourceProblem(key=str(row["idx"]), line=line, samples=samples, question=as_text(row.get("question")),
                            gold=as_text(row.get("gt")), metadata=meta)


def tool_version(path: Path) -> str | None:
    return None  # the output file records no version
