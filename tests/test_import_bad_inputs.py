"""Bad input to `rlboundary import`: one line naming the line and the fix, exit 2, nothing stored.

    PYTHONPATH=src .venv/bin/pytest tests/test_import_bad_inputs.py -q
"""

from __future__ import annotations

import json

import pytest

from import_helpers import FIXTURES, run_cli, stored_files


def jsonl(rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def qwen(idx, codes, scores=None):
    row = {"idx": idx, "question": f"Question {idx}?", "gt": "1", "code": codes, "pred": ["1"] * len(codes)}
    if scores is not None:
        row["score"] = scores
    return row


def generic(pid, response, idx=None):
    row = {"problem_id": pid, "response": response, "gold": "1"}
    if idx is not None:
        row["sample_idx"] = idx
    return row


# name, format, file name, content, expected line, words the message must hold
CASES = [
    ("malformed line", "qwen-math", "out.jsonl",
     jsonl([qwen(0, ["a", "b"]), '{"idx": 1, "question": "Q?", "code": ["a",']), 2, "not valid JSON"),
    ("mixed formats", "qwen-math", "out.jsonl",
     jsonl([qwen(0, ["a"]), {"doc_id": 1, "doc": {}, "resps": [["x"]], "filtered_resps": ["x"]}]), 2, "lm-eval record"),
    ("duplicate problem", "qwen-math", "out.jsonl", jsonl([qwen(0, ["a"]), qwen(1, ["b"]), qwen(0, ["c"])]), 3,
     "duplicate"),
    ("duplicate (problem, sample)", "jsonl", "rows.jsonl",
     jsonl([generic("p", "a", 0), generic("p", "b", 1), generic("p", "c", 1)]), 3, "duplicate (problem 'p', sample 1)"),
    ("inconsistent n", "jsonl", "rows.jsonl",
     jsonl([generic("p", "a"), generic("p", "b"), generic("q", "c")]), 3, "inconsistent n"),
    ("inconsistent n (grouped)", "qwen-math", "out.jsonl", jsonl([qwen(0, ["a", "b"]), qwen(1, ["c"])]), 2,
     "inconsistent n"),
    ("parallel lists disagree", "qwen-math", "out.jsonl", jsonl([qwen(0, ["a", "b"], scores=[True])]), 1,
     "'score' has 1 entries"),
    ("empty response", "qwen-math", "out.jsonl", jsonl([qwen(0, ["a"]), qwen(1, ["  "])]), 2, "empty response"),
    ("gap in sample_idx", "jsonl", "rows.jsonl", jsonl([generic("p", "a", 0), generic("p", "b", 2)]), 1,
     "lacks sample_idx 1"),
    ("c > n", "counts", "counts.csv", "problem_id,n,c\na,4,2\nb,4,5\n", 3, "c=5 correct out of n=4"),
    ("mixed counts layouts", "counts", "counts.jsonl",
     jsonl([{"problem_id": "a", "n": 2, "c": 1}, {"problem_id": "a", "sample_idx": 0, "correct": True}]), 2,
     "mixed layouts"),
    ("not a verdict", "jsonl", "rows.jsonl", jsonl([{**generic("p", "a"), "correct": "maybe"}]), 1, "is not a verdict"),
]


@pytest.mark.parametrize("name,fmt,filename,content,line,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_stores_nothing(capsys, _isolated_outputs, tmp_path, name, fmt, filename,
                                                         content, line, words):
    path = tmp_path / filename
    path.write_text(content)
    code, out, err = run_cli(capsys, "import", fmt, str(path), "--model", "m", "--benchmark", "bad_input")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{path}:{line}:" in lines[0] and words in lines[0] and "Fix:" in lines[0]
    assert stored_files(_isolated_outputs) == []
    assert not (_isolated_outputs / "benchmarks").exists()  # no ad-hoc benchmark either


def test_empty_responses_kept_when_asked(capsys, _isolated_outputs, tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text(jsonl([qwen(0, ["a"], [True]), qwen(1, [""], [False])]))
    code, out, err = run_cli(capsys, "import", "qwen-math", str(path), "--model", "m", "--benchmark", "b",
                             "--allow-empty")
    assert code == 0, err


def test_ragged_n_kept_when_asked(capsys, _isolated_outputs, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(jsonl([generic("p", "a"), generic("p", "b"), generic("q", "c")]))
    code, out, err = run_cli(capsys, "import", "jsonl", str(path), "--model", "m", "--benchmark", "b", "--allow-ragged")
    assert code == 0 and "n=[1, 2]" in out


def test_unmatched_problems_name_examples_and_the_fix(capsys, _isolated_outputs, tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text(jsonl([{"task_id": "HumanEval/0", "completion": "    return True\n"},
                           {"task_id": "HumanEval/9999", "completion": "    return 1\n"}]))
    code, out, err = run_cli(capsys, "import", "evalplus", str(path), "--model", "m", "--benchmark", "humaneval")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "line 2 id 'HumanEval/9999'" in err and "ad-hoc benchmark" in err
    assert stored_files(_isolated_outputs) == []


def test_no_gold_and_no_verdicts_is_refused(capsys, _isolated_outputs, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(jsonl([{"problem_id": "p", "response": "\\boxed{1}"}]))
    code, out, err = run_cli(capsys, "import", "jsonl", str(path), "--model", "m", "--benchmark", "nothing_to_grade")
    assert code == 2 and "nothing could grade it" in err
    assert stored_files(_isolated_outputs) == []


def test_an_interrupted_import_leaves_nothing(_isolated_outputs, tmp_path, monkeypatch):
    """A failure after parts were flushed (here: an interrupt mid-file) removes the private directory."""
    from rlboundary.imports import importer, writer

    path = tmp_path / "rows.jsonl"
    path.write_text(jsonl([generic(f"p{i % 3}", f"\\boxed{{{i}}}") for i in range(60)]))
    flushes = []
    real_flush = writer.RunWriter.flush

    def flush_then_interrupt(self):
        real_flush(self)
        flushes.append(1)
        if len(flushes) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(writer.RunWriter, "flush", flush_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        importer.import_run("jsonl", path, model="m", benchmark="b", flush_rows=10)
    assert stored_files(_isolated_outputs) == []


def test_a_killed_imports_leftovers_go_with_the_next_import(capsys, _isolated_outputs, tmp_path):
    """SIGKILL cannot be cleaned up after; the private directory of a dead process is removed next time."""
    stale = _isolated_outputs / "samples" / ".import-tmp" / "0123abcd-999999999"
    stale.mkdir(parents=True)
    (stale / "part-x.parquet").write_bytes(b"half a run")
    code, out, err = run_cli(capsys, "import", "qwen-math", str(FIXTURES / "qwen_math.jsonl"), "--model", "m",
                             "--benchmark", "fixture_math")
    assert code == 0, err
    assert not stale.exists()
