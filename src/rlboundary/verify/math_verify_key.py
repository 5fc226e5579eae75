"""The dedupe key of the `math-verify` grader: a response cut down to what
math-verify reads, only where that provably keeps math-verify's verdict.

    from rlboundary.verify.math_verify_key import response_key, boxed_stage_parse, WHOLE
    response_key("... so $\\boxed{\\frac12}$.")   # '\\boxed{\\frac12}'
    response_key("... two boxes \\boxed{1}, \\boxed{2}")  # WHOLE + the whole text
    boxed_stage_parse("\\boxed{\\frac12}", 5)       # [Rational(1, 2), '\\frac12'] or None

The grader's verdict must be plain math-verify's,
`verify(parse("\\boxed{gold}"), parse(whole response))`, on every response.
How `parse` reads a response (math-verify 0.9; `_layout_ok` checks the
installed version still has this layout, else every key is WHOLE):

- regexes in priority groups: 0 ("final answer is ... I hope"), 50 (a
  `$`/`$$`/`\\[`/`\\(`/` [ ]` environment holding a `\\boxed{}`; the plain
  `\\boxed{.+}` from the first box to the LAST `}` of the text; "final
  answer ... is <env or number>"), 100/200 ("answer" + env or number), 300
  (any env, fraction, number);
- group by group, its matches are tried from the rightmost end; the first
  that parses wins; several boxes are joined (`extract_boxed_content`), a `%`
  after an environment makes a percentage.

A response gets the short key `\\boxed{c}` only when, checked here with
string scans (microseconds; math-verify's regexes run only on texts that
say "final answer"):

1. every `\\boxed` is written `\\boxed{`, closed (braces counted as
   math-verify counts them), not nested; no `\\fbox`; and every box holds
   the same content c (stripped, not empty): one box, or the same answer
   boxed again;
2. no environment can close inside a box: no box holds `$`, `\\]`, `\\)`,
   `]` followed by white space, nor the words "final answer";
3. no environments holding boxes can chain: no `,`, `and`, `or` between
   two boxes;
4. no percentage can follow: no `%`, `percent`, `pct` after the first box;
5. if the text says "final answer" (math-verify's case-insensitive
   pattern): no "final answer is ... I hope" match at all, and every
   "final answer ... is" match that ends after the first box is one
   environment holding a whole box (no chained environments, no percentage).

Then every priority-50 match that is tried before the others reads exactly
c: the plain `\\boxed{.+}` and any environment around boxes give
`extract_boxed_content` -> c (identical boxes collapse to one), the same
normalisation and the same parse. So IF c parses,
`parse(text)` == `boxed_stage_parse(key)` (the priority <= 50 groups of
math-verify run on the key alone). If c does not parse, math-verify goes on
to the rest of the text: `boxed_stage_parse` returns None and the grader
asks for the whole response (`grading.REFINE`).

Where no short key holds (different answers in several boxes, a percentage,
a box inside a longer environment, "final answer" phrases...) and the text
has a box or says "final answer", the key is the FIRST MATCH math-verify's
`parse` tries (`STAGE` + JSON of the extraction target and the match's named
groups), found with math-verify's own priority <= 50 regexes in its own
order (`_first_stage_match`). `parse` tries that match first; if it
parses, that is `parse`'s result, whatever else the text holds, so every
text with that key reads the same: `stage_key_parse` replays the match
through math-verify's own `extract_match`. If it does not parse, the whole
response decides (REFINE). Texts over `STAGE_MAX_CHARS` and texts without a
box or "final answer" are graded whole (`WHOLE` + text): unboxed answers,
answers in words.
`tests/test_math_verify_key.py` checks the verdicts against plain
math-verify on a battery of such responses; `benchmarks/verify_throughput.py`
on every sample it times.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

# Marks a key that is the whole response (graded by plain `parse`).
WHOLE = "whole-response:"
# Marks a key that is the regex match math-verify's `parse` tries first
# (JSON: the extraction target's index and the match's named groups).
STAGE = "first-match:"
# Longer texts are not matched in the calling process (math-verify's regexes
# run there unguarded): they are graded whole, in a worker.
STAGE_MAX_CHARS = 20_000

_FINAL_ANSWER = re.compile(r"(?i:final answer)")  # as math-verify writes it: same case folding
_BRACKET_CLOSE = re.compile(r"\]\s")  # closes a ` [ ... ] ` environment
_PERCENT_TOKENS = ("%", "ercent", "pct", "Pct")  # math-verify: \\?%|[Pp]ercent|[Pp]ercentage|[Pp]ct
_ENV_CLOSERS = ("$", "\\]", "\\)")
_BRACE = re.compile(r"[{}]")
# One fast path (below): `{...}` with braces nested at most four deep,
# matched at a box's `{`; group 1 is the content.
_BALANCED = re.compile(r"\{((?:[^{}]|\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\})*)\}")
_PERCENT_ANY = re.compile("|".join(re.escape(t) for t in ("%", "ercent", "pct", "Pct")))


def _configs():
    from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig

    return [LatexExtractionConfig(), ExprExtractionConfig()]


@lru_cache(maxsize=1)
def _groups() -> dict | None:
    """math-verify's default regexes by role, or None if their layout is not
    the one this module reasons about (then no response gets a short key)."""
    try:
        from math_verify.parser import get_extraction_regexes, make_latex_env_pattern
    except ImportError:
        return None
    regexes = get_extraction_regexes(_configs())
    roles: dict[str, list] = {"p0": [], "fa": [], "boxed": []}
    for patterns, target in regexes:
        for pattern, priority in patterns:
            text = pattern.pattern
            if priority > 50:
                continue
            if priority == 0 and "final answer is" in text:
                roles["p0"].append((pattern, target))
            elif priority == 50 and "final answer" in text:
                roles["fa"].append((pattern, target))
            elif priority == 50 and "boxed" in text:
                roles["boxed"].append((pattern, target))
            else:
                return None  # a pattern this module does not know
    boxed = {p.pattern for p, _ in roles["boxed"]}
    env_boxed = make_latex_env_pattern(prefix="first_", context="boxed")
    if len(roles["p0"]) != 2 or len(roles["fa"]) != 2 or len(boxed) != 2:
        return None
    if r"(?P<first_latexBoxed>\\boxed{.+})" not in boxed or not any(p.startswith(env_boxed) for p in boxed):
        return None
    stage = [([(p, pr) for p, pr in patterns if pr <= 50], target) for patterns, target in regexes]
    return {**roles, "stage": stage}


def _layout_ok() -> bool:
    return _groups() is not None


def _close_of(text: str, open_brace: int) -> int | None:
    """Index of the `}` closing the `{` at `open_brace`, counting braces the
    way math-verify's `extract_boxed_content` does (no escapes)."""
    depth = 0
    for m in _BRACE.finditer(text, open_brace):
        depth += 1 if m.group() == "{" else -1
        if depth == 0:
            return m.start()
    return None


