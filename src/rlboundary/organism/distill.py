"""Distillation data: the teacher's sampled solutions, kept when verified.

The teacher (a larger model pretrained on correct traces in every order)
solves training-split problems at the paper's sampling settings
(temperature 0.6, top-p 0.95); a solution is kept when the verifier
accepts its final answer, as in the paper's distilled models (trained on a
stronger model's filtered reasoning traces). The base model is then
fine-tuned on the kept pairs (`sft.finetune`).

    from rlboundary.organism.distill import teacher_solutions
"""

from __future__ import annotations

import random
from pathlib import Path

from .splits import draw_problem
from .task import check_trace


def teacher_solutions(
    teacher_dir: Path, n_problems: int, samples: int, seed: int, width: int, max_steps: int, max_tokens: int
) -> tuple[list[tuple[str, str]], dict]:
    """(kept (question, trace) pairs, stats) from the teacher's samples."""
    from .generation import OrganismSampler

    rng = random.Random(f"distill-{seed}")
    problems = [draw_problem(rng, rng.randint(1, max_steps), width, "train") for _ in range(n_problems)]
    with OrganismSampler(teacher_dir, seed=seed) as sampler:
        texts = sampler.sample([p.prompt() for p in problems], n=samples, temperature=0.6, top_p=0.95,
                               max_tokens=max_tokens, seed=seed)
    kept, n_valid = [], 0
    for p, outs in zip(problems, texts):
        for t in outs:
            check = check_trace(p, t)
            if check.correct:
                kept.append((p.prompt(), t))
                n_valid += check.trace_valid
    total = n_problems * samples
    stats = {"teacher_samples": total, "kept": len(kept), "kept_fraction": len(kept) / max(1, total),
             "kept_with_valid_trace": n_valid}
    return kept, stats
