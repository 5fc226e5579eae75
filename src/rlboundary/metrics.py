"""pass@k and the paper's other numbers, as pure vectorized numpy functions.

Input is a per-problem *counts* frame with columns
`model, benchmark, problem_id, n, c` (n samples drawn, c of them correct);
`counts_from_verdicts` builds it from verdict rows. Everything here works on
problems x all k at once and returns tidy pandas frames whose columns name
their parameters (`model, benchmark, k, n, pass_at_k, ci_low, ci_high`).

    from rlboundary import metrics
    counts = metrics.counts_from_verdicts(verdicts, model="base", benchmark="math500")
    curve = metrics.pass_at_k_curve(counts)            # k = 1..n with bootstrap CIs
    metrics.crossover(base_counts, rl_counts)          # where base catches up with RL
    metrics.sampling_efficiency_gap(base_counts, rl_counts)

Conventions (decided here, relied on by notebooks and the CLI):
- pass@k is Chen et al.'s unbiased estimator, 1 - C(n-c, k) / C(n, k),
  i.e. the product form 1 - prod_{i=n-c+1}^{n} (1 - k/i), computed in log
  space for all k at once (see `pass_at_k`). Exact to ~1e-12 relative for
  n up to 4096.
- k > n is never extrapolated. For one problem, k > its n gives NaN in
  `pass_at_k`; asking for a k that no problem reaches raises `UserError`.
- Ragged n (problems with different sample counts, e.g. an unfinished run):
  every problem contributes pass@k for k <= its own n, and curves averaged
  over problems are only reported for k <= the smallest n among them; the
  `n` column of an aggregate frame is that smallest n, and asking for a
  larger k is a `UserError`.
- Bootstrap CIs resample *problems* (the unit the paper averages over),
  percentile intervals, seedable; a paired bootstrap uses the same resampled
  problem ids for base and RL so that their correlation is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import UserError

COUNT_COLUMNS = ["model", "benchmark", "problem_id", "n", "c"]
DEFAULT_N_BOOT = 1000
DEFAULT_CI = 0.95

# The paper's accuracy-histogram bins (Figure 5): exactly 0, ten-percent bins,
# a last open bin (0.9, 1) and exactly 1, so "always solved" stands apart.
ACCURACY_BINS = ["0", *[f"({i / 10:g},{(i + 1) / 10:g}]" for i in range(9)], "(0.9,1)", "1"]


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------


def _as_int_array(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.size and not np.all(np.equal(np.mod(arr, 1), 0)):
        raise UserError(f"{name} must hold whole numbers, got {arr[np.mod(arr, 1) != 0][:3].tolist()}.",
                        f"pass integer {name}.")
    return arr.astype(np.int64)


def pass_at_k(n, c, ks) -> np.ndarray:
    """Unbiased pass@k for every problem and every k: shape (problems, len(ks)).

    `n`, `c`: per-problem sample and correct counts (scalars or 1-d arrays).
    Entry [p, j] is 1 - C(n_p - c_p, k_j) / C(n_p, k_j), or NaN when k_j > n_p
    (never extrapolated). Raises UserError for k < 1, k beyond every n,
    c outside [0, n], or n < 1.

    How: C(n-c, k) / C(n, k) = prod_{j=0}^{k-1} (1 - c / (n - j)), so the
    fail-probabilities for k = 1, 2, ... are one cumulative product, done as a
    cumulative sum of log1p terms (all terms <= 0, so the sum has no
    cancellation) and mapped back with -expm1, which keeps small pass@k
    accurate to relative precision. A factor becomes 0 once k > n - c,
    giving log = -inf and pass@k = 1 exactly.
    """
    n = _as_int_array(n, "n")
    c = _as_int_array(c, "c")
    ks = _as_int_array(ks, "k")
    if n.shape != c.shape or n.ndim != 1:
        raise UserError(f"n and c must be 1-d and the same length (got shapes {n.shape}, {c.shape}).",
                        "pass one n and one c per problem.")
    if ks.ndim != 1 or ks.size == 0:
        raise UserError("no k was given.", "pass at least one k >= 1.")
    if n.size == 0:
        return np.zeros((0, ks.size))
    if np.any(n < 1):
        raise UserError(f"every problem needs n >= 1 samples (found n={int(n.min())}).",
                        "drop problems with no samples before computing pass@k.")
    if np.any((c < 0) | (c > n)):
        bad = int(np.flatnonzero((c < 0) | (c > n))[0])
        raise UserError(f"c={int(c[bad])} correct out of n={int(n[bad])} samples is impossible.",
                        "c must lie in [0, n]; check the verdict counts.")
    if np.any(ks < 1):
        raise UserError(f"k must be >= 1 (got {int(ks.min())}).", "use k in 1..n.")
    if ks.max() > n.max():
        raise UserError(f"k={int(ks.max())} exceeds the number of samples n={int(n.max())}; "
                        "pass@k is not extrapolated beyond n.", f"use k <= {int(n.max())} or draw more samples.")

    kmax = int(ks.max())
    j = np.arange(kmax)  # factor j belongs to k = j + 1
    remaining = n[:, None] - j[None, :]  # n - j, shape (P, kmax)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = c[:, None] / remaining
        # frac >= 1 exactly when k > n - c: the factor is 0 and pass@k is 1.
        log_terms = np.where(frac >= 1, -np.inf, np.log1p(-np.minimum(frac, 1.0)))
        log_terms[remaining <= 0] = np.nan  # k > n for this problem
        log_fail = np.cumsum(log_terms, axis=1)
        out = -np.expm1(log_fail[:, ks - 1])
    return out


def mean_accuracy(n, c) -> float:
    """Mean over problems of the per-problem accuracy c/n (equals mean pass@1)."""
    n = np.asarray(n, dtype=float)
    c = np.asarray(c, dtype=float)
    if n.size == 0:
        raise UserError("no problems to average over.", "pass at least one problem.")
    return float(np.mean(c / n))


def metric_key(name: str, **params) -> str:
    """A result key that carries its parameters, lighteval style: `pass@k:k=8&n=64`."""
    if not params:
        return name
    return name + ":" + "&".join(f"{key}={value}" for key, value in params.items())


def powers_of_two(n: int) -> list[int]:
    """The paper's k grid: 1, 2, 4, ... up to n, plus n itself when n is not a power of 2."""
    if n < 1:
        raise UserError(f"n={n} has no k grid.", "n must be >= 1.")
    ks = [1 << i for i in range(int(n).bit_length()) if (1 << i) <= n]
    if ks[-1] != n:
        ks.append(int(n))
    return ks


