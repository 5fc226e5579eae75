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
sympy objects are immutable, and math-verify already shares cached ones
between calls. Each cache holds at most `MAX_ENTRIES` entries and is
cleared when full. `install()` checks that the attributes still have the
shape this module expects (else it leaves math-verify untouched), and the
grader's tests compare the worker's verdicts with plain math-verify's.
"""

from __future__ import annotations

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
        setattr(_Latex2Sympy if name == "create_parser" else parser, name, fn)
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
