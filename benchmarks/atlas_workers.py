"""Atlas units side by side (`--workers 2`) vs one at a time, measured in one run.

    .venv/bin/python benchmarks/atlas_workers.py [--arm grpo] [--seeds 0,1] [--draws 7,8] [--panel 32]

Copies this checkout's trained atlas (`outputs/atlas/default/seed<s>/`, its units) and organism builds
into a temporary outputs directory, then samples the confirmation panel of `--arm` for each seed
(`rlboundary organism atlas --confirm-only`, nothing left to train): first with two units side by
side, then one at a time, each on a fresh panel draw (`--draws`, never sampled before, so neither
setting reads the other's samples). A confirmation unit is the atlas's sampling-heavy part: base, arm
and null control at n = 256 on 32 fresh frontier problems. Prints each setting's wall time, the
units' own times and the ratio; the temporary directory is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_outputs(src: Path, seeds: list[int], dest: Path) -> None:
    for s in seeds:
        shutil.copytree(src / "atlas" / "default" / f"seed{s}", dest / "atlas" / "default" / f"seed{s}")
        shutil.copytree(src / "models" / "organism" / f"default-seed{s}", dest / "models" / "organism" / f"default-seed{s}")
    shutil.copytree(src / "atlas" / "default" / "units", dest / "atlas" / "default" / "units")


def run_setting(out: Path, arm: str, seeds: list[int], draw: int, panel: int, workers: int) -> dict:
    cmd = [str(Path(sys.executable).parent / "rlboundary"), "organism", "atlas", "--params", "params/atlas/atlas.yaml",
           "--arms", arm, "--seeds", ",".join(map(str, seeds)), "--confirm-only", "--confirm", str(panel),
           "--confirm-draw", str(draw), "--workers", str(workers)]
    env = {**os.environ, "RLBOUNDARY_OUTPUTS": str(out)}
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    run = json.loads((out / "atlas" / "default" / "confirm-run.json").read_text())
    return {"wall": wall, "units": [(c["arm"], c["seed"], c["seconds"]["confirm"]) for c in run["confirmations"]],
            "threads": run.get("unit_processes")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arm", default="grpo")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--draws", default="7,8", help="two panel draws never sampled before")
    ap.add_argument("--panel", type=int, default=32)
    ap.add_argument("--outputs", type=Path, default=ROOT / "outputs", help="where the trained atlas is")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    draws = [int(d) for d in args.draws.split(",")]
    with tempfile.TemporaryDirectory(prefix="atlas-workers-") as tmp:
        out = Path(tmp)
        copy_outputs(args.outputs, seeds, out)
        results = {}
        for workers, draw in zip((2, 1), draws):
            results[workers] = r = run_setting(out, args.arm, seeds, draw, args.panel, workers)
            print(f"workers {workers} (draw {draw}): {r['wall']:.0f} s wall; units "
                  + ", ".join(f"{a} s{s} {sec:.0f} s" for a, s, sec in r["units"]) + f"; threads {r['threads']}",
                  flush=True)
    print(f"side by side vs one at a time: x{results[1]['wall'] / results[2]['wall']:.2f}")


if __name__ == "__main__":
    main()
