"""The organism as a fair instrument: a checker that accepts every valid path and
rejects every one-step corruption; the frontier, plateau and reach rules as data."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pandas as pd
import pytest

from rlboundary.organism.frontier import choose_frontier, training_problems
from rlboundary.organism.reach import (bootstrap_seeds_problems, change_bounds, decide, paper_claim, per_problem,
                                       reach_table, share_upper_bound)
from rlboundary.organism.rl import RLSettings, plateaued, should_stop
from rlboundary.organism.splits import draw_problem
from rlboundary.organism.task import (LockProblem, apply_turn, check_trace, format_step, make_problem,
                                      turn_effect)


def equivalent_forms(turn: str) -> list[str]:
    """Every way to write a turn with the same digit-wise effect (`+3` and `-7`)."""
    effect = turn_effect(turn)
    plus = "+" + "".join(str(d) for d in effect)
    minus = "-" + "".join(str((10 - d) % 10) for d in effect)
    return sorted({plus, minus})


def trace_from(problem: LockProblem, written: list[str]) -> str:
    value, parts = problem.start, []
    for t in written:
        result = apply_turn(value, t)
        parts.append(format_step(value, t, result))
        value = result
    return "".join(parts) + f"\\boxed{{{value}}}"


def random_problems(n: int, seed: int = 0):
    rng = random.Random(seed)
    return [make_problem(rng, rng.randint(1, 4), rng.choice([1, 1, 2, 3])) for _ in range(n)]


def test_generator_draws_no_identity_turns():
    rng = random.Random(0)
    for _ in range(2000):
        p = make_problem(rng, 5, rng.choice([1, 2]))
        assert all(any(turn_effect(t)) for t in p.turns)


@pytest.mark.parametrize("problem", random_problems(60))
def test_every_valid_path_passes(problem):
    # Any order of the turns, each written in any equivalent form.
    rng = random.Random(hash(problem.key()) % 1000)
    orders = list(itertools.permutations(range(problem.n_steps)))
    for order in rng.sample(orders, min(6, len(orders))):
        for _ in range(3):
            written = [rng.choice(equivalent_forms(problem.turns[i])) for i in order]
            c = check_trace(problem, trace_from(problem, written))
            assert c.trace_valid and c.correct, (problem, written, c.reason)


def test_equivalent_turns_and_skipped_no_ops_are_valid_reasoning():
    p = LockProblem("3", ("+5", "+4"))
    assert check_trace(p, "3-5=8;8+4=2;\\boxed{2}").trace_valid  # -5 is +5 mod 10
    assert check_trace(p, "3-6=7;7-5=2;\\boxed{2}").trace_valid  # -6 is +4
    with_noop = LockProblem("3", ("+4", "-0"))  # problems read from elsewhere may hold a no-op
    assert check_trace(with_noop, "3+4=7;\\boxed{7}").trace_valid  # skipping it is valid
    assert check_trace(with_noop, "3+4=7;7-0=7;\\boxed{7}").trace_valid  # so is applying it
    # Equivalence is by effect, not by any sign flip: +4 is not -4.
    assert not check_trace(LockProblem("3", ("+4",)), "3-4=9;\\boxed{9}").trace_valid


def one_step_corruptions(problem: LockProblem, written: list[str]) -> list[str]:
    """Traces that differ from a valid one by a single wrong step (or answer)."""
    out = []
    values = [problem.start]
    for t in written:
        values.append(apply_turn(values[-1], t))
    steps = [format_step(values[i], t, values[i + 1]) for i, t in enumerate(written)]
    box = f"\\boxed{{{values[-1]}}}"
    width = problem.width
    for i, t in enumerate(written):
        wrong = str((int(values[i + 1]) + 1) % 10 ** width).zfill(width)  # an arithmetic slip
        out.append("".join(steps[:i]) + format_step(values[i], t, wrong) + "".join(steps[i + 1:]) + box)
        # A turn with another effect than every unused turn (here: the sign flipped, when that differs).
        flipped = ("-" if t[0] == "+" else "+") + t[1:]
        remaining = [turn_effect(x) for x in problem.turns]
        if turn_effect(flipped) not in remaining:
            out.append("".join(steps[:i]) + format_step(values[i], flipped, apply_turn(values[i], flipped))
                       + "".join(steps[i + 1:]) + box)
        out.append("".join(steps[:i]) + "".join(steps[i + 1:]) + box)  # a step left out
        out.append("".join(steps[:i + 1]) + steps[i] + "".join(steps[i + 1:]) + box)  # a step repeated
    out.append("".join(steps) + f"\\boxed{{{str((int(values[-1]) + 3) % 10 ** width).zfill(width)}}}")
    return out


@pytest.mark.parametrize("problem", random_problems(60, seed=1))
def test_every_one_step_corruption_fails(problem):
    written = [random.Random(0).choice(equivalent_forms(t)) for t in problem.turns]
    for bad in one_step_corruptions(problem, written):
        assert not check_trace(problem, bad).trace_valid, (problem, bad)


REACH = {5: {"luck_free_pass_at_n": 0.9}, 6: {"luck_free_pass_at_n": 0.3}, 7: {"luck_free_pass_at_n": 0.0}}


@pytest.mark.parametrize("reach,expected,in_range", [
    (REACH, 6, True),
    ({5: {"luck_free_pass_at_n": 0.2}, 6: {"luck_free_pass_at_n": 0.3}}, 6, True),  # closest to the middle
    ({5: {"luck_free_pass_at_n": 1.0}, 6: {"luck_free_pass_at_n": 0.6}}, 6, False),  # none in range: nearest
    ({5: {"luck_free_pass_at_n": 0.0}, 6: {"luck_free_pass_at_n": 0.0}}, 5, False),
])
def test_frontier_rule_as_data(reach, expected, in_range):
    choice = choose_frontier(reach, sorted(reach), (0.05, 0.5))
    assert (choice["frontier"], choice["in_range"]) == (expected, in_range)


def _lf(x: float) -> dict:
    return {"luck_free_pass_at_n": x}


@pytest.mark.parametrize("base, candidates, expected", [
    (0.3125, {50: 0.0, 100: 0.25, 150: 0.5, 200: 0.75}, 100),   # closest: .25 (|.0625|) beats .5 (|.1875|)
    (0.25, {50: 0.0, 100: 0.25, 150: 0.25, 200: 0.5}, 150),     # tie at distance 0 -> the later checkpoint
    (0.0, {50: 0.125, 100: 0.0625, 200: 1.0}, 100),             # never exactly matched: the nearest is kept
    (1.0, {3: 0.5, 6: 0.5}, 6),                                 # equal distances -> later
])
def test_matched_teacher_rule_as_data(base, candidates, expected):
    from rlboundary.organism.frontier import choose_matched_checkpoint

    assert choose_matched_checkpoint(_lf(base), {k: _lf(v) for k, v in candidates.items()}) == expected
    with pytest.raises(ValueError):
        choose_matched_checkpoint(_lf(base), {})


class _ScriptedSampler:
    """Answers problem i with a valid trace only in its `hits[i]`-th sample
    (counted over rounds), a wrong box otherwise; records each call's seeds."""

    def __init__(self, problems, hits):
        self.hits, self.drawn, self.calls = hits, {p.prompt(): 0 for p in problems}, []
        self.index = {p.prompt(): (i, p) for i, p in enumerate(problems)}

    def sample(self, questions, n, temperature, top_p, max_tokens, seed, seeds=None):
        self.calls.append((len(questions), n, list(seeds)))
        out = []
        for q in questions:
            i, p = self.index[q]
            texts = []
            for _ in range(n):
                k, self.drawn[q] = self.drawn[q], self.drawn[q] + 1
                good = self.hits[i] is not None and k == self.hits[i]
                wrong = str((int(p.answer()) + 1) % 10)
                texts.append(trace_from(p, list(p.turns)) if good else f"\\boxed{{{wrong}}}")
            out.append(texts)
        return out


