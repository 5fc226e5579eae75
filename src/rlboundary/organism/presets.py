"""Build presets: how big the organism is and how long each stage trains.

- `micro`: every stage end to end in well under a minute (tests).
- `default`: the embedded study, sized for a 2-core CPU (budget: 15 minutes).
- `large`: bigger models, a 1000-value answer space and longer training,
  for a GPU (not timed on this CPU).

Model sizes and step counts come from learning curves measured on this
machine (the organism section of the README has them): on one-digit turns
a 128-wide, 4-layer Llama (0.8M parameters, about 17k training tokens/s on
2 cores) pretrained on the mixed corpus stays near chance on 3-4 turn
chains until about step 900, then learns them abruptly (loss 0.35 -> 0.14
between steps 750 and 1200); chains of up to 5 turns had not been learned
after 1000 steps, so training stops at 4 turns. RL at learning rate 3e-4
or more lowered the training reward on this base; 1e-4 raised it. Nothing
here was tuned on the evaluation split or toward any pass@k outcome.

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
    max_steps: int  # longest training problem (number of turns)
    eval_per_level: int  # evaluation problems per number of turns (all of them where fewer exist)
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
    # Longest evaluation problem; above max_steps the evaluation also asks for
    # chains longer than any seen in training (the horizon notebook's question).
    eval_max_steps: int | None = None
    # Longest chain in the teacher's training and the distillation problems
    # (default: max_steps). A teacher_shape with "extra_layers" grows the
    # teacher from the base (pretrain.grow_deeper) instead of training it from scratch.
    teacher_max_steps: int | None = None
    notes: dict = field(default_factory=dict)

    @property
    def eval_steps(self) -> range:
        return range(1, (self.eval_max_steps or self.max_steps) + 1)

    @property
    def teacher_reach(self) -> int:
        return self.teacher_max_steps or self.max_steps

    def max_completion_tokens(self) -> int:
        """Longest clean trace any sampler asks for (evaluation or the teacher's
        distillation problems): steps of `X±T=Y;` plus the boxed answer, with slack."""
        longest = max(max(self.eval_steps), self.teacher_reach)
        return longest * (3 * self.width + 3) + self.width + 8 + 8


def _micro() -> Preset:
    return Preset(
        name="micro",
        width=1,
        max_steps=3,
        eval_per_level=3,
        base_shape=dict(hidden_size=64, num_layers=2, num_heads=2),
        teacher_shape=dict(extra_layers=1),  # grown from the base, as in the default
        base_train=TrainConfig(steps=12, batch_size=16, warmup=3, log_every=4),
        teacher_train=TrainConfig(steps=10, batch_size=16, warmup=3, log_every=5),
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
        max_steps=4,
        eval_max_steps=5,  # one turn longer than any training chain
        eval_per_level=16,  # one-turn problems: only 7 exist in the evaluation bucket, all are used
        base_shape=dict(hidden_size=128, num_layers=4, num_heads=4),
        teacher_shape=dict(extra_layers=2),  # the base grown to 6 layers, then trained on clean traces
        teacher_max_steps=5,  # the teacher also learns chains one turn longer than the base saw
        base_train=TrainConfig(steps=1200, batch_size=64, lr=3e-3, warmup=150, log_every=100),
        teacher_train=TrainConfig(steps=300, batch_size=64, lr=1e-3, warmup=30, log_every=50),
        instruct_train=TrainConfig(steps=100, batch_size=64, lr=3e-4, warmup=10, log_every=25),
        distill_train=TrainConfig(steps=100, batch_size=64, lr=3e-4, warmup=10, log_every=25),
        distill_problems=256,
        distill_samples=4,
        rl=RLSettings(steps=60, prompts_per_step=8, num_generations=8, learning_rate=1e-4,
                      max_completion_length=48, save_at=(20, 40, 60), n_train_problems=2048),
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
