"""`rlboundary import` on fixtures shaped after each tool's documented output.

    PYTHONPATH=src .venv/bin/pytest tests/test_imports.py -q

Fixtures: tests/data/imports/ (see build_fixtures.py there for the format
each one follows). pass@k is checked against math.comb, an implementation
independent of rlboundary.metrics.
"""

from __future__ import annotations

import hashlib
import json
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from import_helpers import FIXTURES, run_cli, run_dirs, stored_files
from rlboundary.commands.metrics_cli import load_run_counts, load_run_verdicts

SHARED_MATH = Path("/work/shared/benchmarks/math")
LM_EVAL = FIXTURES / "lm_eval" / "samples_fixture_math_2026-01-01T00-00-00.000000.jsonl"
LM_EVAL_SINGLE = FIXTURES / "lm_eval_single" / "samples_fixture_math_2026-01-01T00-00-00.000000.jsonl"
LIGHTEVAL = FIXTURES / "lighteval" / "details_lighteval|fixture_math|0_2026-01-01T00-00-00.000000.parquet"

# format, file, benchmark, problems, n, source verdicts kept
CASES = [
    ("qwen-math", FIXTURES / "qwen_math.jsonl", "fixture_math", 4, 4, True),
    ("lm-eval", LM_EVAL, "fixture_math", 4, 4, False),  # repeats 4: the metric is per document
    ("lm-eval", LM_EVAL_SINGLE, "fixture_math", 4, 1, True),
    ("lighteval", LIGHTEVAL, "fixture_math", 4, 4, False),
    ("evalplus", FIXTURES / "evalplus" / "samples.jsonl", "humaneval", 2, 2, True),
    ("jsonl", FIXTURES / "generic.jsonl", "fixture_generic", 4, 4, True),
    ("csv", FIXTURES / "generic.csv", "fixture_generic", 4, 4, True),
    ("parquet", FIXTURES / "generic.parquet", "fixture_generic", 4, 4, True),
    ("counts", FIXTURES / "counts_base.csv", "fixture_counts", 8, 16, True),
    ("counts", FIXTURES / "counts_matrix.jsonl", "fixture_matrix", 2, 6, True),
]


def direct_pass_at_k(n: int, c: int, k: int) -> float:
    return 1.0 - comb(n - c, k) / comb(n, k)


@pytest.mark.parametrize("fmt,path,benchmark,problems,n,has_source", CASES,
                         ids=[f"{c[0]}-{c[1].name[:20]}" for c in CASES])