def test_luck_free_reach_by_rounds_stops_reached_problems_and_counts_exactly():
    from rlboundary.organism.frontier import REACH_ROUND, measure_luck_free_reach, reach_problems

    problems = reach_problems(3, [2], 6, 1)
    # problem 0 reached in round 0, 1 in round 2, 2 at the very last sample, 3 never,
    # 4 "one sample too late" (index n: never drawn), 5 at its first sample
    n = 4 * REACH_ROUND
    hits = [5, 2 * REACH_ROUND + 1, n - 1, None, n, 0]
    sampler = _ScriptedSampler(problems, hits)
    row = measure_luck_free_reach(None, 2, 6, n, 3, 1, 64, sampler=sampler)
    assert row["luck_free_pass_at_n"] == pytest.approx(4 / 6)
    assert row["pass_at_n"] == pytest.approx(4 / 6)  # the scripted wrong answers are never right
    # Reached problems stop at the end of their round; the rest draw all n samples.
    expected = [REACH_ROUND, 3 * REACH_ROUND, n, n, n, REACH_ROUND]
    assert [sampler.drawn[p.prompt()] for p in problems] == expected and row["samples"] == sum(expected)
    assert row["valid_at_1"] == pytest.approx(2 / (6 * REACH_ROUND))  # first round only: problems 0 and 5
    seeds = [s for _, _, call in sampler.calls for s in call]
    assert len(seeds) == len(set(seeds))  # every (round, problem) has its own sampling seed


