"""Every verdict rule, fed synthetic counts that must give each of its three verdicts.

The counts go through the same study functions the notebooks call
(rlboundary.figures, rlboundary.metrics), then through the rule in
rlboundary.verdicts, so a rule that cannot come out one of the three ways,
or a study that hands it the wrong numbers, fails here.

    .venv/bin/pytest tests/test_verdicts.py -q
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rlboundary import figures, metrics, verdicts
from rlboundary.errors import UserError
from rlboundary.params import load_params
from rlboundary.report import record_headlines
from rlboundary.verdicts import CONTRADICTED, INCONCLUSIVE, SUPPORTED

N = 16
P = 40  # problems


def _counts(model: str, c, n: int = N, benchmark: str = "organism:micro") -> pd.DataFrame:
    c = np.asarray(c)
    return pd.DataFrame({"model": model, "benchmark": benchmark, "problem_id": [f"p{i:03d}" for i in range(len(c))],
                         "n": n, "c": c})


# Per problem: the base solves every problem now and then (c = 6 of 16); a
# "sharpened" model solves half always and half never; a "wider" one always.
BASE_C = np.full(P, 6)
SHARP_C = np.where(np.arange(P) % 2 == 0, N, 0)
WIDE_C = np.full(P, N)


# --- fig01 / fig03: base − RL at the largest k --------------------------------------

@pytest.mark.parametrize("rl_c,expected", [(SHARP_C, SUPPORTED), (WIDE_C, CONTRADICTED), (BASE_C, INCONCLUSIVE)])
def test_base_ahead_at_large_k(rl_c, expected):
    p = load_params("fig01_passk_math", "micro")
    rows = pd.concat([_counts("base", BASE_C), _counts("rl-grpo", rl_c)], ignore_index=True)
    v = verdicts.base_ahead_at_large_k(figures.compare_to_base(p, rows))
    assert v.verdict == expected, v
    assert v.claim == verdicts.CLAIMS["fig01_passk_math"] and "CI lies above 0" in v.rule
    (row,) = v.numbers
    assert row["what"] == "base − rl-grpo pass@4 on organism:micro"  # headline k 4 (micro)


def test_code_rule_is_the_same_rule_on_code():
    p = load_params("fig01_passk_math", "micro")
    rows = pd.concat([_counts("base", BASE_C), _counts("rl-grpo", SHARP_C)], ignore_index=True)
    v = verdicts.base_ahead_at_large_k_on_code(figures.compare_to_base(p, rows))
    assert v.verdict == SUPPORTED and v.claim == verdicts.CLAIMS["fig03_passk_code"] and "code" in v.rule


def test_fig03_without_a_code_benchmark_is_not_run():
    study = figures.code_passk_study(load_params("fig03_passk_code", "micro"))
    assert study.not_run.startswith("not run: needs a code model") and study.curves.empty
    v = verdicts.base_ahead_at_large_k_on_code(study.comparisons, not_run_reason=study.not_run)
    assert v.verdict == verdicts.NOT_RUN and v.reason == study.not_run
    assert figures.run_summary(study.counts).empty  # the notebook's cells run on the empty study


def test_mixed_comparisons_are_inconclusive():
    p = load_params("fig01_passk_math", "micro")
    rows = pd.concat([_counts("base", BASE_C), _counts("rl-grpo", SHARP_C),
                      _counts("base", BASE_C, benchmark="other"), _counts("rl-grpo", WIDE_C, benchmark="other")],
                     ignore_index=True)
    v = verdicts.base_ahead_at_large_k(figures.compare_to_base(p.__class__({**p, "benchmarks": ["organism:micro", "other"]}), rows))
    assert [r["verdict"] for r in v.numbers] == [SUPPORTED, CONTRADICTED]
    assert v.verdict == INCONCLUSIVE and v.reason.startswith("mixed")


def test_a_guessers_pass_at_k_is_computed_from_the_problems_answer_space():
    p = load_params("fig01_passk_math", "micro")
    for k in (1, 4, 16, 256):  # one-digit answers: a uniform guesser's pass@k is 1 - 0.9^k
        assert figures.chance_pass_at_k(p, ["organism:micro"], k) == pytest.approx(1 - 0.9 ** k, rel=1e-12)
    assert figures.chance_pass_at_k(p, ["not-a-benchmark"], 16) is None  # no answer space known: no floor


@pytest.mark.parametrize("k,expected", [(4, SUPPORTED), (16, INCONCLUSIVE)])
def test_pass_at_k_claims_are_inconclusive_where_guessing_reaches_the_answers(k, expected):
    # The same counts (CI well above 0) decide at k = 4 (a guesser's pass@4 .344) but not at
    # k = 16 (.815): there the base's lead could be its more varied guesses.
    p = load_params("fig01_passk_math", "micro")
    p["headline_k"] = k
    rows = pd.concat([_counts("base", BASE_C), _counts("rl-grpo", SHARP_C)], ignore_index=True)
    comparisons = figures.compare_to_base(p, rows)
    assert comparisons["diff_ci_low"].iloc[0] > 0
    v = verdicts.base_ahead_at_large_k(comparisons)
    assert v.verdict == expected, v
    assert ("answers guessable at k=16: a uniform guesser's pass@16 is 0.815" in v.numbers[0]["note"]) == (k == 16)
    # fig07 and fig08 apply the same guard to their pass@k terms.
    p7 = load_params("fig07_distillation", "micro")
    p7["headline_k"] = k
    rows7 = pd.concat([_counts("base", BASE_C), _counts("rl-grpo", SHARP_C), _counts("distilled", WIDE_C)],
                      ignore_index=True)
    assert verdicts.distillation_expands_unlike_rl(figures.compare_to_base(p7, rows7), ["distilled"]).verdict == expected
    p8 = load_params("fig08_rl_algorithms", "micro")
    p8["headline_k"] = k
    p8["models"] = [{**m, "step": m["step"] if m["step"] is not None else 3} for m in p8.models]
    rows8 = pd.concat([_counts("base", BASE_C)] + [_counts(m["name"], np.full(P, 12)) for m in p8.models_with_role("rl")],
                      ignore_index=True)
    study = figures.algorithms_from_counts(p8, rows8)
    assert verdicts.rl_algorithms_below_base_reach(study.summary, study.k).verdict == expected


@pytest.mark.parametrize("chance,expected", [(None, SUPPORTED), (0.3, SUPPORTED), (0.815, INCONCLUSIVE)])
def test_coverage_claim_is_inconclusive_where_guessing_solves_every_problem(chance, expected):
    cover = metrics.coverage_sets(_counts("base", [1] * 60 + [0] * 5), _counts("rl", [3] * 60 + [0] * 5))
    cover["chance_at_n"] = chance
    assert verdicts.rl_solves_nearly_a_subset(cover).verdict == expected


# --- fig05: RL's solved problems nearly a subset of the base's ------------------------

@pytest.mark.parametrize("rl_only,expected", [(0, SUPPORTED), (30, CONTRADICTED), (3, INCONCLUSIVE)])
def test_rl_solves_nearly_a_subset(rl_only, expected):
    solved_by_both = 60 if rl_only != 3 else 27
    base_c = [1] * solved_by_both + [0] * rl_only + [0] * 5
    rl_c = [3] * solved_by_both + [1] * rl_only + [0] * 5
    cover = metrics.coverage_sets(_counts("base", base_c), _counts("rl", rl_c))
    v = verdicts.rl_solves_nearly_a_subset(cover)
    assert v.verdict == expected, v
    assert v.numbers[0]["value"] == pytest.approx(rl_only / (solved_by_both + rl_only))


def test_clopper_pearson_against_known_values():
    # 0 of 60: upper bound 1 - 0.025^(1/60) (exact for zero successes).
    low, high = verdicts.clopper_pearson(0, 60)
    assert low == 0 and high == pytest.approx(1 - 0.025 ** (1 / 60), rel=1e-9)
    low, high = verdicts.clopper_pearson(5, 10)
    assert (low, high) == pytest.approx((0.187086, 0.812914), abs=1e-6)  # standard table value


# --- fig06: RL responses likely under the base -------------------------------------------

def _scores(rl_ppl, base_ppl, problems: int = 30):
    rows = []
    rng = np.random.default_rng(0)
    for i in range(problems):
        for source, ppl in (("rl", rl_ppl), ("base", base_ppl)):
            for j in range(4):
                value = ppl(i, j, rng)
                rows.append({"problem_id": f"p{i}", "sample_idx": j, "source": source, "scorer": "base",
                             "benchmark": "organism", "ppl": value, "ppl_excl_copied": value})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("rl,expected", [
    (lambda i, j, rng: 1.2 * rng.uniform(0.9, 1.1), SUPPORTED),      # RL responses less perplexing than base's 1.5
    (lambda i, j, rng: 2.0 * rng.uniform(0.9, 1.1), CONTRADICTED),
    (lambda i, j, rng: 1.5, INCONCLUSIVE),                            # identical: difference exactly 0
])
def test_rl_responses_likely_under_base(rl, expected):
    base = (lambda i, j, rng: 1.5 * rng.uniform(0.9, 1.1)) if expected != INCONCLUSIVE else (lambda i, j, rng: 1.5)
    gaps = figures.perplexity_gaps(_scores(rl, base), "base", n_boot=300)
    v = verdicts.rl_responses_likely_under_base(gaps)
    assert v.verdict == expected, v


def test_perplexity_gap_by_hand():
    scores = _scores(lambda i, j, rng: 2.0, lambda i, j, rng: 1.0, problems=3)
    gap = figures.perplexity_gaps(scores, "base", n_boot=50).iloc[0]
    assert gap["diff"] == pytest.approx(np.log(2.0)) and gap["ppl_ratio"] == pytest.approx(2.0)
    assert gap["problems"] == 3


# --- fig07: distillation expands, RL does not -------------------------------------------

@pytest.mark.parametrize("distilled_c,rl_c,expected", [
    (WIDE_C, SHARP_C, SUPPORTED),
    (WIDE_C, WIDE_C, CONTRADICTED),   # RL expands reach too
    (BASE_C, BASE_C, INCONCLUSIVE),   # distilled no different from the base
])
def test_distillation_expands_unlike_rl(distilled_c, rl_c, expected):
    p = load_params("fig07_distillation", "micro")
    rows = pd.concat([_counts("base", BASE_C), _counts("instruct", BASE_C), _counts("rl-grpo", rl_c),
                      _counts("rft", BASE_C), _counts("distilled-matched", BASE_C), _counts("distilled", distilled_c)],
                     ignore_index=True)
    v = verdicts.distillation_expands_unlike_rl(figures.compare_to_base(p, rows), p.distilled_models)
    assert v.verdict == expected, v
    # Only the stronger teacher's student and RL are judged; instruct, RFT and the matched control are not.
    assert sorted(r["what"].split(" − ")[0] for r in v.numbers) == ["distilled", "rl-grpo"]


# --- fig08: every algorithm raises pass@1 yet stays below the base's pass@k -------------------

@pytest.mark.parametrize("rl_c,expected", [
    (np.full(P, 12), SUPPORTED),       # pass@1 .75 > .375, still below the base's pass@4 (.885)
    (np.full(P, 1), CONTRADICTED),     # pass@1 lowered
    (BASE_C, INCONCLUSIVE),            # pass@1 unchanged
])
def test_rl_algorithms_below_base_reach(rl_c, expected):
    p = load_params("fig08_rl_algorithms", "micro")
    # Explicit steps: the final checkpoints' steps otherwise come from the organism's build manifest.
    p["models"] = [{**m, "step": m["step"] if m["step"] is not None else 3} for m in p.models]
    rows = pd.concat([_counts("base", BASE_C)] + [_counts(m["name"], rl_c) for m in p.models_with_role("rl")],
                     ignore_index=True)
    study = figures.algorithms_from_counts(p, rows)
    v = verdicts.rl_algorithms_below_base_reach(study.summary, study.k)
    assert v.verdict == expected, v
    assert any("ΔSE@4 (k=4 < 256" in r["what"] for r in v.numbers)  # ΔSE named with its k, flagged


# --- cot_validity: low-pass-rate answers mostly valid -----------------------------------------

def _validity_rows(problems: int, valid_per_problem: int):
    frames = []
    for i in range(problems):  # 1 of 20 correct per problem: pass rate 0.05, the lowest bucket
        correct = [True] * 2 + [False] * 38
        valid = [True] * valid_per_problem + [False] * (40 - valid_per_problem)
        frames.append(pd.DataFrame({"model": "base", "benchmark": "organism", "problem_id": f"p{i}",
                                    "sample_idx": np.arange(40), "correct": correct, "trace_valid": valid}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("problems,valid,expected", [(10, 2, SUPPORTED), (10, 0, CONTRADICTED), (3, 2, INCONCLUSIVE),
                                                     (10, 1, INCONCLUSIVE)])
def test_low_pass_rate_answers_valid(problems, valid, expected):
    by_bucket, _ = figures.validity_by_pass_rate(_validity_rows(problems, valid), [0.0, 0.05, 0.5, 1.0], n_boot=200)
    v = verdicts.low_pass_rate_answers_valid(by_bucket, ["base"], figures.bucket_labels([0.0, 0.05, 0.5, 1.0])[0])
    assert v.verdict == expected, v


# --- horizon: the base's horizon longer than RL's at the largest k ------------------------------

def _horizon_counts(model: str, h50: float):
    from rlboundary.horizon import logistic, with_floor

    steps = np.repeat(np.arange(1, 9), 10)
    p1 = with_floor(logistic(steps, h50, 0.6), 0.1)
    return pd.DataFrame({"model": model, "benchmark": "organism", "problem_id": [f"p{i:03d}" for i in range(len(steps))],
                         "n": 32, "c": np.round(32 * p1).astype(int), "n_steps": steps})


@pytest.mark.parametrize("base_h,rl_h,expected", [(5.0, 3.0, SUPPORTED), (3.0, 5.0, CONTRADICTED), (4.0, 4.0, INCONCLUSIVE)])
def test_base_horizon_longer(base_h, rl_h, expected):
    p = load_params("horizon", "micro")
    rows = pd.concat([_horizon_counts("base", base_h), _horizon_counts("rl-grpo", rl_h)], ignore_index=True)
    _, fits = figures.horizon_from_counts(rows, [1, 2], n_boot=50, fit_boot=60, chance=0.1)
    comparisons = figures.horizon_comparisons(p, fits)
    v = verdicts.base_horizon_longer(comparisons)
    assert v.verdict == expected, v
    assert [r["what"] for r in v.numbers] == ["horizon(base) − horizon(rl-grpo) at pass@2"]  # the largest k only


# --- the verdict is recorded with the headline numbers -----------------------------------------

def test_record_headlines_requires_the_notebooks_own_verdict(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("RLBOUNDARY_HEADLINES_FILE", str(tmp_path / "h.json"))
    table = pd.DataFrame({"model": ["base"], "pass@1": [0.5]})
    v = verdicts.not_run("fig03_passk_code", "not run: needs a code model")
    with pytest.raises(UserError, match="not one computed for this notebook"):
        record_headlines("fig01_passk_math", table, verdict=v)
    path = record_headlines("fig03_passk_code", table, verdict=v)
    saved = json.loads(path.read_text())["verdict"]
    assert saved["verdict"] == "not run" and saved["claim"] == verdicts.CLAIMS["fig03_passk_code"]


def test_a_nonzero_difference_whose_ci_holds_zero_is_inconclusive():
    # Every inconclusive case above has a difference of exactly 0; here the estimate is not 0,
    # so a rule that looked at the point estimate alone would decide.
    p = load_params("fig01_passk_math", "micro")
    rl_c = np.where(np.arange(P) < 35, N, 0)
    comparisons = figures.compare_to_base(p, pd.concat([_counts("base", BASE_C), _counts("rl-grpo", rl_c)],
                                                       ignore_index=True))
    v = verdicts.base_ahead_at_large_k(comparisons)
    (row,) = v.numbers
    assert row["value"] != 0 and row["ci_low"] < 0 < row["ci_high"]
    assert v.verdict == INCONCLUSIVE
    # fig05: 2 of 30 RL-solved problems new to the base (.067 < .10), Clopper-Pearson CI [.008, .221].
    cover = metrics.coverage_sets(_counts("base", [1] * 28 + [0] * 2 + [0] * 5), _counts("rl", [3] * 28 + [1] * 2 + [0] * 5))
    v = verdicts.rl_solves_nearly_a_subset(cover)
    (row,) = v.numbers
    assert row["value"] == pytest.approx(2 / 30) and row["ci_low"] < verdicts.SUBSET_MAX_NEW < row["ci_high"]
    assert v.verdict == INCONCLUSIVE
