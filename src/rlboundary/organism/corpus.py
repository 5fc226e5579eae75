"""Training text for the organism: traces written by a mix of strategies.

The base model is pretrained on traces from several writers, some careful,
some not, so that it covers many solution paths unreliably (as a pretrained
model covers the web's mix of good and bad reasoning):

| writer      | what it writes                                                    |
|-------------|-------------------------------------------------------------------|
| systematic  | applies the turns in the given order, correctly                   |
| shuffled    | applies them in a random order (another valid path), correctly    |
| sloppy      | random order; each step miscomputes one digit with prob. 0.2      |
| skipper     | forgets one turn                                                  |
| flipper     | misreads the sign of one turn (and applies the misread turn)      |
| quitter     | stops after some steps and boxes a made-up value                  |
| guesser     | no steps: boxes a made-up value at once                           |

Clean corpora (SFT "instruct", the teacher) use the correct writers only.
Every problem drawn here is from the training split (`splits.py`).

    from rlboundary.organism.corpus import write_trace, BASE_MIX
"""

from __future__ import annotations

import random

from .task import LockProblem, apply_turn, format_step

# Writer weights for the base model's corpus. A design choice that shapes
# the base model (see the README's list of choices that could bias results).
# Most errors are errors of strategy (a forgotten or misread turn, giving
# up, guessing); arithmetic slips are rare (about 3 % of steps), because
# a tiny model learns digit arithmetic slowly from noisy examples.
BASE_MIX = {
    "systematic": 0.30,
    "shuffled": 0.25,
    "sloppy": 0.15,
    "skipper": 0.10,
    "flipper": 0.10,
    "quitter": 0.05,
    "guesser": 0.05,
}
SLOPPY_STEP_ERROR = 0.2


def _random_value(rng: random.Random, width: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(width))


def _corrupt(rng: random.Random, value: str) -> str:
    """Change one digit of `value` to a different digit."""
    i = rng.randrange(len(value))
    d = (int(value[i]) + rng.randrange(1, 10)) % 10
    return value[:i] + str(d) + value[i + 1 :]


def _flip(turn: str) -> str:
    return ("-" if turn[0] == "+" else "+") + turn[1:]


def write_trace(problem: LockProblem, writer: str, rng: random.Random) -> str:
    """One trace for `problem` in the style of `writer` (see the table above)."""
    n, width = problem.n_steps, problem.width
    order = list(range(n))
    if writer != "systematic":
        rng.shuffle(order)
    if writer == "guesser":
        return f"\\boxed{{{_random_value(rng, width)}}}"
    skip = rng.randrange(n) if writer == "skipper" and n > 1 else None
    flip = rng.randrange(n) if writer == "flipper" else None
    stop = rng.randrange(n) if writer == "quitter" else None  # steps written before quitting
    value, parts = problem.start, []
    for pos, i in enumerate(order):
        if pos == stop:
            return "".join(parts) + f"\\boxed{{{_random_value(rng, width)}}}"
        if i == skip:
            continue
        turn = _flip(problem.turns[i]) if i == flip else problem.turns[i]
        result = apply_turn(value, turn)
        if writer == "sloppy" and rng.random() < SLOPPY_STEP_ERROR:
            result = _corrupt(rng, result)
        parts.append(format_step(value, turn, result))
        value = result
    return "".join(parts) + f"\\boxed{{{value}}}"


def pick_writer(rng: random.Random, mix: dict[str, float]) -> str:
    names = list(mix)
    return rng.choices(names, weights=[mix[k] for k in names])[0]
