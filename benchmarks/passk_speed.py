"""How fast pass@k and its bootstrap CIs are at the paper's scale.

    .venv/bin/python benchmarks/passk_speed.py [--problems 500] [--n 1024] [--n-boot 1000] [--repeats 5]

Times (best of --repeats) the unbiased pass@k for every problem and every k
in 1..n (target: under 1 s for 500 problems x n=1024), then the mean curve
with percentile bootstrap CIs over problems (B replicates) for all k, then
a paired base-vs-RL comparison (difference curve, crossover, ΔSE). Correct
counts are drawn from a Beta-Binomial, like real per-problem accuracies.
Prints `passk_500x1024_seconds=X` (named after the actual sizes) first.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from rlboundary import metrics


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    ids = [f"q{i:04d}" for i in range(args.problems)]
    n = np.full(args.problems, args.n)
    base_c = rng.binomial(args.n, rng.beta(0.3, 1.0, args.problems))
    rl_c = rng.binomial(args.n, rng.beta(0.5, 0.7, args.problems))
    ks = np.arange(1, args.n + 1)
    base = pd.DataFrame({"model": "base", "benchmark": "synthetic", "problem_id": ids, "n": n, "c": base_c})
    rl = pd.DataFrame({"model": "rl", "benchmark": "synthetic", "problem_id": ids, "n": n, "c": rl_c})

    size = f"{args.problems}x{args.n}"
    t_passk = best_time(lambda: metrics.pass_at_k(n, base_c, ks), args.repeats)
    print(f"passk_{size}_seconds={t_passk:.4f}")
    t_curve = best_time(lambda: metrics.pass_at_k_curve(base, n_boot=args.n_boot), max(1, args.repeats // 2))
    print(f"passk_curve_bootstrap_{size}_B{args.n_boot}_seconds={t_curve:.4f}  (all k, mean + {args.n_boot} replicates)")
    t_paired = best_time(lambda: (metrics.paired_difference_curve(base, rl, n_boot=args.n_boot),
                                  metrics.crossover(base, rl, n_boot=args.n_boot),
                                  metrics.sampling_efficiency_gap(base, rl, n_boot=args.n_boot)),
                         max(1, args.repeats // 2))
    print(f"paired_diff_crossover_dse_{size}_B{args.n_boot}_seconds={t_paired:.4f}")
    verdict = "meets" if t_passk < 1.0 else "MISSES"
    print(f"pass@k target (< 1 s for all k): {verdict}")


if __name__ == "__main__":
    main()
