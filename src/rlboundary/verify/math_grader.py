"""The two math graders: `math-verify` and `math-equal`.

    from rlboundary.verify.grading import get_grader
    grader = get_grader("math-verify")           # or "math-equal"
    key = grader.extract(response_text, problem)  # dedupe key (None: no answer)
    verdict, extra = grader.grade(key, problem)   # "correct", "incorrect", ...

- `math-verify` (default): Hugging Face's math-verify, exactly:
  `verify(parse("\\boxed{gold}"), parse(whole response))` on every
  response (several boxes, unboxed answers, answers in text: whatever
  math-verify reads). The dedupe key (`math_verify_key.response_key`) is
  the box content where that provably reads as math-verify reads the whole
  response, else the whole response; a short key whose box does not parse
  is regraded on its whole response (`grading.REFINE`); where no such key
  holds, the key is the regex match math-verify tries first. Only shortcuts
  that cannot change a verdict sit in front of math-verify
  (`math_verify_shortcuts`: a boxed number built without the parser;
  values, percentages, polynomials or linear equations provably apart),
  and in the workers math-verify's pure parsing steps are memoized and
  number literals built without sympify's parser (`math_verify_memo`).
- `math-equal`: the paper's grader (Qwen2.5-Math / ToRA `math_equal`):
  the answer and gold normalised by `strip_string`, then string equality,
  numeric equality (relative tolerance 1e-4; a percentage may match its
  value /100 or x100), multiple choice, tuples / intervals element-wise,
  matrices, equations (`x=3` vs `3`), and symbolic equality through sympy
  (`latex2sympy2_extended`). Its verdict depends only on the normalised
  key, so deduplicating by that key is exact. It reproduces the
  reference's leniency on purpose (e.g. `(1,2)` equals `[1,2]`, `0.5`
  equals `50`); `tests/data/math_cases.csv` records those cases.

Where the reference would `eval` model text through sympy's `parse_expr`,
this module only does so for strings made of digits, operators and a
short list of names: model output is never handed to `eval` unchecked.

Timeouts are NOT handled here beyond math-verify's own: graders run inside
`grading`'s worker processes, which bound every item in CPU and wall time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from .math_answer import extract_answer, normalize_answer, strip_string
from .math_verify_key import STAGE, WHOLE, boxed_contents, boxed_stage_parse, response_key, stage_key_parse
from .math_verify_shortcuts import boxed_number_parse, number_parse_matches, provably_unequal
from .workers import REFINE

# Bump when this module's grading logic changes: it is part of grader_id,
# so stored verdicts of an older logic are not reused.
ADAPTER_VERSION = "2"  # 2: plain math-verify on the whole response (issue 13)

_MINERVA_NAMES = {"minerva", "minerva_math"}
# A plain integer (no leading zeros, at most 12 digits, so no float rounding
# can make two different ones "equal" in either grader): the most common
# answer form, decided without sympy by both graders' `grade_fast`.
_PLAIN_INT = re.compile(r"-?(?:0|[1-9]\d{0,11})")


def gold_answer(problem: Any) -> str:
    """The gold answer string of a math problem (`Problem.reference`)."""
    ref = problem.reference
    if isinstance(ref, dict):  # tolerate {"answer": ...}
        ref = ref.get("answer")
    if isinstance(ref, (list, tuple)):  # OlympiadBench: a list of answers
        ref = ", ".join(str(r) for r in ref)
    if isinstance(ref, float) and ref.is_integer():
        ref = int(ref)  # AMC23 stores 27.0
    # OlympiadBench writes answers as "$...$": math mode is implied here.
    return re.sub(r"(?<!\\)\$", "", str(ref)).strip()


def _skip_units(problem: Any) -> bool:
    """The reference keeps units in Minerva answers (they carry meaning there)."""
    meta = getattr(problem, "metadata", None) or {}
    return bool(meta.get("skip_unit")) or str(meta.get("benchmark", "")).lower() in _MINERVA_NAMES


# --- math-verify ----------------------------------------------------------


class _TimeoutLogWatch(logging.Handler):
    """Counts math-verify's own 'Timeout during ...' warnings (it swallows
    its TimeoutException and returns an empty parse / False)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.count = 0

    def emit(self, record):
        if "Timeout" in record.getMessage()[:40]:
            self.count += 1


