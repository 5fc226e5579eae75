"""Train/eval splits of the organism's problems, disjoint by construction.

A problem belongs to the evaluation split when a salted hash of its
order-free key (start value + sorted turns) falls in the reserved bucket.
The bucket depends on the key alone, never on the seed, so no training
stage of any build (pretraining corpus, SFT, teacher, distillation, RL)
can draw a problem that some evaluation split contains: training samplers
reject reserved keys, and evaluation draws only reserved keys.

    from rlboundary.organism.splits import is_eval_key, draw_problems
"""

from __future__ import annotations

import hashlib
import random

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


def draw_problems(seed: int, split: str, steps: range, per_level: int, width: int) -> list[LockProblem]:
    """`per_level` distinct problems for each n_steps in `steps`, deterministic in seed."""
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', not {split!r}")
    rng = random.Random(f"{split}-{seed}")
    out, seen = [], set()
    for n in steps:
        got, tries = 0, 0
        while got < per_level:
            tries += 1
            if tries > 200 * per_level + 10_000:  # the split has fewer distinct problems of this length
                raise ValueError(f"only {got} distinct {split} problems with {n} steps and width {width}")
            p = draw_problem(rng, n, width, split)
            if p.key() in seen:
                continue
            seen.add(p.key())
            out.append(p)
            got += 1
    return out
