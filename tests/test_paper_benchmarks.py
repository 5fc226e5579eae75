"""Omni-MATH-Rule and LiveCodeBench: loaders on fixtures built from the datasets'
documented schemas, the split and window the paper used, one-line errors, and
LiveCodeBench programs graded in the real sandbox.

Schemas: Omni-MATH rows (`domain`, `difficulty`, `problem`, `solution`,
`answer`, `source`; KbsdJames/Omni-MATH and its rule-based subset);
LiveCodeBench code generation rows (`question_title`, `question_content`,
`platform`, `question_id`, `contest_id`, `contest_date`, `starter_code`,
`difficulty`, `public_test_cases` as a JSON string, `private_test_cases` as
base64(zlib(pickle(JSON string))), `metadata` as a JSON string with
`func_name`; livecodebench/code_generation_lite).

Run: .venv/bin/pytest tests/test_paper_benchmarks.py -q
"""

from __future__ import annotations

import base64
import json
import pickle
import random
import zlib
from pathlib import Path

import pytest

from rlboundary.benchmarks import decode_livecodebench_tests, get_benchmark
from rlboundary.errors import UserError
from rlboundary.verify.code_grader import CodeExecGrader
from rlboundary.verify.livecodebench import extract_code


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# --- Omni-MATH-Rule -----------------------------------------------------------

def omni_rows(count: int) -> list[dict]:
    return [{"domain": ["Mathematics -> Algebra -> Other"], "difficulty": 1.0 + i % 9,
             "problem": f"Compute {i} + {i}.", "solution": f"It is {2 * i}.", "answer": f"${2 * i}$",
             "source": "fixture"} for i in range(count)]


def test_omni_math_split_is_2000_train_821_test_and_ignores_row_order(tmp_path):
    rows = omni_rows(2821)  # the size of Omni-MATH-Rule
    d1 = tmp_path / "a"
    write_jsonl(d1 / "omni_math_rule.jsonl", rows)
    shuffled = rows[:]
    random.Random(0).shuffle(shuffled)
    d2 = tmp_path / "b"
    write_jsonl(d2 / "omni_math_rule.jsonl", shuffled)
    train, test = get_benchmark("omni_math:train", data_dir=d1), get_benchmark("omni_math:test", data_dir=d1)
    assert (len(train), len(test), train.kind) == (2000, 821, "math")
    assert not set(train.problem_ids) & set(test.problem_ids)
    assert get_benchmark("omni_math:test", data_dir=d2).problem_ids == test.problem_ids
    assert get_benchmark("omni_math", data_dir=d1).problem_ids == test.problem_ids  # the default split is test
    p = next(p for p in get_benchmark("omni_math:all", data_dir=d1).problems if p.prompt == "Compute 7 + 7.")
    assert (p.reference, p.metadata["difficulty"]) == ("14", 8.0)  # "$14$" stripped to the answer


def test_omni_math_duplicates_and_bad_split(tmp_path):
    rows = omni_rows(3) + omni_rows(1)  # an exact duplicate row
    write_jsonl(tmp_path / "omni_math_rule.jsonl", rows)
    ids = get_benchmark("omni_math:all", data_dir=tmp_path).problem_ids
    assert len(ids) == len(set(ids)) == 4
    with pytest.raises(UserError, match="omni_math has no split 'dev'"):
        get_benchmark("omni_math:dev", data_dir=tmp_path)


def test_missing_sources_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty datasets cache
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    for name, hub, local in [("omni_math:test", "KbsdJames/Omni-MATH", "omni_math_rule.jsonl"),
                             ("livecodebench", "livecodebench/code_generation_lite", "livecodebench*.jsonl")]:
        with pytest.raises(UserError) as err:
            get_benchmark(name, data_dir=tmp_path)
        message = str(err.value)
        assert "\n" not in message and hub in message and str(tmp_path / local) in message


# --- LiveCodeBench ------------------------------------------------------------

