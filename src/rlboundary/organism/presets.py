"""Build presets: how big the organism is and how long each stage trains.

- `micro`: every stage end to end in well under a minute (tests).
- `default`: the embedded study, sized for a 2-core CPU (budget 15 minutes per seed: 864-894 s measured, README).
- `large`: bigger models, a 1000-value answer space and longer training,
  for a GPU (not timed on this CPU).

Model sizes and step counts come from learning curves measured on this
machine (the organism section of the README has them): on one-digit turns
a 128-wide, 4-layer Llama (1.06M parameters, about 17k training tokens/s on
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
    # Rare longer chains in the base's pretraining: ((level, share of batches), ...),
    # meant to give the base a frontier (partial reach) above its main range (`frontier.py`).
    exposure: tuple[tuple[int, float], ...] = ()
    # The frontier is the trained level whose luck-free pass@k (k = frontier_n) on
    # training-split problems lies in this range (closest to its middle).
    frontier_range: tuple[float, float] = (0.05, 0.5)
    frontier_problems: int = 16  # training-split problems per candidate level
    frontier_n: int = 256  # samples per problem when measuring the frontier
    # Evaluation problems added at each build's frontier level for the reach comparison
    # (benchmark.load_panel): the rule's "no gain" needs >= 72 (seed, problem) pairs there.
    frontier_panel: int = 0
    # Fresh problems per build at its frontier for the confirmation rule (session 13), sampled by
    # `rlboundary organism eval --seeds ...` unless --confirm says otherwise (reach.confirmation_claim).
    confirmation_panel: int = 0
    # RL, rejection sampling and both distillations train on levels 1..frontier;
    # this share of their prompts is at the frontier level, the rest uniform below it.
    frontier_share: float = 0.5
    rft_samples: int = 8  # base samples per prompt for rejection-sampling fine-tuning
    # Steps of the stronger teacher's training at which it is saved: with its final
    # step, the matched-reach teacher's candidates; the one whose frontier reach is
    # closest to the base's is kept (frontier.MATCHED_TEACHER_RULE). Dense early on,
    # where the grown teacher is still close to the base.
    matched_teacher_checkpoints: tuple[int, ...] = ()
    # RL prompts other than the shared distribution, as ((key, value), ...) for
    # `rl.prompt_problems` (an atlas arm's "difficulty" or out-of-distribution
    # restriction); () = the distribution every post-training method shares.
    rl_prompts: tuple[tuple[str, str], ...] = ()
    notes: dict = field(default_factory=dict)

    @property
    def longest_trained(self) -> int:
        """The longest chain in the base's pretraining."""
        return max([self.max_steps] + [level for level, _ in self.exposure])

    @property
    def unseen_level(self) -> int:
        """One turn longer than anything any model may train on (the highest
        possible frontier, which post-training may use, is longest_trained + 1)."""
        return self.longest_trained + 2

    @property
    def eval_steps(self) -> range:
        return range(1, self.unseen_level + 1)

    @property
    def teacher_reach(self) -> int:
        """The stronger teacher trains on clean traces of every level up to the
        highest possible frontier."""
        return self.longest_trained + 1

    def frontier_candidates(self) -> list[int]:
        """Every level the base trained on, and one more: a base that learned less
        than planned (pretraining is abrupt and seed-dependent) has its frontier lower
        down, one that generalises past its longest chains has it beyond them."""
        return list(range(1, self.longest_trained + 2))

    def max_completion_tokens(self) -> int:
        """Longest clean trace any sampler asks for (evaluation or training
        prompts): steps of `X±T=Y;` plus the boxed answer, with slack."""
        return self.unseen_level * (3 * self.width + 3) + self.width + 8 + 8


