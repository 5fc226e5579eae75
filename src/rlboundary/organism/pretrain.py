"""Pretraining from scratch: the base model and the (larger) teacher.

The base model learns from the mixed-writer corpus (`corpus.BASE_MIX`); the
teacher from correct traces in random orders only. Both use a curriculum
over the number of steps: problems start at one step and the longest
allowed problem grows linearly until `curriculum` of training, then every
length up to `max_steps` is drawn (../shared/FACTS.md: without a
curriculum tiny models do not learn multi-step chains in minutes). Rare
longer chains (`exposure`) join only once the curriculum is complete: drawn
from the first step, they made the base's take-off seed-dependent (two of
three bases stayed at chance on one-turn problems after 1,200 steps).

    from rlboundary.organism.pretrain import pretrain
"""

from __future__ import annotations

import random
from typing import Callable

from .corpus import BASE_MIX, pick_writer, write_trace
from .splits import draw_problem
from .training import ChatEncoder, TrainConfig, train_lm

CLEAN_MIX = {"systematic": 0.5, "shuffled": 0.5}


def curriculum_steps(step: int, total: int, max_steps: int, curriculum: float, rng: random.Random) -> int:
    """Number of turns for one example at training step `step`."""
    progress = step / max(1, total * curriculum)
    longest = min(max_steps, 1 + int(progress * max_steps))
    return rng.randint(1, longest)


def make_batch_fn(
    seed: int,
    width: int,
    max_steps: int,
    batch_size: int,
    total_steps: int,
    mix: dict[str, float],
    curriculum: float = 0.5,
    exposure: dict[int, float] | None = None,
) -> Callable[[int], list[tuple[str, str]]]:
    """A deterministic stream of training-split (prompt, trace) pairs."""
    rng = random.Random(f"pretrain-{seed}")
    exposure = dict(exposure or {})
    if sum(exposure.values()) >= 1:
        raise ValueError(f"exposure shares {exposure} must sum to less than 1")

    def batch(step: int) -> list[tuple[str, str]]:
        # One length per batch: examples of equal length need no padding.
        complete = step >= total_steps * curriculum
        n = _exposed_level(rng, exposure) if exposure and complete else None
        if n is None:
            n = curriculum_steps(step, total_steps, max_steps, curriculum, rng)
        out = []
        for _ in range(batch_size):
            p = draw_problem(rng, n, width, "train")
            out.append((p.prompt(), write_trace(p, pick_writer(rng, mix), rng)))
        return out

    return batch


def _exposed_level(rng: random.Random, exposure: dict[int, float]) -> int | None:
    """A rare level drawn with its exposure share, or None (the usual range)."""
    u = rng.random()
    for level, share in sorted(exposure.items()):
        if u < share:
            return level
        u -= share
    return None


def pretrain(
    tokenizer,
    shape: dict,
    cfg: TrainConfig,
    seed: int,
    width: int,
    max_steps: int,
    mix: dict[str, float] = BASE_MIX,
    on_log=None,
    device: str = "cpu",
    exposure: dict[int, float] | None = None,
):
    """A fresh tiny Llama trained on `mix` traces; returns (model, loss log)."""
    import torch

    from ..tinymodel import make_llama

    torch.manual_seed(seed)
    model = make_llama(tokenizer, seed=seed, **shape).to(device)
    batch_fn = make_batch_fn(seed, width, max_steps, cfg.batch_size, cfg.steps, mix, exposure=exposure)
    log = train_lm(model, ChatEncoder(tokenizer), batch_fn, cfg, on_log=on_log)
    return model, log


def grow_deeper(model, extra_layers: int, seed: int):
    """A deeper copy of `model` that computes exactly the same function.

    The new decoder layers go on top and start as identities: their attention
    output and MLP down projections are zero, so each adds nothing to the
    residual stream until training moves them (function-preserving depth
    growth). Used for the teacher: a larger model that starts from what the
    base knows and is then trained further on clean traces.
    """
    import copy

    import torch

    config = copy.deepcopy(model.config)
    config.num_hidden_layers = model.config.num_hidden_layers + extra_layers
    torch.manual_seed(seed)
    grown = type(model)(config)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(".layers." in k for k in missing), (missing, unexpected)
    with torch.no_grad():
        for layer in grown.model.layers[model.config.num_hidden_layers:]:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
    return grown
