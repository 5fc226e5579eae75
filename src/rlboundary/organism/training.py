"""A plain torch training loop for the organism's language models.

Pretraining (base, teacher) and supervised fine-tuning (instruct,
distilled) are the same thing here: next-token loss on the assistant turn
of chat-formatted (prompt, completion) pairs, with AdamW, a linear warm-up,
cosine decay and gradient clipping (the setting ../shared/FACTS.md found to
work for tiny models on this CPU). Examples come from a callable so that a
curriculum can change them as training goes on.

    from rlboundary.organism.training import ChatEncoder, train_lm
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from ..tinymodel import ASSISTANT, EOS, PAD, USER


class ChatEncoder:
    """Character-level chat encoding without calling the tokenizer per text.

    Produces exactly what `tokenizer.apply_chat_template` produces for one
    user turn and one assistant turn (a test checks it), plus a loss mask
    that is 1 on the assistant's tokens and its closing EOS.
    """

    def __init__(self, tokenizer):
        vocab = tokenizer.get_vocab()
        self.char_id = {c: i for c, i in vocab.items() if len(c) == 1}
        self.user, self.assistant = vocab[USER], vocab[ASSISTANT]
        self.eos, self.pad = vocab[EOS], vocab[PAD]

    def text(self, s: str) -> list[int]:
        return [self.char_id[c] for c in s]

    def prompt(self, prompt: str) -> list[int]:
        """The generation prompt: user turn, then the assistant tag."""
        return [self.user, *self.text(prompt), self.assistant]

    def example(self, prompt: str, completion: str) -> tuple[list[int], list[int]]:
        head = self.prompt(prompt)
        tail = self.text(completion) + [self.eos]
        return head + tail, [0] * len(head) + [1] * len(tail)


@dataclass
class TrainConfig:
    steps: int
    batch_size: int = 64
    lr: float = 3e-3
    warmup: int = 100
    weight_decay: float = 0.1
    clip: float = 1.0
    min_lr_ratio: float = 0.1
    log_every: int = 50


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio * lr."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cos)


def collate(encoder: ChatEncoder, pairs: list[tuple[str, str]]):
    """Right-padded input ids, attention mask and labels (-100 off the loss)."""
    import torch

    encoded = [encoder.example(p, c) for p, c in pairs]
    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), encoder.pad, dtype=torch.long)
    labels = torch.full((len(encoded), width), -100, dtype=torch.long)
    attn = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (x, m) in enumerate(encoded):
        t = torch.tensor(x)
        ids[row, : len(x)] = t
        attn[row, : len(x)] = 1
        labels[row, : len(x)] = torch.where(torch.tensor(m, dtype=torch.bool), t, torch.tensor(-100))
    return ids, attn, labels


def train_lm(
    model,
    encoder: ChatEncoder,
    batch_fn: Callable[[int], list[tuple[str, str]]],
    cfg: TrainConfig,
    on_log: Callable[[dict], None] | None = None,
    on_checkpoint: Callable[[int, object], None] | None = None,
    checkpoint_steps: tuple[int, ...] = (),
) -> list[dict]:
    """Train `model` in place for cfg.steps steps; returns the loss log.

    `batch_fn(step)` returns the step's (prompt, completion) pairs.
    `on_checkpoint(step, model)` is called after each step in `checkpoint_steps`
    (the model in eval mode; training resumes after it returns).
    """
    import torch

    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    device = next(model.parameters()).device
    log, t0, running = [], time.perf_counter(), []
    for step in range(cfg.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        ids, attn, labels = (t.to(device) for t in collate(encoder, batch_fn(step)))
        loss = model(input_ids=ids, attention_mask=attn, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        running.append(loss.item())
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            row = {
                "step": step + 1,
                "loss": sum(running) / len(running),
                "lr": lr_at(step, cfg),
                "seconds": time.perf_counter() - t0,
            }
            running = []
            log.append(row)
            if on_log:
                on_log(row)
        if on_checkpoint and step + 1 in checkpoint_steps:
            model.eval()
            with torch.no_grad():
                on_checkpoint(step + 1, model)
            model.train()
    model.eval()
    return log