def _micro() -> Preset:
    return Preset(
        name="micro",
        width=1,
        max_steps=2,
        exposure=((3, 0.1),),
        frontier_problems=4,
        frontier_n=8,
        eval_per_level=3,
        frontier_panel=3,
        base_shape=dict(hidden_size=64, num_layers=2, num_heads=2),
        teacher_shape=dict(extra_layers=1),  # grown from the base, as in the default
        base_train=TrainConfig(steps=12, batch_size=16, warmup=3, log_every=4),
        teacher_train=TrainConfig(steps=6, batch_size=16, warmup=3, log_every=3),
        matched_teacher_checkpoints=(2, 4),
        instruct_train=TrainConfig(steps=4, batch_size=16, lr=1e-3, warmup=1, log_every=2),
        distill_train=TrainConfig(steps=4, batch_size=16, lr=1e-3, warmup=1, log_every=2),
        distill_problems=8,
        distill_samples=4,
        rft_samples=4,
        rl=RLSettings(steps=3, min_steps=3, plateau_window=1, prompts_per_step=2, num_generations=4,
                      max_completion_length=24, save_every=1, n_train_problems=16),
    )


def _default() -> Preset:
    return Preset(
        name="default",
        width=1,
        max_steps=4,  # the base's main pretraining range: chains of 1-4 turns
        # 5-, 6- and 7-turn chains are rare in pretraining (shares of the batches after the
        # curriculum completes): the frontier candidates. Which level is the frontier is
        # measured on training problems after pretraining (frontier.py). Chosen with
        # benchmarks/organism_frontier_sweep.py on training problems: with 5 % / 2 % only, the
        # base's valid reach was a cliff (1.0 at level 6, 0 at 7); a trace of level 7
        # (0.5 %) gave seed 1 a partial level (luck-free pass@256 .25 at 7).
        exposure=((5, 0.05), (6, 0.02), (7, 0.005)),
        eval_per_level=8,  # 6 one-turn problems exist in the evaluation bucket: all are used (70 problems in all)
        # 8 + 32 problems at the frontier: 120 pairs over three seeds; the rule's gain bound is then
        # .030 with no gain, .046 with one (it must be < .05), instead of .142 at best with 24 pairs.
        frontier_panel=32,
        confirmation_panel=32,
        base_shape=dict(hidden_size=128, num_layers=4, num_heads=4),
        teacher_shape=dict(extra_layers=2),  # teachers: the base grown to 6 layers, then trained on clean traces
        base_train=TrainConfig(steps=1200, batch_size=64, lr=3e-3, warmup=150, log_every=100),
        teacher_train=TrainConfig(steps=200, batch_size=64, lr=1e-3, warmup=20, log_every=50),
        matched_teacher_checkpoints=(10, 20, 30, 40, 50, 75, 100, 150),
        instruct_train=TrainConfig(steps=100, batch_size=64, lr=3e-4, warmup=10, log_every=25),
        distill_train=TrainConfig(steps=100, batch_size=64, lr=3e-4, warmup=10, log_every=25),
        distill_problems=256,
        distill_samples=8,
        rft_samples=8,
        rl=RLSettings(steps=240, min_steps=60, plateau_window=30, prompts_per_step=8, num_generations=8,
                      learning_rate=1e-4, max_completion_length=64, save_every=60, n_train_problems=4096),
        # Two objectives in the default build (the CPU budget); the atlas compares more.
        rl_algorithms=("grpo", "rloo"),
    )


def _large() -> Preset:
    return Preset(
        name="large",
        width=3,
        max_steps=8,
        exposure=((9, 0.05), (10, 0.02)),
        eval_per_level=32,
        base_shape=dict(hidden_size=384, num_layers=6, num_heads=12),
        teacher_shape=dict(extra_layers=2),
        base_train=TrainConfig(steps=8000, batch_size=128, lr=1e-3, warmup=400, log_every=200),
        teacher_train=TrainConfig(steps=2000, batch_size=128, lr=5e-4, warmup=100, log_every=200),
        matched_teacher_checkpoints=(100, 250, 500, 750, 1000, 1500),
        instruct_train=TrainConfig(steps=400, batch_size=128, lr=2e-4, warmup=40, log_every=100),
        distill_train=TrainConfig(steps=400, batch_size=128, lr=2e-4, warmup=40, log_every=100),
        distill_problems=4096,
        distill_samples=8,
        rl=RLSettings(steps=1000, min_steps=200, plateau_window=100, prompts_per_step=16, num_generations=8,
                      learning_rate=1e-4, max_completion_length=160, save_every=200, n_train_problems=16384),
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