# ---------------------------------------------------------------------------
# Counts frames
# ---------------------------------------------------------------------------


def counts_from_verdicts(verdicts: pd.DataFrame, model: str, benchmark: str) -> pd.DataFrame:
    """Per-problem counts `model, benchmark, problem_id, n, c` from verdict rows.

    `verdicts` has one row per sample (`problem_id, sample_idx, correct`, ...).
    n counts the samples graded for a problem; every verdict other than
    correct=True (incorrect, unparseable, timeout, error) counts as a failure,
    as in the paper. A (problem_id, sample_idx) pair graded twice is an error:
    it would count one sample as two.
    """
    missing = {"problem_id", "sample_idx", "correct"} - set(verdicts.columns)
    if missing:
        raise UserError(f"verdict rows lack column(s) {sorted(missing)}.",
                        "pass verdict frames with problem_id, sample_idx and correct (see docs/ARCHITECTURE.md).")
    if verdicts.empty:
        raise UserError(f"no verdicts for model {model!r} on {benchmark!r}.", "run `rlboundary verify` first.")
    dup = verdicts.duplicated(["problem_id", "sample_idx"])
    if dup.any():
        first = verdicts.loc[dup, ["problem_id", "sample_idx"]].iloc[0]
        raise UserError(f"{int(dup.sum())} sample(s) have more than one verdict "
                        f"(e.g. problem {first['problem_id']!r}, sample {int(first['sample_idx'])}).",
                        "read verdicts of one grader only, or deduplicate them.")
    correct = verdicts["correct"].fillna(False).astype(bool)
    grouped = correct.groupby(verdicts["problem_id"].astype(str), sort=True)
    out = pd.DataFrame({"n": grouped.size(), "c": grouped.sum()}).reset_index()
    out.insert(0, "benchmark", benchmark)
    out.insert(0, "model", model)
    out["n"] = out["n"].astype(np.int64)
    out["c"] = out["c"].astype(np.int64)
    return out[COUNT_COLUMNS]


