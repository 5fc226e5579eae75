"""Writes the import test fixtures in this folder, each shaped after its tool's documented output.

    python tests/data/imports/build_fixtures.py

- qwen_math.jsonl: limit-of-RLVR / Qwen2.5-Math `math_eval.py --save_outputs` (idx, question, gt_cot, gt,
  code, pred, report, finish_reason, score).
- lm_eval/samples_fixture_math_<t>.jsonl (+ results_<t>.json): lm-evaluation-harness `--log_samples`,
  a generate_until task with repeats: 4 (resps = [[4 samples]]); lm_eval_single/: repeats 1, two filters.
- lighteval/details_fixture_math_<t>.parquet: lighteval >= 0.10 `--save-details` (doc, model_response, metric).
- evalplus/samples.jsonl (+ samples_eval_results.json): evalplus samples (task_id + solution or completion).
- generic.{jsonl,csv,parquet}: problem_id, response, correct, gold.
- counts_base.csv / counts_rl.csv (problem_id, n, c) and counts_matrix.jsonl (problem_id, sample_idx, correct).
The math problems are made up; the code ones are HumanEval/0 and HumanEval/2.
"""

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent

PROBLEMS = [  # question, gold, four responses, their extracted answers, the paper grader's verdicts
    ("What is $2+3$?", "5",
     ["2+3=5, so the answer is \\boxed{5}.", "Adding gives \\boxed{6}.", "\\boxed{5}", "We get \\boxed{5.0}."],
     ["5", "6", "5", "5.0"], [True, False, True, True]),
    ("Compute $\\frac{1}{2}+\\frac{1}{4}$.", "\\frac{3}{4}",
     ["The sum is \\boxed{\\frac{3}{4}}.", "\\boxed{0.75}", "It is \\boxed{\\frac{2}{6}}.", "\\boxed{\\frac34}"],
     ["\\frac{3}{4}", "0.75", "\\frac{2}{6}", "\\frac34"], [True, True, False, True]),
    ("What percent of 200 is 50?", "25",
     ["50/200 = 0.25, so \\boxed{25\\%}.", "\\boxed{25}", "\\boxed{4}", "The answer is \\boxed{0.25}."],
     ["25\\%", "25", "4", "0.25"], [True, True, False, False]),
    ("Find the positive $x$ with $x^2 = 9$.", "3",
     ["\\boxed{-3}", "x = \\boxed{9}", "\\boxed{-3}", "Taking roots, \\boxed{81}."],
     ["-3", "9", "-3", "81"], [False, False, False, False]),
]
STAMP = "2026-01-01T00-00-00.000000"


def write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def qwen_math():
    rows = []
    for i, (q, gt, codes, preds, scores) in enumerate(PROBLEMS):
        rows.append({"idx": i, "question": q, "gt_cot": f"... \\boxed{{{gt}}}", "gt": gt, "level": 1,
                     "code": codes, "pred": preds, "report": [None] * 4, "finish_reason": ["stop"] * 4,
                     "score": scores})
    write_jsonl(HERE / "qwen_math.jsonl", rows)


def lm_eval():
    rows, single = [], []
    for i, (q, gt, codes, _, scores) in enumerate(PROBLEMS):
        prompt = f"Problem:\n{q}\n\nSolution:"
        base = {"doc_id": i, "doc": {"problem": q, "answer": gt}, "target": gt,
                "arguments": [[prompt, {"until": ["Problem:"], "do_sample": True, "temperature": 0.6}]]}
        rows.append({**base, "resps": [codes], "filtered_resps": [codes], "filter": "none",
                     "metrics": ["exact_match"], "exact_match": float(scores[0]),
                     "doc_hash": f"d{i}", "prompt_hash": f"p{i}", "target_hash": f"t{i}"})
        for filt in ("strict-match", "flexible-extract"):
            single.append({**base, "resps": [[codes[0]]], "filtered_resps": [codes[0]], "filter": filt,
                           "metrics": ["exact_match"], "exact_match": float(scores[0])})
    write_jsonl(HERE / "lm_eval" / f"samples_fixture_math_{STAMP}.jsonl", rows)
    (HERE / "lm_eval" / f"results_{STAMP}.json").write_text(json.dumps({"results": {}, "lm_eval_version": "0.4.9"}))
    write_jsonl(HERE / "lm_eval_single" / f"samples_fixture_math_{STAMP}.jsonl", single)


def lighteval():
    rows = []
    for i, (q, gt, codes, _, scores) in enumerate(PROBLEMS):
        rows.append({
            "doc": {"query": f"Solve the following math problem.\n\n{q}\n\nAnswer:", "choices": [gt], "gold_index": 0,
                    "original_query": q, "id": str(i), "task_name": "lighteval|fixture_math|0", "num_samples": 4},
            "model_response": {"input": q, "text": codes, "text_post_processed": None},
            "metric": {"math_pass@1:4_samples": sum(scores) / 4},
        })
    path = HERE / "lighteval" / f"details_lighteval|fixture_math|0_{STAMP}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


HE0_OK = ("from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
          "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n")
HE0_BAD = "    return False\n"
HE2_OK = "    return number % 1.0\n"
HE2_BAD = "def truncate_number(number: float) -> float:\n    return number\n"


def evalplus():
    samples = [{"task_id": "HumanEval/0", "solution": HE0_OK}, {"task_id": "HumanEval/2", "completion": HE2_OK},
               {"task_id": "HumanEval/0", "completion": HE0_BAD}, {"task_id": "HumanEval/2", "solution": HE2_BAD}]
    write_jsonl(HERE / "evalplus" / "samples.jsonl", samples)
    status = {"HumanEval/0": ["pass", "fail"], "HumanEval/2": ["pass", "fail"]}
    (HERE / "evalplus" / "samples_eval_results.json").write_text(json.dumps({"date": "2026-01-01 00:00", "eval": {
        task: [{"task_id": task, "solution": "...", "base_status": s, "plus_status": s,
                "base_fail_tests": [], "plus_fail_tests": []} for s in statuses]
        for task, statuses in status.items()}}))


def generic():
    rows = [{"problem_id": f"p{i}", "response": code, "correct": score, "gold": gt}
            for i, (q, gt, codes, _, scores) in enumerate(PROBLEMS) for code, score in zip(codes, scores)]
    write_jsonl(HERE / "generic.jsonl", rows)
    with open(HERE / "generic.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["problem_id", "response", "correct", "gold"])
        w.writeheader()
        w.writerows(rows)
    pq.write_table(pa.Table.from_pylist(rows), HERE / "generic.parquet")


def counts():
    # Made-up outcome counts of 8 problems at n = 16: the base model solves more problems at
    # large k, the RL model has the higher pass@1.
    base = [(f"q{i}", 16, c) for i, c in enumerate([2, 5, 1, 9, 0, 3, 12, 1])]
    rl = [(f"q{i}", 16, c) for i, c in enumerate([10, 14, 0, 15, 0, 9, 16, 0])]
    for name, table in (("counts_base.csv", base), ("counts_rl.csv", rl)):
        with open(HERE / name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["problem_id", "n", "c"])
            w.writerows(table)
    write_jsonl(HERE / "counts_matrix.jsonl", [{"problem_id": pid, "sample_idx": j, "correct": j % 3 == 0}
                                              for pid in ("a", "b") for j in range(6)])


if __name__ == "__main__":
    qwen_math(), lm_eval(), lighteval(), evalplus(), generic(), counts()
