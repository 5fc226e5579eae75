"""The base model's frontier: the level where its valid reach is partial.

A study of whether RL extends a model's reach needs problems where the
base's reach is neither full nor empty: if the base already solves every
problem of a level with some valid trace (luck-free pass@k = 1), no
training can extend it there; if it never writes a valid trace, an
outcome reward can only reinforce lucky guesses. So after pretraining, the
base is measured on *training-split* problems of every level it trained on
(its main range and the rare longer chains, `Preset.exposure`), and the
frontier is chosen by a rule fixed before any evaluation:

    frontier = the trained level whose luck-free pass@k (k = frontier_n)
    lies in `frontier_range` (default 5-50 %), the one closest to the
    middle of the range; if none does, the candidate closest to the range,
    flagged `in_range: false` (reported, never hidden).

The evaluation split is never touched here. RL, rejection-sampling
fine-tuning and both distillations then draw their prompts from the same
distribution, `training_problems`: `frontier_share` of them at the
frontier level, the rest uniform over 1..frontier-1.

    from rlboundary.organism.frontier import measure_reach, choose_frontier, training_problems
"""

from __future__ import annotations

import random
from pathlib import Path

from .splits import draw_problem, draw_problems
from .task import LockProblem, check_trace


def reach_problems(seed: int, levels: list[int], per_level: int, width: int) -> list[LockProblem]:
    """The training-split problems `measure_reach(seed=...)` samples (a fixed draw per seed)."""
    return draw_problems(seed + 104729, "train", levels, per_level, width)


def measure_reach(model_dir: Path, levels: list[int], per_level: int, n: int, seed: int, width: int,
                  max_tokens: int) -> dict[int, dict]:
    """Per level: pass@1, pass@n and luck-free pass@n (a sample counts only
    when its answer is right and every step valid) on training-split problems."""
    from .generation import OrganismSampler

    problems = reach_problems(seed, levels, per_level, width)
    with OrganismSampler(model_dir, seed=seed) as sampler:
        texts = sampler.sample([p.prompt() for p in problems], n=n, temperature=0.6, top_p=0.95,
                               max_tokens=max_tokens, seed=seed)
    out: dict[int, dict] = {}
    for level in levels:
        correct, valid, any_correct, any_valid = 0, 0, 0, 0
        group = [(p, t) for p, t in zip(problems, texts) if p.n_steps == level]
        for p, outs in group:
            checks = [check_trace(p, t) for t in outs]
            c = sum(x.correct for x in checks)
            v = sum(x.correct and x.trace_valid for x in checks)
            correct, valid = correct + c, valid + v
            any_correct, any_valid = any_correct + (c > 0), any_valid + (v > 0)
        m = len(group)
        out[level] = {"problems": m, "n": n, "pass_at_1": correct / (m * n), "valid_at_1": valid / (m * n),
                      "pass_at_n": any_correct / m, "luck_free_pass_at_n": any_valid / m}
    return out


def choose_frontier(reach: dict[int, dict], candidates: list[int], target: tuple[float, float]) -> dict:
    """Apply the frontier rule (module docstring) to measured reach."""
    lo, hi = target
    mid = (lo + hi) / 2

    def distance(level: int) -> float:
        x = reach[level]["luck_free_pass_at_n"]
        return 0.0 if lo <= x <= hi else min(abs(x - lo), abs(x - hi))

    in_range = [lv for lv in candidates if distance(lv) == 0.0]
    if in_range:
        level = min(in_range, key=lambda lv: (abs(reach[lv]["luck_free_pass_at_n"] - mid), lv))
    else:
        level = min(candidates, key=lambda lv: (distance(lv), lv))
    return {"frontier": level, "in_range": bool(in_range), "target": list(target), "candidates": list(candidates),
            "rule": f"candidate level whose training-split luck-free pass@n is in [{lo}, {hi}], closest to "
                    f"{mid:g}; else the candidate closest to that range (flagged)"}


MATCHED_TEACHER_RULE = ("the matched teacher's checkpoint whose training-split luck-free pass@n at the frontier is "
                        "closest to the base's (same problems, n and sampling seed); ties go to the later checkpoint "
                        "(more training on clean traces); the untrained step 0 (the base itself) is not a candidate")


def choose_matched_checkpoint(base: dict, candidates: dict[int, dict]) -> int:
    """Apply MATCHED_TEACHER_RULE: `base` and each `candidates[step]` are
    `measure_reach` rows at the frontier level; returns the chosen step."""
    if not candidates:
        raise ValueError("no matched-teacher checkpoint to choose from")
    target = base["luck_free_pass_at_n"]
    return min(candidates, key=lambda step: (abs(candidates[step]["luck_free_pass_at_n"] - target), -step))


def training_problems(tag: str, seed: int, count: int, width: int, frontier: int, share: float) -> list[LockProblem]:
    """The prompt distribution every post-training method shares: `share` of
    the problems at the frontier level, the rest uniform over 1..frontier-1."""
    rng = random.Random(f"{tag}-{seed}")
    out = []
    for _ in range(count):
        level = frontier if (frontier == 1 or rng.random() < share) else rng.randint(1, frontier - 1)
        out.append(draw_problem(rng, level, width, "train"))
    return out
