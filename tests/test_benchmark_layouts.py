"""--data-dir in the official code's layout (<name>/test.jsonl), loud hub
fallbacks and size differences, MBPP+ hub rows made answerable."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from rlboundary import benchmarks
from rlboundary.benchmarks import BenchmarkWarning, get_benchmark, local_data_file, mbpp_entry_point
from rlboundary.errors import UserError

SHARED_MATH = Path("/work/shared/benchmarks/math")
ROWS = [{"problem": "What is 1+1?", "answer": "2", "unique_id": "test/a.json", "subject": "Algebra", "level": 1},
        {"problem": "What is 2+2?", "answer": "4", "unique_id": "test/b.json", "subject": "Algebra", "level": 1}]


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_official_layout_equals_flat_layout(tmp_path):
    _write(tmp_path / "flat" / "math500.jsonl", ROWS)
    _write(tmp_path / "official" / "math500" / "test.jsonl", ROWS)
    flat = get_benchmark("math500", data_dir=tmp_path / "flat")
    official = get_benchmark("math500", data_dir=tmp_path / "official")
    assert [(p.id, p.prompt, p.reference) for p in flat.problems] == [(p.id, p.prompt, p.reference) for p in official.problems]
    assert local_data_file("math500", str(tmp_path / "official")) == tmp_path / "official" / "math500" / "test.jsonl"
    with pytest.raises(UserError, match="math500/test.jsonl"):
        local_data_file("math500", str(tmp_path))


@pytest.mark.skipif(not SHARED_MATH.is_dir(), reason="the paper's data files are not on this machine")
def test_the_papers_files_in_the_official_layout(tmp_path):
    for name, size in benchmarks.PAPER_SIZES.items():
        (tmp_path / name).mkdir()
        shutil.copy(SHARED_MATH / f"{name}.jsonl", tmp_path / name / "test.jsonl")
        official = get_benchmark(name, data_dir=tmp_path)
        flat = get_benchmark(name, data_dir=SHARED_MATH)
        assert len(official) == size
        assert [(p.id, p.reference) for p in official.problems] == [(p.id, p.reference) for p in flat.problems]


@pytest.fixture
def fake_hub(monkeypatch):
    """The hub download replaced by rows given per dataset id (no network here)."""
    served = {}
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(benchmarks, "_load_hub_rows", lambda dataset_id, *rest: served[dataset_id])
    return served


def test_a_missing_local_file_never_falls_back_silently(tmp_path, fake_hub):
    fake_hub["HuggingFaceH4/MATH-500"] = ROWS
    with pytest.warns(BenchmarkWarning, match="no local file") as caught:
        bench = get_benchmark("math500", data_dir=tmp_path)
    assert len(bench) == 2
    message = str(caught[0].message)
    assert str(tmp_path / "math500.jsonl") in message and "HuggingFaceH4/MATH-500" in message


def test_the_hub_as_documented_source_is_quiet(fake_hub, monkeypatch):
    monkeypatch.delenv("RLBOUNDARY_MATH_DATA", raising=False)
    fake_hub["HuggingFaceH4/MATH-500"] = [{**ROWS[0], "unique_id": f"test/{i}.json"} for i in range(500)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BenchmarkWarning)
        assert len(get_benchmark("math500")) == 500


def test_hub_olympiadbench_size_is_named(fake_hub, monkeypatch):
    monkeypatch.delenv("RLBOUNDARY_MATH_DATA", raising=False)
    fake_hub["Hothan/OlympiadBench"] = [{"id": i, "question": f"q{i}", "final_answer": [f"${i}$"]} for i in range(674)]
    with pytest.warns(BenchmarkWarning, match=r"674 problems where the paper's file has 675 \(-1\)"):
        assert len(get_benchmark("olympiadbench")) == 674


MBPP_HUB_ROW = {
    "task_id": 2,
    "code": "def _as_set(x):\n    return set(x)\n\ndef similar_elements(a, b):\n    return tuple(_as_set(a) & _as_set(b))\n",
    "prompt": "Write a function to find the shared elements from the given two lists.",
    "source_file": "Benchmark Questions Verification V2.ipynb",
    "test_imports": [],
    "test_list": ["assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))",
                  "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))"],
    "test": "def check(candidate):\n    assert set(candidate((3, 4), (4,))) == {4}\n",
}


def test_mbpp_plus_from_the_hub_names_its_function(fake_hub, monkeypatch):
    monkeypatch.delenv("RLBOUNDARY_CODE_DATA", raising=False)
    fake_hub["evalplus/mbppplus"] = [MBPP_HUB_ROW]
    problem = get_benchmark("mbpp_plus").problems[0]
    assert problem.id == "Mbpp/2"
    assert problem.reference["entry_point"] == "similar_elements"  # not `set`, not the helper defined first
    assert problem.prompt == ('"""\nWrite a function to find the shared elements from the given two lists.\n'
                              'assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"""\n')
    assert problem.reference["prompt"] == problem.prompt


def test_entry_point_rules():
    assert mbpp_entry_point(["assert max_len(['a']) == 1"], "") == "max_len"  # no code: first non-builtin call
    assert mbpp_entry_point(["assert math.isclose(area(2), 12.56, rel_tol=0.001)"], "def area(r):\n    pass\n") == "area"
    assert mbpp_entry_point([], "def f():\n    pass\n") == "f"
