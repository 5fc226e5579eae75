"""Fast tests of the organism's task, verifier, corpus, splits and grader (no training)."""

from __future__ import annotations

import random

import pytest

from rlboundary.errors import UserError
from rlboundary.organism.benchmark import chat_prompt, load_problems, lock_problem
from rlboundary.organism.corpus import BASE_MIX, write_trace
from rlboundary.organism.grader import OrganismGrader
from rlboundary.organism.presets import get_preset
from rlboundary.organism.splits import draw_problem, draw_problems, is_eval_key
from rlboundary.organism.task import LockProblem, apply_turn, check_trace, clean_trace, parse_prompt, solve
from rlboundary.organism.validity import chance_rate, trace_verdict

P1 = LockProblem("3", ("+4", "-2"))  # 3+4-2 = 5 (mod 10)
P3 = LockProblem("386", ("+123", "-405"))  # 409, then 004

# (problem, trace, correct, trace_valid, n_steps_checked, first_invalid_step)
VALIDITY_CASES = [
    (P1, "3+4=7;7-2=5;\\boxed{5}", True, True, 2, -1),  # the given order
    (P1, "3-2=1;1+4=5;\\boxed{5}", True, True, 2, -1),  # another valid path
    (P1, "3+4=8;8-2=6;\\boxed{6}", False, False, 1, 0),  # arithmetic slip in step 0
    (P1, "3+4=8;8-2=5;\\boxed{5}", True, False, 1, 0),  # right answer, wrong steps: lucky
    (P1, "\\boxed{5}", True, False, 0, 0),  # a bare guess that happens to be right
    (P1, "3+4=7;\\boxed{7}", False, False, 1, 1),  # a turn never applied
    (P1, "3+4=7;7+4=1;\\boxed{1}", False, False, 2, 1),  # a turn used twice
    (P1, "3+4=7;7+2=9;\\boxed{9}", False, False, 2, 1),  # misread sign: not one of the turns
    (P1, "3+4=7;7-2=5;\\boxed{6}", False, False, 2, 2),  # box disagrees with the steps
    (P1, "3+4=7;6-2=4;\\boxed{4}", False, False, 2, 1),  # does not continue from the current value
    (P1, "3+4=7;7-2=5;", False, False, 2, 2),  # no boxed answer
    (P1, "I think 3+4 is 7;7-2=5;\\boxed{5}", True, False, 1, 0),  # unparseable step
    (P3, "386+123=409;409-405=004;\\boxed{004}", True, True, 2, -1),
]


def test_digitwise_arithmetic_has_no_carries():
    assert apply_turn("386", "+123") == "409"
    assert apply_turn("409", "-405") == "004"
    assert apply_turn("9", "+3") == "2"
    assert solve(P3) == "004"


def test_any_order_of_turns_gives_the_same_answer_and_a_valid_trace():
    rng = random.Random(0)
    for _ in range(50):
        p = LockProblem("".join(rng.choice("0123456789") for _ in range(3)),
                        tuple(rng.choice("+-") + f"{rng.randrange(1000):03d}" for _ in range(4)))
        order = list(range(4))
        rng.shuffle(order)
        c = check_trace(p, clean_trace(p, order))
        assert c.correct and c.trace_valid and c.first_invalid_step is None


@pytest.mark.parametrize("problem,trace,correct,valid,checked,first", VALIDITY_CASES)
def test_trace_verdicts_as_data(problem, trace, correct, valid, checked, first):
    v = trace_verdict(problem, trace)
    assert (v["correct"], v["trace_valid"], v["n_steps_checked"], v["first_invalid_step"]) == (
        correct, valid, checked, first)


def test_wrong_digitwise_step_is_caught():
    # 386-405: 3-4=9, 8-0=8, 6-5=1 -> 981, so "081" is a slip in step 0.
    v = trace_verdict(P3, "386-405=081;081+123=104;\\boxed{104}")
    assert not v["trace_valid"] and v["first_invalid_step"] == 0 and not v["correct"]


def test_prompt_round_trip_and_chance_rate():
    with pytest.raises(ValueError):
        apply_turn("07", "+1")  # width mismatch is a programming error
    p = LockProblem("07", ("+91", "-03"))
    assert parse_prompt(p.prompt()) == p
    assert p.prompt() == "07+91-03=?"  # the bare expression: no constant text to train on
    assert chance_rate(1) == 0.1 and chance_rate(3) == 0.001


