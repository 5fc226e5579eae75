"""Build presets: how big the organism is and how long each stage trains.

- `micro`: every stage end to end in well under a minute (tests).
- `default`: the embedded study, sized for a 2-core CPU (budget: 15 minutes).
- `large`: bigger models, a 1000-value answer space and longer training,
  for a GPU (not timed on this CPU).

Model sizes and step counts come from learning curves measured before the
build was fixed (see the organism section of the README): on one-digit
turns a 192-wide, 4-layer Llama trained on correct traces learned 1-2 step
problems within 600 steps of batch 64 and a 128-wide one within 1000; a
64-wide one learned nothing in 1500. Nothing here was tuned on the
evaluation split or toward any pass@k outcome.

    from rlboundary.organism.presets import get_preset
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import UserError
from .rl import RLSettings
from .training import TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    width: int  # digits per value: answer space 10**width
    max_steps: int  # longest problem (number of turns), training and evaluation
    eval_per_level: int  # evaluation problems per number of turns
    base_shape: dict
    teacher_shape: dict
    base_train: TrainConfig
    teacher_train: TrainConfig
    instruct_train: TrainConfig
    distill_train: TrainConfig
    distill_problems: int  # training problems the teacher solves for distillation
    distill_samples: int  # teacher samples per problem (kept when verified)
    rl: RLSettings
    rl_algorithms: tuple[str, ...] = ("grpo", "dr_grpo", "rloo")
    device: str = "cpu"
    notes: dict = field(default_factory=dict)

    def max_completion_tokens(self) -> int:
        """Longest clean trace (steps of `X±T=Y;` plus the boxed answer) with slack."""
        return self.max_steps * (3 * self.width + 3) + self.width + 8 + 8


def _micro() -> Preset:
    return Preset(
        name="micro",
        width=1,
        max_steps=3,
        eval_per_level=3,
        base_shape=dict(hidden_size=64, num_layers=2, num_heads=2),
        teacher_shape=dict(hidden_size=96, num_layers=2, num_heads=3),
        base_train=TrainConfig(steps=12, batch_size=16, warmup=3, log_every=4),
        teacher_train=TrainConfig(steps=30, batch_size=16, warmup=3, log_every=10),
        instruct_train=TrainConfig(steps=4, batch_size=16, lr=1e-3, warmup=1, log_every=2),
        distill_train=TrainConfig(steps=4, batch_size=16, lr=1e-3, warmup=1, log_every=2),
        distill_problems=16,
        distill_samples=8,
        rl=RLSettings(steps=3, prompts_per_step=2, num_generations=4, max_completion_length=24,
                      save_at=(1, 2, 3), n_train_problems=16),
    )


def _default() -> Preset:
    return Preset(
        name="default",
        width=1,
        max_steps=6,
        eval_per_level=6,  # one-turn problems: only 7 exist in the evaluation bucket
        base_shape=dict(hidden_size=192, num_layers=4, num_heads=6),
        teacher_shape=dict(hidden_size=256, num_layers=4, num_heads=8),
        base_train=TrainConfig(steps=700, batch_size=64, lr=2e-3, warmup=100, log_every=50),
        teacher_train=TrainConfig(steps=400, batch_size=64, lr=2e-3, warmup=60, log_every=50),
        instruct_train=TrainConfig(steps=80, batch_size=64, lr=5e-4, warmup=10, log_every=20),
        distill_train=TrainConfig(steps=80, batch_size=64, lr=5e-4, warmup=10, log_every=20),
        distill_problems=256,
        distill_samples=4,
        rl=RLSettings(steps=30, prompts_per_step=4, num_generations=8, learning_rate=3e-4,
                      max_completion_length=56, save_at=(10, 20, 30), n_train_problems=512),
    )


def _large() -> Preset:
    return Preset(
        name="large",
        width=3,
        max_steps=8,
        eval_per_level=32,
        base_shape=dict(hidden_size=384, num_layers=6, num_heads=12),
        teacher_shape=dict(hidden_size=512, num_layers=8, num_heads=16),
        base_train=TrainConfig(steps=8000, batch_size=128, lr=1e-3, warmup=400, log_every=200),
        teacher_train=TrainConfig(steps=8000, batch_size=128, lr=1e-3, warmup=400, log_every=200),
        instruct_train=TrainConfig(steps=400, batch_size=128, lr=2e-4, warmup=40, log_every=100),
        distill_train=TrainConfig(steps=400, batch_size=128, lr=2e-4, warmup=40, log_every=100),
        distill_problems=4096,
        distill_samples=4,
        rl=RLSettings(steps=300, prompts_per_step=16, num_generations=8, learning_rate=1e-4,
                      max_completion_length=128, save_at=(100, 200, 300), n_train_problems=8192),
        rl_algorithms=("grpo", "dr_grpo", "dapo", "rloo"),
        device="cuda",
    )


PRESETS = {"micro": _micro, "default": _default, "large": _large}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise UserError(f"unknown organism preset {name!r}.", f"use one of: {', '.join(PRESETS)}.")
    return PRESETS[name]()


def with_overrides(preset: Preset, **changes) -> Preset:
    return replace(preset, **changes)
