"""maj@k: what a user without an oracle verifier gets from k samples.

    from rlboundary import majority
    votes = majority.vote_frame(samples, verdicts)       # problem_id, label, correct (per sample)
    majority.maj_at_k(sizes=[5, 2, 1], share=[1, 0, 0], unanswered=0, ks=[1, 2, 4])
    curve = majority.maj_at_k_curve(votes, ks=[1, 2, 4, 8], model="base", benchmark="math500")

Definition (per problem, n samples): draw k of the n samples uniformly
without replacement; the answer given by most of them wins (samples with no
answer do not vote; with no vote at all the problem counts as failed); a tie
between answers is broken uniformly at random. maj@k is the expected
correctness of the winner over all size-k subsets, averaged over problems.
"Correct" for an answer is the share of its samples (among all n) that the
grader accepted: 0 or 1 for graders that judge the answer alone
(math-equal), a fraction where a grader reads more than the answer
(math-verify on whole responses), i.e. the chance that the submitted
response is accepted.

How: only how many of each answer's samples were drawn matters (a
multivariate hypergeometric count vector). Exact when the grid of possible
count vectors is small (prod(m_j + 1) <= EXACT_LIMIT; always for n <= 17):
every vector weighted by prod C(m_j, x_j) C(m_0, k - sum x) / C(n, k), in
log space. Otherwise Monte Carlo: `draws` count vectors per (problem, k)
from numpy's multivariate hypergeometric sampler, seeded; an unbiased
estimator of the same expectation, standard error <= 0.5/sqrt(draws) per
problem (the `method` column says which). `tests/test_majority.py` checks
both against brute-force enumeration of subsets.

Answer labels (`vote_labels`): for math (and the organism, whose answers
are boxed too), the paper's final-answer extraction normalised by its
`strip_string` (the `math-equal` key), so `\\frac12` and `\\dfrac{1}{2}`
vote together; otherwise the grader's stored `extracted` key.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .errors import UserError

EXACT_LIMIT = 200_000
# Benchmark kinds whose answers are read from the text (a final \\boxed{}).
TEXT_ANSWER_KINDS = ("math", "organism")
DEFAULT_DRAWS = 2000


def _log_comb(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    """log C(n, k), -inf where k < 0 or k > n."""
    from scipy.special import gammaln

    n = np.asarray(n, dtype=float)
    k = np.asarray(k, dtype=float)
    ok = (k >= 0) & (k <= n)
    out = np.where(ok, gammaln(n + 1) - gammaln(np.clip(k, 0, None) + 1) - gammaln(np.clip(n - k, 0, None) + 1), -np.inf)
    return out


def _winner_value(counts: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Expected correctness of the majority answer for each row of answer
    counts (rows, answers): ties split evenly, no vote at all -> 0."""
    top = counts.max(axis=1, keepdims=True)
    winners = (counts == top) & (top >= 1)
    n_win = winners.sum(axis=1)
    return np.where(n_win > 0, (winners * share[None, :]).sum(axis=1) / np.maximum(n_win, 1), 0.0)


def _exact(sizes: np.ndarray, share: np.ndarray, unanswered: int, ks: np.ndarray) -> np.ndarray:
    # Every count vector x <= sizes, as a (vectors, answers) grid.
    grids = np.meshgrid(*[np.arange(m + 1) for m in sizes], indexing="ij")
    x = np.stack([g.ravel() for g in grids], axis=1) if len(sizes) else np.zeros((1, 0), dtype=int)
    drawn = x.sum(axis=1)
    log_w = _log_comb(sizes[None, :], x).sum(axis=1)
    value = _winner_value(x, share) if len(sizes) else np.zeros(1)
    n = int(sizes.sum()) + unanswered
    out = np.empty(len(ks))
    for i, k in enumerate(ks):
        log_p = log_w + _log_comb(unanswered, k - drawn) - _log_comb(n, k)
        out[i] = float(np.sum(np.exp(log_p) * value))
    return out


def _monte_carlo(sizes: np.ndarray, share: np.ndarray, unanswered: int, ks: np.ndarray, draws: int,
                 rng: np.random.Generator) -> np.ndarray:
    colors = np.append(sizes, unanswered).astype(np.int64)
    out = np.empty(len(ks))
    for i, k in enumerate(ks):
        counts = rng.multivariate_hypergeometric(colors, int(k), size=draws)[:, : len(sizes)]
        out[i] = float(_winner_value(counts, share).mean()) if len(sizes) else 0.0
    return out