def test_corpus_writers_cover_correct_and_wrong_paths():
    rng = random.Random(1)
    seen = {w: [] for w in BASE_MIX}
    for _ in range(300):
        p = draw_problem(rng, rng.randint(2, 6), 1, "train")
        for w in BASE_MIX:
            seen[w].append(check_trace(p, write_trace(p, w, rng)))
    rate = {w: sum(c.correct for c in cs) / len(cs) for w, cs in seen.items()}
    valid = {w: sum(c.trace_valid for c in cs) / len(cs) for w, cs in seen.items()}
    assert rate["systematic"] == 1.0 and valid["systematic"] == 1.0
    assert rate["shuffled"] == 1.0 and valid["shuffled"] == 1.0
    for w in ("sloppy", "skipper", "flipper", "quitter", "guesser"):
        assert valid[w] < 1.0, w
        assert rate[w] < 0.9, w
    assert valid["guesser"] == 0.0  # a bare answer is never a valid trace
    # Shuffled traces really take other paths than the given order.
    p = LockProblem("1", ("+1", "+2", "+3", "+4"))
    traces = {write_trace(p, "shuffled", rng) for _ in range(50)}
    assert len(traces) > 5


def test_eval_split_is_disjoint_from_every_training_draw():
    for preset in ("micro", "default"):
        evals = load_problems("eval", preset=preset)
        eval_keys = {lock_problem(p).key() for p in evals}
        assert all(is_eval_key(k) for k in eval_keys)
        steps = {p.metadata["n_steps"] for p in evals}
        assert steps == set(range(1, max(steps) + 1)) and len(steps) >= 3  # every difficulty
        train = draw_problems(0, "train", range(1, max(steps) + 1), 60 if preset == "micro" else 100, 1)
        rng = random.Random(5)
        train += [draw_problem(rng, rng.randint(1, max(steps)), 1, "train") for _ in range(3000)]
        assert not eval_keys & {t.key() for t in train}
        # Reordered turns are the same problem: the split key ignores order.
        lp = lock_problem(evals[-1])
        assert LockProblem(lp.start, tuple(reversed(lp.turns))).key() == lp.key()


def test_benchmark_problems_are_unique_and_carry_difficulty():
    ps = load_problems("test", preset="default")
    assert len({p.id for p in ps}) == len(ps)
    assert all(p.prompt == chat_prompt(p.metadata["question"]) for p in ps)
    assert all(p.reference["answer"] == solve(lock_problem(p)) for p in ps)
    assert load_problems("micro")[0].metadata["preset"] == "micro"
    with pytest.raises(UserError):
        load_problems("validation")


def test_get_benchmark_finds_the_organism():
    from rlboundary.benchmarks import get_benchmark

    b = get_benchmark("organism:micro")
    assert b.kind == "organism" and len(b.problems) == len(load_problems("micro"))


def test_grader_verdicts_and_extras():
    g = OrganismGrader()
    prob = load_problems("eval", preset="micro")[-1]
    lp = lock_problem(prob)
    good = clean_trace(lp) + " trailing text"
    key = g.extract(good, prob)
    assert key == clean_trace(lp)
    verdict, extra = g.grade(key, prob)
    assert verdict == "correct" and extra["trace_valid"] and extra["first_invalid_step"] == -1
    assert extra["n_steps_checked"] == lp.n_steps
    assert g.extract("no answer here", prob) is None
    wrong = f"\\boxed{{{(int(lp.answer()) + 1) % 10}}}"
    assert g.grade(g.extract(wrong, prob), prob)[0] == "incorrect"


def test_grader_plugs_into_the_grading_driver():
    import pandas as pd

    from rlboundary.verify.grading import get_grader, grade_frame

    g = get_grader("organism")
    probs = load_problems("eval", preset="micro")
    texts = [clean_trace(lock_problem(p)) for p in probs] + ["\\boxed{x}"] * len(probs)
    df = pd.DataFrame({"problem_id": [p.id for p in probs] * 2, "sample_idx": [0] * len(probs) + [1] * len(probs),
                       "text": texts})
    out = grade_frame(df, probs, g)
    ok = out[out["sample_idx"] == 0]
    assert ok["correct"].all() and ok["trace_valid"].all()
    assert not out[out["sample_idx"] == 1]["correct"].any()