_WATCH: _TimeoutLogWatch | None = None


def _watch() -> _TimeoutLogWatch:
    global _WATCH
    if _WATCH is None:
        _WATCH = _TimeoutLogWatch()
        logger = logging.getLogger("math_verify")
        logger.addHandler(_WATCH)
        # Its warnings quote the whole input (possibly megabytes): keep them
        # off the console; the verdict records the timeout instead.
        logger.propagate = False
    return _WATCH


class _GoldParseTimedOut(Exception):
    """Carries the result of a gold parse that hit math-verify's timeout
    (its `[]`), so that the cache below does not keep it."""


@lru_cache(maxsize=4096)
def _parse_gold_cached(gold: str, timeout_s: int):
    from math_verify import parse

    key = "\\boxed{" + gold + "}"
    if _number_parse_ok() and (direct := boxed_number_parse(key)) is not None:
        return direct
    watch = _watch()
    before = watch.count
    parsed = parse(key, parsing_timeout=timeout_s)
    if watch.count > before:
        # math-verify's alarms are wall-clock: on a starved machine a gold
        # parse can time out once; kept, it would turn every later answer
        # of the problem into "incorrect". Not cached: the next item retries.
        raise _GoldParseTimedOut(parsed)
    return parsed


def _parse_gold_mv(gold: str, timeout_s: int):
    """math-verify's parse of `\\boxed{gold}`, cached unless it timed out."""
    try:
        return _parse_gold_cached(gold, timeout_s)
    except _GoldParseTimedOut as timed_out:
        return timed_out.args[0]


# Parsed answers by key, shared across problems within a worker: a parse
# is a pure function of the key (sympy objects are immutable, `verify`
# does not change them), and short answers ("\boxed{2}") recur across
# problems. Cleared when full rather than LRU-ordered: cheap and bounded.
_PRED_CACHE: dict[tuple[str, int], list] = {}
_PRED_CACHE_MAX = 20000


# Whether `boxed_number_parse` matches this math-verify's `parse` (checked
# once per process, in `prepare` or on first use).
_NUMBER_PARSE_OK: bool | None = None


def _number_parse_ok() -> bool:
    global _NUMBER_PARSE_OK
    if _NUMBER_PARSE_OK is None:
        _NUMBER_PARSE_OK = number_parse_matches()
    return _NUMBER_PARSE_OK


def _parse_pred_mv(key: str, timeout_s: int, watch: "_TimeoutLogWatch") -> list | None:
    """math-verify's parse of what `key` stands for: the whole response for a
    WHOLE key; for a short key its boxed stage, or None when the box does
    not parse (the whole response decides then)."""
    from math_verify import parse

    if key.startswith(WHOLE):
        # Whole responses rarely repeat: parsed, never cached.
        return parse(key[len(WHOLE):], parsing_timeout=timeout_s)
    if _number_parse_ok() and (direct := boxed_number_parse(key)) is not None:
        return direct
    if (key, timeout_s) in _PRED_CACHE:
        return _PRED_CACHE[(key, timeout_s)]
    from math_verify.errors import TimeoutException

    try:
        pred = stage_key_parse(key, timeout_s) if key.startswith(STAGE) else boxed_stage_parse(key, timeout_s)
    except TimeoutException:
        # Not cached; the whole response decides (and times out as math-verify would).
        return None
    if len(_PRED_CACHE) >= _PRED_CACHE_MAX:
        _PRED_CACHE.clear()
    _PRED_CACHE[(key, timeout_s)] = pred
    return pred


# Off only to measure or test the shortcuts against plain math-verify.
_SHORTCUTS = True