def _check_counts(counts: pd.DataFrame, what: str = "counts") -> None:
    missing = set(COUNT_COLUMNS) - set(counts.columns)
    if missing:
        raise UserError(f"{what} frame lacks column(s) {sorted(missing)}.",
                        "build it with metrics.counts_from_verdicts (columns model, benchmark, problem_id, n, c).")
    if counts.empty:
        raise UserError(f"{what} frame has no problems.", "check that the run has verdicts.")
    dup = counts.duplicated(["model", "benchmark", "problem_id"])
    if dup.any():
        raise UserError(f"{what} frame lists problem {counts.loc[dup, 'problem_id'].iloc[0]!r} twice for one model.",
                        "give one row per (model, benchmark, problem_id).")
    n, c = counts["n"].to_numpy(), counts["c"].to_numpy()
    bad = (n < 1) | (c < 0) | (c > n)
    if bad.any():
        row = counts[bad].iloc[0]
        raise UserError(f"{what} frame has problem {row['problem_id']!r} with c={row['c']} correct of n={row['n']}.",
                        "each problem needs n >= 1 and 0 <= c <= n.")


def _single_group(counts: pd.DataFrame, what: str) -> tuple[str, str]:
    _check_counts(counts, what)
    groups = counts[["model", "benchmark"]].drop_duplicates()
    if len(groups) != 1:
        raise UserError(f"{what} frame holds {len(groups)} (model, benchmark) groups; one is needed here.",
                        "filter it to one model on one benchmark.")
    return str(groups["model"].iloc[0]), str(groups["benchmark"].iloc[0])


def _check_ks(ks: Sequence[int] | None, n_min: int, label: str) -> np.ndarray:
    if ks is None:
        return np.arange(1, n_min + 1)
    ks = _as_int_array(ks, "k")
    if ks.size == 0 or ks.min() < 1:
        raise UserError(f"k values must be >= 1 (got {ks.tolist()}).", "use k in 1..n.")
    if ks.max() > n_min:
        raise UserError(f"k={int(ks.max())} exceeds n={n_min} for {label} "
                        "(the smallest sample count among its problems); pass@k is not extrapolated.",
                        f"use k <= {n_min}, or sample more.")
    return np.unique(ks)


# ---------------------------------------------------------------------------
# Bootstrap over problems
# ---------------------------------------------------------------------------


def resample_weights(n_problems: int, n_boot: int = DEFAULT_N_BOOT, seed: int | None = 0) -> np.ndarray:
    """How often each problem is drawn in each bootstrap replicate: (n_boot, n_problems) ints.

    Draws an (n_boot, n_problems) matrix of problem indices with replacement
    and counts them, so a replicate's mean of any per-problem quantity is one
    matrix product (weights @ values / n_problems) instead of a gather of
    (n_boot, problems, k) floats.
    """
    if n_boot < 0:
        raise UserError(f"n_boot={n_boot} is negative.", "use n_boot=0 (no CIs) or e.g. 1000.")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_problems, size=(n_boot, n_problems))
    flat = idx + (np.arange(n_boot) * n_problems)[:, None]
    return np.bincount(flat.ravel(), minlength=n_boot * n_problems).reshape(n_boot, n_problems)


