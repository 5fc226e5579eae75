"""The frontier stage's measurement in one process vs in its two parts side by side, measured in one run.

    .venv/bin/python benchmarks/frontier_parts.py [--build outputs/models/organism/default-seed0] [--seed 0]

Reads a finished build's base (nothing is written): first measures every candidate level in one
process (what the stage does with one build worker), then the two parts of `stage_parts.parts_of`
in two processes at once (what two build workers do), each process at one OpenMP / torch thread as
in the build. Prints each setting's wall time, each process's own time, the ratio, and whether every
level's row equals the build's stored frontier record (samples drawn included).

    .venv/bin/python benchmarks/frontier_parts.py --cores-control

prints only a control: a single-thread 512x512 matrix-multiply loop alone vs two at once, i.e. what
two processes side by side can gain on this machine when nothing but arithmetic is shared.
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

_MEASURE = """
import json, sys, time
from pathlib import Path
from rlboundary.organism.presets import get_preset
from rlboundary.organism.stage_parts import measure_frontier_levels
t = time.perf_counter()
rows = measure_frontier_levels(get_preset(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]),
                               [int(x) for x in sys.argv[4].split(",")])
print(json.dumps({"seconds": time.perf_counter() - t, "rows": {str(k): v for k, v in rows.items()}}))
"""


def start(preset: str, seed: int, build: Path, levels: list[int]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RLBOUNDARY_TORCH_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", _MEASURE, preset, str(seed), str(build),
                             ",".join(map(str, levels))], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


_MATMUL = """
import time, torch
torch.set_num_threads(1)
a, b = torch.randn(512, 512), torch.randn(512, 512)
t = time.perf_counter()
for _ in range(600):
    a @ b
print(time.perf_counter() - t)
"""


def cores_control() -> None:
    def loops(count: int) -> float:
        t = time.perf_counter()
        for proc in [subprocess.Popen([sys.executable, "-c", _MATMUL], stdout=subprocess.DEVNULL)
                     for _ in range(count)]:
            proc.wait()
        return time.perf_counter() - t

    alone, pair = loops(1), loops(2)
    print(f"matmul loop: one alone {alone:.2f} s wall, two at once {pair:.2f} s wall; "
          f"throughput side by side {2 * alone / pair:.2f}x")


def finish(procs: list[subprocess.Popen]) -> list[dict]:
    out = []
    for proc in procs:
        stdout, _ = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"a measuring process failed (exit {proc.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "outputs/models/organism/default-seed0"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cores-control", action="store_true", help="only the matrix-multiply control")
    args = ap.parse_args()
    if args.cores_control:
        return cores_control()
    from rlboundary.organism.stage_parts import part_levels, parts_of

    build = Path(args.build).resolve()
    manifest = json.loads((build / "manifest.json").read_text())
    preset = manifest["preset"]
    from rlboundary.organism.presets import get_preset

    p = get_preset(preset)
    stored = json.loads((build / "frontier" / "stage.json").read_text())["entries"][0]["base_reach"]
    settings = {"one process": [p.frontier_candidates()],
                "two parts side by side": [part_levels(k) for k in parts_of("frontier", p)]}
    wall = {}
    for label, groups in settings.items():
        t = time.perf_counter()
        results = finish([start(preset, args.seed, build, levels) for levels in groups])
        wall[label] = time.perf_counter() - t
        rows = {k: v for r in results for k, v in r["rows"].items()}
        equal = rows == {k: stored[k] for k in rows} and set(rows) == set(stored)
        print(f"{label}: {wall[label]:.1f} s wall; per process "
              + ", ".join(f"{'-'.join(map(str, g))}: {r['seconds']:.1f} s" for g, r in zip(groups, results))
              + f"; rows equal the stored build's: {equal}", flush=True)
    print(f"ratio: {wall['one process'] / wall['two parts side by side']:.2f}x")


if __name__ == "__main__":
    main()
