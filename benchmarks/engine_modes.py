"""vLLM on the CPU: eager vs compiled engine, batch size and dtype, side by side on an organism model.

Samples the same seeded requests (organism training-split problems, levels 1-7) with
`enforce_eager=True` (the package's CPU default), with vLLM's compiled
mode, with a larger batch, and with another dtype, in one run, and prints
per mode: engine start-up seconds, generation seconds, tokens/s, the share
of samples whose answer is right, and whether the texts are identical to
the first mode's. Decides whether large CPU runs should compile, and what
vLLM's `dtype="auto"` costs here: it downcasts a float32 checkpoint (the
organism's) to bfloat16, which a CPU without AVX512-BF16/AMX runs emulated.

    .venv/bin/python benchmarks/engine_modes.py --model outputs/models/organism/default-seed0/base \
        [--problems 16] [--n 256] [--max-tokens 64] [--modes eager,eager-auto,compiled,eager-1024]
"""

from __future__ import annotations

import argparse
import gc
import time


def run(model: str, eager: bool, prompts, n: int, max_tokens: int, max_num_seqs: int | None = None,
        dtype: str = "float32"):
    from vllm import SamplingParams

    from rlboundary.vllm_backend import engine_env_defaults, start_engine

    engine_env_defaults()
    t0 = time.perf_counter()
    llm = start_engine(model=model, dtype=dtype, max_model_len=256, enforce_eager=eager,
                       enable_chunked_prefill=False, seed=0,
                       **({"max_num_seqs": max_num_seqs} if max_num_seqs else {}))
    start = time.perf_counter() - t0
    params = [SamplingParams(n=n, temperature=0.6, top_p=0.95, max_tokens=max_tokens, seed=1000 + i)
              for i in range(len(prompts))]
    t0 = time.perf_counter()
    outs = llm.generate(prompts, params, use_tqdm=False)
    gen = time.perf_counter() - t0
    texts = [[c.text for c in o.outputs] for o in outs]
    tokens = sum(len(c.token_ids) for o in outs for c in o.outputs)
    del llm
    gc.collect()
    return start, gen, tokens, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--modes", default="eager,compiled,eager-1024",
                    help="eager or compiled, then optional '-' parts: a number (max_num_seqs, a larger batch "
                         "per engine step) or a vLLM dtype (auto, bfloat16; default float32), e.g. eager-auto")
    args = ap.parse_args()

    from transformers import AutoTokenizer
    from vllm import TokensPrompt

    from rlboundary.organism.frontier import training_problems
    from rlboundary.organism.training import ChatEncoder
    from rlboundary.organism.validity import trace_verdict

    enc = ChatEncoder(AutoTokenizer.from_pretrained(args.model))
    problems = training_problems("rl", 0, args.problems, 1, 7, 0.0)
    prompts = [TokensPrompt(prompt_token_ids=enc.prompt(p.prompt())) for p in problems]
    first = None
    for mode in args.modes.split(","):
        kind, *rest = mode.split("-")
        seqs = next((int(x) for x in rest if x.isdigit()), None)
        dtype = next((x for x in rest if not x.isdigit()), "float32")
        start, gen, tokens, texts = run(args.model, kind != "compiled", prompts, args.n, args.max_tokens, seqs, dtype)
        right = sum(trace_verdict(p, t)["correct"] for p, outs in zip(problems, texts) for t in outs)
        same = "" if first is None else f", texts identical to the first {first[0]}: {texts == first[1]}"
        first = first or (mode, texts)
        print(f"{mode:12s} start-up {start:6.1f} s  generate {gen:6.1f} s  {tokens / gen:7.0f} tok/s "
              f"({tokens} tokens), right {right / (len(problems) * args.n):.3f}{same}", flush=True)


if __name__ == "__main__":
    main()
