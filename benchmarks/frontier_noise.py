"""How noisy is the base's reach at the frontier? The same problems at other sampling seeds, and fresh problems.

    .venv/bin/python benchmarks/frontier_noise.py --seed 0 [--level L]   # L: the build's frontier by default

Samples the built base (n = the preset's frontier_n) on four problem sets and
prints luck-free pass@n (a problem counts when one of its samples is right with
every step valid) and which problems were hit:
  1. the build's frontier problems with the build's own sampling seeds (must
     reproduce the frontier stage's number: the build is deterministic);
  2. the same problems with other sampling seeds;
  3. a fresh draw of training problems at that level (as
     `matched_teacher_check.py` draws them);
  4. the fresh problems with other sampling seeds.
Where valid traces are rare per sample, 2 and 4 differ from 1 and 3 in which
problems are hit: the reach is a rate more than a set of reachable problems.
Training-split problems only.
"""

from __future__ import annotations

import argparse

from matched_teacher_check import FRESH_DRAW_OFFSET


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--level", type=int, default=None)
    ap.add_argument("--preset", default="default")
    args = ap.parse_args()

    from rlboundary.organism.build import load_organism
    from rlboundary.organism.frontier import reach_problems
    from rlboundary.organism.generation import OrganismSampler, question_seed
    from rlboundary.organism.presets import get_preset
    from rlboundary.organism.task import check_trace

    p, seed = get_preset(args.preset), args.seed
    models = load_organism(p.name, seed)
    if models is None:
        raise SystemExit(f"no complete build of {p.name} seed {seed}: run `rlboundary organism build --seed {seed}`")
    level = args.level or models.manifest["frontier"]["frontier"]
    # The frontier stage's draw (every candidate level at once) and its per-question sampling
    # seeds (by index in that batch); the fresh draw is matched_teacher_check.py's.
    build = reach_problems(seed, p.frontier_candidates(), p.frontier_problems, p.width)
    idx = [i for i, q in enumerate(build) if q.n_steps == level]
    fresh_seed = seed + FRESH_DRAW_OFFSET
    fresh = reach_problems(fresh_seed, [level], p.frontier_problems, p.width)
    with OrganismSampler(models["base"], seed=seed) as sampler:

        def reach(problems, seeds):
            outs = sampler.sample([q.prompt() for q in problems], n=p.frontier_n, temperature=0.6, top_p=0.95,
                                  max_tokens=p.max_completion_tokens(), seed=seed, seeds=seeds)
            hits = [any(c.correct and c.trace_valid for c in (check_trace(q, t) for t in texts))
                    for q, texts in zip(problems, outs)]
            return sum(hits) / len(hits), "".join("x" if h else "." for h in hits)

        print(f"seed {seed}, level {level}, n={p.frontier_n}; hits per problem: x = reached")
        for name, problems, seeds in [
            ("build's problems, build's seeds", [build[i] for i in idx], [question_seed(seed, i) for i in idx]),
            ("build's problems, other seeds", [build[i] for i in idx], [seed + 12345 + i for i in idx]),
            ("fresh problems", fresh, [question_seed(fresh_seed, i) for i in range(len(fresh))]),
            ("fresh problems, other seeds", fresh, [seed + 555 + i for i in range(len(fresh))]),
        ]:
            value, hits = reach(problems, seeds)
            print(f"{name:34s} luck-free pass@{p.frontier_n} {value:.4f}  {hits}", flush=True)


if __name__ == "__main__":
    main()
