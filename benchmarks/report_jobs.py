"""Two sampling processes side by side on the CPU: OpenMP at its default vs one thread each, in one run.

    .venv/bin/python benchmarks/report_jobs.py --model outputs/models/organism/default-seed0/base \
        [--problems 70] [--n 64] [--max-tokens 96]

What `rlboundary report --jobs 2` relies on (`rlboundary.report_jobs`). Each setting starts fresh
processes that each load the model into an in-process vLLM engine and sample the same seeded requests
(organism evaluation problems x n, the report's settings):
  alone, default threads       one process (how `--jobs 1` samples);
  alone, OMP_NUM_THREADS=1     one process, one OpenMP thread;
  2 side by side, default      two processes at once, OpenMP at its default;
  2 side by side, 1 thread     two processes at once, OMP_NUM_THREADS=1 (what the report sets).
Prints per setting the generation seconds of each process (engine start-up excluded), milliseconds
per sample, and samples per second of the whole machine, its ratio to "alone, default threads", and
whether every process's texts equal the first setting's (same digest).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = """
import hashlib, json, sys, time
from rlboundary.organism.benchmark import load_problems
from rlboundary.organism.generation import OrganismSampler
model, problems, n, max_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
qs = [p.metadata["question"] for p in load_problems("eval", preset="default", seed=0)][:problems]
with OrganismSampler(model, seed=0) as s:
    s.sample(qs[:2], n=4, temperature=0.6, top_p=0.95, max_tokens=8, seed=1)  # first-call costs out of the timing
    t = time.perf_counter()
    outs = s.sample(qs, n=n, temperature=0.6, top_p=0.95, max_tokens=max_tokens, seed=0)
    seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "samples": sum(map(len, outs)),
                  "digest": hashlib.sha256(json.dumps(outs).encode()).hexdigest()[:16]}))
"""

SETTINGS = [("alone, default threads", 1, None), ("alone, OMP_NUM_THREADS=1", 1, "1"),
            ("2 side by side, default threads", 2, None), ("2 side by side, OMP_NUM_THREADS=1", 2, "1")]


def run_setting(procs: int, omp: str | None, args) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if omp:
        env["OMP_NUM_THREADS"] = omp
    cmd = [sys.executable, "-c", CHILD, args.model, str(args.problems), str(args.n), str(args.max_tokens)]
    running = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for _ in range(procs)]
    out = []
    for p in running:
        stdout, _ = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise SystemExit(f"a sampling process failed (exit {p.returncode}); run its command alone to see why")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="outputs/models/organism/default-seed0/base")
    ap.add_argument("--problems", type=int, default=70)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=96)
    args = ap.parse_args()
    print(f"cpu_count={os.cpu_count()} loadavg_start={os.getloadavg()[0]:.2f} model={args.model} "
          f"problems={args.problems} n={args.n}", flush=True)
    reference_rate, reference_digest = None, None
    for label, procs, omp in SETTINGS:
        t = time.perf_counter()
        results = run_setting(procs, omp, args)
        wall = time.perf_counter() - t
        # Throughput of the machine: all samples over the slowest process's generation time.
        rate = sum(r["samples"] for r in results) / max(r["seconds"] for r in results)
        reference_rate = reference_rate or rate
        reference_digest = reference_digest or results[0]["digest"]
        same = all(r["digest"] == reference_digest for r in results)
        per = ", ".join(f"{r['seconds']:.1f} s ({1000 * r['seconds'] / r['samples']:.2f} ms/sample)" for r in results)
        print(f"{label:36s} generation {per}; machine {rate:.0f} samples/s = {rate / reference_rate:.2f}x; "
              f"texts identical to the first setting: {same}; wall incl. start-up {wall:.0f} s", flush=True)
    print(f"loadavg_end={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