def test_each_format_imports_into_the_store(capsys, _isolated_outputs, fmt, path, benchmark, problems, n, has_source):
    code, out, err = run_cli(capsys, "import", fmt, str(path), "--model", "m", "--benchmark", benchmark)
    assert code == 0, err
    assert f"imported {problems} problems x n={n}" in out
    (run,) = run_dirs(_isolated_outputs)
    meta = json.loads((run / "meta.json").read_text())
    prov = meta["import"]
    assert prov["format"] == fmt and prov["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["target"]["n"] == n and len(meta["target"]["problem_ids"]) == problems
    from rlboundary.store import RunStore

    index = RunStore(run).stored_index()
    assert len(index) == problems * n and not index.duplicated().any()
    assert (run / "verdicts" / "source").is_dir() == has_source
    if has_source:
        code, out, err = run_cli(capsys, "passk", str(run), "--grader", "source", "--n-boot", "0")
        assert code == 0, err
        assert f"{problems} problems, n={n}" in " ".join(out.split())  # the caption wraps to the table width


def test_qwen_math_source_passk_equals_the_score_lists(capsys, _isolated_outputs):
    path = FIXTURES / "qwen_math.jsonl"
    assert run_cli(capsys, "import", "qwen-math", str(path), "--model", "q", "--benchmark", "fixture_math")[0] == 0
    (run,) = run_dirs(_isolated_outputs)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    from rlboundary import metrics

    counts = load_run_counts(run, "source")
    curve = metrics.pass_at_k_curve(counts, ks=[1, 2, 3, 4], n_boot=0)
    for k, value in zip(curve["k"], curve["pass_at_k"]):
        direct = np.mean([direct_pass_at_k(len(r["score"]), sum(r["score"]), int(k)) for r in rows])
        assert abs(value - direct) <= 1e-12
    # The source's extracted answers travel with its verdicts.
    verdicts = load_run_verdicts(run, "source")
    assert sorted(verdicts["correct"].tolist()) == sorted(s for r in rows for s in r["score"])
    stored = pd.concat([pd.read_parquet(p) for p in (run / "verdicts" / "source").glob("part-*.parquet")])
    assert set(stored["extracted"]) == {p for r in rows for p in r["pred"]}


def test_counts_reproduce_passk_exactly_and_compare_base_with_rl(capsys, _isolated_outputs):
    base_file, rl_file = FIXTURES / "counts_base.csv", FIXTURES / "counts_rl.csv"
    for model, f in (("base", base_file), ("rl", rl_file)):
        assert run_cli(capsys, "import", "counts", str(f), "--model", model, "--benchmark", "fixture_counts")[0] == 0
    base_run, rl_run = (next(p for p in run_dirs(_isolated_outputs) if p.parent.parent.name == m) for m in ("base", "rl"))
    table = {m: pd.read_csv(f) for m, f in (("base", base_file), ("rl", rl_file))}
    from rlboundary import metrics

    for model, run in (("base", base_run), ("rl", rl_run)):
        curve = metrics.pass_at_k_curve(load_run_counts(run, "source"), ks=list(range(1, 17)), n_boot=0)
        direct = [np.mean([direct_pass_at_k(n, c, k) for n, c in zip(table[model]["n"], table[model]["c"])])
                  for k in range(1, 17)]
        assert np.max(np.abs(curve["pass_at_k"].to_numpy() - np.array(direct))) <= 1e-12
    code, out, err = run_cli(capsys, "passk", "--base", str(base_run), "--rl", str(rl_run), "--grader", "source",
                             "--n-boot", "100")
    assert code == 0, err
    b, r = table["base"]["c"] > 0, table["rl"]["c"] > 0
    assert f"both={int((b & r).sum())}, base_only={int((b & ~r).sum())}, rl_only={int((~b & r).sum())}" in out
    delta = np.mean([direct_pass_at_k(16, c, 16) for c in table["base"]["c"]]) - np.mean(table["rl"]["c"] / 16)
    assert f"= {delta:.4f}" in out
    assert "crossover (base reaches rl): k=" in out


def test_outcome_matrix_counts_per_problem(capsys, _isolated_outputs):
    path = FIXTURES / "counts_matrix.jsonl"
    assert run_cli(capsys, "import", "counts", str(path), "--model", "m", "--benchmark", "fixture_matrix")[0] == 0
    (run,) = run_dirs(_isolated_outputs)
    rows = pd.read_json(path, lines=True)
    expected = rows.groupby("problem_id")["correct"].agg(["size", "sum"])
    counts = load_run_counts(run, "source").set_index("problem_id")
    assert counts["n"].to_dict() == expected["size"].to_dict() and counts["c"].to_dict() == expected["sum"].to_dict()


def test_count_runs_refuse_what_needs_text(capsys, _isolated_outputs):
    run_cli(capsys, "import", "counts", str(FIXTURES / "counts_base.csv"), "--model", "b", "--benchmark", "fixture_counts")
    (run,) = run_dirs(_isolated_outputs)
    code, out, err = run_cli(capsys, "verify", str(run))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "holds no response text" in err and "pass@k, crossover, coverage, histograms" in err


def test_imported_run_regrades_with_our_graders_beside_source(capsys, _isolated_outputs):
    """An ad-hoc benchmark (gold answers from the file) is found by `verify`, and
    math-verify's verdicts sit beside the tool's own."""
    run_cli(capsys, "import", "jsonl", str(FIXTURES / "generic.jsonl"), "--model", "g", "--benchmark", "fixture_generic")
    (run,) = run_dirs(_isolated_outputs)
    code, out, err = run_cli(capsys, "verify", str(run), "--grader", "math-verify", "--workers", "1")
    assert code == 0, err
    graders = sorted(p.name for p in (run / "verdicts").iterdir())
    assert graders[-1] == "source" and graders[0].startswith("math-verify")
    ours = load_run_verdicts(run, graders[0]).set_index(["problem_id", "sample_idx"])["correct"]
    theirs = load_run_verdicts(run, "source").set_index(["problem_id", "sample_idx"])["correct"]
    assert len(ours) == len(theirs) == 16 and set(ours.index) == set(theirs.index)
    # "2+3": \boxed{5} and \boxed{5.0} are right, \boxed{6} is wrong, for both graders.
    assert [bool(ours[("p0", i)]) for i in range(4)] == [bool(theirs[("p0", i)]) for i in range(4)] == [True, False, True, True]


def test_same_file_twice_stores_nothing_new(capsys, _isolated_outputs):
    args = ("import", "qwen-math", str(FIXTURES / "qwen_math.jsonl"), "--model", "q", "--benchmark", "fixture_math")
    run_cli(capsys, *args)
    before = stored_files(_isolated_outputs)
    code, out, err = run_cli(capsys, *args)
    assert code == 0 and out.startswith("already imported")
    assert stored_files(_isolated_outputs) == before


def test_provenance_records_the_tool_version_when_known(capsys, _isolated_outputs):
    run_cli(capsys, "import", "lm-eval", str(LM_EVAL), "--model", "m", "--benchmark", "fixture_math")
    (run,) = run_dirs(_isolated_outputs)
    prov = json.loads((run / "meta.json").read_text())["import"]
    assert prov["tool_version"] == "lm-eval 0.4.9" and prov["source"] == str(LM_EVAL.resolve())


def test_lm_eval_reads_one_filter(capsys, _isolated_outputs):
    code, out, err = run_cli(capsys, "import", "lm-eval", str(LM_EVAL_SINGLE), "--model", "m", "--benchmark", "x_math",
                             "--filter", "flexible-extract")
    assert code == 0 and "skipped the lines of strict-match" in out


def test_streaming_writes_many_parts(_isolated_outputs, tmp_path):
    from rlboundary.imports.importer import import_run

    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"problem_id": f"p{i % 7}", "response": f"\\boxed{{{i}}}", "gold": "1"}) + "\n"
                            for i in range(7 * 30)))
    result = import_run("jsonl", path, model="m", benchmark="many", flush_rows=25)
    run = result["run_dir"]
    from rlboundary.store import RunStore

    store = RunStore(run)
    assert len(store.part_files()) == 9 and len(store.stored_index()) == 210
    assert result["n"] == 30


