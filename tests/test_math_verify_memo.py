"""The memoized parsing steps the grading workers install
(verify/math_verify_memo.py) give math-verify's own results: `parse` with
them installed equals plain `parse` on answers and on whole responses built
to be tricky (sets, intervals, equations, percentages, text, failures),
parsed twice (the second time from the caches)."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rlboundary.verify import math_verify_memo

from test_math_verify_key import ANSWERS, TABLE, _random_responses

MORE = ["(1,2)", "\\left( 3, \\frac{\\pi}{2} \\right)", "[1,2)", "(2,\\infty)", "(0,9) \\cup (9,36)", "y = 2x + 3",
        "5x - 7y + 11z + 4 = 0", "x \\in [-2,7]", "\\{1\\pm\\sqrt{5},-2\\}", "1,-2", "10,\\!080", "11,\\! 111",
        "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "6 - 5i", "52_8", "\\$32,\\!348", "3, 5, 7",
        "\\frac{1}{2004!}", "x^8 + x^7 + x^6", "\\text{(E)}+1", "(6,31,-1)+1", "\\frac{", "}{", "3 \\cdot", "))(",
        "\\sqrt[3]{2}", "50\\%", "0.333333", "-\\infty", "a=1,b=2", "1 < x < 2", "\\le 3", "\\emptyset"]


def _read(results):
    return [[(type(x).__name__, str(x)) for x in r] for r in results]


def _parse_all(texts):
    from math_verify import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read(parse(t, parsing_timeout=60) for t in texts)


@pytest.fixture
def installed():
    assert math_verify_memo.install()
    try:
        yield
    finally:
        math_verify_memo.uninstall()


def _texts():
    answers = ANSWERS + MORE
    return (["\\boxed{" + a + "}" for a in answers] + ["The answer is $" + a + "$." for a in answers]
            + [t for t, _ in TABLE] + [t for t, _ in _random_responses(120, seed=11)])


def test_memoized_parse_equals_plain_parse(request):
    texts = _texts()
    plain = _parse_all(texts)
    request.getfixturevalue("installed")
    from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

    # The two-stage parser is in use (the installed ANTLR runtime has what it needs).
    assert "create_parser" in math_verify_memo._ORIGINALS and _Latex2Sympy.create_parser is not math_verify_memo._ORIGINALS["create_parser"]
    # So is the direct number build.
    assert "parse_number" in math_verify_memo._ORIGINALS and _Latex2Sympy.parse_number is not math_verify_memo._ORIGINALS["parse_number"]
    first, again = _parse_all(texts), _parse_all(texts)
    assert first == plain
    assert again == plain
    # Both outcomes were exercised: values and failures (an empty parse or a string only).
    assert any(r and r[0][0] != "str" for r in plain) and any(not r or r[0][0] == "str" for r in plain)


def test_uninstall_restores_math_verify():
    import math_verify.parser as parser
    from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

    before = (parser.parse_latex_cached, parser.parse_expr_cached, parser.normalize_latex, parser.Number, _Latex2Sympy.create_parser, _Latex2Sympy.parse_number)
    assert math_verify_memo.install()
    assert parser.parse_latex_cached is not before[0]
    math_verify_memo.uninstall()
    assert (parser.parse_latex_cached, parser.parse_expr_cached, parser.normalize_latex, parser.Number, _Latex2Sympy.create_parser, _Latex2Sympy.parse_number) == before


def test_failures_are_cached_but_not_timeouts():
    calls = []

    def flaky(s):
        calls.append(s)
        if s == "bad":
            raise ValueError("no parse")
        if s == "deep":
            raise RecursionError()
        return s.upper()

    memo = math_verify_memo._memo(flaky, remember_failures=True)
    assert memo("ok") == "OK" and memo("ok") == "OK"
    for _ in range(2):
        with pytest.raises(Exception):
            memo("bad")
        with pytest.raises(RecursionError):
            memo("deep")
    # "ok" and "bad" ran once each; a recursion error (depends on the stack) every time.
    assert calls == ["ok", "bad", "deep", "deep"]


def test_direct_number_check_passes_for_the_installed_latex2sympy():
    from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

    original = math_verify_memo._ORIGINALS.get("parse_number", _Latex2Sympy.parse_number)
    assert math_verify_memo.direct_numbers_match(original)


_NUMBER_TEXTS = (
    st.from_regex(r"[0-9]{1,40}", fullmatch=True)
    | st.from_regex(r"[0-9]{1,20}\.[0-9]{1,25}", fullmatch=True)
    | st.from_regex(r"[1-9][0-9]{0,2}(,[0-9]{3}){1,4}(\.[0-9]{1,6})?", fullmatch=True)
    | st.from_regex(r"[0-9]{0,3}[.,e][0-9]{0,3}", fullmatch=True)
    | st.sampled_from(["\u0661\u0662", "\u00b2", "12.", ".5", "1e5", "1,,2"])
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(_NUMBER_TEXTS)
@example("0.5")
@example("00012")
@example("3.14159265358979323846264338327950288")
def test_direct_parse_number_equals_latex2sympy(text):
    """latex2sympy's own parse_number (sympy.Number of the text) and the
    direct build: the same object (type, value, float precision), or both fail."""
    from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

    original = math_verify_memo._ORIGINALS.get("parse_number", _Latex2Sympy.parse_number)
    direct = math_verify_memo._direct_parse_number(original)
    converter = _Latex2Sympy()
    try:
        theirs = original(converter, text)
    except Exception as err:
        with pytest.raises(type(err)):
            direct(converter, text)
        return
    ours = direct(converter, text)
    assert type(ours) is type(theirs) and ours == theirs
    assert getattr(ours, "_mpf_", None) == getattr(theirs, "_mpf_", None)
    assert getattr(ours, "_prec", None) == getattr(theirs, "_prec", None)