def test_rl_reward_is_the_verifier_alone():
    from rlboundary.organism.rl import verifier_reward

    prompt = [{"role": "user", "content": P1.prompt()}]
    completions = [
        [{"role": "assistant", "content": "3+4=7;7-2=5;\\boxed{5}"}],  # valid and right
        [{"role": "assistant", "content": "\\boxed{5}"}],  # right answer, no steps: still rewarded
        [{"role": "assistant", "content": "3+4=7;7-2=5;\\boxed{6}"}],  # wrong answer
        [{"role": "assistant", "content": "3+4=7;7-2=5;"}],  # no answer
    ]
    assert verifier_reward([prompt] * 4, completions) == [1.0, 1.0, 0.0, 0.0]
    assert verifier_reward([P1.prompt()], ["3-2=1;1+4=5;\\boxed{5}"]) == [1.0]


def test_small_levels_give_every_problem_of_the_split_once():
    # One-turn width-1 problems: 10 starts x 18 signed turns (no identity turns), by brute force here.
    every = {LockProblem(str(s), (sign + str(t),)).key() for s in range(10) for t in range(1, 10) for sign in "+-"}
    in_eval = {k for k in every if is_eval_key(k)}
    got = draw_problems(3, "eval", range(1, 2), 1000, 1)
    assert {p.key() for p in got} == in_eval and len(got) == len(in_eval)
    train = draw_problems(3, "train", range(1, 2), 1000, 1)
    assert {p.key() for p in train} == every - in_eval
    # Deterministic in the seed, and a smaller request takes a subset.
    assert draw_problems(3, "eval", range(1, 3), 5, 1) == draw_problems(3, "eval", range(1, 3), 5, 1)
    assert len(draw_problems(3, "eval", range(2, 3), 5, 1)) == 5


def test_default_evaluation_reaches_one_turn_beyond_training():
    p = get_preset("default")
    steps = {q.metadata["n_steps"] for q in load_problems("eval", preset="default")}
    assert max(steps) == max(p.eval_steps) == p.unseen_level > p.longest_trained >= p.max_steps
    # The frontier candidates are trained on (rarely), the unseen level by no model.
    assert set(p.frontier_candidates()) < steps and p.unseen_level not in p.frontier_candidates()


def test_grown_teacher_starts_as_the_base_function():
    import torch

    from rlboundary.organism.pretrain import grow_deeper
    from rlboundary.tinymodel import build_char_tokenizer, make_llama

    base = make_llama(build_char_tokenizer(), hidden_size=64, num_layers=2, num_heads=2, seed=1).eval()
    grown = grow_deeper(base, 2, seed=2).eval()
    assert grown.config.num_hidden_layers == 4
    assert sum(p.numel() for p in grown.parameters()) > sum(p.numel() for p in base.parameters())
    ids = torch.randint(3, 40, (3, 25))
    with torch.no_grad():
        assert torch.allclose(base(input_ids=ids).logits, grown(input_ids=ids).logits, atol=1e-6)
    # The new layers are trainable: their zeroed projections get gradients.
    grown.train()
    grown(input_ids=ids, labels=ids).loss.backward()
    assert grown.model.layers[3].mlp.down_proj.weight.grad.abs().sum() > 0


def test_rare_long_chains_join_only_after_the_curriculum():
    """Exposure levels appear in pretraining only once the curriculum covers the main
    range, then at about their share of batches (pretrain.make_batch_fn)."""
    from rlboundary.organism.pretrain import make_batch_fn

    total, curriculum = 2000, 0.5
    batch = make_batch_fn(seed=3, width=1, max_steps=4, batch_size=1, total_steps=total, mix=BASE_MIX,
                          curriculum=curriculum, exposure={6: 0.2})
    lengths = [len(parse_prompt(batch(step)[0][0]).turns) for step in range(total)]
    first_half, second_half = lengths[: int(total * curriculum)], lengths[int(total * curriculum):]
    assert max(first_half) <= 4
    share = second_half.count(6) / len(second_half)
    assert 0.15 < share < 0.25, share
    assert set(second_half) == {1, 2, 3, 4, 6}


