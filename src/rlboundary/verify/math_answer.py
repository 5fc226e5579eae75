"""Final-answer extraction and normalisation for math responses.

    from rlboundary.verify.math_answer import extract_answer, strip_string
    extract_answer("... so $\\boxed{\\dfrac{1}{2}}$.")   # Extraction('\\dfrac{1}{2}', 'boxed')
    strip_string("\\dfrac{1}{2}")                          # '\\frac{1}{2}'

Extraction follows the grader the paper used (the Qwen2.5-Math evaluation,
itself ToRA's), in its order of preference, after one rule of our own for
the R1-Zero prompt of the paper's Figure 27:

0. the first `<answer>...</answer>` (its last `\\boxed{}` if it has one,
   else its whole stripped content);
1. the Minerva form "final answer is $X$. I hope";
2. the last `\\boxed{...}` / `\\fbox{...}` (braces matched, escaped `\\{`
   `\\}` ignored; an unclosed box takes the rest of the text, as the
   reference does), or `\\boxed X` without braces (up to the next `$`);
3. the text after the last "the answer is" / "The answer is";
4. the text after the last "final answer is";
5. the last number in the text (commas removed).

Every scan is linear in the length of the text and iterative (no
recursion), so a megabyte of text or ten thousand nested braces cost
milliseconds, not a stack overflow.

`strip_string` is the reference's answer normalisation (ToRA's
`strip_string` semantics, written here from those semantics): trailing
`.`, `\\!`, array/bmatrix -> pmatrix, `\\dfrac`/`\\tfrac` -> `\\frac`,
`\\left`/`\\right`, a trailing `\\text{unit}`, unit words, degrees, `$`,
`\\text{...}` wrappers, `x=` prefixes, percentages, `inf`, spaces,
`\\frac12` -> `\\frac{1}{2}`, `a/b` -> `\\frac{a}{b}`. Known, deliberate
differences from the reference: unit words are matched literally (the
reference passes them to a regex unescaped, so its "q ." also matches "q
x"); number words ("five") are converted only when the whole answer is
number words (the reference's word2number also pulls numbers out of
longer phrases); its bracket-unwrapping step is left out because it can
never fire (it tests `str.isalnum()` on a string that starts with a
bracket).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# An answer longer than this is not an answer: it is a runaway generation.
# Grading it would only feed megabytes to a LaTeX parser.
MAX_ANSWER_CHARS = 5000

_BOX_COMMANDS = ("\\boxed", "\\fbox")
# One token of LaTeX brace structure: an escaped character (`\{`, `\}`,
# `\\`) is consumed whole so it never counts as a group brace.
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)
_LAST_NUMBER = re.compile(r"-?\d*\.?\d+")


@dataclass(frozen=True)
class Extraction:
    """What was taken from a response, and which rule took it."""

    answer: str | None  # None: nothing that looks like an answer
    method: str  # answer_tag | minerva | boxed | answer_is | final_answer | last_number | none


def _matching_close(text: str, open_idx: int) -> int | None:
    """Index of the `}` closing the `{` at `open_idx`, or None if unclosed."""
    depth = 0
    for token in _BRACE_TOKEN.finditer(text, open_idx):
        t = token.group()
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
            if depth == 0:
                return token.start()
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` or `\\fbox{...}` in `text`.

    None when there is no box. An unclosed box yields the rest of the text
    (the reference grader does the same with a truncated generation).
    """
    start = -1
    command = ""
    for cmd in _BOX_COMMANDS:
        i = text.rfind(cmd)
        if i > start:
            start, command = i, cmd
    if start < 0:
        return None
    i = start + len(command)
    # `\boxed {x}` is legal LaTeX: skip spaces before the brace.
    j = i
    while j < len(text) and text[j] in " \t":
        j += 1
    if j < len(text) and text[j] == "{":
        close = _matching_close(text, j)
        return text[j + 1 :] if close is None else text[j + 1 : close]
    # `\boxed 5$`: the argument runs to the next dollar sign.
    return text[i:].split("$", 1)[0].strip()


def answer_tag_content(text: str) -> str | None:
    """The content of the first `<answer>...</answer>` (R1-Zero prompts), or None.

    The first, because a base model that runs past its answer writes the next
    turn, and any later tag answers a question it made up. A missing close
    tag takes the rest of the text: the paper's code stops sampling at
    `</answer>`, which vLLM leaves out of the returned text.
    """
    start = text.find("<answer>")
    if start < 0:
        return None
    body = text[start + len("<answer>"):]
    end = body.find("</answer>")
    return body if end < 0 else body[:end]


