"""The per-problem explorer and problems.html on written-out samples.

Samples are written into real run stores (Parquet) and graded by the real
organism grader; only the sampling model is replaced by texts chosen here,
so every count, answer and highlighted step below is known in advance.
The micro report's page is driven in Chromium in test_report.py; here a
page with hostile text is opened too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from browser_helpers import save_screenshot
from rlboundary import explore, problems_page
from rlboundary.benchmarks import get_benchmark
from rlboundary.errors import UserError
from rlboundary.organism.benchmark import lock_problem
from rlboundary.organism.task import apply_turn, clean_trace
from rlboundary.store import RunStore
from rlboundary.verify.grading import get_grader, grade_run

import rlboundary.organism.grader  # noqa: F401  registers the "organism" grader

BENCH = "organism:micro"
N = 8

HOSTILE = "</script><script>window.pwned=1</script><!--"


def _wrong_step(problem) -> str:
    """A trace whose second step computes wrong but whose boxed answer is right (a lucky guess)."""
    lp = lock_problem(problem)
    v1 = apply_turn(lp.start, lp.turns[0])
    wrong = str((int(apply_turn(v1, lp.turns[1])) + 3) % 10)
    return f"{lp.start}{lp.turns[0]}={v1};{v1}{lp.turns[1]}={wrong};\\boxed{{{lp.answer()}}}"


def _boxed(answer: str) -> str:
    return f"\\boxed{{{answer}}}"


def _other(answer: str, shift: int) -> str:
    return str((int(answer) + shift) % 10)


def _texts(problems) -> dict[str, dict[str, list[str]]]:
    """model -> problem id -> N texts. Problem 0 (2 turns): base only; 1: both; 2: RL only; the rest: neither."""
    two_turn = [p for p in problems if p.metadata["n_steps"] >= 2]
    p0, p1, p2 = two_turn[:3]
    out = {"base": {}, "rl": {}}
    for p in problems:
        a = p.reference["answer"]
        wrong = [_boxed(_other(a, 1))] * 5 + [_boxed(_other(a, 2))] * 3
        out["base"][p.id] = list(wrong)
        out["rl"][p.id] = list(wrong)
    a0 = p0.reference["answer"]
    # base: a valid trace (twice), a lucky guess, then wrong answers 3x "+1", 2x "+2" (one hostile text)
    out["base"][p0.id] = ([clean_trace(lock_problem(p0))] * 2 + [_wrong_step(p0)]
                          + [_boxed(_other(a0, 1))] * 3 + [HOSTILE + _boxed(_other(a0, 2))] * 2)
    # RL: never right; its most common answer is "+4" (5 times), then "+1" (3 times)
    out["rl"][p0.id] = [_boxed(_other(a0, 4))] * 5 + [_boxed(_other(a0, 1))] * 3
    out["base"][p1.id] = [clean_trace(lock_problem(p1))] * 4 + [_boxed(_other(p1.reference["answer"], 1))] * 4
    out["rl"][p1.id] = [clean_trace(lock_problem(p1))] * 7 + [_boxed(_other(p1.reference["answer"], 1))]
    out["rl"][p2.id] = [clean_trace(lock_problem(p2))] + [_boxed(_other(p2.reference["answer"], 1))] * 7
    return out


def _write_run(model: str, texts: dict[str, list[str]], problem_ids) -> Path:
    store = RunStore.for_key(model, BENCH, "written", seed=0)
    with store.lock():
        store.ensure_meta({"model": {"name": model}, "benchmark": BENCH, "settings": {"n": N}, "seed": 0},
                          target={"n": N, "problem_ids": list(problem_ids), "limit": None, "data_dir": None})
        rows = [{"problem_id": pid, "sample_idx": i, "text": t, "num_tokens": len(t), "finish_reason": "stop"}
                for pid, ts in texts.items() for i, t in enumerate(ts)]
        store.write_chunk(pd.DataFrame(rows))
    return store.run_dir


@pytest.fixture
def runs():
    bench = get_benchmark(BENCH)
    texts = _texts(bench.problems)
    dirs = {m: _write_run(m, texts[m], [p.id for p in bench.problems]) for m in ("base", "rl")}
    two_turn = [p for p in bench.problems if p.metadata["n_steps"] >= 2]
    return {"dirs": dirs, "texts": texts, "bench": bench, "ids": [p.id for p in two_turn[:3]]}


def test_table_counts_coverage_and_pass_at_k(runs):
    study = explore.from_runs([runs["dirs"]["base"], runs["dirs"]["rl"]], headline_k=2)
    t = study.table.set_index("problem_id")
    p0, p1, p2 = runs["ids"]
    assert len(t) == len(runs["bench"].problems)
    assert t.loc[p0, "coverage"] == "base only" and t.loc[p1, "coverage"] == "both"
    assert t.loc[p2, "coverage"] == "RL only"
    assert set(t.drop(index=[p0, p1, p2])["coverage"]) == {"neither"}
    assert (t.loc[p0, "base c"], t.loc[p0, "base n"], t.loc[p0, "rl c"]) == (3, N, 0)
    # pass@2 = 1 - C(n-c, 2) / C(n, 2), computed here independently of metrics.pass_at_k
    for pid, c in ((p0, 3), (p1, 4)):
        assert t.loc[pid, "base pass@k"] == pytest.approx(1 - math.comb(N - c, 2) / math.comb(N, 2))
        assert t.loc[pid, "base pass rate"] == pytest.approx(c / N)
    # valid share: 2 of the base's 3 correct answers on p0 have valid traces (one is a lucky guess)
    assert t.loc[p0, "base valid share"] == pytest.approx(2 / 3)
    assert t.loc[p1, "rl valid share"] == pytest.approx(1.0)
    assert pd.isna(t.loc[p0, "rl valid share"])
    assert t.loc[p0, "gold"] == runs["bench"].problems[[p.id for p in runs["bench"].problems].index(p0)].reference["answer"]


def test_samples_have_texts_answers_and_verdicts(runs):
    table = explore.problems([runs["dirs"]["base"], runs["dirs"]["rl"]])
    p0 = runs["ids"][0]
    assert "base only" in set(table["coverage"])
    s = explore.samples(p0, "base")  # the study problems() loaded
    assert list(s["text"]) == runs["texts"]["base"][p0]
    assert list(s["correct"]) == [True] * 3 + [False] * 5
    assert list(s["trace_valid"]) == [True, True, False, False, False, False, False, False]
    assert list(s["first_invalid_step"][:3]) == [-1, -1, 1]
    assert list(s["answer_count"]) == [3, 3, 3, 3, 3, 3, 2, 2]
    assert list(s["verdict:organism-v1"]) == ["correct"] * 3 + ["incorrect"] * 5
    with pytest.raises(UserError, match="no model 'nobody'"):
        explore.samples(p0, "nobody")
    with pytest.raises(UserError, match="no samples of problem 'nope'"):
        explore.samples("nope", "base")


def test_shown_samples_put_real_reasoning_and_a_lucky_guess_first(runs):
    study = explore.from_runs([runs["dirs"]["base"], runs["dirs"]["rl"]])
    p0 = runs["ids"][0]
    picked = explore.pick_samples(study.samples, 4)
    base = picked[(picked["model"] == "base") & (picked["problem_id"] == p0)]
    # 2 correct (a valid trace, then the lucky guess), then the 2 wrong answers, most common first
    assert list(base["sample_idx"]) == [0, 2, 3, 6]
    assert list(base["answer_count"]) == [3, 3, 3, 2]
    rl = picked[(picked["model"] == "rl") & (picked["problem_id"] == p0)]
    assert list(rl["sample_idx"]) == [0, 5]  # only 2 distinct wrong answers: the free slots stay empty
    # first invalid step: the second step of the lucky guess
    problem = study.problems[(BENCH, p0)]
    text = runs["texts"]["base"][p0][2]
    start, end, reason = explore.invalid_step_span(problem, text, 1)
    assert text[start:end] == text.split(";")[1] and "step 1" in reason


def test_case_studies_follow_the_stated_rule(runs):
    cases = explore.case_studies(explore.from_runs([runs["dirs"]["base"], runs["dirs"]["rl"]]))
    p0 = runs["ids"][0]
    assert list(cases.table["problem_id"]) == [p0]
    row = cases.table.iloc[0]
    assert row["base_sample"]["correct"] and row["base_sample"]["trace_valid"] and row["base_sample"]["sample_idx"] == 0
    a0 = row["gold"]
    assert row["rl_sample"]["answer"] == _other(a0, 4) and row["rl_sample"]["answer_count"] == 5
    assert "most common answer" in cases.rule and "base model solves them at least once" in cases.rule
    html = cases._repr_html_()
    assert "5 of 8 samples" in html and p0 in html


def test_page_is_self_contained_and_size_capped(runs, tmp_path):
    study = explore.from_runs([runs["dirs"]["base"], runs["dirs"]["rl"]])
    info = problems_page.write_problems_page(study, tmp_path / "problems.html")
    page = info.path.read_text()
    assert info.bytes == len(page.encode()) <= problems_page.PageLimits().max_bytes
    assert "http://" not in page and "https://" not in page and "<script src" not in page and "<link rel='stylesheet'" not in page
    assert HOSTILE not in page  # the hostile text sits escaped inside the JSON and the case-study HTML
    assert "Size cap: at most 4 samples per model and problem" in page
    # A cap the texts cannot meet at full length: they are cut until the page fits.
    long = explore.from_runs([runs["dirs"]["base"], runs["dirs"]["rl"]])
    long.texts = lambda rows: ["x" * 20_000 + "\\boxed{1}"] * len(rows)
    limits = problems_page.PageLimits(max_chars=5000, max_bytes=150_000)
    page, chars, shown = problems_page.render_page(long, limits)
    assert len(page.encode()) <= 150_000 and chars < 5000 and shown > 0
    assert f"each text at most {chars:,} characters" in page
    with pytest.raises(UserError, match="would exceed"):
        problems_page.render_page(long, problems_page.PageLimits(max_bytes=20_000))


def test_problems_without_samples_have_no_set_and_the_page_still_renders(runs):
    """Runs made before the benchmark grew: its new problems have no samples, no coverage set."""
    keep = runs["ids"]
    dirs = [_write_run(m + "-old", {pid: runs["texts"][m][pid] for pid in keep}, keep) for m in ("base", "rl")]
    study = explore.from_runs(dirs)
    assert study.table["coverage"].notna().sum() == len(keep)
    page, _, _ = problems_page.render_page(study)
    data = json.loads(page.split("id='problems-data'>")[1].split("</script>")[0])
    assert [p["set"] is None for p in data["problems"]].count(False) == len(keep)


def test_cut_text_keeps_both_ends_and_moves_the_span():
    text = "A" * 100 + "MIDDLE" + "B" * 100 + "[bad]" + "C" * 5
    out, cut, span = problems_page.cut_text(text, 40, [text.index("[bad]"), text.index("[bad]") + 5])
    assert out.startswith("A" * 20) and out.endswith("[bad]" + "C" * 5) and cut == len(text) - 40
    assert out[span[0]:span[1]] == "[bad]" and f"{cut:,} characters cut" in out
    assert problems_page.cut_text("short", 40) == ("short", 0, None)


def test_page_in_chromium_filters_expands_highlights_and_never_runs_model_text(runs, tmp_path):
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip(f"{chromium} is not installed (Debian package `chromium`; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    info = problems_page.write_problems_page(explore.from_runs([runs["dirs"]["base"], runs["dirs"]["rl"]]),
                                             tmp_path / "problems.html")
    p0 = runs["ids"][0]
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(info.path.as_uri() + "#coverage=base_only")  # the link fig05's coverage table uses
        page.wait_for_selector("body[data-ready='1']")
        assert page.input_value("#f-coverage") == "base only"
        assert page.locator("tr.problem").all_text_contents() and page.locator("tr.problem").count() == 1
        page.select_option("#f-coverage", "all")
        page.click("th[data-col='base c/n']")
        page.click("th[data-col='base c/n']")  # descending: the base's best problem first
        assert page.locator("tr.problem").first.get_attribute("data-id") == runs["ids"][1]  # 4/8 beats p0's 3/8
        page.select_option("#f-coverage", "base only")
        page.click(f"tr.problem[data-id='{p0}']")
        base = page.locator("tr.detail section[data-model='base']")
        assert base.locator(".sample").evaluate_all("s => s.map(e => e.dataset.sample)") == ["0", "2", "3", "6"]
        texts = base.locator("pre.text").all_text_contents()
        assert any(HOSTILE in t for t in texts)  # shown verbatim, not executed
        assert page.evaluate("window.pwned") is None
        lucky = base.locator(".sample[data-sample='2'] mark.first-invalid")
        assert lucky.text_content() == runs["texts"]["base"][p0][2].split(";")[1]
        assert base.locator(".sample[data-sample='0'] mark").count() == 0  # a valid trace: nothing marked
        rl = page.locator("tr.detail section[data-model='rl']")
        assert "0 of 8 correct" in rl.locator("h4").text_content()
        assert "given by 5 of 8 samples" in rl.locator(".sample").first.text_content()
        # The model menu: one model's columns and samples only.
        page.select_option("#f-model", "rl")
        headers = page.locator("#problems th").all_text_contents()
        assert "rl c/n" in "".join(headers) and not any(h.startswith("base ") for h in headers)
        assert page.locator("tr.detail section[data-model='base']").count() == 0
        page.select_option("#f-model", "all")
        save_screenshot(page, "problems-page-written-samples.png", "texts written by this test, not model samples")
        browser.close()
    assert not errors, errors


def test_math_verify_answers_are_shown_as_read_not_as_digests(_isolated_outputs, tmp_path):
    """A whole-response math-verify verdict keys its cache by a digest of the
    text; the explorer and problems.html show math-verify's reading of the
    answer instead (several boxes, no box), and the verdicts do not change."""
    from rlboundary.imports.importer import import_run
    from rlboundary.verify.math_verify_key import STAGE, WHOLE

    responses = {"q1": ["so x = \\boxed{1} and y = \\boxed{2}", "the answer is \\(\\sqrt3\\)", "so \\boxed{3}"],
                 "q2": ["thus $\\frac13$ is the answer", "no idea", "so \\boxed{\\frac{1}{3}}"]}
    gold = {"q1": "\\{1, 2\\}", "q2": "\\frac13"}
    path = tmp_path / "gens.jsonl"
    path.write_text("".join(json.dumps({"problem_id": pid, "question": f"question {pid}", "response": r, "gold": gold[pid]}) + "\n"
                            for pid, rs in responses.items() for r in rs))
    run = Path(import_run("jsonl", path, model="mv", benchmark="readable_answers")["run_dir"])
    verdicts = grade_run(run, get_benchmark("readable_answers"), "math-verify")
    by = verdicts.set_index(["problem_id", "sample_idx"])
    # Responses keyed by more than a box (the whole text, or math-verify's first
    # match: several boxes) keep a digest as the key, and show what math-verify read.
    assert by.loc[("q1", 0), "key"].startswith((WHOLE + "sha256:", STAGE + "sha256:"))
    assert by.loc[("q1", 0), "extracted"] == "1,2"
    assert by.loc[("q1", 1), "extracted"] == "\\sqrt{3}" and by.loc[("q2", 0), "extracted"] == "\\frac{1}{3}"
    assert by.loc[("q1", 2), "extracted"] == "3" and by.loc[("q2", 2), "extracted"] == "\\frac{1}{3}"
    assert by["correct"].tolist() == [True, False, False, True, False, True]
    assert not verdicts["extracted"].dropna().str.contains("sha256").any()
    # Read back from the cache (nothing graded again), the same answers.
    again = grade_run(run, get_benchmark("readable_answers"), "math-verify")
    assert again.attrs["stats"].new == 0 and again["extracted"].tolist() == verdicts["extracted"].tolist()

    study = explore.from_runs([run])
    q1 = study.samples[study.samples["problem_id"] == "q1"]
    assert "1,2" in set(q1["answer"]) and not study.samples["answer"].str.contains("sha256").any()
    page, _, _ = problems_page.render_page(study)
    assert "sha256" not in page and "\\\\sqrt{3}" in page
