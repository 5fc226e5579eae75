"""The atlas's RL objectives: advantages checked against their definitions, and
inside TRL's trainer (what the loss sees is what the objective says)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
import torch

from rlboundary.organism.rl_objectives import advantage_trainer, advantages, is_custom, passk_rewards


def brute_force_passk(rewards: list[int], k: int) -> list[float]:
    """Chen et al.'s pass@k advantage by enumeration: every k-subset's reward is
    its max; a sample's reward is the mean over the subsets that contain it; the
    advantage is (that - mean subset reward) / std of subset rewards."""
    n = len(rewards)
    subsets = list(itertools.combinations(range(n), k))
    values = [max(rewards[i] for i in s) for s in subsets]
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    out = []
    for i in range(n):
        mine = [v for s, v in zip(subsets, values) if i in s]
        out.append(0.0 if sd < 1e-12 else (sum(mine) / len(mine) - mean) / sd)
    return out


@pytest.mark.parametrize("n,k", [(4, 1), (4, 2), (6, 3), (8, 4), (8, 8), (5, 2)])
def test_passk_advantage_equals_enumeration_of_subsets(n, k):
    rng = random.Random(n * 10 + k)
    groups = [[int(rng.random() < p) for _ in range(n)] for p in (0.0, 0.1, 0.3, 0.5, 0.8, 1.0) for _ in range(3)]
    got = advantages(f"passk{k}", torch.tensor(groups, dtype=torch.float32))
    for g, row in zip(groups, got):
        assert row.tolist() == pytest.approx(brute_force_passk(g, k), abs=1e-5), g


def test_passk_rewards_are_the_definitions():
    # 8 samples, 2 right, k = 4: the group passes unless all 4 are wrong.
    pos, neg, group = passk_rewards(2, 8, 4)
    assert (pos, group) == (1.0, pytest.approx(1 - 15 / 70))
    assert neg == pytest.approx(1 - 10 / 35)  # a wrong sample's 3 partners all wrong: C(5,3)/C(7,3)
    with pytest.raises(ValueError, match="1 <= k"):
        passk_rewards(1, 4, 5)


def test_pass1_training_is_grpo_with_the_population_std():
    r = torch.tensor([[1, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1]], dtype=torch.float32)
    expected = (r - r.mean(1, keepdim=True)) / r.std(1, unbiased=False, keepdim=True)
    assert torch.allclose(advantages("passk1", r), expected, atol=1e-6)


def test_positive_and_negative_sample_reinforcement():
    r = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.float32)
    assert advantages("psr", r).tolist() == [[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]]
    assert advantages("nsr", r).tolist() == [[0, -1, 0, -1], [-1, -1, -1, -1], [0, 0, 0, 0]]
    # Unlike GRPO, a group that is all wrong (psr: nothing) or all right still has a signal under nsr / psr.
    assert is_custom("psr") and is_custom("passk4") and not is_custom("grpo") and not is_custom("passk")
    with pytest.raises(ValueError, match="unknown custom RL objective"):
        advantages("passk", r)


@pytest.fixture(scope="module")
def micro_base(tmp_path_factory):
    """A micro-preset base model (seconds of pretraining): the machinery, not the science."""
    from rlboundary.organism.corpus import BASE_MIX
    from rlboundary.organism.presets import get_preset
    from rlboundary.organism.pretrain import pretrain
    from rlboundary.tinymodel import build_char_tokenizer, save_model

    p = get_preset("micro")
    tok = build_char_tokenizer()
    model, _ = pretrain(tok, p.base_shape, p.base_train, 0, p.width, p.max_steps, BASE_MIX)
    return save_model(model, tok, tmp_path_factory.mktemp("micro-base") / "base")


@pytest.mark.parametrize("objective", ["psr", "nsr", "passk4"])
def test_the_trainer_uses_the_objectives_advantages(micro_base, objective, tmp_path):
    """One generation batch through TRL's own generate-and-score: the advantages
    handed to the loss are the objective's, computed from the batch's rewards."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlboundary.organism.frontier import training_problems
    from rlboundary.organism.rl import RLSettings, _config, rl_dataset

    s = RLSettings(steps=1, prompts_per_step=2, num_generations=8, max_completion_length=24)
    tok = AutoTokenizer.from_pretrained(str(micro_base))
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(str(micro_base), dtype=torch.float32)
    problems = training_problems("rl", 0, 8, 1, 2, 0.5)
    # A scripted reward with mixed groups (the micro base answers nearly nothing right, and with
    # all-zero rewards every objective's advantages are 0, which TRL's default GRPO gives too).
    pattern = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0]

    def scripted(prompts, completions, **kwargs):
        return pattern[: len(completions)]

    scripted.__name__ = "scripted_reward"
    trainer = advantage_trainer(objective)(model=model, reward_funcs=scripted, args=_config(objective, s, tmp_path, 0, "cpu"),
                                           train_dataset=rl_dataset(problems), processing_class=tok)
    batch = [row for p in problems[:2] for row in [{"prompt": [{"role": "user", "content": p.prompt()}]}] * 8]
    out = trainer._generate_and_score_completions(batch)
    scored = torch.tensor(pattern).view(2, 8)
    got = out["advantages"].cpu()
    assert torch.allclose(got, advantages(objective, scored).reshape(-1))
    # ... and not TRL's own group-normalised baseline, which the objectives replace.
    grpo = (scored - scored.mean(1, keepdim=True)) / (scored.std(1, keepdim=True) + 1e-4)
    assert not torch.allclose(got, grpo.reshape(-1), atol=1e-3)


