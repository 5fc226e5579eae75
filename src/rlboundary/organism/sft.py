"""Supervised fine-tuning of the base model: the instruct and distilled models.

- instruct: the base model fine-tuned on clean traces written the
  systematic way (turns in the given order), like an instruction-tuned
  model trained on curated human solutions;
- distilled: the base model fine-tuned on the teacher's own sampled
  solutions that the verifier accepted (`distill.py` collects them).

Both use the same training loop as pretraining (`training.train_lm`), with
a lower learning rate and few steps.

    from rlboundary.organism.sft import finetune
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

from .splits import draw_problem
from .task import clean_trace
from .training import ChatEncoder, TrainConfig, train_lm


def finetune(base_dir: Path, batch_fn: Callable[[int], list[tuple[str, str]]], cfg: TrainConfig, seed: int, device: str,
             transform: Callable | None = None, on_log: Callable[[dict], None] | None = None,
             on_checkpoint: Callable | None = None, checkpoint_steps: tuple[int, ...] = ()):
    """Load the base model from `base_dir`, fine-tune it; returns (model, tokenizer, log).

    `transform(model) -> model` reshapes the loaded model before training
    (the teacher: `pretrain.grow_deeper`); `on_checkpoint(step, model)` sees the
    model at each of `checkpoint_steps` (see `training.train_lm`)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(str(base_dir))
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    if transform is not None:
        model = transform(model)
    model = model.to(device)
    log = train_lm(model, ChatEncoder(tok), batch_fn, cfg, on_log=on_log, on_checkpoint=on_checkpoint,
                   checkpoint_steps=checkpoint_steps)
    return model.cpu(), tok, log


def clean_batches(seed: int, width: int, max_steps: int, batch_size: int) -> Callable[[int], list[tuple[str, str]]]:
    """Training-split problems with systematic (given-order) correct traces."""
    rng = random.Random(f"instruct-{seed}")

    def batch(step: int) -> list[tuple[str, str]]:
        n = rng.randint(1, max_steps)
        return [(p.prompt(), clean_trace(p)) for p in (draw_problem(rng, n, width, "train") for _ in range(batch_size))]

    return batch


def pair_batches(pairs: list[tuple[str, str]], seed: int, batch_size: int) -> Callable[[int], list[tuple[str, str]]]:
    """Batches drawn (with replacement) from a fixed list of (question, trace) pairs."""
    rng = random.Random(f"pairs-{seed}")

    def batch(step: int) -> list[tuple[str, str]]:
        if not pairs:
            raise ValueError("no training pairs to fine-tune on")
        return [pairs[rng.randrange(len(pairs))] for _ in range(batch_size)]

    return batch
