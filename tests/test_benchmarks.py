"""Benchmark registry and loaders: field mapping per file, errors, lazy registration."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from rlboundary import benchmarks
from rlboundary.benchmarks import Problem, get_benchmark, last_boxed, list_benchmarks, register_benchmark
from rlboundary.errors import UserError

SHARED_MATH = Path("/work/shared/benchmarks/math")
needs_shared = pytest.mark.skipif(not SHARED_MATH.is_dir(), reason="the paper's benchmark files are not on this machine")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# Rows in the schema of each official file (fields differ per file).
FIXTURES = {
    "aime24": [{"id": 60, "problem": "Find x.", "question": "Find x.", "solution": "...", "answer": "204", "url": "u"}],
    "amc23": [{"id": 0, "problem": "How far?", "question": "How far?", "answer": 27.0, "url": "u"},
              {"id": 1, "problem": "Half?", "question": "Half?", "answer": 0.5, "url": "u"}],
    "math500": [{"problem": "Convert.", "solution": "so $\\boxed{3}$", "answer": "\\left( 3, \\frac{\\pi}{2} \\right)",
                 "subject": "Precalculus", "level": 2, "unique_id": "test/precalculus/807.json"}],
    "minerva_math": [{"problem": "Diameter?", "solution": "s=\\boxed{\\frac{1}{2}} \\mathrm{~cm} then \\boxed{1.6}",
                      "type": "Astronomy", "idx": 0}],
    "olympiadbench": [{"id": 1606, "subfield": "Combinatorics", "context": None, "question": "How many moves?",
                       "solution": ["long"], "final_answer": ["$2$"], "is_multiple_answer": False,
                       "unit": None, "answer_type": "Numerical", "error": None}],
    "gsm8k": [{"question": "Eggs?", "answer": "16 - 3 = <<16-3=13>>13\n#### 18", "idx": 0},
              {"question": "Is it even?", "answer": "yes\n#### Yes", "idx": 1}],
}


@pytest.fixture
def math_dir(tmp_path):
    d = tmp_path / "math"
    for name, rows in FIXTURES.items():
        write_jsonl(d / f"{name}.jsonl", rows)
    return d


def test_registry_lists_the_paper_benchmarks():
    names = list_benchmarks()
    for name in ["aime24", "amc23", "math500", "minerva_math", "olympiadbench", "gsm8k",
                 "humaneval", "humaneval_plus", "mbpp_plus", "organism"]:
        assert name in names


def test_field_mapping_per_file(math_dir):
    b = {name: get_benchmark(name, data_dir=math_dir) for name in FIXTURES}
    assert b["aime24"].problems[0] == Problem("60", "Find x.", "204", {})
    assert [p.reference for p in b["amc23"].problems] == ["27", "0.5"]
    m = b["math500"].problems[0]
    assert (m.id, m.reference, m.metadata["subject"], m.metadata["level"]) == (
        "test/precalculus/807.json", "\\left( 3, \\frac{\\pi}{2} \\right)", "Precalculus", 2)
    # Minerva: the last \boxed{} of the solution is the gold answer.
    assert b["minerva_math"].problems[0].reference == "1.6"
    o = b["olympiadbench"].problems[0]
    assert (o.id, o.prompt, o.reference, o.metadata["answer_type"]) == ("1606", "How many moves?", "2", "Numerical")
    g = b["gsm8k"].problems
    assert (g[0].reference, g[0].id) == ("18", "0")
    # Yes/no answers get the evaluation's hint appended to the question.
    assert g[1].prompt == "Is it even? (Yes or No)"
    assert all(bm.kind == "math" for bm in b.values())


def test_env_var_and_limit(math_dir, monkeypatch):
    monkeypatch.setenv("RLBOUNDARY_MATH_DATA", str(math_dir))
    b = get_benchmark("amc23", limit=1)
    assert [p.id for p in b.problems] == ["0"]
    with pytest.raises(UserError, match="limit"):
        get_benchmark("amc23", limit=0)


def test_missing_source_names_hub_id_and_local_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty datasets cache
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError) as err:
        get_benchmark("math500", data_dir=empty)
    msg = str(err.value)
    assert "HuggingFaceH4/MATH-500" in msg and str(empty / "math500.jsonl") in msg
    assert "\n" not in msg
    monkeypatch.delenv("RLBOUNDARY_MATH_DATA", raising=False)
    with pytest.raises(UserError, match="RLBOUNDARY_MATH_DATA"):
        get_benchmark("gsm8k")


def test_bad_jsonl_and_duplicate_ids(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "aime24.jsonl").write_text('{"id": 1, "problem": "p", "answer": "1"}\n{not json\n')
    with pytest.raises(UserError, match="aime24.jsonl:2"):
        get_benchmark("aime24", data_dir=d)
    write_jsonl(d / "amc23.jsonl", [{"id": 1, "question": "a", "answer": 1}, {"id": 1, "question": "b", "answer": 2}])
    with pytest.raises(UserError, match="duplicate problem id"):
        get_benchmark("amc23", data_dir=d)


def test_invalid_utf8_names_the_line(tmp_path):
    d = tmp_path / "latin1"
    d.mkdir()
    (d / "aime24.jsonl").write_bytes(b'{"id": 1, "problem": "p", "answer": "1"}\n{"id": 2, "problem": "caf\xe9", "answer": "2"}\n')
    with pytest.raises(UserError, match="aime24.jsonl:2 is not valid UTF-8") as err:
        get_benchmark("aime24", data_dir=d)
    assert "UTF-8" in err.value.fix


def test_unknown_benchmark():
    with pytest.raises(UserError, match="unknown benchmark 'nope'.*math500"):
        get_benchmark("nope")


def test_last_boxed_balances_braces():
    assert last_boxed("a \\boxed{\\frac{1}{2}} b") == "\\frac{1}{2}"
    assert last_boxed("\\boxed{1} and \\boxed{x^{2}}") == "x^{2}"
    assert last_boxed("no box") is None
    assert last_boxed("\\boxed{unclosed") is None


def test_humaneval_from_the_package():
    b = get_benchmark("humaneval")
    assert b.kind == "code" and len(b) == 164
    p = b.problems[0]
    assert p.id == "HumanEval/0" and p.prompt.startswith("from typing import List")
    assert p.reference["entry_point"] == "has_close_elements" and "def check(candidate)" in p.reference["tests"]


def test_evalplus_local_files(tmp_path, monkeypatch):
    row = {"task_id": "HumanEval/0", "prompt": "def f(x):\n", "entry_point": "f", "canonical_solution": "    return x\n",
           "base_input": [[1]], "plus_input": [[2]], "atol": 0, "contract": ""}
    d = tmp_path / "code"
    d.mkdir()
    with gzip.open(d / "HumanEvalPlus-v0.1.10.jsonl.gz", "wt") as f:
        f.write(json.dumps(row) + "\n")
    write_jsonl(d / "MbppPlus-v0.2.0.jsonl", [{**row, "task_id": "Mbpp/2", "assertion": "assert f(1) == 1"}])
    monkeypatch.setenv("RLBOUNDARY_CODE_DATA", str(d))
    he = get_benchmark("humaneval_plus").problems[0]
    assert he.reference["plus_input"] == [[2]] and he.reference["entry_point"] == "f"
    mb = get_benchmark("mbpp_plus").problems[0]
    assert mb.id == "Mbpp/2" and mb.reference["assertion"] == "assert f(1) == 1"


def test_evalplus_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    with pytest.raises(UserError) as err:
        get_benchmark("mbpp_plus", data_dir=tmp_path)
    assert "evalplus/mbppplus" in str(err.value) and str(tmp_path) in str(err.value)


def test_register_benchmark_and_variants():
    seen = {}

    def loader(data_dir=None, variant=None):
        seen["variant"] = variant
        return [Problem(f"{variant}-{i}", f"q{i}", str(i), {}) for i in range(3)]

    register_benchmark("toy-test", "math", loader)
    try:
        b = get_benchmark("toy-test:hard", limit=2)
        assert seen["variant"] == "hard" and b.problem_ids == ["hard-0", "hard-1"] and b.name == "toy-test:hard"
    finally:
        benchmarks._REGISTRY.pop("toy-test")


def test_empty_benchmark_is_an_error():
    register_benchmark("toy-empty", "math", lambda data_dir=None, variant=None: [])
    try:
        with pytest.raises(UserError, match="no problems"):
            get_benchmark("toy-empty")
    finally:
        benchmarks._REGISTRY.pop("toy-empty")


def test_lazy_registration_calls_load_problems(tmp_path, monkeypatch):
    # A real module on sys.path, imported only when the benchmark is asked for.
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bench.py").write_text(
        "from rlboundary.benchmarks import Problem\n"
        "CALLS = []\n"
        "def load_problems(split, **kw):\n"
        "    CALLS.append((split, kw))\n"
        "    return [Problem(f'{split}-{i}', 'q', {'answer': i}, {'n_steps': i}) for i in range(4)]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(benchmarks.LAZY_BENCHMARKS, "lazytoy", ("lazypkg.bench", "load_problems", "organism"))
    assert "lazypkg.bench" not in sys.modules
    try:
        b = get_benchmark("lazytoy:train", limit=3)
        assert b.kind == "organism" and b.problem_ids == ["train-0", "train-1", "train-2"]
        assert sys.modules["lazypkg.bench"].CALLS == [("train", {})]
        assert get_benchmark("lazytoy").problem_ids[0] == "test-0"  # default split
    finally:
        benchmarks._REGISTRY.pop("lazytoy", None)
        sys.modules.pop("lazypkg.bench", None)
        sys.modules.pop("lazypkg", None)


def test_lazy_module_missing_is_a_user_error(monkeypatch):
    monkeypatch.setitem(benchmarks.LAZY_BENCHMARKS, "ghost", ("rlboundary_no_such_pkg.bench", "load_problems", "organism"))
    with pytest.raises(UserError, match="needs rlboundary_no_such_pkg.bench"):
        get_benchmark("ghost")


@needs_shared
def test_the_paper_files_load_whole():
    expected = {"aime24": 30, "amc23": 40, "math500": 500, "minerva_math": 272, "olympiadbench": 675, "gsm8k": 1319}
    for name, count in expected.items():
        b = get_benchmark(name, data_dir=SHARED_MATH)
        assert len(b) == count, name
        assert all(p.prompt and isinstance(p.reference, str) and p.reference for p in b.problems), name
        assert not any("####" in p.reference for p in b.problems)
    firsts = {name: get_benchmark(name, data_dir=SHARED_MATH).problems[0].reference for name in expected}
    assert firsts["aime24"] == "204" and firsts["amc23"] == "27" and firsts["minerva_math"] == "1.6"
    assert firsts["olympiadbench"] == "2" and firsts["gsm8k"] == "18"
    assert firsts["math500"] == "\\left( 3, \\frac{\\pi}{2} \\right)"
