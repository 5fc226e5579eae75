"""Grading throughput: rlboundary's driver vs naive per-sample math-verify.

    .venv/bin/python benchmarks/verify_throughput.py                     # 500 x 256, naive on 40 problems
    .venv/bin/python benchmarks/verify_throughput.py --naive-problems 0  # naive on every sample
    .venv/bin/python benchmarks/verify_throughput.py --problems 50 --samples 64   # quick

The set: MATH500 problems (from --data-dir, default the project machines'
/work/shared/benchmarks/math) x N responses each. A response is the
problem's reference solution text with its final box replaced by a
candidate answer, plus a varying sentence so no two texts are equal.
Candidates per problem: the gold answer, correct surface variants (dfrac,
spacing, \\left/\\right), and near misses (off by one, sign, doubled,
perturbed expressions), drawn from a skewed (Zipf) distribution as real
samples are, plus a 5 % tail of one-off wrong numbers.
A share (--tricky, default 5 %) of responses end in a form that is not one
plain box (TRICKY_ENDINGS): "final answer is $\\boxed{}$" and the same
answer boxed twice (both still short keys), two different boxes, an unboxed
`$answer$`, a percentage, a box with words then an unboxed answer. The last
four are graded whole (math-verify reads more than the box there), so they
cost what naive math-verify costs.

Both sides grade the same samples in this one run:
- rlboundary: `grade_frame` with the math-verify grader (extract, dedupe by
  (problem, answer), exact shortcuts, worker processes on all cores), worker
  start-up included; run twice, before and after naive, and averaged (the
  load of a shared machine drifts);
- naive: math-verify `parse(response)` + `verify(gold, ...)` for every
  sample, one process, the gold parsed once per problem.
Their `correct` flags must be identical on every naively graded sample;
--cover-pairs also checks one sample of EVERY distinct (problem, answer)
pair against naive math-verify (verdicts only, not timed).
Printed: wall AND CPU time of each side (CPU = own work, robust to the
load of a shared machine; wall = what a user waits), both ratios.
With --naive-problems K > 0 the naive side grades every sample of K random
problems and its full time is EXTRAPOLATED (printed as such).
Last line: `grading_speedup=X`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time

import numpy as np
import pandas as pd

DEFAULT_DATA = "/work/shared/benchmarks/math"


def _variants(gold: str, rng: random.Random) -> tuple[list[str], list[str]]:
    """(correct surface forms, near misses) of a gold answer."""
    correct = [gold]
    if "\\frac" in gold:
        correct.append(gold.replace("\\frac", "\\dfrac"))
    if "," in gold:
        correct.append(gold.replace(",", ", "))
    if gold.startswith("(") and gold.endswith(")"):
        correct.append("\\left" + gold[:-1] + "\\right)")
    if re.fullmatch(r"-?\d+", gold):
        correct.append(gold + ".0")
    wrong = []
    if re.fullmatch(r"-?\d+(\.\d+)?", gold):
        x = float(gold)
        for y in (x + 1, x - 1, 2 * x, -x if x else 7, x + 10):
            wrong.append(str(int(y)) if float(y).is_integer() else f"{y:g}")
    else:
        wrong += [gold + "+1", "2" + gold if not gold.startswith("-") else gold[1:], "-" + gold if not gold.startswith("-") else gold[1:]]
        digits = re.findall(r"\d", gold)
        if digits:
            d = rng.choice(digits)
            wrong.append(gold.replace(d, str((int(d) + 1) % 10), 1))
    wrong += [str(rng.randint(0, 999)) for _ in range(2)]
    seen, uniq_wrong = set(correct), []
    for w in wrong:
        if w not in seen:
            seen.add(w)
            uniq_wrong.append(w)
    return correct, uniq_wrong


FILLERS = [
    "Let me double-check the arithmetic once more.",
    "We verify this satisfies the original conditions.",
    "Thus we have found the value.",
    "Checking small cases confirms the pattern.",
    "This matches the constraints of the problem.",
]


# Endings that are not one plain box: {a} is the sampled answer, {b} another candidate.
TRICKY_ENDINGS = [
    "Therefore, the final answer is $\\boxed{{{a}}}$.",
    "So $\\boxed{{{a}}}$.\n\n**Final Answer**\n$\\boxed{{{a}}}$",
    "First I got $\\boxed{{{b}}}$, but correcting the sign, the answer is $\\boxed{{{a}}}$.",
    "So the answer is ${a}$.",
    "The probability is $\\boxed{{{a}}}$%.",
    "Hence \\boxed{{\\text{{see below}}}}: the answer is ${a}$.",
]


def build_samples(problems, solutions: dict, n: int, seed: int, tricky: float = 0.0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for p in problems:
        correct, wrong = _variants(p.reference, rng)
        candidates = correct + wrong
        rng.shuffle(candidates)  # which answer dominates varies by problem
        weights = np.array([1.0 / (rank + 1) ** 1.3 for rank in range(len(candidates))])
        weights /= weights.sum()
        solution = solutions.get(p.id, "")
        cut = solution.rfind("\\boxed")
        prefix = solution[:cut] if cut >= 0 else solution
        picks = np.random.default_rng(rng.randrange(2**32)).choice(len(candidates), size=n, p=weights)
        for i in range(n):
            answer = candidates[picks[i]] if rng.random() > 0.05 else str(rng.randint(1000, 10**6))
            ending = f"So the answer is $\\boxed{{{answer}}}$."
            if rng.random() < tricky:
                ending = rng.choice(TRICKY_ENDINGS).format(a=answer, b=rng.choice(candidates))
            text = f"{prefix}\n{rng.choice(FILLERS)} (step {i}).\n{ending}"
            rows.append((p.id, i, text))
    return pd.DataFrame(
        {"problem_id": [r[0] for r in rows], "sample_idx": [r[1] for r in rows], "text": pd.Series([r[2] for r in rows], dtype=object)}
    )


def naive_grade(samples: pd.DataFrame, gold_by_id: dict, timeout_s: int) -> list[bool]:
    """Plain math-verify per sample, with the grader's timeouts: math-verify's
    alarms are wall-clock, so on a loaded machine a shorter one would turn
    slow parses into "wrong" on one side only."""
    from math_verify import parse, verify

    gold_cache = {}
    out = []
    for pid, text in zip(samples["problem_id"], samples["text"]):
        if pid not in gold_cache:
            gold_cache[pid] = parse("\\boxed{" + gold_by_id[pid] + "}", parsing_timeout=timeout_s)
        out.append(bool(verify(gold_cache[pid], parse(text, parsing_timeout=timeout_s), timeout_seconds=timeout_s)))
    return out


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished (waited-for) children."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _compare(samples: pd.DataFrame, naive: list[bool], ours: pd.DataFrame, gold_by_id: dict) -> int:
    """Print the agreement of naive and ours on `samples`; the number of mismatches."""
    merged = samples[["problem_id", "sample_idx"]].assign(naive=naive).merge(
        ours[["problem_id", "sample_idx", "correct"]], on=["problem_id", "sample_idx"]
    )
    mismatches = merged[merged["naive"] != merged["correct"]]
    print(f"  identical verdicts: {len(merged) - len(mismatches)}/{len(merged)}")
    texts = samples.set_index(["problem_id", "sample_idx"])["text"]
    for r in mismatches.head(10).itertuples():
        tail = texts.loc[(r.problem_id, r.sample_idx)][-80:]
        print(f"  MISMATCH {r.problem_id}#{r.sample_idx}: naive={r.naive} ours={r.correct} gold={gold_by_id[r.problem_id]!r} tail={tail!r}")
    return len(mismatches)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, default=256, help="responses per problem")
    ap.add_argument(
        "--naive-problems",
        type=int,
        default=40,
        help="naive side on all samples of this many random problems, time extrapolated (0 = every problem)",
    )
    ap.add_argument(
        "--cover-pairs",
        action="store_true",
        help="also check verdicts (not time) on one sample of EVERY distinct (problem, answer) pair with naive math-verify",
    )
    ap.add_argument("--tricky", type=float, default=0.05, help="share of responses with an ending other than one plain box")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--timeout", type=int, default=10, help="math-verify's timeouts (s), the same on both sides")
    ap.add_argument("--data-dir", default=os.environ.get("RLBOUNDARY_MATH_DATA", DEFAULT_DATA))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import json
    import logging

    from rlboundary.benchmarks import get_benchmark
    from rlboundary.verify.grading import close_worker_pools, default_workers, grade_frame
    from rlboundary.verify.math_grader import MathVerifyGrader

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # naive side: no timeout spam
    bench = get_benchmark("math500", data_dir=args.data_dir, limit=args.problems)
    solutions = {}
    from rlboundary.benchmarks import local_data_file

    with open(local_data_file("math500", args.data_dir), encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            solutions[row["unique_id"]] = row["solution"]
    samples = build_samples(bench.problems, solutions, args.samples, args.seed, args.tricky)
    gold_by_id = {p.id: p.reference for p in bench.problems}
    total = len(samples)
    workers = args.workers or default_workers()
    from rlboundary.verify.math_verify_key import WHOLE, response_key

    keys = [response_key(t) for t in samples["text"]]
    whole = sum(k.startswith(WHOLE) for k in keys)
    per_problem = pd.Series(keys).groupby(samples["problem_id"]).nunique().mean()
    print(f"set: {len(bench.problems)} MATH500 problems x {args.samples} responses = {total} samples "
          f"({args.tricky:.0%} tricky endings); {per_problem:.1f} distinct keys per problem on average; "
          f"{whole} samples ({whole / total:.1%}) graded as whole responses")
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          "(wall times are shared-machine times; CPU times are each side's own work)")

    def run_ours(label: str):
        # Wall from the call to the last verdict (fresh workers, start-up
        # included); CPU = this process + its workers (counted once they exit).
        children_before = _children_cpu_s()
        cpu_start, start = time.process_time(), time.perf_counter()
        out = grade_frame(samples, bench, MathVerifyGrader(item_timeout_s=args.timeout), workers=workers)
        wall = time.perf_counter() - start
        cpu_parent = time.process_time() - cpu_start
        close_worker_pools()
        cpu_workers = _children_cpu_s() - children_before
        stats = out.attrs["stats"]
        print(f"rlboundary ({label}): {wall:.1f} s wall, {cpu_parent + cpu_workers:.1f} s CPU (parent {cpu_parent:.1f} + "
              f"{workers} workers {cpu_workers:.1f}, start-up included); {stats.distinct} distinct (problem, answer) pairs "
              f"for {total} samples ({total / max(stats.distinct, 1):.1f}x fewer gradings), "
              f"{stats.distinct - stats.in_workers} decided in the parent, {stats.in_workers} in workers, "
              f"{stats.killed_workers} workers killed; accuracy {out['correct'].mean():.4f}")
        return out, wall, cpu_parent + cpu_workers

    # Ours runs before AND after naive and the two are averaged: on a shared
    # machine the load drifts within minutes, and this brackets it.
    ours, t_ours_1, cpu_ours_1 = run_ours("run 1, before naive")

    # A subset of whole PROBLEMS, each with all its samples in stored
    # order, not a random subset of samples: naive math-verify profits from
    # sympy's caches when a problem's answers repeat back to back, so
    # scattered samples would make it look slower than it is.
    problem_ids = [p.id for p in bench.problems]
    if args.naive_problems and args.naive_problems < len(problem_ids):
        chosen = set(random.Random(args.seed).sample(problem_ids, args.naive_problems))
        subset = samples[samples["problem_id"].isin(chosen)].reset_index(drop=True)
        label = f"EXTRAPOLATED from {len(chosen)} random problems' {len(subset)} of {total} samples"
    else:
        subset, label = samples, "measured on every sample"
    cpu_start, start = time.process_time(), time.perf_counter()
    naive = naive_grade(subset, gold_by_id, args.timeout)
    t_naive_measured = time.perf_counter() - start
    cpu_naive_measured = time.process_time() - cpu_start
    scale = total / len(subset)
    t_naive, cpu_naive = t_naive_measured * scale, cpu_naive_measured * scale
    print(f"naive math-verify: {t_naive_measured:.1f} s wall, {cpu_naive_measured:.1f} s CPU for {len(subset)} samples "
          f"-> {t_naive:.1f} s wall, {cpu_naive:.1f} s CPU for all ({label})")
    bad = _compare(subset, naive, ours, gold_by_id)
    ours_2, t_ours_2, cpu_ours_2 = run_ours("run 2, after naive")
    if not ours_2[["problem_id", "sample_idx", "verdict"]].equals(ours[["problem_id", "sample_idx", "verdict"]]):
        print("  MISMATCH: the two rlboundary runs disagree")
        bad += 1
    t_ours, cpu_ours = (t_ours_1 + t_ours_2) / 2, (cpu_ours_1 + cpu_ours_2) / 2

    if args.cover_pairs:
        # One sample per distinct (problem, answer): every verdict ours fans
        # out is checked against naive math-verify at least once.
        firsts = ours.drop_duplicates(["problem_id", "key"])[["problem_id", "sample_idx"]]
        cover = samples.merge(firsts, on=["problem_id", "sample_idx"])
        start = time.perf_counter()
        naive_cover = naive_grade(cover, gold_by_id, args.timeout)
        print(f"coverage check: naive on one sample of each of {len(cover)} distinct (problem, answer) pairs "
              f"({time.perf_counter() - start:.0f} s, not timed against ours)")
        bad += _compare(cover, naive_cover, ours, gold_by_id)

    speedup, cpu_speedup = t_naive / t_ours, cpu_naive / cpu_ours
    note = "" if label.startswith("measured") else f" [naive {label}]"
    print(f"speed-up: {speedup:.1f}x wall (rlboundary {t_ours:.1f} s, mean of 2 runs, vs naive {t_naive:.1f} s), "
          f"{cpu_speedup:.1f}x CPU ({cpu_ours:.1f} s vs {cpu_naive:.1f} s) (target >= 10x by CPU){note}")
    print(f"grading_speedup={speedup:.1f}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
