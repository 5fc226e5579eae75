"""Trace validity and guessability: are correct answers backed by valid reasoning?

The paper could only inspect chains of thought by hand to ask whether
correct answers at low pass rates are lucky guesses. Here every step can be
checked (`task.check_trace`), so for every sample this module gives:

- `trace_valid`: every step applies an unused turn to the current value and
  computes it right, every turn is used once, and the boxed answer is the
  last value (any order of turns is valid);
- `n_steps_checked`: steps parsed and checked (up to and including the first
  invalid one);
- `first_invalid_step`: 0-based index of the first invalid step; equal to
  the number of steps when the steps are all valid but incomplete or the
  boxed answer disagrees with them; -1 when the trace is valid.

Guessability: how often the final answer is right with no reasoning. The
models have never been asked for an answer without steps (only the
`guesser` writer in the base corpus boxes an answer at once), so instead of
an instruction the assistant turn is pre-filled up to `\\boxed{`: the model
must write the answer as its very next tokens. Reported next to the chance
rate, 1 / 10**width.

    from rlboundary.organism.validity import trace_verdict, guessability
"""

from __future__ import annotations

from .task import LockProblem, check_trace

GUESS_PREFILL = "\\boxed{"


def trace_verdict(problem: LockProblem, text: str) -> dict:
    """Final-answer verdict plus the step-by-step validity of `text`."""
    c = check_trace(problem, text)
    return {
        "answer": c.answer,
        "correct": c.correct,
        "trace_valid": c.trace_valid,
        "n_steps_checked": c.n_steps_checked,
        "first_invalid_step": -1 if c.first_invalid_step is None else c.first_invalid_step,
        "invalid_reason": c.reason,
    }


def chance_rate(width: int) -> float:
    """Probability that a uniformly random answer of `width` digits is right."""
    return 1.0 / 10**width


def guessability(model_dir, problems: list[LockProblem], n: int, seed: int = 0, temperature: float = 0.6,
                 top_p: float = 0.95, sampler=None) -> dict:
    """Share of no-reasoning answers that are right, for one model.

    Samples `n` completions per problem after the pre-filled `\\boxed{` and
    scores the boxed value; returns the mean accuracy, the share of problems
    answered right at least once, and the chance rate.
    """
    from .generation import OrganismSampler

    own = sampler is None
    sampler = sampler or OrganismSampler(model_dir, seed=seed)
    try:
        width = problems[0].width
        texts = sampler.sample([p.prompt() for p in problems], n=n, temperature=temperature, top_p=top_p,
                               max_tokens=width + 2, seed=seed, prefill=GUESS_PREFILL)
    finally:
        if own:
            sampler.close()
    per_problem = []
    for p, outs in zip(problems, texts):
        answer = p.answer()
        # The guess is the boxed content; "}" may be missing when max_tokens cut it.
        hits = sum(t[len(GUESS_PREFILL):].split("}")[0].strip() == answer for t in outs)
        per_problem.append(hits / len(outs))
    return {
        "guess_accuracy": sum(per_problem) / len(per_problem),
        "guess_any_correct": sum(x > 0 for x in per_problem) / len(per_problem),
        "chance_rate": chance_rate(width),
        "n": n,
        "problems": len(problems),
    }