@dataclass(frozen=True)
class MathVerifyGrader:
    """Plain math-verify on the whole response (dedupe keys that keep its verdict)."""

    item_timeout_s: float = 10.0
    name: str = "math-verify"

    @property
    def grader_id(self) -> str:
        return f"{self.name}-{version('math-verify')}-l2s{version('latex2sympy2_extended')}-a{ADAPTER_VERSION}"

    def extract(self, text: str, problem: Any) -> str | None:
        """`\\boxed{c}` where that reads as math-verify reads the whole text, else WHOLE + text."""
        return response_key(text)

    def refine_key(self, text: str, problem: Any) -> str:
        """The whole response: for a short key whose box does not parse."""
        return WHOLE + text

    def stored_key(self, key: str) -> str:
        """What the verdict cache stores as `key`: a short key as is, a
        whole response as its digest (the text is in the sample store)."""
        if not key.startswith((WHOLE, STAGE)):
            return key
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{WHOLE if key.startswith(WHOLE) else STAGE}sha256:{digest}"

    def shown_answer(self, key: str) -> str | None:
        """The answer readers see (`extracted`) unless `grade` read one: a
        short key's box content; for a whole response (graded without a
        reading: a timeout, a killed worker) its boxed contents in order."""
        if key.startswith(WHOLE):
            return ", ".join(boxed_contents(key[len(WHOLE):])) or None
        if key.startswith(STAGE):  # the matched text (its first group)
            groups = json.loads(key[len(STAGE):])[1]
            return groups[0][1] if groups else None
        return key[len("\\boxed{") : -1] if key.startswith("\\boxed{") and key.endswith("}") else key

    def grade_fast(self, key: str, problem: Any) -> tuple[str, dict] | None:
        """Integer vs integer, decided in the caller's process; None otherwise."""
        gold = gold_answer(problem)
        if key.startswith("\\boxed{") and key.endswith("}") and _PLAIN_INT.fullmatch(gold):
            inner = key[len("\\boxed{") : -1]
            if _PLAIN_INT.fullmatch(inner):
                return ("correct" if int(inner) == int(gold) else "incorrect"), {}
        return None

    def prepare(self) -> None:
        """Import math-verify and sympy (seconds) before any item's budget runs;
        memoize its pure parsing steps in this (worker) process."""
        from math_verify import parse, verify

        from . import math_verify_memo

        _watch()
        if _SHORTCUTS:
            math_verify_memo.install()
        verify(parse("\\boxed{\\frac{1}{2}}"), parse("\\boxed{0.5}"))
        _number_parse_ok()

    def grade(self, key: str, problem: Any) -> tuple[str, dict]:
        from math_verify import verify
        from sympy import Basic, MatrixBase

        watch = _watch()
        before = watch.count
        # math-verify's own alarms: one budget per call, within ours.
        t = max(1, int(self.item_timeout_s))
        gold = _parse_gold_mv(gold_answer(problem), t)
        if watch.count > before:  # the gold's parse timed out ([]): verify is False
            return "timeout", {}
        pred = _parse_pred_mv(key, t, watch)
        if pred is None:
            return REFINE, {}
        # A whole response is shown to readers as math-verify read it (its
        # extracted string), not as the digest the cache keys it by.
        shown = {"extracted": _read_as(pred)} if key.startswith((WHOLE, STAGE)) else {}
        if _SHORTCUTS and any(isinstance(p, (Basic, MatrixBase)) for p in pred) and provably_unequal(gold, pred):
            # Values certainly apart: verify would answer False (see
            # math_verify_shortcuts), without its simplify().
            return "incorrect", shown
        if verify(gold, pred, timeout_seconds=t):
            return "correct", shown
        if watch.count > before:
            return "timeout", shown
        if not any(isinstance(p, (Basic, MatrixBase)) for p in pred):
            return "unparseable", shown
        return "incorrect", shown


def _read_as(pred: list) -> str | None:
    """math-verify's extracted string from a `parse` result ([value, string]:
    the string is the last element), else the value printed; None for []."""
    strings = [p for p in pred if isinstance(p, str)]
    if strings:
        return strings[-1]
    return str(pred[0]) if pred else None


# --- math-equal (the paper's grader) --------------------------------------


def _to_float(s: str) -> float | None:
    """A plain number, or a percentage as a fraction ('50\\%' -> 0.5)."""
    s = str(s).replace(",", "")
    try:
        return float(s)
    except ValueError:
        pass
    if s.endswith("%"):
        s = s[:-1].rstrip("\\")
        try:
            return float(s) / 100
        except ValueError:
            return None
    return None


def _numbers_close(pred: float, ref: float) -> bool:
    return math.isclose(ref, pred, rel_tol=1e-4)


