"""Train/eval splits of the organism's problems, disjoint by construction.

A problem belongs to the evaluation split when a salted hash of its
order-free key (start value + sorted turns) falls in the reserved bucket.
The bucket depends on the key alone, never on the seed, so no training
stage of any build (pretraining corpus, SFT, teacher, distillation, RL)
can draw a problem that some evaluation split contains: training samplers
reject reserved keys, and evaluation draws only reserved keys.

Disjoint as written, not in effect: the key keeps each turn's notation, and
"+d" and "-(10-d)" are the same operation mod 10 (the checker accepts
either), so an evaluation problem can have an equivalent training problem
(same start, same multiset of turn effects). Where the problem space is
small that is the rule: for seed 0's pretraining stream, 6/6, 8/8, 8/8 and
7/8 of the evaluation problems at levels 1-4 have an equivalent there, 1/8
and 2/8 at levels 5-6, none at 7-9 (README, "Design choices"). Keying on
effects would redraw every problem, so every build and evaluation; not done.

    from rlboundary.organism.splits import is_eval_key, draw_problems
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from .task import LockProblem, make_problem

SPLIT_SALT = "organism-split-v1"
EVAL_BUCKET_PERCENT = 5  # share of the key space reserved for evaluation


def is_eval_key(key: str) -> bool:
    h = hashlib.sha256(f"{SPLIT_SALT}\x00{key}".encode()).digest()
    return int.from_bytes(h[:4], "little") % 100 < EVAL_BUCKET_PERCENT


def draw_problem(rng: random.Random, n_steps: int, width: int, split: str) -> LockProblem:
    """A random problem from `split` ("train" or "eval"), by rejection."""
    want_eval = split == "eval"
    while True:
        p = make_problem(rng, n_steps, width)
        if is_eval_key(p.key()) == want_eval:
            return p


ENUMERATE_LIMIT = 100_000  # levels with at most this many ordered problems are enumerated exactly


@lru_cache(maxsize=None)
def _level_of_split(n_steps: int, width: int, want_eval: bool) -> tuple[LockProblem, ...]:
    """Every problem of one level in one split, one per order-free key, in a
    fixed order (cached: evaluation splits are loaded by every notebook)."""
    from itertools import combinations_with_replacement, product

    values = ["".join(d) for d in product("0123456789", repeat=width)]
    # No identity turns, as `task.make_problem` draws none.
    turns = [sign + v for v in values for sign in "+-" if set(v) != {"0"}]
    return tuple(p for start in values for combo in combinations_with_replacement(turns, n_steps)
                 if is_eval_key((p := LockProblem(start, combo)).key()) == want_eval)


def draw_panel(level: int, count: int, width: int, exclude: set[str]) -> list[LockProblem]:
    """Up to `count` evaluation-split problems of one level whose keys are not in
    `exclude` (the main evaluation set's): the frontier panel (`benchmark.load_panel`).

    Its own random stream per level, independent of the build seed and of how many
    problems the main set has, so every build whose frontier is `level` is scored
    on the same panel (a crossed design, as the main set)."""
    rng = random.Random(f"eval-panel-{level}")
    if (10 ** width) * (2 * 10 ** width) ** level <= ENUMERATE_LIMIT:
        pool = [p for p in _level_of_split(level, width, True) if p.key() not in exclude]
        # a whole permutation, then its prefix: the first problems do not depend on `count`
        # (the confirmation panel is the stream's problems after the frontier panel's)
        order = [LockProblem(p.start, tuple(rng.sample(p.turns, len(p.turns)))) for p in rng.sample(pool, len(pool))]
        return order[:count]
    seen, out = set(exclude), []
    while len(out) < count:
        p = draw_problem(rng, level, width, "eval")
        if p.key() not in seen:
            seen.add(p.key())
            out.append(p)
    return out


def draw_problems(seed: int, split: str, steps: range, per_level: int, width: int) -> list[LockProblem]:
    """Up to `per_level` distinct problems for each n_steps in `steps`, deterministic in seed.

    A level small enough to enumerate (one-turn problems of width 1 have only
    180 orderings, a handful of them in the evaluation bucket) gives every problem of
    the split when it holds fewer than `per_level`; larger levels are drawn
    at random, so they always give `per_level`.
    """
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', not {split!r}")
    rng = random.Random(f"{split}-{seed}")
    want_eval = split == "eval"
    out = []
    for n in steps:
        if (10 ** width) * (2 * 10 ** width) ** n <= ENUMERATE_LIMIT:
            # Turns in a random order, as drawn problems have them.
            pool = [LockProblem(p.start, tuple(rng.sample(p.turns, len(p.turns))))
                    for p in _level_of_split(n, width, want_eval)]
            out.extend(rng.sample(pool, min(per_level, len(pool))))
            continue
        seen: set[str] = set()
        got = 0
        while got < per_level:
            p = draw_problem(rng, n, width, split)
            if p.key() in seen:
                continue
            seen.add(p.key())
            out.append(p)
            got += 1
    return out