def _says_final_answer(text: str) -> bool:
    """math-verify's `(?i:final answer)` matches somewhere in `text`. For
    ASCII text, lower-casing is the same test and ten times faster (outside
    ASCII, case folding has exceptions, e.g. the Kelvin sign: the regex)."""
    if text.isascii():
        return "final answer" in text.lower()
    return _FINAL_ANSWER.search(text) is not None


def _final_answer_matches_agree(text: str, boxes: list[tuple[int, int]]) -> bool:
    """Condition 5 of the module docstring, with math-verify's own regexes."""
    groups = _groups()
    for pattern, _ in groups["p0"]:
        if pattern.search(text):
            return False
    first_close = boxes[0][1]
    for pattern, target in groups["fa"]:
        for m in pattern.finditer(text):
            if m.end() <= first_close:
                continue  # tried after the boxes' matches, which parse or send the text whole
            found = {name: m.span(name) for name, value in m.groupdict().items() if value is not None}
            envs = [n for n in found if n.startswith("first_latex")]
            others = [n for n in found if n.startswith("next") or n.endswith("percent") or not n.startswith("first_latex")]
            if len(envs) != 1 or others:
                return False
            start, end = found[envs[0]]
            if not any(start <= s and e < end for s, e in boxes):
                return False
    return True


