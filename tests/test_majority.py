"""maj@k against brute-force enumeration of every size-k subset of the samples."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from rlboundary import majority
from rlboundary.errors import UserError


def brute_force(labels: list, correct: list[bool], k: int) -> float:
    """Average over every size-k subset of the winner's correctness share
    (ties split evenly; no vote -> 0), in exact fractions."""
    share = {}
    for label in set(x for x in labels if x is not None):
        marks = [c for x, c in zip(labels, correct) if x == label]
        share[label] = Fraction(sum(marks), len(marks))
    total, count = Fraction(0), 0
    for subset in itertools.combinations(range(len(labels)), k):
        votes = Counter(labels[i] for i in subset if labels[i] is not None)
        count += 1
        if not votes:
            continue
        top = max(votes.values())
        winners = [x for x, v in votes.items() if v == top]
        total += sum(share[w] for w in winners) / len(winners)
    return float(total / count)


def _clusters(labels, correct):
    frame = pd.DataFrame({"problem_id": "p", "label": labels, "correct": correct})
    answered = frame[frame["label"].notna()]
    c = answered.groupby("label")["correct"].agg(["size", "mean"])
    return c["size"].to_numpy(), c["mean"].to_numpy(), len(frame) - len(answered)


@pytest.mark.parametrize("seed", range(12))
def test_exact_equals_brute_force_on_small_n(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 10)
    alphabet = ["a", "b", "c", "d", None][: rng.randint(1, 5)]
    labels = [rng.choice(alphabet) for _ in range(n)]
    # Mostly one verdict per answer; sometimes mixed (a grader reading whole responses).
    truth = {x: rng.random() < 0.4 for x in alphabet}
    correct = [truth[x] if rng.random() < 0.8 else rng.random() < 0.5 for x in labels]
    correct = [c and x is not None for x, c in zip(labels, correct)]
    sizes, share, unanswered = _clusters(labels, correct)
    ks = list(range(1, n + 1))
    got, method = majority.maj_at_k(sizes, share, unanswered, ks)
    assert method == "exact"
    want = [brute_force(labels, correct, k) for k in ks]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_monte_carlo_is_close_to_exact():
    labels = ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + [None] * 2
    correct = [x == "b" for x in labels]
    sizes, share, unanswered = _clusters(labels, correct)
    ks = [1, 3, 7, 14]
    exact, _ = majority.maj_at_k(sizes, share, unanswered, ks)
    mc, method = majority.maj_at_k(sizes, share, unanswered, ks, exact_limit=1, draws=20000, seed=1)
    assert method == "monte-carlo"
    # 20000 draws: standard error <= 0.0036; 5 sigma.
    np.testing.assert_allclose(mc, exact, atol=0.018)
    assert exact[-1] == pytest.approx(0.0)  # all 14 drawn: "a" (wrong) wins outright
    assert exact[0] == pytest.approx(4 / 14)  # one sample: correct iff it is a "b"


def test_tie_rule_and_no_votes():
    # Two answers, one sample each, k = 2: always a tie, half correct.
    got, _ = majority.maj_at_k([1, 1], [1.0, 0.0], 0, [2])
    assert got[0] == pytest.approx(0.5)
    # Only unanswered samples: nothing wins.
    got, _ = majority.maj_at_k([], [], 3, [1, 3])
    assert list(got) == [0.0, 0.0]


def test_curve_over_problems_and_bad_k():
    votes = pd.DataFrame({"problem_id": ["p1"] * 4 + ["p2"] * 4,
                          "label": ["1", "1", "2", None, "5", "6", "5", "5"],
                          "correct": [True, True, False, False, False, False, False, False]})
    curve = majority.maj_at_k_curve(votes, ks=[1, 2, 4], model="m", benchmark="b", n_boot=0)
    p1 = [brute_force(["1", "1", "2", None], [True, True, False, False], k) for k in (1, 2, 4)]
    np.testing.assert_allclose(curve["maj_at_k"], np.array(p1) / 2, atol=1e-12)
    assert list(curve["metric"]) == ["maj@k:k=1&n=4", "maj@k:k=2&n=4", "maj@k:k=4&n=4"]
    with pytest.raises(UserError):
        majority.maj_at_k([2], [1.0], 0, [3])


def test_math_labels_vote_together():
    labels = majority.vote_labels(["so \\boxed{\\dfrac{1}{2}}", "we get $\\boxed{\\frac12}$", "no idea"], "math")
    assert labels[0] == labels[1] == "\\frac{1}{2}" and labels[2] is None


def test_vote_labels_of_a_stored_run_are_read_batch_by_batch(tmp_path, monkeypatch):
    """figures' maj@k labels come from the run's text read part by part
    (never all of it at once), each on its own sample, whatever the order."""
    from rlboundary.figures import _with_labels
    from rlboundary.store import RunStore

    store = RunStore(tmp_path / "run")
    answers = {("p1", 0): "\\boxed{1}", ("p2", 0): "\\boxed{\\dfrac{1}{2}}", ("p1", 1): "no answer", ("p2", 1): "\\boxed{7}"}
    with store.lock():
        for keys in ([("p2", 1), ("p1", 0)], [("p1", 1), ("p2", 0)]):  # two parts, out of order
            store.write_chunk([{"problem_id": p, "sample_idx": i, "text": f"so {answers[(p, i)]}", "num_tokens": 3,
                                "finish_reason": "stop"} for p, i in keys])
    verdicts = pd.DataFrame({"problem_id": ["p1", "p1", "p2", "p2"], "sample_idx": pd.Series([0, 1, 0, 1], dtype="int32"),
                             "correct": [True, False, True, False]})
    real = RunStore.samples

    def whole_text_refused(self, columns=None, max_n=None):
        assert columns is not None and "text" not in columns, "read the whole run's text at once"
        return real(self, columns, max_n)

    monkeypatch.setattr(RunStore, "samples", whole_text_refused)
    got = _with_labels(verdicts, store, "math")
    labels = got["label"].tolist()
    assert labels[0] == "1" and pd.isna(labels[1]) and labels[2:] == ["\\frac{1}{2}", "7"]
    assert got[["problem_id", "sample_idx", "correct"]].equals(verdicts)