def _check_ci(ci: float) -> None:
    if not 0 < ci < 1:
        raise UserError(f"ci={ci} is not a confidence level.", "use a level in (0, 1), e.g. 0.95.")


def bootstrap_mean_ci(values: np.ndarray, n_boot: int = DEFAULT_N_BOOT, ci: float = DEFAULT_CI,
                      seed: int | None = 0, weights: np.ndarray | None = None):
    """Mean over problems (axis 0) of `values` (problems, m) with percentile bootstrap CIs.

    Returns (mean, low, high), each of shape (m,). `weights` (from
    `resample_weights`) may be passed to share replicates between calls
    (a paired bootstrap). `n_boot=0` gives NaN bounds (no bootstrap).
    """
    _check_ci(ci)
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if weights is None:
        weights = resample_weights(values.shape[0], n_boot, seed)
    if weights.shape[0] == 0:
        nan = np.full(values.shape[1], np.nan)
        return values.mean(axis=0), nan, nan.copy()
    replicates = weights @ values / values.shape[0]  # (n_boot, m)
    alpha = (1 - ci) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha], axis=0)
    return values.mean(axis=0), low, high


# ---------------------------------------------------------------------------
# Curves
# ---------------------------------------------------------------------------


def pass_at_k_curve(counts: pd.DataFrame, ks: Sequence[int] | None = None, n_boot: int = DEFAULT_N_BOOT,
                    ci: float = DEFAULT_CI, seed: int | None = 0) -> pd.DataFrame:
    """Mean pass@k over problems with bootstrap CIs, per (model, benchmark).

    Columns: model, benchmark, metric, k, n, n_problems, pass_at_k, ci_low, ci_high.
    `ks=None` means every k in 1..n (n = smallest sample count of the group);
    `n_boot=0` skips the bootstrap (CI columns are NaN).
    """
    _check_counts(counts)
    frames = []
    for (model, benchmark), group in counts.groupby(["model", "benchmark"], sort=False):
        group = group.sort_values("problem_id")  # bootstrap draws must not depend on row order
        n_min = int(group["n"].min())
        group_ks = _check_ks(ks, n_min, f"{model} on {benchmark}")
        per_problem = pass_at_k(group["n"].to_numpy(), group["c"].to_numpy(), group_ks)
        mean, low, high = bootstrap_mean_ci(per_problem, n_boot, ci, seed)
        frames.append(pd.DataFrame({
            "model": model, "benchmark": benchmark,
            "metric": [metric_key("pass@k", k=int(k), n=n_min) for k in group_ks],
            "k": group_ks, "n": n_min, "n_problems": len(group),
            "pass_at_k": mean, "ci_low": low, "ci_high": high,
        }))
    return pd.concat(frames, ignore_index=True)


