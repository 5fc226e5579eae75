"""The organism's task: digit-wise "combination lock" arithmetic, exactly verifiable.

A problem is a start value of `width` digits and a list of signed turns of
the same width; every turn adds (or subtracts) digit by digit, mod 10, with
no carries. The answer is the final value:

    question:  386+123-405=?
    trace:     386+123=409;409-405=004;\\boxed{004}

The question is the bare expression (PROMPT_FORMAT): the organism's models
are trained from scratch on this one task, so a constant instruction ("Mod 10:
... Step by step; answer in \\boxed{}.") carries no information for them, and
it was 60 % of the tokens the base trained on
(benchmarks/prompt_token_share.py: a base step costs 2.27x as much with it).

Why this task (and not Countdown or graph search):
- Each step is local: it restates the value and the turn it applies, so a
  tiny character-level model can learn single steps quickly on a CPU
  (../shared/FACTS.md: mod-10 chains are learned once each step restates its
  operation; with no carries every output digit depends on two input digits
  at fixed offsets).
- Several valid solution paths: digit-wise addition mod 10 is commutative,
  so the turns may be applied in any order (n! paths for n turns); the
  verifier accepts every order.
- A difficulty knob: `n_steps`, the number of turns; all steps must be right.
- An answer space of 10**width values. The default preset uses width 1
  (10 answers), the only width a tiny model learns within the CPU budget
  (a width-2 base was still at chance after 400 steps): there a blind guess
  is right one time in ten, so large-k pass@k is dominated by guessing, and
  the step-by-step check (`check_trace`) is what separates reasoning from
  luck. The `large` preset (GPU) uses width 3 (1000 answers).
- Exact verification of the final answer and of every step (`check_trace`).

Equivalent forms (why the checker accepts more than the given turns):
- A turn's effect is a digit-wise shift mod 10, so `+3` and `-7` do the
  same thing, and so do `+5` and `-5`. A step may write any turn whose
  effect equals that of an unused turn of the problem; it then uses that
  turn up. Rejecting `-5` for `+5` would call valid reasoning invalid.
- Identity turns (`+0`, `-0`, `+00`, ...) change nothing. The generator
  never draws them (so every turn is a real step and `n_steps` is the true
  number of operations), and the checker lets a trace skip one where a
  problem has it anyway (problems read from elsewhere), since skipping a
  no-op is valid reasoning.

Pure Python, no dependencies: used by the corpus writer, the RL reward, the
grader and the validity analysis.

    from rlboundary.organism.task import make_problem, solve, check_trace
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Bare on purpose: prompt characters cost training compute on a CPU (module docstring).
# Recorded in every build stage's settings, so a changed format rebuilds the organism.
PROMPT_FORMAT = "bare: <start><turns>=?"

BOXED_RE = re.compile(r"\\boxed\{([^{}]*)\}")


@dataclass(frozen=True)
class LockProblem:
    """One task instance: start value and signed turns, as digit strings."""

    start: str  # e.g. "386"
    turns: tuple[str, ...]  # e.g. ("+123", "-405")

    @property
    def width(self) -> int:
        return len(self.start)

    @property
    def n_steps(self) -> int:
        return len(self.turns)

    def expression(self) -> str:
        return self.start + "".join(self.turns)

    def prompt(self) -> str:
        return f"{self.expression()}=?"

    def key(self) -> str:
        """Identity up to the order of the turns: a reordered problem has the
        same answer and the same set of valid traces, so splits use this key."""
        return self.start + "|" + ",".join(sorted(self.turns))

    def answer(self) -> str:
        return solve(self)


def apply_turn(value: str, turn: str) -> str:
    """Digit-wise value ± turn mod 10 (turn carries its sign)."""
    sign, digits = turn[0], turn[1:]
    if len(digits) != len(value):
        raise ValueError(f"turn {turn!r} does not match width of {value!r}")
    step = 1 if sign == "+" else -1
    return "".join(str((int(a) + step * int(b)) % 10) for a, b in zip(value, digits))


def solve(problem: LockProblem) -> str:
    value = problem.start
    for turn in problem.turns:
        value = apply_turn(value, turn)
    return value


def turn_effect(turn: str) -> tuple[int, ...]:
    """The digit-wise shift mod 10 a turn applies: `+3` and `-7` both give (3,)."""
    step = 1 if turn[0] == "+" else -1
    return tuple((step * int(d)) % 10 for d in turn[1:])


def is_identity(turn: str) -> bool:
    return not any(turn_effect(turn))


def make_problem(rng, n_steps: int, width: int) -> LockProblem:
    """A random problem with no identity turns; `rng` is a `random.Random`."""
    start = "".join(str(rng.randrange(10)) for _ in range(width))
    turns = []
    while len(turns) < n_steps:
        digits = "".join(str(rng.randrange(10)) for _ in range(width))
        if set(digits) == {"0"}:  # a no-op is not a step (see the module docstring)
            continue
        turns.append(rng.choice("+-") + digits)
    return LockProblem(start, tuple(turns))


def parse_prompt(prompt: str) -> LockProblem:
    """Recover the problem from its prompt text (inverse of `LockProblem.prompt`)."""
    m = re.search(r"(\d+)((?:[+-]\d+)+)=\?", prompt)
    if not m:
        raise ValueError(f"not an organism prompt: {prompt[:80]!r}")
    turns = tuple(re.findall(r"[+-]\d+", m.group(2)))
    return LockProblem(m.group(1), turns)


def format_step(value: str, turn: str, result: str) -> str:
    return f"{value}{turn}={result};"


def clean_trace(problem: LockProblem, order: list[int] | None = None) -> str:
    """A correct trace applying the turns in `order` (default: as given)."""
    order = list(range(problem.n_steps)) if order is None else order
    value, parts = problem.start, []
    for i in order:
        result = apply_turn(value, problem.turns[i])
        parts.append(format_step(value, problem.turns[i], result))
        value = result
    return "".join(parts) + f"\\boxed{{{value}}}"


def extract_answer(text: str) -> str | None:
    """The content of the last `\\boxed{...}`, stripped; None when absent."""
    found = BOXED_RE.findall(text)
    return found[-1].strip() if found else None


STEP_RE = re.compile(r"^(\d+)([+-]\d+)=(\d+)$")


@dataclass
class TraceCheck:
    """Result of checking a trace step by step against its problem."""

    answer: str | None  # extracted final answer
    correct: bool  # final answer equals the true answer
    trace_valid: bool  # every step valid, every turn used once, answer = last value
    n_steps_checked: int  # steps parsed and checked (up to the first invalid one included)
    first_invalid_step: int | None  # 0-based index of the first invalid step; n_steps when the
    # steps are all valid but incomplete/mismatched; None when valid
    reason: str = ""  # why the trace is invalid ("" when valid)
    steps: list[str] = field(default_factory=list)


def check_trace(problem: LockProblem, text: str) -> TraceCheck:
    """Verify the final answer and every step of `text`.

    A step `X±T=Y;` is valid when X is the current value (the start value
    for the first step), ±T has the same effect as one of the problem's
    turns not used yet (as a multiset; `-7` stands for `+3`), and Y is X±T
    digit-wise mod 10. The trace is valid when every step is valid, every
    turn that changes anything is used exactly once (identity turns may be
    skipped), and the boxed answer is the last value. Any order of the turns
    and any equivalent form of each is a valid path.
    """
    answer = extract_answer(text)
    truth = solve(problem)
    correct = answer is not None and answer == truth
    body = text.split("\\boxed{")[0]
    steps = [s.strip() for s in body.split(";") if s.strip()]
    remaining = list(problem.turns)
    value = problem.start
    for i, step in enumerate(steps):
        m = STEP_RE.match(step)
        reason = ""
        if not m:
            reason = f"step {i} is not of the form X±T=Y: {step[:40]!r}"
        elif m.group(1) != value:
            reason = f"step {i} starts from {m.group(1)}, current value is {value}"
        elif len(m.group(2)) - 1 != len(value):
            reason = f"step {i} applies {m.group(2)}, whose width is not the value's"
        elif (used := _matching_turn(remaining, m.group(2))) is None:
            reason = f"step {i} applies {m.group(2)}, not (equivalent to) an unused turn"
        elif m.group(3) != apply_turn(value, m.group(2)):
            reason = f"step {i} computes {m.group(3)}, should be {apply_turn(value, m.group(2))}"
        if reason:
            return TraceCheck(answer, correct, False, i + 1, i, reason, steps)
        remaining.remove(used)
        value = m.group(3)
    n = len(steps)
    remaining = [t for t in remaining if not is_identity(t)]  # skipping a no-op is valid
    if remaining:
        return TraceCheck(answer, correct, False, n, n, f"{len(remaining)} turn(s) never applied", steps)
    if answer != value:
        return TraceCheck(answer, correct, False, n, n, "boxed answer is not the last value", steps)
    return TraceCheck(answer, correct, True, n, None, "", steps)


def _matching_turn(remaining: list[str], written: str) -> str | None:
    """An unused turn with the same effect as `written` (the exact one first), or None.

    Turns with equal effects are interchangeable, so taking any of them
    never rejects a trace that another choice would accept."""
    if written in remaining:
        return written
    effect = turn_effect(written)
    return next((t for t in remaining if turn_effect(t) == effect), None)