def _boxes(text: str) -> list[tuple[int, int]] | None:
    """(start, closing brace) of every `\\boxed{...}`, in order; None when a
    `\\boxed` is not followed by `{`, is not closed, or sits inside another."""
    spans = []
    start = text.find("\\boxed")
    while start >= 0:
        if not text.startswith("\\boxed{", start):
            return None
        close = _close_of(text, start + len("\\boxed"))
        if close is None:
            return None
        inner = text.find("\\boxed", start + 1)
        if 0 <= inner < close:
            return None
        spans.append((start, close))
        start = text.find("\\boxed", close + 1)
    return spans


def boxed_contents(text: str) -> list[str]:
    """The stripped content of every `\\boxed{...}` in `text`, in order (a box
    inside another is part of the outer one's content; an unclosed box ends
    the list): what a whole-response key shows readers when math-verify
    gave no reading."""
    out, start = [], text.find("\\boxed{")
    while start >= 0:
        close = _close_of(text, start + len("\\boxed"))
        if close is None:
            break
        out.append(text[start + len("\\boxed{") : close].strip())
        start = text.find("\\boxed{", close + 1)
    return out


def _one_box_key(text: str) -> str | None:
    """`response_key` for the common case, with fewer steps: exactly one
    `\\boxed` (braces nested at most four deep inside it), no "final
    answer" in the text. None: not that case, or not a short key (the
    general path decides). Same conditions as the general path, which
    `tests/test_math_verify_key.py` checks it against."""
    start = text.find("\\boxed{")
    if start < 0 or text.find("\\boxed", start + 1) >= 0 or "\\fbox" in text or text.find("\\boxed") != start:
        return None
    m = _BALANCED.match(text, start + len("\\boxed"))
    if m is None:
        return None
    content = m.group(1)
    c = content.strip()
    if not c or "$" in content or "\\]" in content or "\\)" in content or _BRACKET_CLOSE.search(content):
        return None
    if _PERCENT_ANY.search(text, m.end()) is not None or _says_final_answer(text):
        return None
    return "\\boxed{" + c + "}"


def response_key(text) -> str | None:
    """`\\boxed{c}` where that provably reads as math-verify reads the whole
    text (module docstring), else a STAGE key (the match math-verify tries
    first), else WHOLE + text; None for a non-text."""
    if not isinstance(text, str):
        return None
    if (fast := _one_box_key(text)) is not None and _layout_ok():
        return fast
    short = _short_key(text)
    if short is not None:
        return short
    if len(text) <= STAGE_MAX_CHARS and _layout_ok() and ("\\boxed" in text or _says_final_answer(text)):
        first = _first_stage_match(text)
        if first is not None:
            return STAGE + json.dumps(first)
    return WHOLE + text


def _short_key(text: str) -> str | None:
    """`\\boxed{c}` under the conditions of the module docstring, else None."""
    if "\\boxed" not in text or "\\fbox" in text or not _layout_ok():
        return None
    boxes = _boxes(text)
    if not boxes:
        return None
    contents = [text[s + len("\\boxed{") : e] for s, e in boxes]
    c = contents[0].strip()
    if not c or any(x.strip() != c for x in contents):
        return None
    for content in contents:
        if any(t in content for t in _ENV_CLOSERS) or _BRACKET_CLOSE.search(content) or _says_final_answer(content):
            return None
    for (_, close), (start, _) in zip(boxes, boxes[1:]):
        gap = text[close + 1 : start]
        if "," in gap or "and" in gap or "or" in gap:  # environments holding boxes could chain
            return None
    if any(text.find(t, boxes[0][1] + 1) >= 0 for t in _PERCENT_TOKENS):
        return None
    if _says_final_answer(text) and not _final_answer_matches_agree(text, boxes):
        return None
    return "\\boxed{" + c + "}"


