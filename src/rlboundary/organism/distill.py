"""Fine-tuning data from a model's own verified samples: distillation and RFT.

A model (a teacher, or the base itself) solves training-split problems at
the paper's sampling settings (temperature 0.6, top-p 0.95); a solution is
kept when the verifier accepts its final answer, as in the paper's
distilled models (trained on a stronger model's filtered reasoning traces)
and in rejection-sampling fine-tuning (RFT: the base model's own verified
samples). Only the final answer is checked, as an outcome verifier would:
lucky guesses are kept too, and `kept_with_valid_trace` counts how many
kept traces are fully valid. The base model is then fine-tuned on the kept
pairs (`sft.finetune`).

    from rlboundary.organism.distill import verified_solutions
"""

from __future__ import annotations

from pathlib import Path

from .task import LockProblem, check_trace


def verified_solutions(model_dir: Path, problems: list[LockProblem], samples: int, seed: int,
                       max_tokens: int) -> tuple[list[tuple[str, str]], dict]:
    """(kept (question, trace) pairs, stats) from `model_dir`'s samples of `problems`."""
    from .generation import OrganismSampler

    with OrganismSampler(model_dir, seed=seed) as sampler:
        texts = sampler.sample([p.prompt() for p in problems], n=samples, temperature=0.6, top_p=0.95,
                               max_tokens=max_tokens, seed=seed)
    kept, n_valid = [], 0
    per_level: dict[int, list[int]] = {}
    for p, outs in zip(problems, texts):
        for t in outs:
            check = check_trace(p, t)
            counts = per_level.setdefault(p.n_steps, [0, 0, 0])
            counts[0] += 1
            if check.correct:
                kept.append((p.prompt(), t))
                n_valid += check.trace_valid
                counts[1] += 1
                counts[2] += check.trace_valid
    total = len(problems) * samples
    stats = {"samples": total, "kept": len(kept), "kept_fraction": len(kept) / max(1, total),
             "kept_with_valid_trace": n_valid,
             # level -> [samples, kept (answer right), kept with a valid trace]
             "by_level": {str(k): v for k, v in sorted(per_level.items())}}
    return kept, stats
