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
    """The training-split problems reach is measured on: a fixed draw per (seed,
    level), so a level's problems do not depend on which other levels are
    measured with it (the base is measured at every candidate level, the
    teachers at the frontier only, and they must see the same problems)."""
    return [problem for level in levels
            for problem in draw_problems(seed + 104729 + 1009 * level, "train", [level], per_level, width)]


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


# Luck-free reach by rounds: each problem is sampled `REACH_ROUND` at a time until
# one sample is right with a valid trace or n samples are drawn. Whether a problem
# is reached within n samples has the same distribution as with n drawn at once,
# at a fraction of the cost where reach is high (a reached problem stops early).
REACH_ROUND = 32
ROUND_SEED_STRIDE = 7919 * 1000  # keeps every (round, problem) sampling seed distinct


def measure_luck_free_reach(model_dir: Path, level: int, per_level: int, n: int, seed: int, width: int,
                            max_tokens: int, sampler=None, give_up=None) -> dict:
    """Luck-free pass@n at one level on `measure_reach`'s problems, sampled in
    rounds with early stopping (see REACH_ROUND). Same row as `measure_reach`;
    pass@1 and valid pass@1 come from the first round (every problem has it),
    `samples` says how many were drawn in all. `sampler`: an open
    `OrganismSampler` to reuse (its model is `model_dir`).

    `give_up(low, high)`, called after each round but the last with the bounds
    of the final luck-free pass@n (problems reached so far; reached or still
    open), may stop the whole measurement: the row then has `stopped_early`,
    `luck_free_bounds` = [low, high] and None for the pass@n values."""
    from contextlib import nullcontext

    from .generation import OrganismSampler, question_seed

    problems = reach_problems(seed, [level], per_level, width)
    reached, correct_any = [False] * len(problems), [False] * len(problems)
    first_correct = first_valid = drawn = 0
    stopped = None  # the bounds [low, high] when give_up stopped the measurement
    rounds = -(-n // REACH_ROUND)
    with (nullcontext(sampler) if sampler is not None else OrganismSampler(model_dir, seed=seed)) as s:
        for r in range(rounds):
            open_ = [i for i in range(len(problems)) if not reached[i]]
            if not open_:
                break
            size = min(REACH_ROUND, n - r * REACH_ROUND)
            seeds = [question_seed(seed + ROUND_SEED_STRIDE * r, i) for i in open_]
            texts = s.sample([problems[i].prompt() for i in open_], n=size, temperature=0.6, top_p=0.95,
                             max_tokens=max_tokens, seed=seed, seeds=seeds)
            for i, outs in zip(open_, texts):
                checks = [check_trace(problems[i], t) for t in outs]
                drawn += len(outs)
                if r == 0:
                    first_correct += sum(x.correct for x in checks)
                    first_valid += sum(x.correct and x.trace_valid for x in checks)
                correct_any[i] = correct_any[i] or any(x.correct for x in checks)
                reached[i] = any(x.correct and x.trace_valid for x in checks)
            # Bounds of the final reach: the problems reached so far, and those plus every open one.
            low = sum(reached) / len(problems)
            high = low + reached.count(False) / len(problems)
            if give_up is not None and r < rounds - 1 and give_up(low, high):
                stopped = [low, high]
                break
    m, first = len(problems), len(problems) * min(n, REACH_ROUND)
    row = {"problems": m, "n": n, "pass_at_1": first_correct / first, "valid_at_1": first_valid / first,
           "pass_at_n": sum(correct_any) / m, "luck_free_pass_at_n": sum(reached) / m, "samples": drawn,
           "sampling": f"rounds of {REACH_ROUND}, a problem stops at its first valid right answer"}
    if stopped is not None:
        row.update(pass_at_n=None, luck_free_pass_at_n=None, stopped_early=True, luck_free_bounds=stopped)
    return row


def measure_luck_free_reach_levels(model_dir: Path, levels: list[int], per_level: int, n: int, seed: int,
                                   width: int, max_tokens: int) -> dict[int, dict]:
    """`measure_luck_free_reach` at each of `levels`, with one sampler: {level: row}."""
    from .generation import OrganismSampler

    with OrganismSampler(model_dir, seed=seed) as sampler:
        return {level: measure_luck_free_reach(model_dir, level, per_level, n, seed, width, max_tokens, sampler=sampler)
                for level in levels}


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


MATCHED_TEACHER_RULE = ("the checkpoint of the stronger teacher's training run whose training-split luck-free "
                        "pass@n at the frontier is closest to the base's (the base's problems and n; sampled in "
                        "rounds that stop at a problem's first valid right answer); ties go to the later checkpoint; "
                        "the untrained step 0 (the base itself) is not a candidate")


def choose_matched_checkpoint(base: dict, candidates: dict[int, dict]) -> int:
    """Apply MATCHED_TEACHER_RULE: `base` and each `candidates[step]` are
    reach rows at the frontier level (`measure_reach`, `measure_luck_free_reach`);
    returns the chosen step."""
    if not candidates:
        raise ValueError("no matched-teacher checkpoint to choose from")
    target = base["luck_free_pass_at_n"]
    return min(candidates, key=lambda step: (abs(candidates[step]["luck_free_pass_at_n"] - target), -step))


def select_matched_checkpoint(base: dict, steps, measure) -> tuple[int, dict]:
    """MATCHED_TEACHER_RULE, measuring less: the same choice as measuring every
    candidate fully (`choose_matched_checkpoint`) on the same samples.

    Candidates are measured from the latest step down; `measure(step, give_up)`
    returns a `measure_luck_free_reach` row. Since ties go to the later step,
    an earlier candidate can only be chosen by coming strictly closer to the
    base than the best one measured so far, so its measurement stops as soon
    as its bounds rule that out, and once a candidate matches the base exactly
    the earlier ones are not measured at all. Returns (step, {step: row});
    a row not measured has `skipped`."""
    target = base["luck_free_pass_at_n"]
    rows: dict[int, dict] = {}
    chosen, best = None, None
    for step in sorted(steps, reverse=True):
        if best is not None and best <= 1e-12:
            rows[step] = {"skipped": f"step {chosen} matches the base exactly; an earlier step cannot be chosen"}
            continue

        def give_up(low: float, high: float, best=best) -> bool:
            return best is not None and max(0.0, low - target, target - high) >= best - 1e-12

        rows[step] = row = measure(step, give_up)
        if row.get("stopped_early"):
            continue
        distance = abs(row["luck_free_pass_at_n"] - target)
        if best is None or distance < best - 1e-12:
            chosen, best = step, distance
    if chosen is None:
        raise ValueError("no matched-teacher checkpoint to choose from")
    return chosen, rows


def training_problems(tag: str, seed: int, count: int, width: int, frontier: int, share: float) -> list[LockProblem]:
    """The prompt distribution every post-training method shares: `share` of
    the problems at the frontier level, the rest uniform over 1..frontier-1."""
    rng = random.Random(f"{tag}-{seed}")
    out = []
    for _ in range(count):
        level = frontier if (frontier == 1 or rng.random() < share) else rng.randint(1, frontier - 1)
        out.append(draw_problem(rng, level, width, "train"))
    return out
