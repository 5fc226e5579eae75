"""The organism as a benchmark: its problems as `benchmarks.Problem`s.

    from rlboundary.benchmarks import get_benchmark
    get_benchmark("organism")            # the default preset's evaluation split
    get_benchmark("organism:micro")      # the micro preset's evaluation split
    load_problems("eval", preset="default", seed=0)
    load_problems("train", preset="default", per_level=50)

`Problem.prompt` is the complete model input: the question wrapped in the
organism's chat turns (`<|user|>…<|assistant|>`), so that the `raw` prompt
template samples the models exactly as they were trained. The question
alone is in `metadata["question"]`; `metadata["n_steps"]` is the difficulty.
The evaluation split spans every difficulty from 1 to the preset's
`unseen_level` (one turn longer than any chain any model trained on)
and is disjoint from every training problem as written (`splits.py`; equivalent
problems in another notation do recur at short levels, see its docstring).
"""

from __future__ import annotations

from ..tinymodel import ASSISTANT, USER
from .presets import PRESETS, get_preset
from .splits import draw_panel, draw_problems
from .task import LockProblem

SPLIT_ALIASES = {"eval": "eval", "test": "eval", "train": "train"}


def chat_prompt(question: str) -> str:
    """The question as the models see it (what ChatEncoder.prompt encodes)."""
    return f"{USER}{question}{ASSISTANT}"


def to_problem(lp: LockProblem, pid: str, split: str, preset: str):
    from ..benchmarks import Problem

    return Problem(
        id=pid,
        prompt=chat_prompt(lp.prompt()),
        reference={"answer": lp.answer(), "start": lp.start, "turns": list(lp.turns), "width": lp.width},
        metadata={"n_steps": lp.n_steps, "difficulty": lp.n_steps, "question": lp.prompt(), "split": split,
                  "preset": preset, "answer_space": 10 ** lp.width},
    )


def load_problems(split: str = "eval", preset: str = "default", seed: int = 0, per_level: int | None = None,
                  data_dir=None) -> list:
    """Problems of one split. `split` may also name a preset ("micro") or
    "<preset>-<split>" ("micro-train"), as the benchmark variant does."""
    from ..errors import UserError

    if split in PRESETS:
        preset, split = split, "eval"
    elif "-" in split and split.split("-", 1)[0] in PRESETS:
        preset, split = split.split("-", 1)
    if split not in SPLIT_ALIASES:
        raise UserError(f"unknown organism split {split!r}.",
                        "use eval (alias test), train, a preset name, or <preset>-<split>.")
    split = SPLIT_ALIASES[split]
    p = get_preset(preset)
    per_level = per_level or p.eval_per_level
    steps = p.eval_steps if split == "eval" else range(1, p.max_steps + 1)
    lps = draw_problems(seed, split, steps, per_level, p.width)
    counters: dict[int, int] = {}
    out = []
    for lp in lps:
        i = counters.get(lp.n_steps, 0)
        counters[lp.n_steps] = i + 1
        out.append(to_problem(lp, f"{split}-s{lp.n_steps}-{i:03d}", split, p.name))
    return out


def load_panel(level: int, count: int, preset: str = "default", seed: int = 0, start: int = 0) -> list:
    """The frontier panel: `count` more evaluation-split problems at `level`,
    disjoint from `load_problems("eval", preset, seed)` (ids `eval-panel-s<level>-<i>`).
    `start` skips the stream's first problems: `start=32` gives the confirmation
    panel, fresh problems after the first 32 (the stream is prefix-stable).

    Why it exists: the reach rule's "no gain" statement needs >= 72 (seed,
    problem) pairs at the frontier (`reach.change_bounds`), and the main set
    has `eval_per_level` problems there (8 in the default preset: 24 pairs over
    three seeds), so without a panel the paper's claim could never come out
    "supported". `Preset.frontier_panel` says how many; the reach comparison
    scores each build on the panel at its own frontier level."""
    p = get_preset(preset)
    main = {lock_problem(q).key() for q in load_problems("eval", preset=preset, seed=seed)}
    drawn = draw_panel(level, start + count, p.width, main)
    return [to_problem(lp, f"eval-panel-s{level}-{i:03d}", "eval", p.name)
            for i, lp in enumerate(drawn) if i >= start]


def lock_problem(problem) -> LockProblem:
    """The task-level problem behind a benchmark Problem (from its reference)."""
    ref = problem.reference
    return LockProblem(ref["start"], tuple(ref["turns"]))
