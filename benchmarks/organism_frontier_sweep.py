"""Choose the organism's pretraining exposure from training-split learning curves.

Pretrains one base per (seed, exposure) and measures its reach per level on
training-split problems (the build's `base` and `frontier` stages, so a chosen
variant's directories can be reused by the real build). Prints, per variant,
the final pretraining loss and, per level, pass@1 and luck-free pass@n; the
frontier rule then says whether the variant has a level in the target range.
Only training-split problems are used: this is how `presets.py` settings are
chosen, never on the evaluation split.

    RLBOUNDARY_TORCH_THREADS=1 .venv/bin/python benchmarks/organism_frontier_sweep.py \
        --seed 0 --exposure 5:0.05,6:0.02,7:0.005 [--base-steps 1200] [--out outputs/sweeps/frontier]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from rlboundary.organism.build import frontier_of, run_stage
from rlboundary.organism.presets import get_preset, with_overrides


def parse_exposure(text: str) -> tuple[tuple[int, float], ...]:
    pairs = []
    for part in filter(None, text.split(",")):
        level, share = part.split(":")
        pairs.append((int(level), float(share)))
    return tuple(pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--exposure", required=True, help="level:share,... e.g. 5:0.05,6:0.02,7:0.005")
    ap.add_argument("--base-steps", type=int, default=None)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--out", default="outputs/sweeps/frontier")
    args = ap.parse_args()

    p = get_preset(args.preset)
    changes = {"exposure": parse_exposure(args.exposure)}
    if args.base_steps:
        changes["base_train"] = replace(p.base_train, steps=args.base_steps)
    p = with_overrides(p, **changes)
    tag = f"seed{args.seed}-exp{args.exposure.replace(':', '_').replace(',', '-')}-steps{p.base_train.steps}"
    root = Path(args.out) / tag
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    seconds = {stage: run_stage(stage, p, args.seed, root, print)["seconds"] for stage in ("base", "frontier")}
    front = frontier_of(root)
    summary = {"variant": tag, "seed": args.seed, "exposure": dict(p.exposure), "base_steps": p.base_train.steps,
               "frontier": front["frontier"], "in_range": front["in_range"], "stage_seconds": seconds,
               "wall_seconds": time.perf_counter() - t0,
               "reach": {lvl: {"pass_at_1": round(r["pass_at_1"], 3), "valid_at_1": round(r["valid_at_1"], 4),
                               "luck_free_pass_at_n": round(r["luck_free_pass_at_n"], 3)}
                         for lvl, r in front["base_reach"].items()}}
    (root / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