def _numerically_equal(pred: str, ref: str, include_percentage: bool, is_close: bool) -> bool:
    p, r = _to_float(pred), _to_float(ref)
    if p is None or r is None:
        return False
    # The reference accepts an answer off by a factor 100 either way when
    # percentages are allowed ("0.5" for "50%").
    targets = [r / 100, r, r * 100] if include_percentage else [r]
    for target in targets:
        try:
            if (_numbers_close(p, target) if is_close else p == target):
                return True
        except (OverflowError, ValueError):
            continue
    return False


def _clean_choice(pred: str) -> str:
    pred = pred.strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = re.findall(r"\b(A|B|C|D|E)\b", pred.upper())
    pred = letters[-1] if letters else pred.strip().strip(".")
    return pred.rstrip(".").rstrip("/")


def _set_to_pmatrix(s: str) -> str:
    """'{1,2}' rows written as sets -> pmatrix rows (the reference's matrix fallback)."""
    rows = re.findall(r"\{.*,.*\}", s.strip())
    return ", ".join("\\begin{pmatrix}" + r.strip("{}").replace(",", "\\") + "\\end{pmatrix}" for r in rows)


def _wrapped(s: str, left: str, right: str) -> bool:
    return s.startswith(left) and s.endswith(right)


def _is_list(s: str) -> bool:
    return re.match(r"(\(|\[).+(\)|\])", s) is not None


def _is_matrix(s: str) -> bool:
    return s.startswith(("\\begin{pmatrix}", "\\begin{bmatrix}")) and s.endswith(("\\end{pmatrix}", "\\end{bmatrix}"))


def _compare_lists(pred: str, ref: str, pct: bool, close: bool) -> bool:
    p, r = pred[1:-1].split(","), ref[1:-1].split(",")
    return len(p) == len(r) and all(math_equal(a, b, pct, close) for a, b in zip(p, r))


def _matrix_rows(s: str) -> list[str]:
    body = s[len("\\begin{pmatrix}") : -len("\\end{pmatrix}")]
    return [row.strip() for row in body.split("\\\\") if row.strip()]


def _compare_matrices(pred: str, ref: str, pct: bool, close: bool) -> bool:
    p_rows, r_rows = _matrix_rows(pred), _matrix_rows(ref)
    if len(p_rows) != len(r_rows):
        return False
    for p_row, r_row in zip(p_rows, r_rows):
        p_cells, r_cells = p_row.split("&"), r_row.split("&")
        if len(p_cells) != len(r_cells):
            return False
        if not all(math_equal(a, b, pct, close) for a, b in zip(p_cells, r_cells)):
            return False
    return True


def _is_simple_equation(s: str) -> bool:
    return s.count("=") == 1 and len(s.split("=")[0].strip()) <= 2


def _as_difference(equation: str) -> str:
    left, right = equation.split("=")
    return f"{left.strip()} - ({right.strip()})"


# Plain-expression strings that are safe to hand to sympy's parse_expr
# (which evaluates Python): digits, operators, brackets, and known names.
_SAFE_EXPR = re.compile(r"[0-9A-Za-z+\-*/^().,\s]*")
_SAFE_NAMES = {"sqrt", "pi", "exp", "log", "sin", "cos", "tan", "E", "I", "oo"}


def _safe_for_parse_expr(s: str) -> bool:
    if len(s) > 200 or not _SAFE_EXPR.fullmatch(s):
        return False
    return all(len(name) == 1 or name in _SAFE_NAMES for name in re.findall(r"[A-Za-z]+", s))


def _parse_symbolic(s: str):
    """sympy object for an answer string; the string itself if nothing parses.

    The reference tries sympy's parse_latex, parse_expr, then latex2sympy;
    sympy's parse_latex needs antlr 4.11, which math-verify's antlr 4.13
    rules out, so (like the reference in such an install) it is skipped.
    """
    from latex2sympy2_extended import latex2sympy
    from sympy.parsing.sympy_parser import parse_expr

    for candidate in (s.replace("\\\\", "\\"), s):
        if _safe_for_parse_expr(candidate):
            try:
                return parse_expr(candidate)
            except Exception:
                pass
        try:
            return latex2sympy(candidate)
        except Exception:
            pass
    return s


