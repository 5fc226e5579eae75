"""Reinforcement learning from verifiable rewards on the organism, with TRL.

The base model is trained on training-split problems; the reward is the
verifier alone: 1 when the boxed final answer is right, 0 otherwise (no
format or step bonus, as in the paper's RLVR setups). Algorithms, all from
TRL 1.16:

| algo    | trainer        | loss                                                 |
|---------|----------------|------------------------------------------------------|
| grpo    | GRPOTrainer    | loss_type="grpo", rewards scaled by the group's std  |
| dr_grpo | GRPOTrainer    | loss_type="dr_grpo", no std scaling (Dr. GRPO)       |
| dapo    | GRPOTrainer    | loss_type="dapo", clip-higher epsilon_high=0.28      |
| rloo    | RLOOTrainer    | REINFORCE leave-one-out baseline                     |

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

from .splits import draw_problem
from .task import check_trace, parse_prompt

ALGORITHMS = ("grpo", "dr_grpo", "dapo", "rloo")


@dataclass
class RLSettings:
    steps: int = 60
    prompts_per_step: int = 4
    num_generations: int = 8
    learning_rate: float = 2e-4
    max_completion_length: int = 64
    temperature: float = 1.0
    beta: float = 0.0  # no KL penalty: no reference-model forward passes on the CPU
    save_at: tuple[int, ...] = (20, 40, 60)
    n_train_problems: int = 2000
    extra: dict = field(default_factory=dict)


def verifier_reward(prompts, completions, **kwargs) -> list[float]:
    """1.0 when the final boxed answer is right, else 0.0 (TRL reward function)."""
    rewards = []
    for prompt, completion in zip(prompts, completions):
        prompt_text = prompt[-1]["content"] if isinstance(prompt, list) else prompt
        text = completion[-1]["content"] if isinstance(completion, list) else completion
        rewards.append(1.0 if check_trace(parse_prompt(prompt_text), text).correct else 0.0)
    return rewards


def rl_dataset(seed: int, n: int, width: int, max_steps: int):
    """Training-split prompts, difficulties uniform over 1..max_steps."""
    from datasets import Dataset

    rng = random.Random(f"rl-{seed}")
    rows = []
    for _ in range(n):
        p = draw_problem(rng, rng.randint(1, max_steps), width, "train")
        rows.append({"prompt": [{"role": "user", "content": p.prompt()}]})
    return Dataset.from_list(rows)


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

    loss = {
        "grpo": dict(loss_type="grpo", scale_rewards="group"),
        "dr_grpo": dict(loss_type="dr_grpo", scale_rewards="none"),
        "dapo": dict(loss_type="dapo", scale_rewards="group", epsilon_high=0.28),
    }[algo]
    return GRPOConfig(**common, **loss)


def train_rl(
    algo: str, base_dir: Path, out_dir: Path, s: RLSettings, seed: int, width: int, max_steps: int, device: str = "cpu"
) -> dict:
    """Train `algo` from the base model at `base_dir`; checkpoints under out_dir/step-<k>/.

    Returns {"checkpoints": {step: path}, "log": [...], "seconds": float}.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    from ..tinymodel import save_model

    if algo not in ALGORITHMS:
        raise ValueError(f"unknown RL algorithm {algo!r}; choose from {ALGORITHMS}")
    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(base_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    checkpoints: dict[int, str] = {}

    class SaveAt(TrainerCallback):
        """Write HF-format checkpoints at the requested optimizer steps."""

        def on_step_end(self, args, state, control, **kw):
            if state.global_step in s.save_at:
                path = save_model(kw["model"], tok, out_dir / f"step-{state.global_step}")
                checkpoints[state.global_step] = str(path)

    args = _config(algo, s, out_dir, seed, device)
    dataset = rl_dataset(seed, s.n_train_problems, width, max_steps)
    if algo == "rloo":
        from trl import RLOOTrainer as Trainer
    else:
        from trl import GRPOTrainer as Trainer
    trainer = Trainer(
        model=model,
        reward_funcs=verifier_reward,
        args=args,
        train_dataset=dataset,
        processing_class=tok,
        callbacks=[SaveAt()],
    )
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    log = [
        {k: v for k, v in row.items() if isinstance(v, (int, float))}
        for row in trainer.state.log_history
    ]
    return {"checkpoints": checkpoints, "log": log, "seconds": seconds}