def boxed_stage_parse(key: str, timeout_s: int) -> list | None:
    """math-verify's priority <= 50 groups on a short key: its `parse` result
    when the box parses ([value, string]), None when it does not (then the
    whole response decides). A timeout raises math-verify's TimeoutException."""
    from math_verify.parser import extract_target_from_pred
    from math_verify.utils import timeout

    found = timeout(timeout_seconds=timeout_s)(extract_target_from_pred)(
        key, _groups()["stage"], fallback_mode="first_match", extraction_mode="any_match"
    )
    # A parsed value comes with its string: two elements. One (a string
    # only) or none: nothing parsed in these groups.
    return found if len(found) == 2 else None


# Patterns that begin with one of these literal prefixes can only match
# where the text says "final answer" (case-insensitively, as `(?i:)` folds):
# on other texts they are not run (the same matches, none).
_FINAL_ANSWER_PREFIXES = ("(?i:final answer is)", "(?i:final answer.{0,100}?)")


@lru_cache(maxsize=1)
def _stage_order() -> list:
    """math-verify's priority <= 50 patterns as `extract_target_from_pred`
    tries them: one list per priority, ascending, of (pattern, target index,
    whether it needs "final answer" in the text)."""
    by_priority: dict[int, list] = {}
    for index, (patterns, _) in enumerate(_groups()["stage"]):
        for pattern, priority in patterns:
            needs = pattern.pattern.startswith(_FINAL_ANSWER_PREFIXES)
            by_priority.setdefault(priority, []).append((pattern, index, needs))
    return [by_priority[p] for p in sorted(by_priority)]


def _first_stage_match(text: str) -> list | None:
    """[target index, named groups] of the match that math-verify's `parse`
    tries first, if it has one in its priority <= 50 groups, else None.
    Replays `extract_target_from_pred`'s order exactly: priority groups in
    ascending order, the first group with any match; in it, every pattern's
    matches in pattern order, stably sorted by (end, -start), last first."""
    says_final_answer = None
    for patterns in _stage_order():
        if says_final_answer is None and any(needs for _, _, needs in patterns):
            says_final_answer = _says_final_answer(text)
        found = [
            (m, index) for pattern, index, needs in patterns if says_final_answer or not needs for m in pattern.finditer(text)
        ]
        if found:
            found.sort(key=lambda f: (f[0].end(), -f[0].start()), reverse=True)
            m, index = found[0]
            return [index, [[name, value] for name, value in m.groupdict().items() if value is not None]]
    return None


class _ReplayedMatch:
    """Stands for a regex match in math-verify's `extract_match`, which reads
    a match only through `groupdict()` (groups that did not take part left
    out: its code treats a missing group and a None one alike)."""

    __slots__ = ("groups",)

    def __init__(self, groups):
        self.groups = tuple((name, value) for name, value in groups)

    def groupdict(self) -> dict:
        return dict(self.groups)

    def __hash__(self):
        return hash(self.groups)

    def __eq__(self, other):
        return isinstance(other, _ReplayedMatch) and self.groups == other.groups


def stage_key_parse(key: str, timeout_s: int) -> list | None:
    """math-verify's `parse` of every text with this STAGE key, when its
    first-tried match parses ([value, string]); None when it does not (then
    `parse` goes on to other matches of the text: the whole response
    decides). An exception in the extraction makes `parse` return []: so
    here. A timeout raises math-verify's TimeoutException."""
    from math_verify.parser import extract_match
    from math_verify.utils import timeout

    index, groups = json.loads(key[len(STAGE):])
    target = _groups()["stage"][index][1]
    try:
        value, fallback = timeout(timeout_seconds=timeout_s)(extract_match)(_ReplayedMatch(groups), target)
    except Exception:
        return []
    if value is None:
        return None
    return [value, fallback] if fallback else [value]