def symbolic_equal(a: str, b: str) -> bool:
    """Equal as sympy expressions: directly, by simplification, as
    equations, numerically (rel 1e-4), or as matrices rounded to 3 places."""
    from sympy import N, simplify

    x, y = _parse_symbolic(a), _parse_symbolic(b)
    try:
        if str(x) == str(y) or x == y:
            return True
    except Exception:
        pass
    try:
        if x.equals(y) or simplify(x - y) == 0:
            return True
    except Exception:
        pass
    try:
        if (abs(x.lhs - x.rhs)).equals(abs(y.lhs - y.rhs)):
            return True
    except Exception:
        pass
    try:
        if _numbers_close(float(N(x)), float(N(y))):
            return True
    except Exception:
        pass
    try:
        if x.shape == y.shape:
            if x.applyfunc(lambda v: round(v, 3)).equals(y.applyfunc(lambda v: round(v, 3))):
                return True
    except Exception:
        pass
    return False


def math_equal(prediction: str | None, reference: str | None, include_percentage: bool = True, is_close: bool = True) -> bool:
    """The paper's equivalence test on two normalised answer strings."""
    if prediction is None or reference is None:
        return False
    prediction, reference = str(prediction), str(reference)
    if prediction.strip().lower() == reference.strip().lower():
        return True
    if reference in ("A", "B", "C", "D", "E") and _clean_choice(prediction) == reference:
        return True
    if _numerically_equal(prediction, reference, include_percentage, is_close):
        return True
    if not prediction:
        return False

    reference, prediction = reference.strip(), prediction.strip()
    if "pmatrix" in prediction and "pmatrix" not in reference:
        reference = _set_to_pmatrix(reference)

    # Brackets: (a,b) vs a,b; the reference's rule, asymmetric as it is.
    p, r = prediction, reference
    if (_wrapped(p, "[", "]") and not _wrapped(r, "(", ")")) or (_wrapped(p, "(", ")") and not _wrapped(r, "[", "]")):
        p, r = p.strip("[]()"), r.strip("[]()")
    for bracket in "{}()":
        p, r = p.replace(bracket, ""), r.replace(bracket, "")
    if p.lower() == r.lower():
        return True

    if _is_list(prediction) and _is_list(reference):
        return _compare_lists(prediction, reference, include_percentage, is_close)
    if _is_matrix(prediction) and _is_matrix(reference):
        return _compare_matrices(prediction, reference, include_percentage, is_close)

    if prediction.count("=") == 1 and reference.count("=") == 1:
        pd, rd = _as_difference(prediction), _as_difference(reference)
        return symbolic_equal(pd, rd) or symbolic_equal(f"-({pd})", rd)
    if _is_simple_equation(prediction) and "=" not in reference:
        return math_equal(prediction.split("=")[1], reference, include_percentage, is_close)
    if _is_simple_equation(reference) and "=" not in prediction:
        return math_equal(prediction, reference.split("=")[1], include_percentage, is_close)

    return symbolic_equal(prediction, reference)


@dataclass(frozen=True)
class MathEqualGrader:
    """The paper's grader: strip_string + math_equal."""

    item_timeout_s: float = 10.0
    name: str = "math-equal"

    @property
    def grader_id(self) -> str:
        return f"{self.name}-l2s{version('latex2sympy2_extended')}-sympy{version('sympy')}-a{ADAPTER_VERSION}"

    def extract(self, text: str, problem: Any) -> str | None:
        return normalize_answer(extract_answer(text).answer, skip_unit=_skip_units(problem))

    def grade_fast(self, key: str, problem: Any) -> tuple[str, dict] | None:
        """Integer vs integer (math_equal reduces to its numeric test there)."""
        gold = strip_string(gold_answer(problem), _skip_units(problem))
        if _PLAIN_INT.fullmatch(key) and _PLAIN_INT.fullmatch(gold):
            same = key == gold or _numerically_equal(key, gold, True, True)
            return ("correct" if same else "incorrect"), {}
        return None

    def prepare(self) -> None:
        """Import sympy and latex2sympy (seconds) before any item's budget runs."""
        math_equal("\\frac{1}{2}", "\\sqrt{2}/2")

    def grade(self, key: str, problem: Any) -> tuple[str, dict]:
        skip = _skip_units(problem)
        gold = gold_answer(problem)
        # The reference normalises the gold once (keeping units for Minerva).
        gold = strip_string(gold, skip)
        return ("correct" if math_equal(key, gold) else "incorrect"), {}
