"""Choose the organism's RL settings from training-split learning curves.

Runs RL from an already built organism's base for a fixed number of steps
(the plateau rule off) at each learning rate asked for, on the build's own RL
training prompts (training split only: this is how `presets.py`'s RL
settings are chosen, never on the evaluation split), and prints the
training reward per window of steps: all prompts, the frontier level, and
each level. A setting is good when the reward rises on the levels the base
half-solves, without collapsing elsewhere.

    RLBOUNDARY_TORCH_THREADS=2 .venv/bin/python benchmarks/organism_rl_sweep.py \
        --build outputs/models/organism/default-seed1 --algo grpo --lrs 1e-4,3e-4,1e-3 --steps 120 \
        [--window 30] [--frontier-share 0.5] [--out outputs/sweeps/rl]

`--frontier-share 0` trains on the levels below the frontier only: a
diagnostic (does RL learn where the base is half competent?), not the
build's setting.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from dataclasses import replace
from pathlib import Path

from rlboundary.organism.build import _torch_setup, frontier_of
from rlboundary.organism.frontier import training_problems
from rlboundary.organism.presets import get_preset
from rlboundary.organism.rl import train_rl


def window_means(curve: list[dict], window: int) -> list[dict]:
    """Mean reward per block of `window` steps: all prompts, frontier, each level."""
    rows = []
    for start in range(0, len(curve), window):
        block = curve[start:start + window]
        levels = sorted({lvl for c in block for lvl in c["level_rewards"]}, key=int)
        front = [c["frontier_reward"] for c in block if not math.isnan(c["frontier_reward"])]
        rows.append({
            "steps": f"{block[0]['step']}-{block[-1]['step']}",
            "reward": sum(c["reward"] for c in block) / len(block),
            "frontier": sum(front) / len(front) if front else float("nan"),
            "levels": {lvl: sum(c["level_rewards"][lvl] for c in block if lvl in c["level_rewards"])
                       / sum(1 for c in block if lvl in c["level_rewards"]) for lvl in levels},
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="a built organism directory (its base and frontier are used)")
    ap.add_argument("--algo", default="grpo")
    ap.add_argument("--lrs", default="1e-4,3e-4,1e-3")
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--window", type=int, default=30)
    ap.add_argument("--out", default="outputs/sweeps/rl")
    ap.add_argument("--frontier-share", type=float, default=None,
                    help="share of prompts at the frontier level (default: the preset's; 0 = only the levels below)")
    args = ap.parse_args()

    _torch_setup("cpu")  # RLBOUNDARY_TORCH_THREADS, as in the build
    build = Path(args.build)
    manifest = json.loads((build / "manifest.json").read_text())
    p, seed = get_preset(manifest["preset"]), int(manifest["seed"])
    front = frontier_of(build)["frontier"]
    share = p.frontier_share if args.frontier_share is None else args.frontier_share
    problems = training_problems("rl", seed, p.rl.n_train_problems, p.width, front, share)
    results = {}
    for lr in [float(x) for x in args.lrs.split(",")]:
        s = replace(p.rl, learning_rate=lr, steps=args.steps, min_steps=args.steps, save_every=args.steps)
        out = Path(args.out) / f"{build.name}-{args.algo}-lr{lr:g}-steps{args.steps}-share{share:g}"
        t0 = time.perf_counter()
        result = train_rl(args.algo, build / "base", out, s, seed, problems, front)
        shutil.rmtree(out / "_trl", ignore_errors=True)
        rows = window_means(result["curve"], args.window)
        results[f"{lr:g}"] = {"seconds": round(time.perf_counter() - t0, 1), "windows": rows}
        (out / "reward_curve.json").write_text(json.dumps(result["curve"], indent=1))
        print(f"\n{args.algo} lr={lr:g} seed={seed} frontier={front} frontier share={share:g}: "
              f"{results[f'{lr:g}']['seconds']} s")
        for r in rows:
            levels = " ".join(f"L{k}:{v:.2f}" for k, v in r["levels"].items())
            print(f"  steps {r['steps']:>9}  all {r['reward']:.3f}  frontier {r['frontier']:.3f}  {levels}", flush=True)
    summary = Path(args.out) / f"{build.name}-{args.algo}-steps{args.steps}-share{share:g}-summary.json"
    summary.write_text(json.dumps({"build": str(build), "algo": args.algo, "seed": seed, "frontier": front,
                                   "frontier_share": share,
                                   "results": results}, indent=1))
    print(f"\nsummary: {summary}")


if __name__ == "__main__":
    main()