def test_cached_evaluation_samples_belong_to_the_weights_that_made_them(tmp_path):
    """A rebuilt model (other weights) must be sampled again, never served the old
    model's cached samples; the same weights reuse them (evaluate._sample_rows)."""
    from rlboundary.models import weights_digest
    from rlboundary.organism.evaluate import _sample_rows

    for name, payload in (("a", b"weights one"), ("b", b"weights one"), ("c", b"weights two")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(payload)
    assert weights_digest(tmp_path / "a") == weights_digest(tmp_path / "b") != weights_digest(tmp_path / "c")

    problems = load_problems("eval", preset="micro", seed=0)[:2]
    calls = []

    class Answers:  # a stand-in for the vLLM sampler: the cache logic is under test here
        def sample(self, prompts, n, **kw):
            calls.append(len(prompts))
            return [[clean_trace(lock_problem(p))] * n for p in problems]

    cache = tmp_path / "cache"
    first = _sample_rows("base", Answers, problems, 2, 64, 0, cache, weights_digest(tmp_path / "a"))
    again = _sample_rows("base", Answers, problems, 2, 64, 0, cache, weights_digest(tmp_path / "b"))
    assert len(calls) == 1 and first["correct"].all() and len(again) == len(first) == 4
    _sample_rows("base", Answers, problems, 2, 64, 0, cache, weights_digest(tmp_path / "c"))
    assert len(calls) == 2


def test_the_confirmation_panel_is_the_panel_streams_next_problems():
    from rlboundary.organism.benchmark import load_panel

    for level in (2, 6, 7):  # 2: an enumerated level; 6, 7: drawn ones
        first = load_panel(level, 32, preset="default")
        fresh = load_panel(level, 32, preset="default", start=32)
        both = load_panel(level, 64, preset="default")
        assert [p.prompt for p in both] == [p.prompt for p in first + fresh]
        assert not {p.prompt for p in first} & {p.prompt for p in fresh}
        assert [p.id for p in fresh][0].endswith("-032")


def test_every_model_gets_its_own_sampling_stream_on_the_confirmation_panel():
    from rlboundary.organism.evaluate import REACH_MODELS, independent_seed
    from rlboundary.organism.generation import question_seed

    seeds = {m: independent_seed(m) for m in REACH_MODELS}
    assert len(set(seeds.values())) == len(REACH_MODELS) and max(seeds.values()) < 2**31
    # No two models share a question's seed on any of the first 200 questions.
    per_question = [{question_seed(s, i) for i in range(200)} for s in seeds.values()]
    assert sum(len(q) for q in per_question) == len(set().union(*per_question))
    assert independent_seed("base", 5) == independent_seed("base") + 5


def test_frontier_panel_is_evaluation_split_disjoint_from_the_main_set_and_shared_by_seeds():
    from rlboundary.organism.benchmark import load_panel

    main = load_problems("eval", preset="default")
    main_keys = {lock_problem(p).key() for p in main}
    for level in (5, 6, 7):
        panel = load_panel(level, 32, preset="default")
        keys = [lock_problem(p).key() for p in panel]
        assert len(panel) == 32 and len(set(keys)) == 32 and not set(keys) & main_keys
        assert all(is_eval_key(k) for k in keys) and {p.metadata["n_steps"] for p in panel} == {level}
        assert not {p.id for p in panel} & {p.id for p in main}
        # A fixed draw: the same problems whenever asked (every build seed whose frontier is this
        # level is scored on them), and a larger panel extends a smaller one's random stream.
        assert [p.prompt for p in load_panel(level, 32, preset="default")] == [p.prompt for p in panel]
        assert [p.prompt for p in load_panel(level, 8, preset="default")] == [p.prompt for p in panel[:8]]
    # A level small enough to enumerate gives what its evaluation bucket holds beyond the main set.
    small = load_panel(2, 500, preset="default")
    assert 8 < len(small) < 500 and not {lock_problem(p).key() for p in small} & main_keys
    assert load_panel(1, 32, preset="default") == []  # all 6 one-turn evaluation problems are in the main set


def test_a_second_confirmation_draw_takes_the_next_problems_and_other_random_numbers():
    import pandas as pd

    from rlboundary.organism.benchmark import load_panel
    from rlboundary.organism.evaluate import _confirmation_frames, independent_seed

    calls = []

    def sample(weights, problems, cache, seed):  # records what would be sampled (no engine here)
        calls.append((list(weights), [p.id for p in problems], cache.name, seed))
        return pd.DataFrame({"problem_id": [p.id for p in problems]})

    for draw in (1, 2):
        frames = _confirmation_frames(sample, {"base": "b", "rl-grpo": "r"}, "default", 0, 6, 32, draw, first=32,
                                      eval_seed=0, log=lambda *_: None)
        assert all(f["confirmation"].all() and f["panel"].all() for f in frames)
    (_, ids1, cache1, seed1), _, (_, ids2, cache2, seed2), (_, _, _, seed2_rl) = calls
    stream = [p.id for p in load_panel(6, 96, preset="default")]
    assert ids1 == stream[32:64] and ids2 == stream[64:96] and cache1 != cache2
    # draw 1 keeps the seeds it was sampled with; draw 2's questions continue the stream's seeds
    assert seed1 == independent_seed("base") and seed2 == independent_seed("base") + 7919 * 32
    assert seed2_rl == independent_seed("rl-grpo") + 7919 * 32
