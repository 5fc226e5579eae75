"""Memoize math-verify's pure parsing steps inside a grading worker.

    from rlboundary.verify import math_verify_memo
    math_verify_memo.install()     # in a worker (MathVerifyGrader.prepare)
    math_verify_memo.uninstall()   # back to math-verify's own functions

Why: a response graded whole (several boxes, an unboxed answer, a box
math-verify cannot parse) costs a full `parse`, and most of that is spent
re-parsing the same small strings: the numbers and `$...$` environments of
a problem's reference text recur in all its samples, and a box that does not
parse is tried again by every regex that sees it. math-verify caches these
steps itself, but in caches of 20 entries (and never a failure). Profiling
the grading benchmark: a response whose box does not parse costs ~4.5 ms,
two thirds of it in `sympy.Number(str)` and `parse_expr` of numbers in the
text, which math-verify re-runs for every response.

What is replaced (module attributes of `math_verify.parser`, looked up at
call time by `extract_latex` / `extract_expr`), each a pure function of
its arguments, so a cached result is the result:
- `parse_latex_cached(latex)`: latex2sympy of a normalised string (results
  AND ordinary failures: its only caller catches any `Exception` and moves
  on; timeouts, recursion and memory errors are never cached);
- `parse_expr_cached(expr)`: sympy's `parse_expr(..., evaluate=False)`;
- `normalize_latex(latex, config)`: string in, string out;
- `Number(text)`: the sympy number of a digit string (the only use of
  `Number` in that module: `number = Number(number_str)`).
- latex2sympy's `_Latex2Sympy.parse_number(text)` (every number literal
  of every parse): it calls `sympy.Number(text)`, i.e. sympify's string
  parser (~0.5 ms a call, a sixth of a worker's time). For a plain ASCII
  integer or decimal it is replaced by the object sympify builds
  (`Integer(int(text))`, `Float(text)`); anything else still goes to
  `sympy.Number`. `direct_numbers_match()` compares the two on edge cases
  (types, values, float precisions) and `install()` uses the direct build
  only if they agree.
sympy objects are immutable, and math-verify already shares cached ones
between calls. Each cache holds at most `MAX_ENTRIES` entries and is
cleared when full. `install()` checks that the attributes still have the
shape this module expects (else it leaves math-verify untouched), and the
grader's tests compare the worker's verdicts with plain math-verify's.
"""

from __future__ import annotations

import re

MAX_ENTRIES = 50_000

_ORIGINALS: dict[str, object] = {}


class CachedParseFailure(Exception):
    """Raised for a string whose parse failed before (its caller catches any Exception)."""


# Failures that depend on more than the string (stack depth, memory, time): never cached.
_NOT_CACHED = (RecursionError, MemoryError)