def _after_last(text: str, marker: str) -> str | None:
    i = text.rfind(marker)
    return None if i < 0 else text[i + len(marker) :].strip()


def extract_answer(text: str, cleanup: bool = True) -> Extraction:
    """The final answer of a response, by the reference grader's rules.

    `cleanup` applies the reference's post-processing (newlines and the
    whitespace after them removed, a leading ':' and trailing '.' '/'
    trimmed). The `math-verify` grader passes False: removing whitespace
    after a newline can change LaTeX (`\\pi\\n r` -> `\\pir`).
    """
    if not isinstance(text, str):
        return Extraction(None, "none")
    if (tagged := answer_tag_content(text)) is not None:
        # R1-Zero format: the tag holds the answer, boxed or bare.
        boxed = last_boxed(tagged)
        raw, method = (boxed, "boxed") if boxed is not None else (tagged.strip(), "answer_tag")
    elif "final answer is $" in text and "$. I hope" in text:
        tail = text.split("final answer is $", 1)[1]
        raw, method = tail.split("$. I hope", 1)[0].strip(), "minerva"
    elif (boxed := last_boxed(text)) is not None:
        raw, method = boxed, "boxed"
    elif (after := _after_last(text, "he answer is")) is not None:
        raw, method = after, "answer_is"
    elif (after := _after_last(text, "final answer is")) is not None:
        raw, method = after, "final_answer"
    else:
        last = None
        for last in _LAST_NUMBER.finditer(text.replace(",", "")):
            pass
        if last is None:
            return Extraction(None, "none")
        raw, method = last.group(), "last_number"
    if cleanup:
        raw = re.sub(r"\n\s*", "", raw)
        if raw.startswith(":"):
            raw = raw[1:]
        if raw.endswith("."):
            raw = raw[:-1]
        if raw.endswith("/"):
            raw = raw[:-1]
    raw = raw.strip()
    if not raw or len(raw) > MAX_ANSWER_CHARS:
        return Extraction(None, method)
    return Extraction(raw, method)


# --- normalisation (the reference's strip_string semantics) ---------------

# Unit words the reference strips (from MathQA), each also in plural form.
_UNIT_WORDS = [
    "east", "degree", "mph", "kmph", "ft", "m sqaure", " m east", "sq m", "deg", "mile",
    "q .", "monkey", "prime", "ratio", "profit of rs", "rd", "o", "gm", "p . m", "lb",
    "tile", "per", "dm", "lt", "gain", "ab", "way", "west", "a .", "b .", "c .", "d .",
    "e .", "f .", "g .", "h .", "t", "a", "h", "no change", "men", "soldier", "pie", "bc",
    "excess", "st", "inches", "noon", "percent", "by", "gal", "kmh", "c", "acre", "rise",
    "a . m", "th", "π r 2", "sq", "mark", "l", "toy", "coin", "sq . m", "gallon", "° f",
    "profit", "minw", "yr", "women", "feet", "am", "pm", "hr", "cu cm", "square",
    "v â € ™", "are", "rupee", "rounds", "cubic", "cc", "mtr", "s", "ohm", "number",
    "kmph", "day", "hour", "minute", "min", "second", "man", "woman", "sec", "cube", "mt",
    "sq inch", "mp", "∏ cm ³", "hectare", "more", "sec", "unit", "cu . m", "cm 2", "rs .",
    "rs", "kg", "g", "month", "km", "m", "cm", "mm", "apple", "liter", "loss", "yard",
    "pure", "year", "increase", "decrease", "d", "less", "Surface", "litre", "pi sq m",
    "s .", "metre", "meter", "inch",
]
_UNIT_WORDS = _UNIT_WORDS + [w + "s" for w in _UNIT_WORDS]
# A unit word counts only between non-word characters (or the ends), so the
# "a" in "\frac" is safe; the substring test first skips the regex cheaply.
_UNIT_PATTERNS = [(w, re.compile(r"(^|\W)" + re.escape(w) + r"($|\W)")) for w in _UNIT_WORDS]

_ONES = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}


