"""Exact shortcuts in front of math-verify: skip its costly steps only
where their outcome is already certain.

    from rlboundary.verify.math_verify_shortcuts import boxed_number_parse, provably_unequal
    pred = boxed_number_parse("\\\\boxed{4.5}")     # == math_verify.parse("\\\\boxed{4.5}")
    provably_unequal(gold_parsed, pred)           # True: verify(gold, pred) must be False

Used by the `math-verify` grader (`math_grader.MathVerifyGrader.grade`),
inside grading workers. Profiling the grading benchmark showed where a
wrong answer's time goes: half in parsing it (latex2sympy's ANTLR parser,
~2 ms even for `\\boxed{629635}`), half in `verify`'s last resort,
`simplify(gold - pred)` (5-15 ms against a symbolic gold). Wrong answers
are the many distinct ones, so this is most of the grading time.

1. `boxed_number_parse`: a boxed plain integer or decimal parses to
   `[value, "text"]` (the sympy number latex2sympy makes with
   `sympy.Number(text)`, then the raw string). Built directly, with no
   parser at all (latex2sympy's `sympy.Number(text)` alone runs sympify's
   string parser, ~0.5 ms).
   Valid for the installed math-verify only: `number_parse_matches()`
   compares it with the real `parse` on edge cases (types, values, float
   precisions, strings), and the grader uses it only if that check passes
   in the worker (the tests run the same check).

2. `provably_unequal(gold, pred)`: True only when every (gold, pred)
   element pair that `verify` compares is certainly unequal. For each pair:
   - two strings: compared as `verify` does (stripped, equal);
   - a string and a sympy object: `verify` never equates them;
   - two sympy objects: only when the prediction is a *plain closed-form
     number* (an `Expr` without free symbols, matrices, percentages
     (`UnevaluatedExpr`), sets, tuples or relations, evaluated at 30 and
     50 digits that agree) and the gold is
     R1 a plain number whose value differs by more than 1e-3 (plus a
        relative margin for huge numbers): every test of math-verify's
        `sympy_expr_eq` (structural equality, 6-decimal rounding for
        floats, integer equality, `evalf` of the difference, `simplify`
        of the difference) compares values, and such values fail them all;
     R2 a `Symbol`: `sympy_expr_eq` decides by `sympy_compare_symbols`,
        which for a number that is not `E`-based is `str(gold) == str(pred)`;
     R3 a set or tuple: `sympy_compare_sets` against `{pred}`: a tuple of
        length other than 1, intervals (or a union of them) with numeric
        endpoints at least 1e-3 apart, or a finite set of plain numbers
        all far from the prediction, never equal a one-element set;
     R4 a matrix: math-verify compares a matrix with a scalar by `==`
        (False) and by `a - b` (a TypeError it catches as False);
     R5 a polynomial in its free symbols with a non-constant term whose
        coefficient is a plain number of size > 1e-3: its difference with
        a number is a non-zero polynomial, never zero by `evalf` or
        `simplify`, never structurally equal;
     R6 an assignment `y = rhs` (math-verify compares `rhs` then): R1-R5
        on `rhs`.
   - R7 two polynomials: gold and prediction both polynomials in their
     free symbols with exact (rational) coefficients, neither a number nor
     a lone `Symbol`, nor relations, sets, matrices or percentages. For
     such a pair `sympy_expr_eq` reduces to three tests: `gold == pred`,
     `(gold - pred).evalf(chop=True, n=15) == 0`, and
     `simplify(gold - pred).is_zero`. The first two are cheap and run here,
     exactly as math-verify runs them; the third (the costly one, 5-200
     ms) cannot hold when the expanded difference is a non-zero
     polynomial, which is checked exactly (rational arithmetic).
   - R8 a percentage prediction `v%` (latex2sympy's
     `Mul(v, UnevaluatedExpr(1/100))`, the shape math-verify's
     `get_pct_val` recognises; no percentage inside v). Every test in
     `sympy_expr_eq` then sees the value v/100, but one: in
     `sympy_numeric_eq`, a gold `Integer` and an `Integer` v compare g
     with v itself ("9% == 9"). The other tests: `g == v%` (structural; the
     gold holds no `UnevaluatedExpr`, so never equal); 6-decimal rounding
     after `doit` (v% -> v/100) when either is a Float; `doit(g) ==
     doit(v%)`; `(g - v%).evalf(chop=True) == 0`; `simplify(g -
     v%).is_zero`; and sympy_compare_sets / sympy_compare_symbols exactly
     as for a number (a one-element set {v%}; `str(v%)`). So R1-R7 hold
     with v/100 as the prediction's value (a plain closed-form v) or as
     the polynomial compared (R7, v a polynomial), plus: R1 never decides
     an `Integer` gold equal to an `Integer` v, and R3's finite sets must
     be far from v too.
   - R9 two equations (`Eq`, single): linear in their free symbols, with
     integer coefficients of size <= 1e6, symbols whose lower-cased names
     are all different and not "e", and NOT proportional (so their
     solution sets, two hyperplanes, differ). `sympy_expr_eq` keeps both
     as they are (assignment truncation is a no-op for one `Eq`) and goes
     to `sympy_compare_relational`: (a) `sympy_expr_eq(lhs - rhs, lhs' -
     rhs')` and (b) the flipped pair: two polynomials, decided by R7 here
     (both must be provably apart, else math-verify decides); (c)
     `sympy_solve_and_compare`: `solve` describes each solution set (a
     hyperplane) by dicts {symbol: value}; it answers True only if the
     keys are equal and every value pair is `sympy_expr_eq`-equal. The
     values are rational-linear expressions (numbers, symbols,
     polynomials) whose coefficients are ratios of integers <= 1e6, so two
     different ones differ by >= 1e-12 in some coefficient: evalf does not
     chop that, simplify does not make it zero, and with distinct names
     no symbol rule equates two different symbols. Equal dicts would mean
     equal hyperplanes, which non-proportional equations do not have; a
     different number of dicts or keys fails (strict zip, caught).
   Anything else (a near value, an equation, a symbolic prediction...)
   answers False: the caller runs math-verify itself. So the shortcut only
   ever replaces a `verify` that would return False (or time out) by the
   verdict "incorrect"; every "correct" still comes from math-verify.
   `tests/test_math_shortcuts.py` checks each rule against `verify` on
   cases made to sit on its edges, and `benchmarks/verify_throughput.py
   --cover-pairs` against naive math-verify on every distinct pair.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# What `boxed_number_parse` accepts: the box of a plain integer (no leading
# zeros, at most 12 digits, as `math_grader._PLAIN_INT`) or of a plain
# decimal (digits, a point, digits; at most 30 digits in all).
_BOXED_NUMBER = re.compile(r"\\boxed\{(-?)((?:0|[1-9]\d{0,11})|(?:0|[1-9]\d{0,14})\.\d{1,15})\}")

# Values closer than this are left to math-verify (it rounds floats to 6
# decimals; this stays well clear of that).
ABS_MARGIN = "1e-3"
# Relative slack for huge magnitudes (30-digit evaluation).
REL_MARGIN = "1e-20"


def boxed_number_parse(key: str) -> list | None:
    """`math_verify.parse(key)` for a boxed plain integer or decimal, without
    parsing; None for any other key."""
    m = _BOXED_NUMBER.fullmatch(key)
    if m is None:
        return None
    from sympy import Float, Integer

    sign, digits = m.groups()
    if not sign and digits == "0.5":
        # latex2sympy's normalisation rewrites exactly "0.5" to \frac{1}{2}
        # (`normalize_latex`, nits): parse gives [Rational(1, 2), "\frac{1}{2}"].
        return None
    # latex2sympy makes these with sympy.Number(text), which goes through
    # sympify's string parser (an `exec` per call, ~0.5 ms); Integer/Float
    # build the same objects directly (number_parse_matches checks it).
    value = Float(digits) if "." in digits else Integer(int(digits))
    return [-value if sign else value, sign + digits]


_NUMBER_PARSE_CHECKS = [
    "\\boxed{0}", "\\boxed{-0}", "\\boxed{7}", "\\boxed{-12}", "\\boxed{1000000}", "\\boxed{123456789012}",
    "\\boxed{0.0}", "\\boxed{-0.0}", "\\boxed{28.0}", "\\boxed{-14.5}", "\\boxed{0.000001}", "\\boxed{4.21}",
    "\\boxed{123456789012345.5}", "\\boxed{1.000000000000001}", "\\boxed{-3.141592653589793}",
    "\\boxed{999999999999999.999999999999999}", "\\boxed{-0.5}", "\\boxed{0.50}", "\\boxed{10.5}",
]


def number_parse_matches(parse=None) -> bool:
    """True when `boxed_number_parse` equals the installed math-verify's
    `parse` on edge cases: same types, same exact values and float
    precisions, same strings."""
    if parse is None:
        from math_verify import parse
    for key in _NUMBER_PARSE_CHECKS:
        ours = boxed_number_parse(key)
        if ours is None:
            continue  # not a form the shortcut takes (too many digits)
        theirs = parse(key)
        if len(ours) != len(theirs):
            return False
        if not all(identical_objects(a, b) for a, b in zip(ours, theirs)):
            return False
    return True


def identical_objects(a, b) -> bool:
    """Same type and value and, for sympy Floats, the same binary value and
    precision: what a parse shortcut must build to stand for the parser."""
    return (type(a) is type(b) and a == b and getattr(a, "_mpf_", None) == getattr(b, "_mpf_", None)
            and getattr(a, "_prec", None) == getattr(b, "_prec", None))


@lru_cache(maxsize=None)
def _float50(text: str):
    """`Float(text, 50)`, built once per constant (parsing the string is
    most of the cost of a value comparison otherwise)."""
    from sympy import Float

    return Float(text, 50)


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
        return v, _float50("0"), abs(v)
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
    agree = _float50("1e-25") * max(mag, 1)
    if abs(r30 - r50) > agree or abs(i30 - i50) > agree:
        return None
    return r50, i50, mag


def _values_far(a: tuple, b: tuple) -> bool:
    dr, di = a[0] - b[0], a[1] - b[1]
    margin = _float50(ABS_MARGIN) + _float50(REL_MARGIN) * max(a[2], b[2])
    return bool(dr * dr + di * di > margin * margin)


def _far_from_zero(x) -> bool:
    from sympy import Integer

    v = _cached_value(x)
    return v is not None and _values_far(v, closed_form_value(Integer(0)))


def _is_nonconstant_polynomial(g) -> bool:
    """R5: a polynomial in its free symbols with a non-constant term whose
    coefficient is a plain number of size > 1e-3 (so it is not zero in
    disguise, like `0 k` or `(\\sqrt{2}^2 - 2) k`)."""
    from sympy import Expr, Poly

    if not isinstance(g, Expr) or getattr(g, "is_Matrix", False):
        return False
    symbols = sorted(g.free_symbols, key=str)
    if not symbols or not g.is_polynomial(*symbols):
        return False
    poly = Poly(g, *symbols)
    return any(any(monom) and _far_from_zero(coeff) for monom, coeff in poly.terms())


def _interval_nondegenerate(iv) -> bool:
    from sympy import S

    lo, hi = iv.start, iv.end
    if lo in (S.Infinity, S.NegativeInfinity) or hi in (S.Infinity, S.NegativeInfinity):
        return lo != hi
    a, b = _cached_value(lo), _cached_value(hi)
    return a is not None and b is not None and a[1].is_zero and b[1].is_zero and _values_far(a, b)


@lru_cache(maxsize=4096)
def _gold_shape(g) -> tuple:
    """How a non-number gold element compares with a plain number (R2-R6)."""
    from math_verify.grader import is_assignment_relation, take_last_relation
    from sympy import FiniteSet, Interval, Symbol, Tuple, Union
    from sympy.matrices import MatrixBase

    if isinstance(g, Symbol):
        return ("symbol", str(g))
    if isinstance(g, MatrixBase):
        return ("matrix",)
    if isinstance(g, Tuple):
        return ("tuple", len(g))
    if isinstance(g, Interval):
        return ("intervals", _interval_nondegenerate(g))
    if isinstance(g, Union):
        return ("intervals", all(isinstance(a, Interval) and _interval_nondegenerate(a) for a in g.args))
    if isinstance(g, FiniteSet):
        values = [_cached_value(a) for a in g.args]
        return ("finiteset", None if any(v is None for v in values) else tuple(values))
    if is_assignment_relation(g):
        rhs = take_last_relation(g).rhs
        return ("assignment", rhs)
    if _is_nonconstant_polynomial(g):
        return ("polynomial",)
    return ("unknown",)


def _pair_unequal(g, t) -> bool:
    """One sympy (gold, pred) pair: True only if sympy_expr_eq must be False."""
    from sympy import E, Eq, Integer, Rational

    if type(g) is Eq and type(t) is Eq:
        return _linear_equations_apart(g, t)  # R9
    tv = _cached_value(t)
    v = None  # R8: the number of a percentage prediction v%
    if tv is None:
        v = _percentage_of(t)
        if v is None:
            return _polynomials_apart(g, t)  # R7; anything else is not handled
        tv = _cached_value(v * Rational(1, 100))
        if tv is None:  # v% of a polynomial v: R7 on its value v/100
            return _polynomials_apart(g, t, value=v * Rational(1, 100))
    gv = _cached_value(g)
    if gv is not None:
        if v is not None and isinstance(g, Integer) and isinstance(v, Integer) and g == v:
            return False  # R8: math-verify's "9% == 9"
        return _values_far(gv, tv)  # R1, R8
    try:
        shape = _gold_shape(g)
    except TypeError:  # unhashable
        shape = _gold_shape.__wrapped__(g)
    kind = shape[0]
    if kind == "symbol":  # R2
        return not t.has(E) and shape[1] != str(t)
    if kind == "matrix":  # R4
        return True
    if kind == "tuple":  # R3
        return shape[1] != 1
    if kind == "intervals":  # R3
        return bool(shape[1])
    if kind == "finiteset":  # R3 (R8: far from v too, for a one-element set's "9% == 9")
        far = [tv] if v is None else [tv, _cached_value(v)]
        return shape[1] is not None and len(shape[1]) > 0 and all(
            w is not None and _values_far(x, w) for x in shape[1] for w in far
        )
    if kind == "polynomial":  # R5
        return True
    if kind == "assignment":  # R6
        from sympy import Basic

        rhs = shape[1]
        return isinstance(rhs, Basic) and _gold_shape_allows_recursion(rhs) and _pair_unequal(rhs, t)
    return False


def _exact_polynomial(x, symbols):
    """`Poly(x)` over `symbols` if `x` is a polynomial expression in them with
    rational coefficients only; else None."""
    from sympy import Expr, Poly, Rational, Symbol, UnevaluatedExpr
    from sympy.matrices import MatrixBase

    if not isinstance(x, Expr) or isinstance(x, (Symbol, MatrixBase)) or getattr(x, "is_Matrix", False):
        return None
    if not x.free_symbols or x.is_number or x.has(UnevaluatedExpr) or not x.is_polynomial(*symbols):
        return None
    poly = Poly(x, *symbols)
    if not all(isinstance(c, Rational) for c in poly.coeffs()):
        return None
    return poly


def _polynomials_apart(g, t, value=None) -> bool:
    """R7 (module docstring): True only if `sympy_expr_eq(g, t)` must be False.
    `value`: what `t` is worth when that is not `t` itself (R8: v/100 for a
    percentage v%); math-verify's own cheap tests still run on `t`."""
    from sympy import Basic

    value = t if value is None else value
    if not isinstance(g, Basic) or not isinstance(t, Basic) or not isinstance(value, Basic):
        return False
    symbols = sorted(g.free_symbols | value.free_symbols, key=str)
    pg, pt = _exact_polynomial(g, symbols), _exact_polynomial(value, symbols)
    if pg is None or pt is None or (pg - pt).is_zero:
        return False
    # math-verify's own cheap tests, as it runs them (sympy_str_eq, then
    # sympy_numeric_eq's branch for two non-numbers).
    if g == t:
        return False
    try:
        if (g - t).evalf(chop=True, n=15) == 0:
            return False
    except Exception:
        pass  # math-verify catches this too and goes on to simplify
    return True


