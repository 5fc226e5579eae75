"""The exact shortcuts in front of math-verify (verify/math_verify_shortcuts.py)
never change a verdict: each is checked against math-verify itself, on
cases made to sit on the edges of its rules and on random numbers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rlboundary.verify.math_grader as math_grader
from rlboundary.verify.grading import GradingProblem
from rlboundary.verify.math_verify_shortcuts import boxed_number_parse, number_parse_matches, provably_unequal


def _parse(s):
    from math_verify import parse

    return parse("\\boxed{" + s + "}")


def _same_parse(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert type(a) is type(b) and a == b
        assert getattr(a, "_mpf_", None) == getattr(b, "_mpf_", None)
        assert getattr(a, "_prec", None) == getattr(b, "_prec", None)


def test_number_parse_check_passes_for_the_installed_math_verify():
    # The grader only uses the direct parse where this holds.
    assert number_parse_matches()
    assert math_grader._number_parse_ok()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.integers(-(10**12) + 1, 10**12 - 1).map(str)
    | st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False, allow_infinity=False).map(str)
    | st.from_regex(r"-?(0|[1-9][0-9]{0,6})\.[0-9]{1,12}", fullmatch=True)
)
@example("0.5")  # found by this test: latex2sympy rewrites exactly "0.5" to \frac{1}{2}
@example("-0.5")
def test_direct_number_parse_equals_math_verify_parse(text):
    from math_verify import parse

    key = "\\boxed{" + text + "}"
    ours = boxed_number_parse(key)
    if ours is None:  # a form it does not take (e.g. "1E+1", leading zeros): the parser runs
        return
    _same_parse(ours, parse(key))


def test_direct_parse_declines_other_forms():
    for key in ["\\boxed{05}", "\\boxed{.5}", "\\boxed{1,000}", "\\boxed{1e5}", "\\boxed{5\\%}", "\\boxed{-}", "5", "\\boxed{1234567890123}",
                "\\boxed{0.5}"]:  # math-verify reads exactly "0.5" as \frac{1}{2} (a Rational)
        assert boxed_number_parse(key) is None, key


# (gold, prediction, decided): `decided` says the shortcut must answer
# "unequal" (so the test fails if a rule silently stops working). Every row
# is also checked for soundness against verify.
EDGE_CASES = [
    # R1 numbers
    ("\\frac{3\\sqrt{3}}{4}", "3\\sqrt{23}", True),
    ("\\frac{1}{2}", "0.5", False),  # equal: math-verify decides
    ("\\frac{1}{2}", "0.5001", False),  # within the 1e-3 margin: math-verify decides
    ("\\frac{1}{2}", "0.502", True),
    ("\\frac{4}{2}", "2", False),
    ("\\pi", "3.14159", False),
    ("\\pi", "3", True),
    ("10^{40}", "10^{40}+1", False),  # huge and close: left to math-verify
    ("1/2004!", "1/2006!", False),
    ("0.333333", "\\frac{1}{3}", False),
    ("50\\%", "50", False),  # percentage: left to math-verify
    ("50\\%", "0.5", False),
    ("\\infty", "5", False),
    ("\\frac{5}{0}", "5", False),
    # R2 symbols
    ("\\text{ellipse}", "5", True),
    ("\\text{5}", "5", False),
    ("\\text{(E)}", "2", True),
    ("e", "e", False),
    ("\\text{e}", "e", False),
    # R3 sets and tuples
    ("(5,5)", "5", True),
    ("(2,4)", "3", True),
    ("(2,4)", "\\frac{1}{2}", True),
    ("(-\\infty, 3]", "3", True),
    ("(2,12) \\cup (12,102)", "12", True),
    ("\\{5\\}", "5", False),
    ("\\{2, 1+1\\}", "2", False),
    ("[5,5]", "5", False),
    ("[2,2]", "2", False),
    ("(5)", "5", False),
    ("3 \\pm 2 \\sqrt{2}", "5", True),
    ("3 \\pm 2 \\sqrt{2}", "3 - 2\\sqrt{2}", False),
    # R4 matrices
    ("\\begin{pmatrix} 5 \\end{pmatrix}", "5", True),
    ("\\begin{pmatrix} 0.5 \\end{pmatrix}", "0.5", True),
    ("\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", "16", True),
    # R5 polynomials
    ("2k", "0", True),
    ("0k", "0", False),
    ("0 \\cdot k", "0", False),
    ("1+2i", "3", True),
    ("(a+5)(b+2)", "10", True),
    ("x^5 - x^4 + x^3 - x^2 + x - 1", "0", True),
    ("\\cot x", "5", False),
    # R6 assignments
    ("x=5", "5", False),
    ("x=5", "6", True),
    ("y = -2x", "4", True),
    ("5=x", "5", False),
    ("5x - 7y + 11z + 4 = 0", "4", False),
    # R7 two polynomials with rational coefficients
    ("p - q", "2p - q", True),
    ("x^5 - x^4 + x^3 - x^2 + x - 1", "2x^5 - x^4 + x^3 - x^2 + x - 1", True),
    ("8n^2 + 4n + 1", "8n^3 + 4n + 1", True),
    ("2x", "3x", True),
    ("\\frac{x}{2}", "\\frac{x}{3}", True),
    ("(a+5)(b+2)", "ab + 2a + 5b + 11", True),
    ("x^2 - 1", "x^2 + 1", True),  # differ by a constant only
    ("(a+5)(b+2)", "ab + 2a + 5b + 10", False),  # equal once expanded
    ("2k+2", "2(k+1)", False),
    ("x^2 - 1", "(x-1)(x+1)", False),
    ("x + y", "y + x", False),
    ("x + 10^{-20}", "x", False),  # evalf(chop=True) of the difference is 0: math-verify's call
    ("x + 0.5", "x + \\frac{1}{2}", False),  # a float coefficient: math-verify decides
    ("\\frac{x}{2}", "0.5x", False),
    ("\\sqrt{2} x", "2x", False),  # an irrational coefficient
    ("x", "2x", False),  # a lone symbol: math-verify's symbol rules
    ("2x", "x", False),
    ("x^2 + \\sin x", "x^2", False),  # not a polynomial
    ("y = 2x + 3", "2x + 3", False),  # a relation
    ("50\\% x", "x", False),
    # predictions that are neither numbers nor polynomials: always math-verify
    ("3", "x", False),
    ("(1,2)", "(1,3)", False),
]


@pytest.mark.parametrize("gold,pred,decided", EDGE_CASES, ids=[f"{g}|{p}" for g, p, _ in EDGE_CASES])
def test_shortcut_is_sound_on_edge_cases(gold, pred, decided):
    _assert_sound(_parse(gold), _parse(pred), decided)


def _assert_sound(g, p, decided):
    """The shortcut never calls a pair verify finds equal unequal, and decides exactly when expected."""
    from math_verify import verify

    unequal = provably_unequal(g, p)
    if unequal:
        assert not verify(g, p), "the shortcut called an equal pair unequal"
    assert unequal == decided


GOLDS = [
    "\\frac{3}{4}", "-\\frac{7}{2}", "2\\sqrt{3}", "\\frac{\\sqrt{2}}{2}", "3\\pi", "0.25", "12.5", "e^2", "\\log_2 8",
    "(1, 2)", "[0, 1)", "\\{1, 3\\}", "(-\\infty, 0) \\cup (2, \\infty)", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
    "x^2 + 1", "2n+1", "\\text{odd}", "k=7", "1 - 3i", "75\\%", "1000", "-4", "0",
]


def _preds_for(gold_value):
    preds = ["0", "1", "-1", "2", "7", "1000", "0.5", "0.75", "12.5", "\\frac{3}{4}", "\\sqrt{2}"]
    if gold_value is not None:
        for delta in (0, 1e-7, 1e-4, 0.01, 1):
            preds.append(repr(round(gold_value + delta, 9)))
        preds.append(str(round(gold_value)))
        preds.append(repr(round(gold_value * 100, 6)))
    return preds


def test_shortcut_is_sound_against_verify_on_a_grid():
    """Every decision against math-verify on golds of each kind x numbers
    around their values; and the shortcut decides most far-off pairs."""
    from math_verify import verify
    from sympy import N

    decided = checked = 0
    for gold in GOLDS:
        g = _parse(gold)
        try:
            value = float(N(g[0]))
        except (TypeError, ValueError, IndexError):
            value = None
        for pred in _preds_for(value):
            p = _parse(pred)
            if provably_unequal(g, p):
                decided += 1
                assert not verify(g, p), (gold, pred)
            checked += 1
    assert decided > checked / 2, (decided, checked)


def _random_polynomial(rng, names):
    terms = []
    for _ in range(rng.randint(1, 4)):
        coef = rng.choice([1, -1, 2, 3, -5, "\\frac{1}{2}", "\\frac{3}{4}"])
        var = rng.choice(names)
        power = rng.randint(0, 3)
        monomial = "" if power == 0 else (var if power == 1 else f"{var}^{power}")
        terms.append(f"{coef}{monomial}" if monomial else str(coef))
    return " + ".join(terms)


def test_polynomial_rule_is_sound_on_random_polynomials():
    """R7 against verify on random polynomial pairs: equal ones written
    differently (never decided), near ones (a coefficient off by one, a
    constant added) and unrelated ones (decided when they differ)."""
    import random

    rng = random.Random(5)
    pairs = []
    for _ in range(60):
        names = rng.choice([["x"], ["x", "y"], ["n"], ["a", "b"]])
        gold = _random_polynomial(rng, names)
        preds = (f"({gold})", f"{gold} + 1", f"2({gold})", _random_polynomial(rng, names), f"{gold} + 0 {names[0]}")
        pairs += [(gold, pred) for pred in preds]
    _assert_sound_and_mostly_decided(pairs)


def _assert_sound_and_mostly_decided(pairs):
    """Against verify: never "unequal" for an equal pair; decides more than
    half of the unequal ones."""
    from math_verify import verify

    decided = unequal_pairs = 0
    for gold, pred in pairs:
        g, p = _parse(gold), _parse(pred)
        if not g or not p:
            continue
        shortcut = provably_unequal(g, p)
        truth = verify(g, p, timeout_seconds=60)
        if shortcut:
            assert not truth, (gold, pred)
        if not truth:
            unequal_pairs += 1
            decided += shortcut
    assert decided > unequal_pairs / 2, (decided, unequal_pairs)


# R8: a percentage prediction (the whole response parsed, as the grader's
# stage keys are) against a plain-number gold. (gold, response, decided).
PERCENT_CASES = [
    ("12", "So $\\boxed{12}$%.", False),  # math-verify's "9% == 9": equal
    ("12", "So $\\boxed{12.0}$%.", True),  # a Float percentage compares as 0.12
    ("12", "So $\\boxed{13}$%.", True),
    ("-50", "The probability is $\\boxed{486}$%.", True),
    ("0.12", "So $\\boxed{12}$%.", False),  # equal: 12/100
    ("0.12", "So $\\boxed{12.00001}$%.", False),  # equal after 6-decimal rounding
    ("\\frac{3}{25}", "So $\\boxed{12}$%.", False),
    ("1", "So $\\boxed{100}$%.", False),  # equal by simplify(1 - 100 (1/100))
    ("100", "So $\\boxed{100}$%.", False),  # equal as integers
    ("100", "So $\\boxed{100.0}$%.", True),
    ("0.7", "So $\\boxed{70}$ percent.", False),
    ("0.7", "So $\\boxed{71}$ percent.", True),
    ("0.7", "So $\\boxed{70.05}$ percent.", False),  # within the margin of 0.7: math-verify decides
    ("70\\sqrt{2}", "So $\\boxed{70\\sqrt{3}}$%.", True),
    ("\\frac{7\\sqrt{3}}{10}", "So $\\boxed{70\\sqrt{3}}$%.", False),  # equal value
    ("\\frac{3\\sqrt{3}}{4}", "So $\\boxed{\\frac{3\\sqrt{3}}{4}}$%.", False),  # the same string: verify says equal
    ("\\frac{3\\sqrt{3}}{4}", "So $\\boxed{\\frac{3\\sqrt{3}}{4}+1}$%.", True),
    ("10^{40}", "So $\\boxed{10^{42}}$%.", False),  # equal value
    ("10^{40}", "So $\\boxed{10^{41}}$%.", True),
    ("12", "So $\\boxed{3.5\\%}$%.", False),  # a percentage of a percentage: declined
    ("50\\%", "So $\\boxed{50}$%.", False),  # a percentage gold: declined
    ("x", "So $\\boxed{12}$%.", True),  # R2: a symbol
    ("(1,2)", "So $\\boxed{12}$%.", True),  # R3: an interval
    ("\\frac{1}{3}", "So $\\boxed{\\frac{1}{3}}$%.", False),  # not latex2sympy's plain percentage shape
    # R8 with the other gold shapes (R2-R7)
    ("\\begin{pmatrix} 12 \\end{pmatrix}", "So $\\boxed{12}$%.", True),
    ("\\text{odd}", "So $\\boxed{12}$%.", True),
    ("(12, 3)", "So $\\boxed{12}$%.", True),
    ("(12)", "So $\\boxed{12}$%.", False),
    ("[0, 1)", "So $\\boxed{12}$%.", True),
    ("(-\\infty, 2) \\cup (3, \\infty)", "The probability is $\\boxed{469}$%.", True),
    ("\\{12\\}", "So $\\boxed{12}$%.", False),  # {12} vs 12%: equal for math-verify
    ("\\{0.12\\}", "So $\\boxed{12}$%.", False),
    ("\\{12, 5\\}", "So $\\boxed{12}$%.", False),  # close to v: left to math-verify
    ("\\{7, 5\\}", "So $\\boxed{12}$%.", True),
    ("1 \\pm \\sqrt{19}", "So $\\boxed{406}$%.", True),
    ("x^2 + 1", "So $\\boxed{12}$%.", True),
    ("x=12", "So $\\boxed{12}$%.", False),  # x = 12 vs 12%: its right side, equal
    ("x=13", "So $\\boxed{12}$%.", True),
    ("x=0.12", "So $\\boxed{12.0}$%.", False),
    ("p - q", "So $\\boxed{-p - q}$%.", True),  # R7 on (-p - q)/100
    ("\\frac{p - q}{100}", "So $\\boxed{p - q}$%.", False),  # equal: (p - q)/100
    ("6r^2-4r-24", "So $\\boxed{7r^2-4r-24}$%.", True),
    ("x", "So $\\boxed{x}$%.", False),  # a lone symbol: math-verify's symbol rules
]


@pytest.mark.parametrize("gold,response,decided", PERCENT_CASES, ids=[f"{g}|{r}" for g, r, _ in PERCENT_CASES])
def test_percentage_rule_is_sound_on_edge_cases(gold, response, decided):
    from math_verify import parse

    _assert_sound(_parse(gold), parse(response), decided)


def test_percentage_rule_is_sound_against_verify_on_a_grid():
    """R8 against verify: number golds of each type x percentages of
    integers, decimals and closed forms at, near and far from gold and
    gold x 100; and it decides most far-off pairs."""
    from math_verify import parse, verify

    golds = ["12", "-3", "0", "1", "0.12", "0.5", "\\frac{3}{25}", "\\frac{1}{2}", "2\\sqrt{3}", "\\pi", "250", "0.001"]
    values = ["12", "12.0", "-3", "0", "0.0", "1", "100", "100.0", "50", "50.0", "0.12", "0.5", "25", "1200", "12.0001",
              "346.41016151377545", "200\\sqrt{3}", "100\\pi", "314.159", "2\\sqrt{3}", "0.1", "25000", "250", "7"]
    decided = unequal_pairs = 0
    for gold in golds:
        g = _parse(gold)
        for v in values:
            p = parse(f"So the answer is $\\boxed{{{v}}}$%.")
            shortcut = provably_unequal(g, p)
            truth = verify(g, p)
            if shortcut:
                assert not truth, (gold, v)
            if not truth:
                unequal_pairs += 1
                decided += shortcut
    assert decided > 0.8 * unequal_pairs, (decided, unequal_pairs)


# R9: two linear equations. (gold, prediction, decided).
EQUATION_CASES = [
    ("y = 2x + 3", "y = 3x + 3", True),
    ("y = 2x + 3", "2y = 2x + 3", True),
    ("y = 2x + 3", "-y = 2x + 3", True),
    ("y = 2x + 3", "y = 2x + 3+1", True),
    ("5x - 7y + 11z + 4 = 0", "5x - 7y + 11z + 5 = 0", True),
    ("5x - 7y + 11z + 4 = 0", "25x - 7y + 11z + 4 = 0", True),
    ("x = 5", "x = 6", True),
    ("x = 5", "y = 5", True),
    ("x + y = 1", "x + z = 1", True),
    ("y = 2x + 3", "2y = 4x + 6", False),  # proportional: equal for math-verify
    ("y = 2x + 3", "-y = -2x - 3", False),
    ("y = 2x + 3", "2x + 3 = y", False),
    ("y = 2x + 3", "y - 2x = 3", False),
    ("5x - 7y + 11z + 4 = 0", "-10x + 14y - 22z - 8 = 0", False),
    ("y = \\frac{x}{2}", "y = x", False),  # a non-integer coefficient: math-verify decides
    ("y = 2x + 3", "y = 2x^2 + 3", False),  # not linear
    ("y = 2x + 3", "y = 2.5x + 3", False),  # a float
    ("y = 2x + 3", "Y = 2x + 3", False),  # names equal but for case: math-verify's symbol rules
    ("10^{7} x = 1", "10^{7} x = 2", False),  # coefficients too large for the chop argument
    ("x = 0", "x = 1", False),  # x - 0 is a lone symbol: math-verify's symbol rules
    ("y = 2x + 3", "y < 2x + 3", False),  # not an equation
]


@pytest.mark.parametrize("gold,pred,decided", EQUATION_CASES, ids=[f"{g}|{p}" for g, p, _ in EQUATION_CASES])
def test_equation_rule_is_sound_on_edge_cases(gold, pred, decided):
    _assert_sound(_parse(gold), _parse(pred), decided)


def _random_linear(rng, names):
    terms = [f"{rng.choice([1, -1, 2, 3, -5, 7])}{n}" for n in names if rng.random() < 0.8] or [f"2{names[0]}"]
    return " + ".join(terms) + f" + {rng.randint(-9, 9)}"


def test_equation_rule_is_sound_on_random_linear_equations():
    """R9 against verify on random linear equations: the same equation
    scaled, flipped or rearranged (never decided), and perturbed or
    unrelated ones (decided when verify says unequal)."""
    import random

    rng = random.Random(9)
    pairs = []
    for _ in range(25):
        names = rng.choice([["x", "y"], ["x", "y", "z"], ["a", "b"]])
        lhs = _random_linear(rng, names)
        gold = f"{lhs} = 0"
        k = rng.choice([2, -3])
        preds = [f"{k}({lhs}) = 0", f"0 = {lhs}", f"{lhs} + 1 = 0", f"{_random_linear(rng, names)} = 0",
                 f"{lhs} = {names[0]}"]
        pairs += [(gold, pred) for pred in preds]
    _assert_sound_and_mostly_decided(pairs)


def test_grader_verdicts_identical_with_and_without_shortcuts(monkeypatch):
    """The grader's verdict (not only correct/incorrect) is the same with the
    shortcuts on and off, on pairs mixing every kind above."""
    grader = math_grader.MathVerifyGrader()
    pairs = list(itertools.product(GOLDS[::2], ["\\boxed{3}", "\\boxed{0.75}", "\\boxed{\\frac{3}{4}}", "\\boxed{2n+1}", "\\boxed{(1,2)}", "\\boxed{x}"]))
    pairs += [(g, p) for g, p, _ in EDGE_CASES[:20]] + [(g, p) for g, p, _ in EDGE_CASES if "x" in g and "x" in p]
    pairs += [(g, p) for g, p, _ in EQUATION_CASES]

    def grade_all():
        out = []
        for gold, pred in pairs:
            key = pred if pred.startswith("\\boxed{") else "\\boxed{" + pred + "}"
            out.append(grader.grade(key, GradingProblem("p", "", gold, {}))[0])
        return out

    with_shortcuts = grade_all()
    monkeypatch.setattr(math_grader, "_SHORTCUTS", False)
    monkeypatch.setattr(math_grader, "_NUMBER_PARSE_OK", False)
    monkeypatch.setattr(math_grader, "_PRED_CACHE", {})
    math_grader._parse_gold_cached.cache_clear()
    try:
        without = grade_all()
    finally:
        math_grader._parse_gold_cached.cache_clear()
    assert with_shortcuts == without
    assert "correct" in with_shortcuts and "incorrect" in with_shortcuts