def accuracy_summary(counts: pd.DataFrame, n_boot: int = DEFAULT_N_BOOT, ci: float = DEFAULT_CI,
                     seed: int | None = 0) -> pd.DataFrame:
    """Mean accuracy (c/n averaged over problems) with a bootstrap CI, per (model, benchmark)."""
    _check_counts(counts)
    rows = []
    for (model, benchmark), group in counts.groupby(["model", "benchmark"], sort=False):
        group = group.sort_values("problem_id")  # bootstrap draws must not depend on row order
        acc = (group["c"] / group["n"]).to_numpy()
        mean, low, high = bootstrap_mean_ci(acc, n_boot, ci, seed)
        rows.append({"model": model, "benchmark": benchmark, "n_problems": len(group),
                     "mean_accuracy": float(mean[0]), "ci_low": float(low[0]), "ci_high": float(high[0])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Base vs RL: paired comparisons
# ---------------------------------------------------------------------------


@dataclass
class _Paired:
    base_model: str
    rl_model: str
    benchmark: str
    problem_ids: np.ndarray
    base_n: np.ndarray
    base_c: np.ndarray
    rl_n: np.ndarray
    rl_c: np.ndarray

    @property
    def n_min(self) -> int:
        return int(min(self.base_n.min(), self.rl_n.min()))


def align_problems(base: pd.DataFrame, rl: pd.DataFrame) -> _Paired:
    """Pair base and RL counts problem by problem; the problem sets must match."""
    base_model, base_bench = _single_group(base, "base")
    rl_model, rl_bench = _single_group(rl, "RL")
    if base_bench != rl_bench:
        raise UserError(f"base is on {base_bench!r} but RL is on {rl_bench!r}.", "compare runs on the same benchmark.")
    base_ids, rl_ids = set(base["problem_id"]), set(rl["problem_id"])
    if base_ids != rl_ids:
        only_base, only_rl = sorted(base_ids - rl_ids), sorted(rl_ids - base_ids)
        raise UserError(f"base and RL cover different problems ({len(only_base)} only in base, e.g. {only_base[:3]}; "
                        f"{len(only_rl)} only in RL, e.g. {only_rl[:3]}).",
                        "verify both runs on the same problems (same benchmark and limit).")
    merged = base.merge(rl, on="problem_id", suffixes=("_base", "_rl")).sort_values("problem_id")
    return _Paired(base_model, rl_model, base_bench, merged["problem_id"].to_numpy(),
                   merged["n_base"].to_numpy(), merged["c_base"].to_numpy(),
                   merged["n_rl"].to_numpy(), merged["c_rl"].to_numpy())


def paired_difference_curve(base: pd.DataFrame, rl: pd.DataFrame, ks: Sequence[int] | None = None,
                            n_boot: int = DEFAULT_N_BOOT, ci: float = DEFAULT_CI,
                            seed: int | None = 0) -> pd.DataFrame:
    """Base-minus-RL pass@k with a paired bootstrap CI (same resampled problems for both).

    Columns: base_model, rl_model, benchmark, k, n, n_problems, base_pass_at_k,
    rl_pass_at_k, diff, ci_low, ci_high, frac_base_ahead (share of replicates
    with diff > 0).
    """
    pair = align_problems(base, rl)
    ks = _check_ks(ks, pair.n_min, f"{pair.base_model} vs {pair.rl_model}")
    base_pk = pass_at_k(pair.base_n, pair.base_c, ks)
    rl_pk = pass_at_k(pair.rl_n, pair.rl_c, ks)
    weights = resample_weights(len(pair.problem_ids), n_boot, seed)
    diff, low, high = bootstrap_mean_ci(base_pk - rl_pk, ci=ci, weights=weights)
    replicates = weights @ (base_pk - rl_pk) / len(pair.problem_ids)
    return pd.DataFrame({
        "base_model": pair.base_model, "rl_model": pair.rl_model, "benchmark": pair.benchmark,
        "k": ks, "n": pair.n_min, "n_problems": len(pair.problem_ids),
        "base_pass_at_k": base_pk.mean(axis=0), "rl_pass_at_k": rl_pk.mean(axis=0),
        "diff": diff, "ci_low": low, "ci_high": high,
        "frac_base_ahead": (replicates > 0).mean(axis=0) if n_boot else np.nan,
    })


def k_ranges(ks: Sequence[int], mask: Sequence[bool]) -> list[tuple[int, int]]:
    """Runs of consecutive entries of `ks` where `mask` holds, as (first k, last k) pairs."""
    ranges: list[tuple[int, int]] = []
    start = None
    for i, (k, on) in enumerate(zip(ks, mask)):
        if on and start is None:
            start = int(k)
        if start is not None and (not on or i == len(ks) - 1):
            ranges.append((start, int(k) if on else int(ks[i - 1])))
            start = None
    return ranges


def format_k_ranges(ranges: Sequence[tuple[int, int]]) -> str:
    """"1–3, 12–256" (a single k as "5"); "none" when empty."""
    if not ranges:
        return "none"
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in ranges)


def sign_changes(diff: np.ndarray) -> int:
    """How often a curve changes sign, zeros skipped (a touch is not a crossing)."""
    signs = np.sign(np.asarray(diff, dtype=float))
    signs = signs[signs != 0]
    return int(np.count_nonzero(signs[1:] != signs[:-1]))


def _first_crossover(base_curves: np.ndarray, rl_curves: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Smallest k with base >= RL, per row of (replicates, k) curves; inf where none."""
    reached = base_curves >= rl_curves
    first = np.argmax(reached, axis=1)
    return np.where(reached.any(axis=1), ks[first].astype(float), np.inf)


def crossover(base: pd.DataFrame, rl: pd.DataFrame, n_boot: int = DEFAULT_N_BOOT, ci: float = DEFAULT_CI,
              seed: int | None = 0) -> pd.DataFrame:
    """Where the base model catches up with RL, two ways.

    The first crossing: the smallest k in 1..n at which the mean base pass@k
    >= the mean RL pass@k (a tie counts: both at 1 is "caught up"). Later
    re-crossings are not hidden: `sign_changes` counts how often the mean
    difference changes sign over k = 1..n.

    The k ranges where the paired difference is significant: `base_ahead_k`
    lists the runs of k where the paired-bootstrap CI of base − RL pass@k lies
    above 0, `rl_ahead_k` where it lies below 0 ("none" when there are none;
    "no CI" with n_boot=0). These, not the first crossing, say where one
    model is ahead beyond sampling noise.

    One row: base_model, rl_model, benchmark, n, n_problems, rl_ahead_at_k1,
    crossover_k (NaN = "none up to n"), ci_low, ci_high, frac_no_crossover,
    sign_changes, base_ahead_k, rl_ahead_k, description. When RL is not ahead
    at k=1 the crossover is k=1 by this definition (rl_ahead_at_k1 says so).
    The CI is a percentile interval of the first crossing over paired
    bootstrap replicates, each computed the same way; a replicate without a
    crossover counts as "beyond n" (inf), so ci_high = inf means the upper end
    lies past n; frac_no_crossover is their share.
    """
    _check_ci(ci)
    pair = align_problems(base, rl)
    ks = np.arange(1, pair.n_min + 1)
    base_pk = pass_at_k(pair.base_n, pair.base_c, ks)
    rl_pk = pass_at_k(pair.rl_n, pair.rl_c, ks)
    point = _first_crossover(base_pk.mean(axis=0)[None], rl_pk.mean(axis=0)[None], ks)[0]
    weights = resample_weights(len(pair.problem_ids), n_boot, seed)
    boot = _first_crossover(weights @ base_pk, weights @ rl_pk, ks)  # same 1/P scale on both sides
    alpha = (1 - ci) / 2
    # "inverted_cdf" picks observed values, so inf (no crossover) is handled and k stays an integer.
    low, high = np.quantile(boot, [alpha, 1 - alpha], method="inverted_cdf") if n_boot else (np.nan, np.nan)
    rl_ahead = bool(rl_pk[:, 0].mean() > base_pk[:, 0].mean())
    if np.isinf(point):
        text = f"none up to n={pair.n_min}"
    else:
        text = f"k={int(point)}" + ("" if rl_ahead else " (RL not ahead at k=1)")
    diff = base_pk - rl_pk
    if n_boot:
        _, diff_low, diff_high = bootstrap_mean_ci(diff, ci=ci, weights=weights)
        base_ahead = format_k_ranges(k_ranges(ks, diff_low > 0))
        rl_ahead_ks = format_k_ranges(k_ranges(ks, diff_high < 0))
    else:
        base_ahead = rl_ahead_ks = "no CI"
    return pd.DataFrame([{
        "base_model": pair.base_model, "rl_model": pair.rl_model, "benchmark": pair.benchmark,
        "n": pair.n_min, "n_problems": len(pair.problem_ids), "rl_ahead_at_k1": rl_ahead,
        "crossover_k": float("nan") if np.isinf(point) else float(point),
        "ci_low": float(low), "ci_high": float(high),
        "frac_no_crossover": float(np.isinf(boot).mean()) if n_boot else float("nan"), "description": text,
        "sign_changes": sign_changes(diff.mean(axis=0)), "base_ahead_k": base_ahead, "rl_ahead_k": rl_ahead_ks,
    }])


PAPER_DELTA_SE_K = 256  # the paper's ΔSE is base pass@256 − RL pass@1


def delta_se_label(k: int) -> str:
    """"ΔSE@256"; a k below the paper's 256 is flagged, since ΔSE grows with k."""
    return f"ΔSE@{k}" + ("" if k >= PAPER_DELTA_SE_K else f" (k={k} < {PAPER_DELTA_SE_K}: not the paper's ΔSE@256)")


def sampling_efficiency_gap(base: pd.DataFrame, rl: pd.DataFrame, k_max: int | None = None,
                            n_boot: int = DEFAULT_N_BOOT, ci: float = DEFAULT_CI,
                            seed: int | None = 0) -> pd.DataFrame:
    """ΔSE@k = base pass@k − RL pass@1 (the paper's sampling-efficiency gap), paired-bootstrap CI.

    The gap grows with k, so it is always named with its k: `label` is
    "ΔSE@<k>", flagged when k is below the paper's 256 (`delta_se_label`).
    `k_max` defaults to n (the smallest sample count of both runs). One row:
    base_model, rl_model, benchmark, metric, label, k_max, n, n_problems,
    base_pass_at_kmax, rl_pass_at_1, delta_se, ci_low, ci_high.
    """
    pair = align_problems(base, rl)
    k_max = pair.n_min if k_max is None else int(_check_ks([k_max], pair.n_min, "ΔSE")[0])
    per_problem = (pass_at_k(pair.base_n, pair.base_c, [k_max])[:, 0]
                   - pass_at_k(pair.rl_n, pair.rl_c, [1])[:, 0])
    base_top = float(pass_at_k(pair.base_n, pair.base_c, [k_max]).mean())
    rl_one = float(np.mean(pair.rl_c / pair.rl_n))
    mean, low, high = bootstrap_mean_ci(per_problem, n_boot, ci, seed)
    return pd.DataFrame([{
        "base_model": pair.base_model, "rl_model": pair.rl_model, "benchmark": pair.benchmark,
        "metric": metric_key("delta_se", k_max=k_max, n=pair.n_min), "label": delta_se_label(k_max),
        "k_max": k_max, "n": pair.n_min,
        "n_problems": len(pair.problem_ids), "base_pass_at_kmax": base_top, "rl_pass_at_1": rl_one,
        "delta_se": float(mean[0]), "ci_low": float(low[0]), "ci_high": float(high[0]),
    }])


# ---------------------------------------------------------------------------
# Histograms and coverage sets
# ---------------------------------------------------------------------------


def accuracy_bin_index(n, c) -> np.ndarray:
    """Index into ACCURACY_BINS of each problem's accuracy c/n, in exact integer arithmetic.

    0 -> "0"; 0 < c/n < 1 -> ceil(10 c / n) (1..10, so 0.1 falls in (0,0.1] and
    0.95 in (0.9,1)); c = n -> "1".
    """
    n = _as_int_array(n, "n")
    c = _as_int_array(c, "c")
    idx = (10 * c + n - 1) // n  # ceil(10c/n) without float rounding
    return np.where(c == 0, 0, np.where(c == n, len(ACCURACY_BINS) - 1, idx))


def accuracy_histogram(counts: pd.DataFrame) -> pd.DataFrame:
    """The paper's per-problem accuracy histogram: model, benchmark, bin, bin_index, count, fraction.

    Every bin appears for every (model, benchmark), empty ones with count 0.
    """
    _check_counts(counts)
    frames = []
    for (model, benchmark), group in counts.groupby(["model", "benchmark"], sort=False):
        idx = accuracy_bin_index(group["n"].to_numpy(), group["c"].to_numpy())
        tally = np.bincount(idx, minlength=len(ACCURACY_BINS))
        frames.append(pd.DataFrame({
            "model": model, "benchmark": benchmark, "bin": ACCURACY_BINS,
            "bin_index": np.arange(len(ACCURACY_BINS)), "count": tally, "fraction": tally / len(group),
        }))
    return pd.concat(frames, ignore_index=True)


COVERAGE_SETS = ["both", "base_only", "rl_only", "neither"]


def coverage_sets(base: pd.DataFrame, rl: pd.DataFrame, min_correct: int = 1, k: int | None = None) -> pd.DataFrame:
    """Which problems each model solves: both / base only / RL only / neither.

    "Solved" means at least `min_correct` correct samples among the model's n
    (default 1: pass@n > 0, the paper's coverage). That compares like with
    like only when both models drew the same n of every problem (more tries
    solve more), so unequal n is refused unless `k` is given.

    With `k` (at most the smaller n of every problem; min_correct must be 1),
    both models are put at k tries by the unbiased estimator: a problem's
    chance of being solved is its pass@k, and each set's `n_problems` is its
    expected size (both = sum of pass@k_base x pass@k_RL, base only = sum of
    pass@k_base x (1 - pass@k_RL), ...; the two runs' samples are independent).
    At k = n with equal n these are exactly the counts without `k`.
    `problem_ids` then lists each problem under its most likely set.

    One row per set: base_model, rl_model, benchmark, set, min_correct, k,
    n_problems, fraction, problem_ids (sorted list).
    """
    if min_correct < 1:
        raise UserError(f"min_correct={min_correct} would count unsolved problems as solved.", "use min_correct >= 1.")
    pair = align_problems(base, rl)
    total = len(pair.problem_ids)
    if k is None:
        unequal = pair.base_n != pair.rl_n
        if unequal.any():
            i = int(np.argmax(unequal))
            raise UserError(f"coverage compares 'solved at least once in n' at unequal n: problem "
                            f"{pair.problem_ids[i]} has n={int(pair.base_n[i])} for {pair.base_model} but "
                            f"n={int(pair.rl_n[i])} for {pair.rl_model} ({int(unequal.sum())} of {total} problems differ).",
                            f"compare at a common number of tries with k={pair.n_min} (expected counts by the "
                            "unbiased estimator), or sample both models with the same n.")
        base_p = (pair.base_c >= min_correct).astype(float)
        rl_p = (pair.rl_c >= min_correct).astype(float)
    else:
        if min_correct != 1:
            raise UserError(f"min_correct={min_correct} cannot be combined with k={k}.",
                            "pass@k counts a problem as solved with one correct sample among k: use min_correct=1.")
        k = int(_check_ks([k], pair.n_min, f"coverage of {pair.base_model} vs {pair.rl_model}")[0])
        base_p = pass_at_k(pair.base_n, pair.base_c, [k])[:, 0]
        rl_p = pass_at_k(pair.rl_n, pair.rl_c, [k])[:, 0]
    chances = {"both": base_p * rl_p, "base_only": base_p * (1 - rl_p),
               "rl_only": (1 - base_p) * rl_p, "neither": (1 - base_p) * (1 - rl_p)}
    likeliest = np.argmax(np.vstack(list(chances.values())), axis=0)
    rows = []
    for i, (name, chance) in enumerate(chances.items()):
        size = float(chance.sum())
        rows.append({
            "base_model": pair.base_model, "rl_model": pair.rl_model, "benchmark": pair.benchmark, "set": name,
            "min_correct": min_correct, "k": k, "n_problems": int(round(size)) if k is None else size,
            "fraction": size / total, "problem_ids": sorted(pair.problem_ids[likeliest == i].tolist()),
        })
    return pd.DataFrame(rows)


def concat_counts(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack counts frames of several runs, checking they do not collide."""
    out = pd.concat(list(frames), ignore_index=True)
    _check_counts(out)
    return out