def _percentage_of(t):
    """v when `t` is latex2sympy's percentage v% (`Mul(v,
    UnevaluatedExpr(1/100))`, unevaluated: exactly the shape math-verify's
    `get_pct_val` recognises) with no percentage inside v; else None."""
    from sympy import Mul, Rational, UnevaluatedExpr

    if not (isinstance(t, Mul) and len(t.args) == 2 and t.args[1] == UnevaluatedExpr(Rational(1, 100))):
        return None
    v = t.args[0]
    return None if v.has(UnevaluatedExpr) else v


# R9: integer coefficients at most this large, so that two different
# solutions differ by far more than evalf's chop threshold (~1e-15).
_MAX_EQUATION_COEFFICIENT = 10**6


def _linear_equations_apart(g, t) -> bool:
    """R9 (module docstring): True only if `sympy_expr_eq(g, t)` must be False
    for two equations."""
    from sympy import Symbol

    symbols = sorted(g.free_symbols | t.free_symbols, key=str)
    names = [s.name.lower() for s in symbols if isinstance(s, Symbol)]
    if not symbols or len(names) != len(symbols) or len(set(names)) != len(names) or "e" in names:
        return False  # symbols that math-verify's symbol rules could confuse
    dg, dp = g.lhs - g.rhs, t.lhs - t.rhs  # as sympy_compare_relational forms them
    pg, pp = _exact_polynomial(dg, symbols), _exact_polynomial(dp, symbols)
    if pg is None or pp is None or pg.total_degree() != 1 or pp.total_degree() != 1:
        return False
    if not all(c.is_Integer and abs(c) <= _MAX_EQUATION_COEFFICIENT for c in pg.coeffs() + pp.coeffs()):
        return False
    if pg * pp.LC() == pp * pg.LC():
        return False  # proportional: the same solutions (math-verify's solve may say equal)
    # The same pair and the flipped pair, each as R7 decides them (their
    # cheap tests run as math-verify runs them).
    return _polynomials_apart(dg, dp) and _polynomials_apart(dg, t.rhs - t.lhs)


def _gold_shape_allows_recursion(rhs) -> bool:
    """An assignment's right side is compared as a gold of its own unless it
    is itself a relation (a chain `x = y = 3` is unwrapped by math-verify
    first; anything odd is left to it)."""
    from sympy.core.relational import Relational
    from sympy.logic.boolalg import Boolean

    return not isinstance(rhs, (Relational, Boolean))


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
                try:
                    if not _pair_unequal(g, t):
                        return False
                except Exception:  # anything unexpected: let math-verify decide
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