def test_post_training_prompts_share_the_frontier_mix_and_the_training_split():
    from rlboundary.organism.splits import is_eval_key

    ps = training_problems("rl", 0, 2000, 1, 5, 0.5)
    share = np.mean([p.n_steps == 5 for p in ps])
    assert 0.45 < share < 0.55 and {p.n_steps for p in ps} == {1, 2, 3, 4, 5}
    assert not any(is_eval_key(p.key()) for p in ps)


def test_plateau_rule():
    s = RLSettings(min_steps=4, plateau_window=2, plateau_gain=0.02)
    assert not plateaued([0.1, 0.2, 0.3], s)  # before min_steps
    assert not plateaued([0.1, 0.1, 0.3, 0.4], s)  # still rising
    assert plateaued([0.3, 0.4, 0.36, 0.36], s)  # the last window is no better
    assert plateaued([0.4, 0.4, 0.41, 0.40], s)  # gain below the threshold


def test_rl_stops_only_when_frontier_and_all_prompt_rewards_both_plateau():
    s = RLSettings(min_steps=4, plateau_window=2, plateau_gain=0.02)

    def curve(front, overall):
        return [{"frontier_reward": f, "frontier_prompts": 8, "reward": r} for f, r in zip(front, overall)]

    flat_front = [0.0, 0.01, 0.0, 0.01]
    assert not should_stop(curve(flat_front, [0.2, 0.25, 0.3, 0.35]), s)  # still learning below the frontier
    assert not should_stop(curve([0.0, 0.0, 0.1, 0.2], [0.3, 0.3, 0.3, 0.3]), s)  # learning at the frontier
    assert should_stop(curve(flat_front, [0.3, 0.31, 0.3, 0.31]), s)