def words_to_number(text: str) -> str:
    """'twenty-one' -> '21'; anything that is not purely number words is returned as is."""
    tokens = text.lower().replace("-", " ").split()
    if not tokens or any(t not in _ONES and t not in _TENS and t not in _SCALES and t != "and" for t in tokens):
        return text
    if all(t == "and" for t in tokens):
        return text
    total, current = 0, 0
    for t in tokens:
        if t in _ONES:
            current += _ONES[t]
        elif t in _TENS:
            current += _TENS[t]
        elif t == "hundred":
            current = max(current, 1) * 100
        elif t in _SCALES:
            total += max(current, 1) * _SCALES[t]
            current = 0
    return str(total + current)


def _fix_fracs(s: str) -> str:
    """`\\frac12` -> `\\frac{1}{2}`, `\\frac1{7}` -> `\\frac{1}{7}`."""
    pieces = s.split("\\frac")
    out = [pieces[0]]
    for piece in pieces[1:]:
        out.append("\\frac")
        if piece.startswith("{"):
            out.append(piece)
            continue
        if len(piece) < 2:
            return s  # `\frac` with fewer than two following characters: leave it
        a, b, rest = piece[0], piece[1], piece[2:]
        out.append("{" + a + "}{" + b + "}" + rest if b != "{" else "{" + a + "}" + b + rest)
    return "".join(out)


def _fix_a_slash_b(s: str) -> str:
    """`3/4` -> `\\frac{3}{4}` when both sides are plain integers (or contain sqrt)."""
    parts = s.split("/")
    if len(parts) != 2:
        return s
    sides = []
    for side in parts:
        if "sqrt" in side:
            sides.append(side)
            continue
        try:
            sides.append(str(int(side)))
        except ValueError:
            return s
    if f"{sides[0]}/{sides[1]}" != s:
        return s  # '01/2', ' 1/2': not the plain form, leave it
    return "\\frac{" + sides[0] + "}{" + sides[1] + "}"


def _remove_units(s: str) -> str:
    for _ in range(2):  # twice: adjacent units share a separator
        for word, pattern in _UNIT_PATTERNS:
            if word in s:
                t = pattern.sub(r"\1\2", s)
                if t != "":
                    s = t
    return s


@lru_cache(maxsize=65536)
def strip_string(string: str, skip_unit: bool = False) -> str:
    """Normalise an answer string the way the paper's grader does."""
    s = str(string).strip().replace("\n", "").rstrip(".")
    s = s.replace("\\!", "")
    # Matrices: every environment compared as pmatrix.
    s = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s)
    s = s.replace("\\end{array}", "\\end{pmatrix}").replace("bmatrix", "pmatrix")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("\\{", "{").replace("\\}", "}")
    # A trailing \text{...} is a unit ("10\text{ cm}"): drop it unless that
    # leaves nothing. Like the reference, it drops from the FIRST \text{ on.
    if s.endswith("}") and (i := s.find("\\text{")) >= 0:
        t = s[:i].strip()
        if t:
            s = t
    if not skip_unit:
        s = _remove_units(s)
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "").replace("$", "").replace("\\(", "").replace("\\)", "")
    s = words_to_number(s)
    s = re.sub(r"\\text\{(.*?)\}", r"\1", s)
    for prefix in ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"):
        s = s.replace(prefix, "")
    s = s.replace("\\emptyset", "{}").replace("(-\\infty,\\infty)", "\\mathbb{R}")
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("and", "").replace("\\mathbf", "")
    s = re.sub(r"\\mbox\{.*?\}", "", s)
    if "j" in s and "i" not in s:  # engineers' imaginary unit
        s = s.replace("j", "i")
    # 2.000 -> 2, 2.50x stays; the reference's regexes, digit-anchored.
    s = re.sub(r"(\d+)\.0*([^\d])", r"\1\2", s)
    s = re.sub(r"(\d+)\.0*$", r"\1", s)
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    # "k = 5" -> "5" when the left side is a short name.
    halves = s.split("=")
    if len(halves) == 2 and len(halves[0]) <= 2:
        s = halves[1]
    s = re.sub(r"\\sqrt(\w+)", r"\\sqrt{\1}", s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    s = _fix_a_slash_b(s)
    return s


def normalize_answer(answer: str | None, skip_unit: bool = False) -> str | None:
    """The dedupe/grading key of the `math-equal` grader.

    The reference normalises a prediction twice (once on extraction, once
    before comparing); doing the same keeps its verdicts reproducible.
    None (no answer) stays None. An answer that normalises to "" stays ""
    and is graded: the reference counts it correct against a gold answer
    that also normalises to "" (MATH500's `\\text{east}`).
    """
    if answer is None:
        return None
    return strip_string(strip_string(answer, skip_unit), skip_unit)
