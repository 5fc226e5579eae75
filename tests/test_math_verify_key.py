"""The `math-verify` grader is plain math-verify: its verdict equals
`verify(parse("\\boxed{gold}"), parse(whole response))` on every response.

Two checks on responses built to be tricky for a dedupe key (several boxes,
unboxed answers, answers in words, "final answer" phrases, percentages,
environments, unclosed boxes, \\fbox):
- the key's claim itself, in process: where `response_key` gives a short
  key and its box parses, math-verify's parse of the key's boxed stage is
  its parse of the whole response;
- the grader end to end (real worker processes, dedupe, REFINE to whole
  responses) against plain math-verify, on a table and on random responses.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from rlboundary.verify.grading import GradingProblem, get_grader, grade_frame
from rlboundary.verify.math_verify_key import STAGE, WHOLE, boxed_stage_parse, response_key, stage_key_parse

ANSWERS = ["5", "-3", "\\frac{1}{2}", "0.5", "\\frac13", "\\sqrt{3}", "2\\pi", "(1,2)", "[1,2)", "x^2+1",
           "\\text{Evelyn}", "50\\%", "1,2", "\\dfrac{1}{2}", "10\\text{ cm}", "y = 2x+1", "\\{1,2\\}"]
PREFIXES = ["", "Let me think.\n", "We have $x = 3$ and $y=4$.\n", "The final answer is not obvious yet. ",
            "Answer: we try $2$ first.\n", "$$ a = 1 $$\n", "\\[ b = 2 \\]\n", "It costs $5 and $6 in total.\n",
            "First $\\frac{3}{4}$, then 17.\n"]
FORMS = ["\\boxed{{{a}}}", "$\\boxed{{{a}}}$", "\\(\\boxed{{{a}}}\\)", "\\[\\boxed{{{a}}}\\]", "$x = \\boxed{{{a}}}$",
         "the answer is ${a}$", "the answer is \\({a}\\)", "${a}$", "{a}", "\\boxed{{{a}}} and \\boxed{{{b}}}",
         "\\boxed{{{a}}}, \\boxed{{{b}}}", "$\\boxed{{{a}}}$%", "\\boxed{{{a}}} percent",
         "The final answer is $\\boxed{{{a}}}$. I hope it is correct.", "Therefore, the final answer is $\\boxed{{{a}}}$.",
         "final answer is \\boxed{{{a}}}", "\\boxed {{{a}}}", "\\fbox{{{a}}}", "\\boxed{{{a}", "\\boxed{{\\text{{none}}}} so {a}",
         "The final answer is ${b}$, or rather $\\boxed{{{a}}}$", "$\\boxed{{{a}}} \\text{{ apples}}$",
         "\\boxed{{{a}}} so again \\boxed{{{a}}}", "$\\boxed{{{a}}}$\n\n**Final Answer**\n$\\boxed{{{a}}}$",
         "\\[\\boxed{{{a}}}\\] and \\[\\boxed{{{a}}}\\]", "\\boxed{{{a}}}\\boxed{{ {a} }}"]
SUFFIXES = ["", ".", " \\text{units}", "\nDone.", " final answer is 7", "\n\nThe answer is 12.", " ]  x", " %", "}"]

TABLE = [  # (response, gold): each a case a box-only key would get wrong
    ("\\boxed{1}\\text{ and later }\\boxed{2}", "2"),
    ("\\boxed{1}, \\boxed{2}", "1,2"),
    ("The answers are $\\boxed{3}$ and $\\boxed{5}$.", "3,5"),
    ("Thus $x = \\frac13$", "\\frac{1}{3}"),
    ("the answer is \\(\\sqrt3\\)", "\\sqrt{3}"),
    ("So we get 7 apples in total", "7"),
    ("The final answer is $\\boxed{5}$. I hope it is correct.", "5"),
    ("Therefore, the final answer is $\\boxed{5}$.", "5"),
    ("The final answer is \\boxed{4} but earlier 7", "4"),
    ("$\\boxed{50}$%", "0.5"),
    ("\\boxed{}", "5"),
    ("\\boxed{??} then the answer is 5", "5"),
    ("\\fbox{12}", "12"),
    ("\\boxed {12}", "12"),
    ("\\boxed{3", "3"),
    ("The answer: \\boxed{x^2+1} is nice \\[ y = 3 \\]", "x^2+1"),
    ("\\boxed{\\frac{1}{2004!}}", "\\frac{1}{2006!}"),
    ("I do not know.", "5"),
    ("So \\boxed{5}.\n\n**Final Answer**\n\\boxed{5}", "5"),
    ("\\boxed{5}, \\boxed{5}", "5"),
    ("$\\boxed{5}$ and $\\boxed{5}$", "5"),
]


# math-verify's timeouts are wall-clock alarms: generous ones on both sides,
# so that a loaded machine cannot turn a parse into a timeout on one side only.
SLOW_OK_S = 60


def _naive(text: str, gold: str) -> bool:
    from math_verify import parse, verify

    gold_parsed = parse("\\boxed{" + gold + "}", parsing_timeout=SLOW_OK_S)
    return bool(verify(gold_parsed, parse(text, parsing_timeout=SLOW_OK_S), timeout_seconds=SLOW_OK_S))


def _random_responses(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.choice(ANSWERS), rng.choice(ANSWERS)
        text = rng.choice(PREFIXES) + rng.choice(FORMS).format(a=a, b=b) + rng.choice(SUFFIXES)
        gold = a if rng.random() < 0.6 else rng.choice(ANSWERS)
        out.append((text, gold))
    return out


def test_short_keys_parse_as_the_whole_response():
    from math_verify import parse

    shown = {"boxed": 0, "first-match": 0}
    for text, _ in _random_responses(300, seed=1) + TABLE:
        key = response_key(text)
        if key.startswith(WHOLE):
            assert key == WHOLE + text
            continue
        kind = "first-match" if key.startswith(STAGE) else "boxed"
        staged = stage_key_parse(key, SLOW_OK_S) if kind == "first-match" else boxed_stage_parse(key, SLOW_OK_S)
        if staged is None:
            continue  # that match does not parse: the grader regrades the whole response
        whole = parse(text, parsing_timeout=SLOW_OK_S)
        assert [type(x) for x in staged] == [type(x) for x in whole] and [str(x) for x in staged] == [str(x) for x in whole], text
        shown[kind] += 1
    assert shown["boxed"] > 50 and shown["first-match"] > 20, shown  # the check was not vacuous


def test_one_box_fast_path_gives_the_general_key():
    from rlboundary.verify import math_verify_key

    texts = [t for t, _ in _random_responses(2000, seed=3) + TABLE]
    # Deep nesting, a box at the very end or start, ASCII and not, "final answer" in any case.
    texts += ["\\boxed{\\frac{\\sqrt{\\frac{1}{\\sqrt{2}}}}{3}}", "x \\boxed{{{{{1}}}}}", "\\boxed{5}",
              "\\boxed{ 5 } FINAL ANSWER", "Ünïcode \\boxed{7}.", "\\boxed{a}]\n", "\\boxed{1} 5 pct"]
    general = math_verify_key._one_box_key
    fast_hits = 0
    for text in texts:
        fast = general(text)
        math_verify_key._one_box_key = lambda _text: None  # the general path only
        try:
            slow = math_verify_key.response_key(text)
        finally:
            math_verify_key._one_box_key = general
        assert math_verify_key.response_key(text) == slow, text
        if fast is not None:
            assert fast == slow, text
            fast_hits += 1
    assert fast_hits > 100  # the fast path was exercised


def _grade(cases: list[tuple[str, str]]) -> tuple[pd.DataFrame, list]:
    problems = [GradingProblem(str(i), "", gold, {}) for i, (_, gold) in enumerate(cases)]
    frame = pd.DataFrame({"problem_id": [str(i) for i in range(len(cases))], "sample_idx": 0,
                          "text": pd.Series([t for t, _ in cases], dtype=object)})
    verdicts = grade_frame(frame, problems, get_grader("math-verify", item_timeout_s=SLOW_OK_S))
    got = dict(zip(verdicts["problem_id"], verdicts["correct"]))
    wrong = [(t, g, got[str(i)]) for i, (t, g) in enumerate(cases) if got[str(i)] != _naive(t, g)]
    return verdicts, wrong


def test_table_of_tricky_responses_equals_plain_math_verify():
    verdicts, wrong = _grade(TABLE)
    assert not wrong, wrong
    # Both outcomes occur, and several whole-response keys (stored as digests).
    assert verdicts["correct"].any() and not verdicts["correct"].all()
    assert verdicts["key"].str.startswith(WHOLE + "sha256:").sum() >= 3
    assert verdicts["key"].str.startswith(STAGE + "sha256:").sum() >= 5
    # ... shown to readers as math-verify read them, never as the digest.
    assert not verdicts["extracted"].dropna().str.startswith((WHOLE, STAGE)).any()


@pytest.mark.timeout(600)
def test_random_responses_equal_plain_math_verify():
    cases = _random_responses(150, seed=7)
    verdicts, wrong = _grade(cases)
    assert not wrong, wrong[:5]
    assert 0.1 < verdicts["correct"].mean() < 0.9


def test_first_match_skips_final_answer_patterns_only_where_they_cannot_match():
    """`_first_stage_match` does not run math-verify's "final answer"
    patterns on texts that do not say it: the same first match as running
    every pattern, on texts with and without the phrase (any case, ASCII
    or not), and the prefilter did skip patterns."""
    from rlboundary.verify import math_verify_key

    def unfiltered(text):
        for patterns in math_verify_key._stage_order():
            found = [(m, index) for pattern, index, _ in patterns for m in pattern.finditer(text)]
            if found:
                found.sort(key=lambda f: (f[0].end(), -f[0].start()), reverse=True)
                m, index = found[0]
                return [index, [[name, value] for name, value in m.groupdict().items() if value is not None]]
        return None

    assert sum(needs for patterns in math_verify_key._stage_order() for _, _, needs in patterns) == 4
    texts = [t for t, _ in _random_responses(400, seed=7) + TABLE]
    texts += ["FINAL ANSWER is $5$ I hope", "Final Answer: the value is $\\boxed{3}$", "ﬁnal answer is $2$",
              "Ünïcode final answer is $7$. \\boxed{2}", "final  answer is $1$ \\boxed{1}", "\\boxed{4}%",
              "The ﬁnal answer is 12 I hope", "fınal answer is $3$ \\boxed{3}"]
    for text in texts:
        assert math_verify_key._first_stage_match(text) == unfiltered(text), text
