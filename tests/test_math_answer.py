"""Final-answer extraction and normalisation (tests/data/math_cases_extract.csv),
plus linear-time checks on pathological inputs."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from rlboundary.verify.math_answer import MAX_ANSWER_CHARS, extract_answer, last_boxed, normalize_answer, strip_string

CASES = list(csv.DictReader(open(Path(__file__).parent / "data" / "math_cases_extract.csv", encoding="utf-8")))


@pytest.mark.parametrize("case", CASES, ids=[c["note"][:40] for c in CASES])
def test_extraction_table(case):
    found = extract_answer(case["text"])
    assert (found.answer or "") == case["answer"]
    assert found.method == case["method"]
    assert (normalize_answer(found.answer) or "") == case["normalized"]


def test_strip_string_is_stable_on_its_output():
    # The reference normalises predictions twice; for ordinary answers a
    # second pass changes nothing.
    for case in CASES:
        once = strip_string(case["answer"])
        if "\\text" not in case["answer"] and "=" not in case["answer"]:
            assert strip_string(once) == once


def test_no_cleanup_keeps_latex_whitespace():
    # `\pi\n r` must not become `\pir` for the math-verify grader.
    text = "\\boxed{2\\pi\n r}"
    assert extract_answer(text, cleanup=False).answer == "2\\pi\n r"
    assert extract_answer(text).answer == "2\\pir"


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def test_megabyte_of_text_is_linear():
    text = ("word 12 { } \\frac{1}{2} " * 45000)[:1_000_000] + "\\boxed{42}"
    found, seconds = _timed(extract_answer, text)
    assert found.answer == "42"
    assert seconds < 2.0
    # A megabyte with no box falls back to the last number, still linear.
    found, seconds = _timed(extract_answer, "x 7 " * 250_000)
    assert found == extract_answer("x 7") and seconds < 2.0


def test_ten_thousand_nested_braces_no_recursion():
    inner = "{" * 10_000 + "1" + "}" * 10_000
    content, seconds = _timed(last_boxed, "\\boxed{" + inner + "}")
    assert content == inner and seconds < 1.0
    # Too long to be an answer: extraction gives up instead of parsing it.
    assert len(inner) > MAX_ANSWER_CHARS
    assert extract_answer("\\boxed{" + inner + "}").answer is None
    # Unbalanced the other way: a megabyte of open braces.
    content, seconds = _timed(last_boxed, "\\boxed{" + "{" * 1_000_000)
    assert seconds < 2.0 and content.startswith("{")


def test_surrogates_and_non_strings_do_not_raise():
    assert extract_answer("\\boxed{\udcff5}").answer == "\udcff5"
    assert extract_answer(None).answer is None  # type: ignore[arg-type]
    assert extract_answer(b"\\boxed{5}").answer is None  # type: ignore[arg-type]