@pytest.mark.parametrize("algo", ["passk4", "reinforce_pp"])
def test_train_rl_runs_the_atlas_objectives_end_to_end(micro_base, algo, tmp_path):
    from rlboundary.organism.frontier import training_problems
    from rlboundary.organism.rl import RLSettings, _config, train_rl

    s = RLSettings(steps=2, min_steps=2, plateau_window=1, prompts_per_step=2, num_generations=4,
                   max_completion_length=24, save_every=1, n_train_problems=16)
    if algo == "reinforce_pp":
        cfg = _config(algo, s, tmp_path, 0, "cpu")
        assert (cfg.scale_rewards, cfg.loss_type) == ("batch", "dapo")
    result = train_rl(algo, micro_base, tmp_path / algo, s, 0, training_problems("rl", 0, 16, 1, 2, 0.5), 2)
    assert sorted(result["checkpoints"]) == [1, 2] and len(result["curve"]) == 2
    assert all(Path(p, "model.safetensors").is_file() for p in result["checkpoints"].values())
    with pytest.raises(ValueError, match="unknown RL algorithm"):
        train_rl("ppo", micro_base, tmp_path / "ppo", s, 0, [], 2)


def test_the_valid_reward_pays_only_right_answers_whose_every_step_checks():
    # The `valid-reward` arm's reward: a lucky guess (right answer, bogus step) earns 0 with it, 1 without.
    from rlboundary.organism.rl import RewardLog, _config, RLSettings, check_algorithm
    from rlboundary.organism.task import LockProblem, clean_trace, solve

    problem = LockProblem("3", ("+8", "-4"))
    right = solve(problem)
    lucky = f"3+8=7;\\boxed{{{right}}}"  # 3+8 is 1 (mod 10), and the second turn is skipped
    wrong = "3+8=1;1-4=8;\\boxed{8}" if right != "8" else "3+8=1;1-4=6;\\boxed{6}"
    prompts = [[{"role": "user", "content": problem.prompt()}]] * 3
    completions = [[{"role": "assistant", "content": t}] for t in (clean_trace(problem), lucky, wrong)]
    assert RewardLog()(prompts, completions) == [1.0, 1.0, 0.0]
    assert RewardLog(valid_only=True)(prompts, completions) == [1.0, 0.0, 0.0]
    # Trained as GRPO: the same loss settings, only the reward differs.
    check_algorithm("grpo_valid")
    s = RLSettings(steps=1)
    a, b = _config("grpo_valid", s, Path("/tmp/x"), 0, "cpu"), _config("grpo", s, Path("/tmp/x"), 0, "cpu")
    assert (a.loss_type, a.scale_rewards) == (b.loss_type, b.scale_rewards) == ("grpo", "group")
