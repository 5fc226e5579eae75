"""Organism build wall time with stages one at a time vs side by side, in one run.

    .venv/bin/python benchmarks/organism_build_workers.py --seed 0 [--workers 1,2] [--reuse base,frontier]

Copies the stages named by `--reuse` (default: the base, the one stage that
always runs alone) from the complete build of `--seed` into a fresh
directory per setting, then builds every other stage there with each
`--workers` value, one setting after the other, and prints each setting's
wall time, its sum of stage times and the ratio to the first setting.
Nothing in the source build changes. Run it on a quiet machine: the ratio
is the point, and a busy machine slows both settings unequally.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--reuse", default="base", help="stages copied from the source build, comma-separated")
    args = ap.parse_args()

    from rlboundary.organism.build import build_organism, load_organism

    source = load_organism(args.preset, args.seed)
    if source is None:
        raise SystemExit(f"no complete build of {args.preset} seed {args.seed}: run "
                         f"`rlboundary organism build --preset {args.preset} --seed {args.seed}` first")
    reuse = [s for s in args.reuse.split(",") if s]
    print(f"cpu_count={os.cpu_count()} loadavg_start={os.getloadavg()[0]:.2f} source={source.root} reuse={reuse}",
          flush=True)
    first = None
    with tempfile.TemporaryDirectory(prefix="build-workers-") as tmp:
        for workers in [int(w) for w in args.workers.split(",")]:
            root = Path(tmp) / f"workers-{workers}" / source.root.name
            # A build resumes from its .partial directory: the copied stages are reused there.
            partial = root.with_name(root.name + ".partial")
            for stage in reuse:
                shutil.copytree(source.root / stage, partial / stage)
            t = time.perf_counter()
            built = build_organism(args.preset, args.seed, out=root, workers=workers, log=lambda *_: None)
            wall = time.perf_counter() - t
            first = first or wall
            stage_sum = sum(v for k, v in built.manifest["stage_seconds"].items() if k not in reuse)
            print(f"workers={workers} wall_seconds={wall:.0f} stage_seconds_sum={stage_sum:.0f} "
                  f"speedup_vs_first={first / wall:.2f}x loadavg={os.getloadavg()[0]:.2f}", flush=True)
            print("  " + ", ".join(f"{k} {v:.0f}" for k, v in built.manifest["stage_seconds"].items()
                                   if k not in reuse), flush=True)


if __name__ == "__main__":
    main()