@pytest.mark.skipif(not (SHARED_MATH / "math500.jsonl").exists(),
                    reason="the paper's benchmark files are not on this machine")
def test_registered_benchmark_matched_by_question_text(capsys, _isolated_outputs, tmp_path):
    data = str(SHARED_MATH)
    problems = [json.loads(line) for line in open(f"{data}/math500.jsonl")][:3]
    rows = [{"idx": 100 + i, "question": "  " + p["problem"].upper() + " ", "gt": p["answer"],
             "code": ["\\boxed{1}"] * 2, "pred": ["1", "1"], "score": [False, False]} for i, p in enumerate(problems)]
    path = tmp_path / "out.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = run_cli(capsys, "import", "qwen-math", str(path), "--model", "q", "--benchmark", "math500",
                             "--data-dir", data)
    assert code == 0, err
    (run,) = run_dirs(_isolated_outputs)
    assert json.loads((run / "meta.json").read_text())["target"]["problem_ids"] == [p["unique_id"] for p in problems]
    rows.append({"idx": 7, "question": "A question of no benchmark at all?", "gt": "1", "code": ["a"], "pred": ["a"],
                 "score": [True]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = run_cli(capsys, "import", "qwen-math", str(path), "--model", "q2", "--benchmark", "math500",
                             "--data-dir", data)
    assert code == 2 and "match no problem of benchmark 'math500'" in err and "line 4" in err


def test_params_name_imported_runs(capsys, _isolated_outputs):
    """`path: "run:<model>"` models are read from the store, never sampled (params/imported/)."""
    for model, f in (("base", "counts_base.csv"), ("rl", "counts_rl.csv")):
        run_cli(capsys, "import", "counts", str(FIXTURES / f), "--model", model, "--benchmark", "fixture_counts")
    from rlboundary import figures
    from rlboundary.params import load_params
    from rlboundary.paths import PARAMS_DIR

    params = load_params("fig01_passk_math", PARAMS_DIR / "imported")
    study = figures.passk_study(params)
    table = pd.read_csv(FIXTURES / "counts_base.csv")
    base = study.curves[(study.curves["model"] == "base") & (study.curves["k"] == 16)]["pass_at_k"].iloc[0]
    assert abs(base - np.mean([direct_pass_at_k(n, c, 16) for n, c in zip(table["n"], table["c"])])) <= 1e-12
    assert study.comparisons["crossover"].notna().all()
    # A run directory works as well as a key; a missing run is one line naming the fix.
    from rlboundary.errors import UserError
    from rlboundary.imports.references import resolve_run

    (run,) = [p for p in run_dirs(_isolated_outputs) if p.parent.parent.name == "rl"]
    assert resolve_run(f"run:{run}", "rl", "fixture_counts", 0) == run
    with pytest.raises(UserError, match="names no stored run"):
        resolve_run("run:nobody", "nobody", "fixture_counts", 0)


def test_store_check_accepts_imported_runs(capsys, _isolated_outputs):
    run_cli(capsys, "import", "qwen-math", str(FIXTURES / "qwen_math.jsonl"), "--model", "q", "--benchmark", "fixture_math")
    run_cli(capsys, "import", "counts", str(FIXTURES / "counts_base.csv"), "--model", "b", "--benchmark", "fixture_counts")
    code, out, err = run_cli(capsys, "check", "--all", "--dry-run")
    assert code == 0, out + err
    assert "checked 2 run(s): 2 ok" in out
