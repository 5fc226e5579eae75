"""One way the same seed trains other weights on another CPU: a short run of the default base's pretraining
recipe (its schedule sized to --steps), with torch's kernels at this CPU's own instruction set and forced down to AVX2, in one run.

    .venv/bin/python benchmarks/host_numerics.py [--steps 200] [--seed 0] [--threads 2]

Each setting runs in its own process (the instruction set is chosen when torch starts):
  native       what this CPU offers (torch.backends.cpu.get_cpu_capability(): AVX512 on an AVX-512 host)
  native again the same, a second time: the control (a deterministic build repeats its bits)
  avx2         ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2, MKL_ENABLE_INSTRUCTIONS=AVX2: approximates
               an AVX2-only host (caps ATen's, oneDNN's and MKL's kernels; a real host may differ in more)
Prints each setting's weights digest (sha256 of the saved tensors), its last logged loss, and the
largest absolute weight difference from the first setting. Nothing is written outside a temporary
directory. If the control repeats its bits and the AVX2 run does not, a build's weights depend on the
host's instruction set (README, "Host replication").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PRETRAIN = """
import hashlib, json, sys
from dataclasses import replace
import torch
from rlboundary.organism.corpus import BASE_MIX
from rlboundary.organism.presets import get_preset
from rlboundary.organism.pretrain import pretrain
from rlboundary.tinymodel import build_char_tokenizer
steps, seed, threads, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
p = get_preset("default")
cfg = replace(p.base_train, steps=steps, log_every=steps)
torch.manual_seed(seed)
model, hist = pretrain(build_char_tokenizer(), p.base_shape, cfg, seed, p.width, p.max_steps, BASE_MIX,
                       exposure=dict(p.exposure))
state = {k: v.detach().cpu().contiguous() for k, v in sorted(model.state_dict().items())}
torch.save(state, out)
digest = hashlib.sha256(b"".join(v.numpy().tobytes() for v in state.values())).hexdigest()
print(json.dumps({"digest": digest, "loss": hist[-1]["loss"] if hist else None,
                  "capability": torch.backends.cpu.get_cpu_capability()}))
"""

AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def run(name: str, env_extra: dict, args, tmp: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(args.threads), **env_extra}
    out = tmp / f"{name.replace(' ', '_')}.pt"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PRETRAIN, str(args.steps), str(args.seed), str(args.threads),
                           str(out)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{name}: pretraining failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"name": name, "seconds": time.perf_counter() - start, "weights": out, **row}


def main() -> None:
    import tempfile

    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=200, help="pretraining steps per setting")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch / OpenMP threads (the base stage uses 2)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(name, extra, args, Path(tmp))
                for name, extra in (("native", {}), ("native again", {}), ("avx2", AVX2))]
        first = torch.load(rows[0]["weights"])
        print(f"default base, {args.steps} pretraining steps, seed {args.seed}, {args.threads} thread(s)")
        print(f"{'setting':14} {'capability':10} {'loss':>8} {'seconds':>8}  {'max |dw| vs native':>18}  digest")
        for row in rows:
            other = torch.load(row["weights"])
            diff = max(float((first[k] - other[k]).abs().max()) for k in first)
            print(f"{row['name']:14} {row['capability']:10} {row['loss']:8.4f} {row['seconds']:8.1f}  "
                  f"{diff:18.3e}  {row['digest'][:16]}")
        same_control = rows[0]["digest"] == rows[1]["digest"]
        same_avx2 = rows[0]["digest"] == rows[2]["digest"]
        print(f"control repeats its bits: {same_control}; AVX2 gives the same bits: {same_avx2}")


if __name__ == "__main__":
    main()