def maj_at_k(sizes: Sequence[int], share: Sequence[float], unanswered: int, ks: Sequence[int],
             exact_limit: int = EXACT_LIMIT, draws: int = DEFAULT_DRAWS, seed: int = 0) -> tuple[np.ndarray, str]:
    """maj@k of one problem for every k: (values, "exact" | "monte-carlo").

    `sizes[j]`: samples that gave answer j; `share[j]`: the share of them the
    grader accepted; `unanswered`: samples with no answer. k <= n."""
    sizes = np.asarray(sizes, dtype=np.int64)
    share = np.asarray(share, dtype=float)
    ks = np.asarray(ks, dtype=np.int64)
    n = int(sizes.sum()) + int(unanswered)
    if sizes.shape != share.shape or np.any(sizes < 1) or unanswered < 0:
        raise UserError("maj@k needs one positive size and one share per answer.", "pass the answers' sample counts.")
    if ks.size and (ks.min() < 1 or ks.max() > n):
        raise UserError(f"k must lie in 1..n={n} for maj@k (got {ks.tolist()}).", "use k <= the samples drawn.")
    grid = float(np.prod((sizes + 1).astype(float))) if len(sizes) else 1.0
    if grid <= exact_limit:
        return _exact(sizes, share, int(unanswered), ks), "exact"
    return _monte_carlo(sizes, share, int(unanswered), ks, draws, np.random.default_rng(seed)), "monte-carlo"


# --- from samples to curves -------------------------------------------------------


def vote_labels(texts: Sequence[str], kind: str, extracted: Sequence | None = None) -> list:
    """One vote label per sample (None: no answer). Math: the paper's
    extraction, normalised as its grader does; else the grader's keys."""
    if kind in TEXT_ANSWER_KINDS:
        from .verify.math_answer import extract_answer, normalize_answer

        return [normalize_answer(extract_answer(t).answer) if isinstance(t, str) else None for t in texts]
    if extracted is None:
        raise UserError(f"maj@k on a {kind} benchmark needs the grader's extracted answers.", "grade the run first.")
    return [None if x is None or (isinstance(x, float) and np.isnan(x)) else x for x in extracted]


def vote_frame(verdicts: pd.DataFrame, labels: Sequence) -> pd.DataFrame:
    """problem_id, label, correct per sample (labels aligned with `verdicts` rows)."""
    return pd.DataFrame({"problem_id": verdicts["problem_id"].astype(str).to_numpy(), "label": list(labels),
                         "correct": verdicts["correct"].fillna(False).astype(bool).to_numpy()})


def per_problem_maj(votes: pd.DataFrame, ks: Sequence[int], draws: int = DEFAULT_DRAWS,
                    seed: int = 0) -> tuple[list[str], np.ndarray, list[str]]:
    """(problem ids, maj@k per problem and k, method per problem)."""
    ids, rows, methods = [], [], []
    for pid, group in votes.groupby("problem_id", sort=True):
        answered = group[group["label"].notna()]
        clusters = answered.groupby("label", sort=True)["correct"].agg(["size", "mean"])
        # A seed per problem: the draws do not depend on which other problems are present.
        problem_seed = (seed * 1_000_003 + int.from_bytes(str(pid).encode()[:8].ljust(8, b"\0"), "little")) % 2**32
        values, method = maj_at_k(clusters["size"].to_numpy(), clusters["mean"].to_numpy(),
                                  len(group) - len(answered), ks, draws=draws, seed=problem_seed)
        ids.append(str(pid))
        rows.append(values)
        methods.append(method)
    return ids, np.vstack(rows) if rows else np.zeros((0, len(ks))), methods


def maj_at_k_curve(votes: pd.DataFrame, ks: Sequence[int], model: str, benchmark: str, n_boot: int = 1000,
                   ci: float = 0.95, seed: int = 0, draws: int = DEFAULT_DRAWS) -> pd.DataFrame:
    """Mean maj@k over problems with bootstrap CIs over problems (as
    `metrics.pass_at_k_curve`): model, benchmark, metric, k, n, n_problems,
    maj_at_k, ci_low, ci_high, method ("exact", "monte-carlo" or "mixed")."""
    from .metrics import bootstrap_mean_ci, metric_key

    if votes.empty:
        raise UserError(f"no samples to vote with for {model!r} on {benchmark!r}.", "grade the run first.")
    n_min = int(votes.groupby("problem_id").size().min())
    ks = sorted({int(k) for k in ks if 1 <= int(k) <= n_min})
    if not ks:
        raise UserError(f"no k in 1..n={n_min} for maj@k.", "ask for k <= the samples per problem.")
    ids, values, methods = per_problem_maj(votes, ks, draws=draws, seed=seed)
    mean, low, high = bootstrap_mean_ci(values, n_boot, ci, seed)
    method = methods[0] if len(set(methods)) == 1 else "mixed"
    return pd.DataFrame({"model": model, "benchmark": benchmark,
                         "metric": [metric_key("maj@k", k=k, n=n_min) for k in ks], "k": ks, "n": n_min,
                         "n_problems": len(ids), "maj_at_k": mean, "ci_low": low, "ci_high": high, "method": method})
