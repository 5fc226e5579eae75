"""Exact shortcuts in front of math-verify: skip its costly steps only
where their outcome is already certain.

    from rlboundary.verify.math_verify_shortcuts import boxed_int_parse, provably_unequal
    pred = boxed_int_parse("\\\\boxed{42}")        # == math_verify.parse("\\\\boxed{42}")
    provably_unequal(gold_parsed, pred)           # True: verify(gold, pred) must be False

Used by the `math-verify` grader (`math_grader.MathVerifyGrader.grade`),
inside grading workers. Profiling the grading benchmark showed where a
wrong answer's time goes: half in parsing it (latex2sympy's ANTLR parser,
~2 ms even for `\\boxed{629635}`), half in `verify`'s last resort,
`simplify(gold - pred)` (5-15 ms against a symbolic gold). Wrong answers
are the many distinct ones, so this is most of the grading time.

1. `boxed_int_parse`: a boxed plain integer parses to `[Integer(n), "n"]`
   (sympy value, then the raw string). Built directly, no parser. Valid
   for the installed math-verify only: `int_parse_matches()` compares it
   with the real `parse` on edge cases, and the grader uses it only if
   that check passes in the worker (and the tests run the same check).

2. `provably_unequal(gold, pred)`: True only when every (gold, pred)
   element pair that `verify` compares is certainly unequal:
   - two strings: compared as `verify` does (stripped, equal);
   - a string and a sympy object: `verify` never equates them;
   - two sympy objects that are both *plain closed-form numbers* (an
     `Expr` without free symbols, matrices, percentages
     (`UnevaluatedExpr`), sets, tuples or relations) whose values,
     evaluated at 30 and 50 digits (agreeing, so the evaluation is
     trustworthy), differ by more than 1e-3 (plus a relative margin for
     huge numbers). For such a pair every test `verify` makes
     (`sympy_expr_eq`: structural equality, 6-decimal rounding for
     floats, integer equality, `evalf` of the difference, `simplify` of
     the difference) compares values, and values that far apart fail all
     of them.
   Anything else (a symbol, a set, an equation, a near value) answers
   False: the caller runs math-verify itself. So the shortcut only ever
   replaces a `verify` that would return False (or time out) by the
   verdict "incorrect"; every "correct" still comes from math-verify.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# What `boxed_int_parse` accepts: the box of a plain integer, no leading
# zeros, at most 12 digits (as `math_grader._PLAIN_INT`).
_BOXED_INT = re.compile(r"\\boxed\{(-?(?:0|[1-9]\d{0,11}))\}")

# Values closer than this are left to math-verify (it rounds floats to 6
# decimals; this stays well clear of that).
ABS_MARGIN = "1e-3"
# Relative slack for huge magnitudes (30-digit evaluation).
REL_MARGIN = "1e-20"


def boxed_int_parse(key: str) -> list | None:
    """`math_verify.parse(key)` for a boxed plain integer, without parsing; None otherwise."""
    m = _BOXED_INT.fullmatch(key)
    if m is None:
        return None
    from sympy import Integer

    return [Integer(int(m.group(1))), m.group(1)]


_INT_PARSE_CHECKS = ["\\boxed{0}", "\\boxed{-0}", "\\boxed{7}", "\\boxed{-12}", "\\boxed{1000000}", "\\boxed{123456789012}"]


def int_parse_matches(parse=None) -> bool:
    """True when `boxed_int_parse` equals the installed math-verify's `parse`
    (same types, same values, same strings) on edge cases."""
    if parse is None:
        from math_verify import parse
    for key in _INT_PARSE_CHECKS:
        ours, theirs = boxed_int_parse(key), parse(key)
        if len(ours) != len(theirs):
            return False
        for a, b in zip(ours, theirs):
            if type(a) is not type(b) or a != b:
                return False
    return True


def _finite_number(x) -> bool:
    return bool(getattr(x, "is_Number", False)) and bool(x.is_finite)


@lru_cache(maxsize=20000)
def closed_form_value(x) -> tuple | None:
    """(re, im, magnitude) of a plain closed-form number as 50-digit sympy
    Floats; None when `x` is anything else or cannot be evaluated reliably."""
    from sympy import Expr, Float, Integer, Rational, Symbol, UnevaluatedExpr
    from sympy.matrices import MatrixBase

    if isinstance(x, (Integer, Rational)):  # exact already (Integer is a Rational)
        v = Float(x, 50)
        return v, Float(0, 50), abs(v)
    if not isinstance(x, Expr) or isinstance(x, (Symbol, MatrixBase)) or getattr(x, "is_Matrix", False):
        return None
    if not x.is_number or x.has(UnevaluatedExpr):
        return None
    values = []
    for digits in (30, 50):
        re_part, im_part = x.evalf(digits).as_real_imag()
        if not (_finite_number(re_part) and _finite_number(im_part)):
            return None
        values.append((Float(re_part, 50), Float(im_part, 50)))
    (r30, i30), (r50, i50) = values
    mag = max(abs(r50), abs(i50))
    # The two evaluations must agree to ~25 digits: sympy's evalf reached
    # its precision, so the value can be trusted.
    if abs(r30 - r50) > Float("1e-25", 50) * max(mag, 1) or abs(i30 - i50) > Float("1e-25", 50) * max(mag, 1):
        return None
    return r50, i50, mag


def _values_far(a: tuple, b: tuple) -> bool:
    from sympy import Float

    dr, di = a[0] - b[0], a[1] - b[1]
    margin = Float(ABS_MARGIN, 50) + Float(REL_MARGIN, 50) * max(a[2], b[2])
    return bool(dr * dr + di * di > margin * margin)


def provably_unequal(gold: list, pred: list) -> bool:
    """True only if `math_verify.verify(gold, pred)` must be False (see the
    module docstring); False means "not known", not "equal"."""
    from sympy import Basic
    from sympy.matrices import MatrixBase

    if not isinstance(gold, list) or not isinstance(pred, list) or not pred:
        return False
    for g in gold:
        for t in pred:
            if isinstance(g, str) and isinstance(t, str):
                g_s, t_s = g.strip(), t.strip()
                if g_s and t_s and g_s == t_s:
                    return False
            elif isinstance(g, (Basic, MatrixBase)) and isinstance(t, (Basic, MatrixBase)):
                a, b = _cached_value(g), _cached_value(t)
                if a is None or b is None or not _values_far(a, b):
                    return False
            elif not (isinstance(g, (str, Basic, MatrixBase)) and isinstance(t, (str, Basic, MatrixBase))):
                return False  # a type verify was not written for: let it decide
            # else: a string and a sympy object, which verify never equates
    return True


def _cached_value(x: Any):
    try:
        try:
            return closed_form_value(x)
        except TypeError:  # unhashable: evaluate without the cache
            return closed_form_value.__wrapped__(x)
    except Exception:  # evaluation failed: not known to be a plain number
        return None
