"""Both math graders on the hard-case table (tests/data/math_cases.csv) and on
pathological responses, all through the real worker processes."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pandas as pd
import pytest

from rlboundary.verify.grading import GradingProblem, get_grader, grade_frame
from rlboundary.verify.math_grader import math_equal

CASES = list(csv.DictReader(open(Path(__file__).parent / "data" / "math_cases.csv", encoding="utf-8")))
GRADERS = {"math-verify": "math_verify", "math-equal": "math_equal"}


def _frame(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"problem_id": [str(i) for i in range(len(texts))], "sample_idx": 0, "text": pd.Series(texts, dtype=object)}
    )


@pytest.mark.parametrize("name", list(GRADERS))
def test_hard_case_table(name):
    problems = [GradingProblem(str(i), "", c["gold"], {}) for i, c in enumerate(CASES)]
    verdicts = grade_frame(_frame([c["response"] for c in CASES]), problems, get_grader(name))
    got = dict(zip(verdicts["problem_id"], verdicts["verdict"]))
    wrong = [
        f"{c['response']!r} vs {c['gold']!r}: expected {c[GRADERS[name]]}, got {got[str(i)]} ({c['note']})"
        for i, c in enumerate(CASES)
        if got[str(i)] != c[GRADERS[name]]
    ]
    assert not wrong, "\n".join(wrong)
    assert (verdicts["correct"] == (verdicts["verdict"] == "correct")).all()


def test_table_covers_both_outcomes_and_disagreements():
    # The table must keep cases each way, and the cases where the graders differ.
    for col in GRADERS.values():
        assert {"correct", "incorrect", "unparseable"} <= {c[col] for c in CASES}
    assert any(c["math_verify"] != c["math_equal"] for c in CASES)


def test_math_equal_semantics_directly():
    assert math_equal("0.5", "\\frac{1}{2}")
    assert math_equal("x=3", "3") and math_equal("3", "x=3")
    assert math_equal("50", "0.5")  # percentages: value*100 accepted, as in the paper's grader
    assert not math_equal("0.6", "0.5")
    assert math_equal("(1,\\frac{9}{2})", "(1,4.5)")
    assert not math_equal(None, "1")
    # Model text never reaches eval(): this parses as a string and fails, harmlessly.
    assert not math_equal("__import__('os').system('false')", "0")


PATHOLOGICAL = {
    "megabyte": "x " * 500_000 + "\\boxed{3}",
    "nested_10k": "\\boxed{" + "{" * 10_000 + "3" + "}" * 10_000 + "}",
    "nested_2k_parsed": "\\boxed{" + "{" * 2_000 + "3" + "}" * 2_000 + "}",
    "surrogates": "\\boxed{\udcff\ud800 3}",
    "tower": "\\boxed{10^{10^{10^{10}}}}",
    "factorial_tower": "\\boxed{(10^{10})!}",
    "many_boxes": "\\boxed{1}" * 50_000,
    "control_chars": "\\boxed{\x00\x07\x1b[31m3}",
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(GRADERS))
def test_pathological_responses_get_a_verdict_in_bounded_time(name):
    grader = get_grader(name, item_timeout_s=2)
    problems = [GradingProblem(str(i), "", "3", {}) for i in range(len(PATHOLOGICAL))]
    start = time.monotonic()
    verdicts = grade_frame(_frame(list(PATHOLOGICAL.values())), problems, grader)
    elapsed = time.monotonic() - start
    by_case = dict(zip(PATHOLOGICAL, verdicts.sort_values("problem_id", key=lambda s: s.astype(int))["verdict"]))
    assert set(by_case.values()) <= {"correct", "incorrect", "unparseable", "timeout"}, by_case
    # Every item within its budget: 8 items, 2 workers, wall deadline 3*2+10 s each.
    assert elapsed < 8 * 16 / 2 + 30, (elapsed, by_case)
    assert by_case["megabyte"] == "correct"  # a long text with a normal answer is fine
    # Whatever a grader echoes back from model text must be storable as Parquet text.
    for text in verdicts["extracted"].dropna():
        text.encode("utf-8")
    if name == "math-equal":
        assert by_case["nested_10k"] == "unparseable"  # too long to be an answer
    else:  # plain math-verify parses whatever the box holds: here it runs out of time
        assert by_case["nested_10k"] in {"unparseable", "timeout"}
    assert by_case["tower"] in {"timeout", "unparseable", "incorrect"}


def test_a_gold_parse_that_timed_out_is_not_kept(monkeypatch):
    """math-verify's timeouts are wall-clock: a gold parse that hit one (on a
    starved machine) gives that item "timeout", and the next item parses
    the gold again instead of grading against the empty parse."""
    import logging

    import math_verify

    import rlboundary.verify.math_grader as math_grader

    real_parse, calls = math_verify.parse, []

    def parse_timing_out_once(text, *args, **kwargs):
        calls.append(text)
        if len(calls) == 1:
            logging.getLogger("math_verify").warning("Timeout during parsing")
            return []
        return real_parse(text, *args, **kwargs)

    grader = get_grader("math-verify")
    problem = GradingProblem("p", "", "\\frac{\\pi}{7} + 3", {})
    math_grader._number_parse_ok()  # (its own check calls parse: done before the patch)
    math_grader._parse_gold_cached.cache_clear()
    monkeypatch.setattr(math_verify, "parse", parse_timing_out_once)
    try:
        first = grader.grade("\\boxed{3 + \\frac{\\pi}{7}}", problem)[0]
        second = grader.grade("\\boxed{3 + \\frac{\\pi}{7}}", problem)[0]
    finally:
        math_grader._parse_gold_cached.cache_clear()
    assert (first, second) == ("timeout", "correct")