def private_field(tests: list[dict]) -> str:
    """How LiveCodeBench ships private tests: base64 of zlib of a pickled JSON string."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


STDIN_TESTS = [{"input": "3 4\n", "output": "7\n", "testtype": "stdin"},
               {"input": "10 -2\n", "output": "8\n", "testtype": "stdin"}]
CALL_TESTS = [{"input": "[1, 2, 3]\n2", "output": "[3, 4, 5]", "testtype": "functional"},
              {"input": "[]\n5", "output": "[]", "testtype": "functional"}]
STARTER = "class Solution:\n    def addAll(self, nums: List[int], k: int) -> List[int]:\n        "


def lcb_row(qid: str, date: str, functional: bool = False) -> dict:
    tests = CALL_TESTS if functional else STDIN_TESTS
    return {"question_title": qid, "question_content": f"Problem {qid}.", "platform": "leetcode" if functional else "atcoder",
            "question_id": qid, "contest_id": "c1", "contest_date": date, "starter_code": STARTER if functional else "",
            "difficulty": "easy", "public_test_cases": json.dumps(tests[:1]), "private_test_cases": private_field(tests[1:]),
            "metadata": json.dumps({"func_name": "addAll"} if functional else {})}


@pytest.fixture
def lcb_dir(tmp_path):
    rows = [lcb_row("before", "2024-07-31T00:00:00"), lcb_row("first", "2024-08-01T00:00:00"),
            lcb_row("call", "2024-11-09T00:00:00", functional=True), lcb_row("last", "2025-01-31T23:59:59"),
            lcb_row("after", "2025-02-01T00:00:00")]
    write_jsonl(tmp_path / "livecodebench_v5.jsonl", rows)
    return tmp_path


def test_livecodebench_window_and_tests(lcb_dir):
    bench = get_benchmark("livecodebench", data_dir=lcb_dir)
    assert (bench.kind, bench.problem_ids) == ("code", ["first", "call", "last"])  # 2024-08 .. 2025-01
    assert len(get_benchmark("livecodebench:all", data_dir=lcb_dir)) == 5
    call = bench.problems[1]
    assert call.reference["entry_point"] == "addAll" and call.reference["starter_code"] == STARTER
    assert call.reference["lcb_tests"] == CALL_TESTS  # public then the decoded private ones
    assert call.metadata["platform"] == "leetcode"


def test_private_tests_refuse_pickled_objects():
    assert decode_livecodebench_tests(private_field(STDIN_TESTS)) == STDIN_TESTS
    evil = base64.b64encode(zlib.compress(pickle.dumps(Path("/etc/passwd")))).decode()
    with pytest.raises(UserError, match="could not be decoded"):
        decode_livecodebench_tests(evil)


@pytest.mark.parametrize("response,code", [
    # The prompt ends with ```python: the response closes the block.
    ("a, b = map(int, input().split())\nprint(a + b)\n```\nThis adds.", "a, b = map(int, input().split())\nprint(a + b)\n"),
    # A reasoning model writes its own block after thinking.
    ("<think>use ```input```?</think>\n```python\nprint(1)\n```\n", "print(1)\n"),
    # Cut off before closing the block: the whole text is the program.
    ("print(2)\n", "print(2)\n"),
])
def test_extract_code(response, code):
    assert extract_code(response) == code


STDIN_OK = "a, b = map(int, input().split())\nprint(a + b)\n```"
STDIN_WRONG = "a, b = map(int, input().split())\nprint(a * b)\n```"
# Reads its input through sys.stdin.buffer: a real stdin, not a patched input().
STDIN_OK_BUFFER = "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nsys.stdout.write(f'{a + b}\\n')\n```"
CALL_OK = ("class Solution:\n    def addAll(self, nums: List[int], k: int) -> List[int]:\n"
           "        return tuple(x + k for x in nums)\n```")  # a tuple compares as the JSON list
CALL_WRONG = "class Solution:\n    def addAll(self, nums, k):\n        return [x - k for x in nums]\n```"


@pytest.mark.parametrize("qid,response,verdict", [
    ("first", STDIN_OK, "correct"), ("first", STDIN_WRONG, "incorrect"), ("first", STDIN_OK_BUFFER, "correct"),
    ("call", CALL_OK, "correct"), ("call", CALL_WRONG, "incorrect"),
    ("first", "while True:\n    pass\n```", "incorrect"),  # every test has its own time limit
])
def test_livecodebench_programs_run_in_the_sandbox(lcb_dir, qid, response, verdict):
    problem = next(p for p in get_benchmark("livecodebench", data_dir=lcb_dir).problems if p.id == qid)
    grader = CodeExecGrader(timeout_s=2.0)
    got, extra = grader.grade(grader.extract(response, problem), problem)
    assert got == verdict, extra