def _memo(fn, remember_failures: bool = False):
    cache: dict = {}
    failed = object()

    def cached(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
        try:
            hit = cache.get(key, None)
        except TypeError:  # an unhashable argument: not cached
            return fn(*args, **kwargs)
        if hit is failed:
            raise CachedParseFailure()
        if hit is not None:
            return hit
        try:
            value = fn(*args, **kwargs)
        except _NOT_CACHED:
            raise
        except Exception:
            if remember_failures:
                if len(cache) >= MAX_ENTRIES:
                    cache.clear()
                cache[key] = failed
            raise
        if value is not None:  # None is "not cached" here; such a call is simply repeated
            if len(cache) >= MAX_ENTRIES:
                cache.clear()
            cache[key] = value
        return value

    cached.__wrapped__ = fn
    return cached


def _plain(fn):
    """The function under math-verify's own `lru_cache` (or `fn` itself)."""
    return getattr(fn, "__wrapped__", fn)


class _TwoStageParser:
    """A latex2sympy parser whose `math()` (the grammar's start rule, which
    ends in EOF) runs ANTLR's two-stage strategy: SLL prediction first, and
    only if that reports a syntax error, a fresh parser in the default full
    LL mode. ANTLR documents that SLL either returns the tree LL would
    return or reports a syntax error; latex2sympy's error listener raises
    on the first reported error (no recovery), so a tree from the first
    stage is LL's tree, and anything else is LL's own outcome."""

    def __init__(self, converter, latex_str: str, make):
        self._converter, self._latex, self._make = converter, latex_str, make
        self._parser = make(converter, latex_str)

    def math(self):
        from antlr4.atn.PredictionMode import PredictionMode

        self._parser._interp.predictionMode = PredictionMode.SLL
        try:
            return self._parser.math()
        except Exception:
            pass  # a syntax error under SLL: LL decides (below)
        return self._make(self._converter, self._latex).math()

    def __getattr__(self, name):
        return getattr(self._parser, name)


def install() -> bool:
    """Swap in the memoized steps; True if installed (idempotent)."""
    if _ORIGINALS:
        return True
    try:
        import math_verify.parser as parser
        from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy
        from sympy import Number
    except ImportError:
        return False
    names = ("parse_latex_cached", "parse_expr_cached", "normalize_latex", "Number")
    if not all(callable(getattr(parser, n, None)) for n in names) or parser.Number is not Number:
        return False
    for name in names:
        _ORIGINALS[name] = getattr(parser, name)
    parser.parse_latex_cached = _memo(_plain(_ORIGINALS["parse_latex_cached"]), remember_failures=True)
    parser.parse_expr_cached = _memo(_plain(_ORIGINALS["parse_expr_cached"]))
    parser.normalize_latex = _memo(_ORIGINALS["normalize_latex"])
    parser.Number = _memo(Number)
    number = getattr(_Latex2Sympy, "parse_number", None)
    if callable(number) and direct_numbers_match(number):
        _ORIGINALS["parse_number"] = number
        _Latex2Sympy.parse_number = _direct_parse_number(number)
    make = getattr(_Latex2Sympy, "create_parser", None)
    if callable(make) and two_stage_parsing_ok(make):
        _ORIGINALS["create_parser"] = make
        _Latex2Sympy.create_parser = lambda self, latex_str: _TwoStageParser(self, latex_str, make)
    return True


def uninstall() -> None:
    """Restore math-verify's own functions."""
    if not _ORIGINALS:
        return
    import math_verify.parser as parser
    from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

    for name, fn in _ORIGINALS.items():
        setattr(_Latex2Sympy if name in ("create_parser", "parse_number") else parser, name, fn)
    _ORIGINALS.clear()


def two_stage_parsing_ok(make) -> bool:
    """The parser latex2sympy builds has what `_TwoStageParser` uses: an
    ATN interpreter with a prediction mode, and a `math` start rule."""
    try:
        from antlr4.atn.PredictionMode import PredictionMode

        from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

        p = make(_Latex2Sympy(), "1")
        return p._interp.predictionMode == PredictionMode.LL and callable(getattr(p, "math", None))
    except Exception:
        return False


# Plain number literals, ASCII digits only (str.isdigit() also takes other
# scripts' digits: those stay with sympy).
_PLAIN_INTEGER = re.compile(r"[0-9]+", re.ASCII)
_PLAIN_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]+", re.ASCII)


def _direct_parse_number(original):
    """latex2sympy's `parse_number` with sympify's string parser skipped for
    plain literals. The original: drop commas; if only digits, drop leading
    zeros (keeping one digit); `sympy.Number(text)`, which for a digit
    string is `Integer(int(text))` and for a decimal `Float(text)` (its
    precision taken from the string), as sympify's `auto_number` writes them."""
    from sympy import Float, Integer

    def parse_number(self, text):
        plain = text.replace(",", "")
        if _PLAIN_INTEGER.fullmatch(plain):
            return Integer(int(plain))
        if _PLAIN_DECIMAL.fullmatch(plain):
            return Float(plain)
        return original(self, text)

    parse_number.__wrapped__ = original
    return parse_number


_NUMBER_CHECKS = [
    "0", "7", "000", "0012", "10", "1,000", "123456789012345678901234567890", "12.5", "0.1", "0.5", "00.5",
    "3.14159265358979323846", "1.000000000000000001", "0.000001", "99999999999999999.5", "1,234.5", "2.50",
    "0.30000000000000004", "123456789.123456789",
]


def direct_numbers_match(original) -> bool:
    """True when `_direct_parse_number(original)` builds exactly what
    `original` builds on edge cases: same types, values, float precisions."""
    try:
        from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

        from .math_verify_shortcuts import identical_objects

        converter = _Latex2Sympy()
        direct = _direct_parse_number(original)
        return all(identical_objects(direct(converter, text), original(converter, text)) for text in _NUMBER_CHECKS)
    except Exception:
        return False