def synthetic_rows(model_rates: dict[str, float], seeds=(0, 1, 2), problems=24, n=16, level=5, rng_seed=0):
    """Per-sample rows where each model's samples are valid and correct with a given probability."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for s in seeds:
        for m, rate in model_rates.items():
            for p in range(problems):
                ok = rng.random(n) < rate
                rows += [{"seed": s, "model": m, "problem_id": f"p{p}", "n_steps": level, "correct": bool(x),
                          "trace_valid": bool(x)} for x in ok]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("rates,verdict", [
    ({"base": 0.02, "rl": 0.3}, "extends"),  # RL solves many problems the base never does
    ({"base": 0.3, "rl": 0.005}, "narrows"),
    ({"base": 0.1, "rl": 0.1}, "no change detected"),
])
def test_reach_rule_gives_each_verdict(rates, verdict):
    table = per_problem(synthetic_rows(rates), n=16)
    out = reach_table(table, frontier={0: 5, 1: 5, 2: 5}, unseen=6, n_boot=500)
    row = out[(out.model == "rl") & (out.endpoint == "frontier")].iloc[0]
    assert row.verdict == verdict
    assert row.d_lf_pass_at_n_lo <= row.d_lf_pass_at_n <= row.d_lf_pass_at_n_hi


def test_reach_difference_matches_a_direct_computation():
    rows = synthetic_rows({"base": 0.05, "rl": 0.1}, rng_seed=3)
    table = per_problem(rows, n=16)
    out = reach_table(table, frontier={0: 5, 1: 5, 2: 5}, unseen=6, n_boot=200)
    got = out[(out.model == "rl") & (out.endpoint == "frontier")].iloc[0]
    # Direct: any valid correct sample among 16, per seed and problem; mean of the differences.
    hit = rows.assign(v=rows.correct & rows.trace_valid).groupby(["seed", "model", "problem_id"])["v"].any()
    direct = (hit.xs("rl", level="model").astype(float) - hit.xs("base", level="model").astype(float)).mean()
    assert got.d_lf_pass_at_n == pytest.approx(direct, abs=1e-12)


def test_bootstrap_over_seeds_and_problems():
    # Identical seeds: the CI is the problems' CI; a constant gives a zero-width interval.
    m, lo, hi = bootstrap_seeds_problems([np.ones(10)] * 3, n_boot=200)
    assert m == lo == hi == 1.0
    # Seeds that disagree widen the interval beyond any single seed's.
    rng = np.random.default_rng(0)
    agree = [rng.random(40) for _ in range(3)]
    disagree = [v + off for v, off in zip(agree, (-0.5, 0.0, 0.5))]
    _, lo_a, hi_a = bootstrap_seeds_problems(agree, n_boot=1000)
    _, lo_d, hi_d = bootstrap_seeds_problems(disagree, n_boot=1000)
    assert hi_d - lo_d > 2 * (hi_a - lo_a)
    assert decide(0.01, 0.2) == "extends" and decide(-0.2, -0.01) == "narrows" and decide(-0.1, 0.1) == "no change detected"


def test_paper_claim_rule_gives_each_outcome():
    assert paper_claim(0.02, 0.3) == "contradicted"
    assert paper_claim(-0.1, 0.04) == "supported"  # within the equivalence margin (no resolution bound given)
    assert paper_claim(-0.3, -0.1, gain_bound=0.03) == "supported"  # RL narrows reach, and gains are resolved
    assert paper_claim(-0.05, 0.2) == "inconclusive"  # too wide to tell
    # The CI alone is inside the margin, but too few pairs to see a 5-point gain: not supported.
    assert paper_claim(-0.1, 0.04, gain_bound=0.2) == "inconclusive"


def test_exact_share_bound_matches_the_closed_form_when_nothing_was_seen():
    # With 0 events in m trials the one-sided Clopper-Pearson bound at level q solves (1 - p)^m = 1 - q.
    for m in (8, 16, 24, 72, 100):
        assert share_upper_bound(0, m) == pytest.approx(1 - 0.025 ** (1 / m), rel=1e-9)
    assert share_upper_bound(3, 3) == 1.0 and share_upper_bound(0, 0) == 1.0
    # 72 pairs with no gain is the fewest that resolve a 5-point gain.
    assert share_upper_bound(0, 71) > 0.05 > share_upper_bound(0, 72)
    gain, loss = change_bounds([np.array([1.0, 0, 0, -1, -1]), np.array([0.0, 0, 0, 0, -1])])
    assert gain == pytest.approx(share_upper_bound(1, 10)) and loss == pytest.approx(share_upper_bound(3, 10))


def test_a_floor_where_neither_model_reaches_anything_is_not_evidence_for_the_claim():
    # Base and RL never valid at the frontier: every difference is 0 and the bootstrap CI is
    # [0, 0]; the rule must not call that "supported" with 3 seeds x 8 problems (24 pairs).
    table = per_problem(synthetic_rows({"base": 0.0, "rl-x": 0.0}, problems=8), n=16)
    row = reach_table(table, frontier={0: 5, 1: 5, 2: 5}, unseen=6, n_boot=300)
    row = row[(row.model == "rl-x") & (row.endpoint == "frontier")].iloc[0]
    assert row.d_lf_pass_at_n_lo == row.d_lf_pass_at_n_hi == 0.0
    assert row.pairs == 24 and row.d_lf_pass_at_n_gain_bound == pytest.approx(1 - 0.025 ** (1 / 24))
    assert row.paper_claim == "inconclusive"
    # The same floor over enough pairs (3 seeds x 30 problems) does resolve a 5-point gain.
    table = per_problem(synthetic_rows({"base": 0.0, "rl-x": 0.0}, problems=30), n=16)
    row = reach_table(table, frontier={0: 5, 1: 5, 2: 5}, unseen=6, n_boot=300)
    assert row[(row.model == "rl-x") & (row.endpoint == "frontier")].iloc[0].paper_claim == "supported"


def test_seeds_scored_on_the_same_problems_share_the_problem_draw():
    # Three seeds with identical per-problem differences: a crossed design has the variance of
    # 8 problems, not of 24; resampling each seed's problems on its own would narrow the CI.
    d = np.array([1.0, 1, 0, 0, 0, 0, 0, -1])
    ids = [f"p{i}" for i in range(8)]
    _, lo_c, hi_c = bootstrap_seeds_problems([pd.Series(d, index=ids)] * 3, n_boot=4000)
    _, lo_n, hi_n = bootstrap_seeds_problems([d] * 3, n_boot=4000)
    _, lo_1, hi_1 = bootstrap_seeds_problems([pd.Series(d, index=ids)], n_boot=4000)
    assert hi_c - lo_c == pytest.approx(hi_1 - lo_1, abs=0.07)  # as wide as one seed's problems
    assert hi_c - lo_c > 1.3 * (hi_n - lo_n)
    # Problem ids, not positions, are paired: shuffling a seed's order changes nothing.
    shuffled = pd.Series(d, index=ids).sample(frac=1.0, random_state=1)
    assert bootstrap_seeds_problems([pd.Series(d, index=ids), shuffled], n_boot=500) == \
        bootstrap_seeds_problems([pd.Series(d, index=ids)] * 2, n_boot=500)


def test_a_levels_reach_problems_do_not_depend_on_the_levels_measured_with_it():
    # The base is measured at every candidate level, the teachers at the frontier only:
    # the matched-teacher rule compares them, so both must see the same problems.
    from rlboundary.organism.frontier import reach_problems

    together = reach_problems(5, [2, 3, 4], 6, 1)
    assert [p for p in together if p.n_steps == 3] == reach_problems(5, [3], 6, 1)
    assert [p for p in together if p.n_steps == 4] == reach_problems(5, [4], 6, 1)


def test_bounded_matched_teacher_selection_chooses_what_full_measurement_chooses_with_fewer_samples():
    # Scripted candidates (first valid sample per problem, or never): the bounded
    # selection must keep the same step as measuring every candidate fully on the
    # same samples, draw fewer samples in all, and never stop a candidate it keeps.
    from rlboundary.organism.frontier import (REACH_ROUND, choose_matched_checkpoint, measure_luck_free_reach,
                                              reach_problems, select_matched_checkpoint)

    problems = reach_problems(4, [3], 8, 1)
    n, rng = 4 * REACH_ROUND, np.random.default_rng(7)
    saved = 0
    for trial in range(25):
        steps = [10, 20, 40, 80, 160]
        hits = {s: [int(rng.integers(0, n)) if rng.random() < rng.random() else None for _ in problems] for s in steps}
        base = {"luck_free_pass_at_n": int(rng.integers(0, len(problems) + 1)) / len(problems)}

        def measure(step, give_up=None):
            return measure_luck_free_reach(None, 3, 8, n, 4, 1, 64, sampler=_ScriptedSampler(problems, hits[step]),
                                           give_up=give_up)

        full = {s: measure(s) for s in steps}
        chosen, rows = select_matched_checkpoint(base, steps, measure)
        assert chosen == choose_matched_checkpoint(base, full), trial
        assert rows[chosen]["luck_free_pass_at_n"] == full[chosen]["luck_free_pass_at_n"]
        for s, row in rows.items():  # a stopped candidate's bounds hold its full value
            if row.get("stopped_early"):
                low, high = row["luck_free_bounds"]
                assert low <= full[s]["luck_free_pass_at_n"] <= high
        drawn = sum(row.get("samples", 0) for row in rows.values())
        assert drawn <= sum(r["samples"] for r in full.values())
        saved += sum(r["samples"] for r in full.values()) - drawn
    assert saved > 0


def test_a_run_without_frontier_prompts_stops_when_its_all_prompt_reward_plateaus():
    # An atlas arm whose prompts are all below (or beyond) the frontier has no frontier series:
    # under the two-series rule it could never stop before the cap (seen: rl-below ran 240 steps).
    from rlboundary.organism.rl import stop_rule

    s = RLSettings(min_steps=4, plateau_window=2, plateau_gain=0.02)
    curve = [{"frontier_reward": float("nan"), "frontier_prompts": 0, "reward": r} for r in (0.3, 0.31, 0.3, 0.31)]
    assert not should_stop(curve, s, "frontier-and-all-prompts")
    assert should_stop(curve, s, "all-prompts")
    assert not should_stop([{**c, "reward": r} for c, r in zip(curve, (0.1, 0.2, 0.3, 0.4))], s, "all-prompts")
    assert [stop_rule(x) for x in (None, {"levels": "at"}, {"signs": "+"}, {"levels": "below"},
                                   {"levels": "beyond"})] == ["frontier-and-all-prompts"] * 3 + ["all-prompts"] * 2
    with pytest.raises(ValueError, match="unknown stop rule"):
        should_stop(curve, s, "frontier-only")


def test_confirmation_rule_gives_each_outcome_against_the_margin():
    from rlboundary.organism.reach import CONFIRMATION_MARGIN, confirmation_claim

    m = CONFIRMATION_MARGIN
    assert confirmation_claim(0.01, 0.4, 0.5) == "contradicted"
    assert confirmation_claim(-0.2, m - 0.01, m - 0.01) == "supported"
    assert confirmation_claim(-0.2, m - 0.01, m + 0.01) == "inconclusive"  # gains beyond the null's not resolved
    assert confirmation_claim(-0.2, m + 0.01, 0.0) == "inconclusive"  # CI too wide
    assert confirmation_claim(-0.2, 0.04, 0.04, margin=0.05) == "supported"


def test_excess_gain_counts_the_models_gains_beyond_the_nulls_on_the_same_pairs():
    from rlboundary.organism.reach import excess_gains, resolution_floor

    ids = ["a", "b", "c", "d"]
    model = [pd.Series([1.0, 1.0, 0.0, -1.0], index=ids)]
    null = [pd.Series([0.0, 1.0, 1.0, 0.0], index=ids[::-1])]  # by id: a 0, b 1, c 1, d 0 (aligned by id)
    got = excess_gains(model, null)[0]
    assert got.to_dict() == {"a": 1.0, "b": 0.0, "c": -1.0, "d": 0.0}
    assert resolution_floor(96) == pytest.approx(1 - 0.025 ** (1 / 96))


def test_the_confirmation_endpoint_is_judged_against_the_null_and_not_pooled_with_the_frontier():
    # Base, a null copy and a model that reaches every problem, on a confirmation panel: the
    # model's gains are the pairs the base missed; the null's are its own; extends is seen.
    frames = []
    for conf in (False, True):
        t = per_problem(synthetic_rows({"base": 0.02, "base-resampled": 0.02, "rl-x": 0.5}, problems=30), n=16)
        t["confirmation"] = conf
        t["problem_id"] = t["problem_id"] + ("-c" if conf else "")
        frames.append(t)
    table = pd.concat(frames, ignore_index=True)
    r = reach_table(table, frontier={0: 5, 1: 5, 2: 5}, unseen=6, n_boot=300, null="base-resampled")
    conf = r[r.endpoint == "confirmation"].set_index("model")
    front = r[r.endpoint == "frontier"].set_index("model")
    assert conf.loc["rl-x", "pairs"] == front.loc["rl-x", "pairs"] == 90
    assert conf.loc["rl-x", "paper_claim"] == "contradicted" and conf.loc["rl-x", "excess_gain_lo"] > 0.3
    assert conf.loc["base-resampled", "confirmation_claim"] == ""


def test_power_simulation_separates_the_scenarios_and_the_margin_was_set_by_it():
    from rlboundary.organism.power import simulate_power, smallest_margin
    from rlboundary.organism.reach import CONFIRMATION_MARGIN

    power = simulate_power(problems=32, seeds=3, replicates=80, n_boot=200, seed=3)
    at = lambda scenario, margin, col: power[(power.scenario == scenario) & (power.margin == margin)][col].iloc[0]  # noqa: E731
    # A 5-point margin cannot be supported at 96 coin-flip pairs; the chosen margin mostly can.
    assert at("no change", 0.05, "P(supported)") < 0.1
    assert at("no change", CONFIRMATION_MARGIN, "P(supported)") >= 0.65
    assert at("no change", CONFIRMATION_MARGIN, "P(contradicted)") <= 0.05  # no false extensions
    assert at("extends", CONFIRMATION_MARGIN, "P(contradicted)") >= 0.75  # a +0.3 extension is seen
    assert smallest_margin(power, target=0.0) == 0.05 and smallest_margin(power, target=1.01) is None
    with pytest.raises(ValueError, match="one reach per seed"):
        simulate_power(problems=4, seeds=3, base_reach=[0.5])


def test_the_reach_claim_states_the_margins_the_rules_use():
    from rlboundary.organism.reach import CONFIRMATION_MARGIN, EQUIVALENCE_MARGIN
    from rlboundary.verdicts import CLAIMS

    claim = CLAIMS["organism_reach"]
    assert f"{round(EQUIVALENCE_MARGIN * 100)} points on the frontier endpoint" in claim
    assert f"{round(CONFIRMATION_MARGIN * 100)} on a fresh" in claim


def _confirmation_draw(rl="supported", teacher="contradicted", negative="supported"):
    """A confirmation draw's reach rows as `reach_table` gives them; None: that control not sampled.
    The frontier endpoint says "contradicted", so a reading that looked there would show it."""
    rows = [("rl-grpo", rl, rl), ("rl-rloo", "supported", "supported"), ("base-resampled", "", "")]
    rows += [(m, "", c) for m, c in (("teacher", teacher), ("base-resampled-2", negative)) if c is not None]
    frame = pd.DataFrame([{"endpoint": "confirmation", "model": m, "paper_claim": p, "confirmation_claim": c}
                          for m, p, c in rows])
    front = pd.DataFrame([{"endpoint": "frontier", "model": "rl-grpo", "paper_claim": "contradicted",
                           "confirmation_claim": ""}])
    return pd.concat([front, frame], ignore_index=True)


@pytest.mark.parametrize("draws,verdict,says", [
    ({1: {}, 2: {}}, "supported", "replicated on 2 independent draws"),
    ({1: {"rl": "contradicted"}}, "contradicted", "draw 1: RL: contradicted"),
    # The positive control failing on the deciding draw: that draw is not read, whatever draw 2 says.
    ({1: {"teacher": "inconclusive"}, 2: {}}, "inconclusive", "did not replicate"),
    ({1: {"teacher": "supported"}}, "inconclusive", "not read: the positive control (teacher)"),
    # A second draw that is read but says otherwise: the study's verdict becomes inconclusive.
    ({1: {}, 2: {"rl": "inconclusive"}}, "inconclusive", "did not replicate"),
    ({1: {}, 2: {"rl": "contradicted"}}, "inconclusive", "draw 2: RL: contradicted"),
    # A control failing on the second draw: that draw is not read (README "Replication", session 13).
    ({1: {}, 2: {"negative": "inconclusive", "rl": "contradicted"}}, "supported",
     "draw 2 not read: base-resampled-2 failed"),
    ({1: {}, 2: {"teacher": "inconclusive"}}, "supported", "draw 2 not read: teacher failed"),
    # Controls not sampled gate nothing, and the reason says they were not.
    ({1: {"teacher": None, "negative": None}}, "supported", "teacher not sampled"),
])
def test_confirmation_draws_are_read_as_pre_registered(draws, verdict, says):
    from rlboundary.organism.reach import replicated_claim

    got, why, records = replicated_claim({d: _confirmation_draw(**kw) for d, kw in draws.items()})
    assert got == verdict and says in why
    assert [r["draw"] for r in records] == list(draws)


def test_the_controls_are_checked_on_reach_table_rows():
    # A teacher that reaches every problem the base does not is "contradicted" (the control passes);
    # one identical to the base is not (it fails), and the negative control is "supported".
    from rlboundary.organism.reach import control_checks, draw_claim

    def draw(teacher_rate):
        t = per_problem(synthetic_rows({"base": 0.02, "base-resampled": 0.02, "base-resampled-2": 0.02,
                                        "teacher": teacher_rate, "rl-x": 0.02}, problems=32), n=16)
        t["confirmation"] = True
        return reach_table(t, frontier={0: 5, 1: 5, 2: 5}, unseen=6, n_boot=300, null="base-resampled")

    good, bad = draw(0.5), draw(0.02)
    assert control_checks(good) == {"teacher": "passed", "base-resampled-2": "passed"}
    assert control_checks(bad)["teacher"] == "failed"
    assert draw_claim(good)[0] == "supported" and draw_claim(bad)[0] == "inconclusive"
