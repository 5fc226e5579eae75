"""How much of the base's pretraining compute goes to the prompt, and what the bare prompt saves.

    .venv/bin/python benchmarks/prompt_token_share.py [--steps 30] [--sample-every 7]

The organism's prompts used to carry a constant instruction
(`Mod 10: 3+8+9-4=? Step by step; answer in \\boxed{}.`, VERBOSE below); since
build format 3 they are the bare expression (`3+8+9-4=?`, task.PROMPT_FORMAT).
Part 1 reads the default preset's pretraining stream (every `--sample-every`-th
batch) in the old verbose form and prints tokens per example, the prompt's
share of them, the share of constant text and the padding share. Part 2 times
`--steps` base training steps on the same batches, side by side in this
process: once with the verbose prompts, once with the prompts as the organism
writes them now; it prints seconds per step and the ratio (README, build times).
"""

VERBOSE = "Mod 10: {expression}=? Step by step; answer in \\boxed{{}}."


from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--sample-every", type=int, default=7)
    args = ap.parse_args()

    import torch

    from rlboundary.organism.corpus import BASE_MIX
    from rlboundary.organism.pretrain import make_batch_fn
    from rlboundary.organism.presets import get_preset
    from rlboundary.organism.task import parse_prompt
    from rlboundary.organism.training import ChatEncoder, collate

    def verbose(batch):
        return [(VERBOSE.format(expression=parse_prompt(q).expression()), c) for q, c in batch]
    from rlboundary.tinymodel import build_char_tokenizer, make_llama

    p = get_preset("default")
    tok = build_char_tokenizer()
    enc = ChatEncoder(tok)
    cfg = p.base_train
    batch_fn = make_batch_fn(0, p.width, p.max_steps, cfg.batch_size, cfg.steps, BASE_MIX, exposure=dict(p.exposure))
    batches = [batch_fn(step) for step in range(0, cfg.steps, args.sample_every)]

    total = prompt = constant = padded = 0
    batches = [verbose(b) for b in batches]
    for batch in batches:
        lengths = [len(enc.example(q, c)[0]) for q, c in batch]
        total, padded = total + sum(lengths), padded + max(lengths) * len(lengths)
        for q, _ in batch:
            prompt += len(enc.prompt(q))
            constant += len(q) - len(parse_prompt(q).expression())  # everything but the expression itself
    examples = sum(len(b) for b in batches)
    print(f"tokens_per_example={total / examples:.1f}")
    print(f"prompt_share={prompt / total:.3f}")
    print(f"constant_text_share={constant / total:.3f}")
    print(f"padding_share={1 - total / padded:.3f}")

    def bare(batch):
        return [(parse_prompt(q).prompt(), c) for q, c in batch]

    timed = batches[-args.steps:]  # batches after the curriculum: every length
    seconds = {}
    for name, transform in (("verbose_prompt", lambda b: b), ("bare_prompt", bare)):
        torch.manual_seed(0)
        model = make_llama(tok, seed=0, **p.base_shape)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        encoded = [collate(enc, transform(b)) for b in timed]
        t = time.perf_counter()
        for ids, attn, labels in encoded:
            loss = model(input_ids=ids, attention_mask=attn, labels=labels).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds[name] = (time.perf_counter() - t) / len(encoded)
        print(f"{name}_seconds_per_step={seconds[name]:.3f}  (torch threads {torch.get_num_threads()})")
    print(f"speedup_bare_prompt={seconds['verbose_prompt'] / seconds['bare_prompt']:.2f}x")


if __name__ == "__main__":
    main()
