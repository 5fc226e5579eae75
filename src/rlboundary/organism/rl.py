"""Reinforcement learning from verifiable rewards on the organism, with TRL.

The base model is trained on training-split problems drawn from the prompt
distribution every post-training method shares (`frontier.training_problems`:
half at the base's frontier level, the rest below it); the reward is the
verifier alone: 1 when the boxed final answer is right, 0 otherwise (no
format or step bonus, as in the paper's RLVR setups).

How long: until the training reward plateaus, on frontier-level prompts
AND on all prompts. After `min_steps`, training stops at the first step
where, for both series, the mean reward of the last `plateau_window` steps
is not above that of the window before by more than `plateau_gain`, or at
`steps` (a cap). Both, because a frontier reward stuck near chance (the
base almost never solves a frontier problem validly) would otherwise stop
RL while it is still improving on the levels below. A run whose prompts
hold no frontier level (the atlas's "below" and "beyond" arms) stops on
the all-prompt series alone (`stop_rule`). The
per-step reward curve (all prompts and frontier prompts) is returned and
saved; checkpoints every `save_every` steps and at the last step. KL
weight `beta` (0 by default: no reference-model passes on a CPU) is
recorded with the run. Algorithms, all from TRL 1.16:

| algo    | trainer        | loss                                                 |
|---------|----------------|------------------------------------------------------|
| grpo    | GRPOTrainer    | loss_type="grpo", rewards scaled by the group's std  |
| dr_grpo | GRPOTrainer    | loss_type="dr_grpo", no std scaling (Dr. GRPO)       |
| dapo    | GRPOTrainer    | loss_type="dapo", clip-higher epsilon_high=0.28      |
| rloo    | RLOOTrainer    | REINFORCE leave-one-out baseline                     |
| reinforce_pp | GRPOTrainer | REINFORCE++ (baseline variant): group mean removed, |
|         |                | scaled by the whole batch's std (scale_rewards="batch"), token-level loss (loss_type="dapo") |
| psr, nsr, passk<k> | GRPOTrainer subclass | advantages TRL lacks: positive- / negative-sample-only reinforcement, pass@k training (rl_objectives.py) |
| grpo_valid | GRPOTrainer  | as grpo, but the reward is 1 only when the answer is right AND every step of the trace checks (a process-verified reward: no reward for lucky guesses; the atlas's `valid-reward` arm) |

TRL 1.16 has no PPO trainer (value head): PPO is not offered.

Generation inside TRL uses transformers `generate` (use_vllm=False): on a
CPU with a sub-million-parameter model this is fast enough and avoids a
second vLLM engine. Checkpoints are written in Hugging Face format at the
requested optimizer steps by a callback (`step-<k>/`).

    from rlboundary.organism.rl import train_rl, RLSettings
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from .rl_objectives import advantage_trainer, is_custom
from .task import LockProblem, check_trace, parse_prompt

TRL_ALGORITHMS = ("grpo", "dr_grpo", "dapo", "rloo", "reinforce_pp")  # options of TRL's trainers
# Algorithms trained as a TRL one but rewarded only for validly reasoned right answers.
VALID_REWARD = {"grpo_valid": "grpo"}
ALGORITHMS = TRL_ALGORITHMS + tuple(VALID_REWARD) + ("psr", "nsr", "passk<k>")  # the names, for messages and docs


def check_algorithm(algo: str) -> None:
    if algo not in TRL_ALGORITHMS and algo not in VALID_REWARD and not is_custom(algo):
        raise ValueError(f"unknown RL algorithm {algo!r}; choose from {', '.join(ALGORITHMS)} (e.g. passk4)")


@dataclass
class RLSettings:
    steps: int = 240  # cap on optimizer steps
    min_steps: int = 60  # never stop for a plateau before this
    plateau_window: int = 30  # steps per window of the plateau rule
    plateau_gain: float = 0.02  # a window must beat the one before by more than this
    prompts_per_step: int = 4
    num_generations: int = 8
    learning_rate: float = 2e-4
    max_completion_length: int = 64
    temperature: float = 1.0
    beta: float = 0.0  # no KL penalty: no reference-model forward passes on the CPU
    save_every: int = 60
    n_train_problems: int = 2000
    extra: dict = field(default_factory=dict)


class RewardLog:
    """The verifier as a TRL reward function that also records, per call,
    each reward with its prompt's level (the training-reward curve).
    `valid_only`: a right answer earns 1 only when every step of its trace checks."""

    __name__ = "verifier_reward"  # TRL names reward columns after the function

    def __init__(self, valid_only: bool = False):
        self.calls: list[list[tuple[int, float]]] = []
        self.valid_only = valid_only

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        rewards, record = [], []
        for prompt, completion in zip(prompts, completions):
            prompt_text = prompt[-1]["content"] if isinstance(prompt, list) else prompt
            text = completion[-1]["content"] if isinstance(completion, list) else completion
            problem = parse_prompt(prompt_text)
            check = check_trace(problem, text)
            r = 1.0 if check.correct and (check.trace_valid or not self.valid_only) else 0.0
            rewards.append(r)
            record.append((problem.n_steps, r))
        self.calls.append(record)
        return rewards


def verifier_reward(prompts, completions, **kwargs) -> list[float]:
    """1.0 when the final boxed answer is right, else 0.0 (TRL reward function)."""
    return RewardLog()(prompts, completions)


def plateaued(frontier_rewards: list[float], s: RLSettings) -> bool:
    """The stopping rule (module docstring) on the per-step frontier rewards so far."""
    w, step = s.plateau_window, len(frontier_rewards)
    if step < max(s.min_steps, 2 * w):
        return False
    last = sum(frontier_rewards[-w:]) / w
    before = sum(frontier_rewards[-2 * w:-w]) / w
    return last <= before + s.plateau_gain


# The stopping rule's series: frontier-level prompts and all prompts (the module docstring);
# a run whose prompts hold no frontier-level problem (an atlas arm's "below" / "beyond") has only
# the second: requiring a plateau of an empty series would run it to the cap, 4x the others.
STOP_RULES = ("frontier-and-all-prompts", "all-prompts")


def stop_rule(prompts: dict | None) -> str:
    """The stopping rule of a run with these RL prompts (`Preset.rl_prompts`; none: the shared ones)."""
    levels = dict(prompts or {}).get("levels", "shared")
    return "all-prompts" if levels in ("below", "beyond") else "frontier-and-all-prompts"


def should_stop(curve: list[dict], s: RLSettings, rule: str = "frontier-and-all-prompts") -> bool:
    """The stopping rule (module docstring): the all-prompt reward of the curve so far has
    plateaued and, under "frontier-and-all-prompts", the frontier reward too."""
    if rule not in STOP_RULES:
        raise ValueError(f"unknown stop rule {rule!r}: one of {STOP_RULES}")
    overall = plateaued([c["reward"] for c in curve], s)
    if rule == "all-prompts":
        return overall
    return overall and plateaued([c["frontier_reward"] for c in curve if c["frontier_prompts"]], s)


# How an atlas arm may change the RL prompts (`Preset.rl_prompts`); none: the shared distribution.
PROMPT_LEVELS = ("shared", "below", "at", "beyond")
PROMPT_SIGNS = ("any", "+", "-")


def prompt_problems(seed: int, count: int, width: int, frontier: int, share: float,
                    spec: dict | None = None) -> list[LockProblem]:
    """RL's training prompts: the distribution every post-training method shares
    (`frontier.training_problems`), or an atlas arm's variant of it (`spec`):

    - levels "below": uniform over 1..frontier-1 (only levels the base already
      reaches; the frontier itself when it is 1); "at": all at the frontier;
      "beyond": all one level past it; "shared" (default): `share` at the
      frontier, the rest below it.
    - signs "+" / "-": only problems whose turns all carry that sign (drawn
      from the same levels by rejection), for the out-of-distribution arm.
    No spec gives exactly the shared distribution (the default build's)."""
    from .frontier import training_problems
    from .splits import draw_problem

    spec = dict(spec or {})
    levels, signs = spec.pop("levels", "shared"), spec.pop("signs", "any")
    if spec or levels not in PROMPT_LEVELS or signs not in PROMPT_SIGNS:
        raise ValueError(f"unknown RL prompt spec {dict(spec, levels=levels, signs=signs)}: levels one of "
                         f"{PROMPT_LEVELS}, signs one of {PROMPT_SIGNS}")
    target, share = {"shared": (frontier, share), "below": (frontier, 0.0), "at": (frontier, 1.0),
                     "beyond": (frontier + 1, 1.0)}[levels]
    problems = training_problems("rl", seed, count, width, target, share)
    if signs == "any":
        return problems
    # Same levels, redrawn until every turn has the sign (an independent stream per problem).
    rng = random.Random(f"rl-signs{signs}-{seed}")
    out = []
    for p in problems:
        q = p
        while any(t[0] != signs for t in q.turns):
            q = draw_problem(rng, p.n_steps, width, "train")
        out.append(q)
    return out


def rl_dataset(problems: list[LockProblem]):
    """The prompts as a TRL conversational dataset."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": [{"role": "user", "content": p.prompt()}]} for p in problems])


def _config(algo: str, s: RLSettings, out_dir: Path, seed: int, device: str):
    common = dict(
        output_dir=str(out_dir / "_trl"),
        max_steps=s.steps,
        per_device_train_batch_size=s.prompts_per_step * s.num_generations,
        num_generations=s.num_generations,
        max_completion_length=s.max_completion_length,
        learning_rate=s.learning_rate,
        lr_scheduler_type="constant",
        warmup_steps=0,
        temperature=s.temperature,
        beta=s.beta,
        use_vllm=False,
        use_cpu=device == "cpu",
        bf16=False,
        save_strategy="no",
        logging_steps=max(1, s.steps // 10),
        report_to="none",
        seed=seed,
        data_seed=seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
        shuffle_dataset=True,
        **s.extra,
    )
    if algo == "rloo":
        from trl import RLOOConfig

        return RLOOConfig(**common)
    from trl import GRPOConfig

    algo = VALID_REWARD.get(algo, algo)  # the reward differs, not the loss
    if is_custom(algo):  # advantages replaced by rl_objectives; the loss as in GRPO
        return GRPOConfig(**common, loss_type="grpo", scale_rewards="none")
    loss = {
        "grpo": dict(loss_type="grpo", scale_rewards="group"),
        "dr_grpo": dict(loss_type="dr_grpo", scale_rewards="none"),
        "dapo": dict(loss_type="dapo", scale_rewards="group", epsilon_high=0.28),
        "reinforce_pp": dict(loss_type="dapo", scale_rewards="batch"),
    }[algo]
    return GRPOConfig(**common, **loss)


def train_rl(
    algo: str, base_dir: Path, out_dir: Path, s: RLSettings, seed: int, problems: list[LockProblem], frontier: int,
    device: str = "cpu", rule: str = "frontier-and-all-prompts"
) -> dict:
    """Train `algo` from the base model at `base_dir` on `problems`; checkpoints under out_dir/step-<k>/.

    Returns {"checkpoints": {step: path}, "log": [...], "curve": [{step, reward, frontier_reward}],
    "stopped": "plateau"|"cap", "seconds": float}.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    from ..tinymodel import save_model

    check_algorithm(algo)
    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(base_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    checkpoints: dict[int, str] = {}
    rewards = RewardLog(valid_only=algo in VALID_REWARD)
    curve: list[dict] = []
    stopped = ["cap"]

    class CurveAndCheckpoints(TrainerCallback):
        """Record the step's rewards, apply the plateau rule, write HF checkpoints."""

        def on_step_end(self, args, state, control, **kw):
            step = state.global_step
            batch = [r for call in rewards.calls for r in call]
            rewards.calls.clear()
            per_level: dict[int, list[float]] = {}
            for level, r in batch:
                per_level.setdefault(level, []).append(r)
            front = per_level.get(frontier, [])
            curve.append({"step": step, "reward": sum(r for _, r in batch) / max(1, len(batch)),
                          "frontier_reward": sum(front) / len(front) if front else float("nan"),
                          "frontier_prompts": len(front),
                          # Per level (str keys: JSON), to see where RL learns.
                          "level_rewards": {str(k): sum(v) / len(v) for k, v in sorted(per_level.items())}})
            done = should_stop(curve, s, rule)
            if done:
                stopped[0] = "plateau"
                control.should_training_stop = True
            if step % s.save_every == 0 or done or step >= s.steps:
                path = save_model(kw["model"], tok, out_dir / f"step-{step}")
                checkpoints[step] = str(path)

    args = _config(algo, s, out_dir, seed, device)
    dataset = rl_dataset(problems)
    if algo == "rloo":
        from trl import RLOOTrainer as Trainer
    elif is_custom(algo):
        Trainer = advantage_trainer(algo)
    else:
        from trl import GRPOTrainer as Trainer
    trainer = Trainer(
        model=model,
        reward_funcs=rewards,
        args=args,
        train_dataset=dataset,
        processing_class=tok,
        callbacks=[CurveAndCheckpoints()],
    )
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    log = [
        {k: v for k, v in row.items() if isinstance(v, (int, float))}
        for row in trainer.state.log_history
    ]
    return {"checkpoints": checkpoints, "log": log, "curve": curve, "stopped": stopped[0], "seconds": seconds,
            "beta": s.beta}
