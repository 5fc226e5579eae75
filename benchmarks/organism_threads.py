"""Torch threads for the organism's training on a small CPU: 1 vs 2 (vs more), side by side.

    .venv/bin/python benchmarks/organism_threads.py [--steps 60] [--threads 1,2]

Pretrains the default preset's base shape (the build's longest stage) for
`--steps` steps from the same seed with each thread count, in fresh
processes one after the other, and prints seconds per step and the ratio
to the first setting. Decides the default of `RLBOUNDARY_TORCH_THREADS`
for CPU builds: tiny matrices (hidden 128) gain little from a second
thread, and the second vCPU of a 2-vCPU machine may be a hyperthread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r'''
import json, sys, time
import torch
threads, steps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
from dataclasses import replace
from rlboundary.organism.corpus import BASE_MIX
from rlboundary.organism.presets import get_preset
from rlboundary.organism.pretrain import pretrain
from rlboundary.tinymodel import build_char_tokenizer
p = get_preset("default")
cfg = replace(p.base_train, steps=steps, warmup=min(p.base_train.warmup, steps // 2), log_every=steps)
torch.manual_seed(0)
t = time.perf_counter()
model, hist = pretrain(build_char_tokenizer(), p.base_shape, cfg, 0, p.width, p.max_steps, BASE_MIX,
                       device="cpu", exposure=dict(p.exposure))
print(json.dumps({"threads": threads, "seconds": time.perf_counter() - t, "loss": hist[-1]["loss"]}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    print(f"cpu_count={os.cpu_count()} loadavg_start={os.getloadavg()[0]:.2f}", flush=True)
    first = None
    for threads in [int(t) for t in args.threads.split(",")]:
        out = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(args.steps)], check=True,
                             capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        per_step = row["seconds"] / args.steps
        first = first or per_step
        print(f"threads={threads} seconds_per_step={per_step:.3f} vs_first={first / per_step:.2f}x "
              f"final_loss={row['loss']:.4f}", flush=True)
    print(f"loadavg_end={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
