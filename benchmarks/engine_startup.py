"""Two engine settings on the CPU, each measured side by side with its alternative in one run.

    .venv/bin/python benchmarks/engine_startup.py --model outputs/models/organism/default-seed0/base \
        [--problems 70] [--n 64] [--repeats 2]

1. Start-up: seconds from a fresh process to a started engine (`OrganismSampler`), with the package's
   skip of jsonschema's optional `rfc3987_syntax` import (`vllm_backend.skip_slow_optional_imports`)
   and without it (`RLBOUNDARY_KEEP_OPTIONAL_IMPORTS=1`), alternating, `--repeats` times each.
2. Sequences per step: generation seconds (engine start excluded) of the organism's evaluation problems
   x n at the report's settings with max_num_seqs = 256 (vLLM's CPU default), 512, and the package's
   default (`vllm_backend.cpu_max_num_seqs`), milliseconds per sample, and whether the texts equal the
   256 run's (same digest).
Each measurement is its own process at OMP_NUM_THREADS=1 (how the report and the build run samplers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import hashlib, json, sys, time
t0 = time.perf_counter()
from rlboundary.organism.benchmark import load_problems
from rlboundary.organism import generation
from rlboundary import vllm_backend
model, problems, n, seqs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if seqs:
    start = vllm_backend.start_engine
    vllm_backend.start_engine = lambda **kw: start(**{**kw, "max_num_seqs": seqs})
qs = [p.metadata["question"] for p in load_problems("eval", preset="default", seed=0)][:problems]
with generation.OrganismSampler(model, seed=0) as s:
    started = time.perf_counter() - t0
    used = s.llm.llm_engine.vllm_config.scheduler_config.max_num_seqs
    result = {"start_s": started, "max_num_seqs": used}
    if n:
        s.sample(qs[:2], n=4, temperature=0.6, top_p=0.95, max_tokens=8, seed=1)  # first-call costs out
        t = time.perf_counter()
        outs = s.sample(qs, n=n, temperature=0.6, top_p=0.95, max_tokens=96, seed=0)
        result.update(seconds=time.perf_counter() - t, samples=sum(map(len, outs)),
                      digest=hashlib.sha256(json.dumps(outs).encode()).hexdigest()[:16])
print(json.dumps(result))
"""


def child(args, seqs: int, n: int, keep_optional: bool) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("RLBOUNDARY_KEEP_OPTIONAL_IMPORTS", None)
    if keep_optional:
        env["RLBOUNDARY_KEEP_OPTIONAL_IMPORTS"] = "1"
    cmd = [sys.executable, "-c", CHILD, args.model, str(args.problems), str(n), str(seqs)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"a measuring process failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="an organism model directory")
    ap.add_argument("--problems", type=int, default=70)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    print("1. fresh process -> started engine (seconds)")
    starts = {"skip rfc3987_syntax (default)": [], "import it (KEEP_OPTIONAL_IMPORTS=1)": []}
    for _ in range(args.repeats):  # alternating, so a drift in machine load hits both alike
        for label, keep in zip(starts, (False, True)):
            starts[label].append(child(args, 0, 0, keep)["start_s"])
    for label, values in starts.items():
        print(f"   {label:38s} " + "  ".join(f"{v:5.1f}" for v in values) + f"   mean {sum(values) / len(values):5.1f}")
    a, b = (sum(v) / len(v) for v in starts.values())
    print(f"   saved per engine process: {b - a:.1f} s")

    print(f"2. sampling {args.problems} problems x n={args.n} (engine start excluded)")
    rows = [("256 (vLLM's CPU default)", child(args, 256, args.n, False)),
            ("512", child(args, 512, args.n, False)),
            ("package default", child(args, 0, args.n, False))]
    ref = rows[0][1]
    for label, r in rows:
        ms = 1000 * r["seconds"] / r["samples"]
        print(f"   max_num_seqs {label:26s} = {r['max_num_seqs']:5d}: {r['seconds']:6.1f} s, {ms:5.2f} ms/sample, "
              f"x{ref['seconds'] / r['seconds']:.2f} vs 256, same texts: {r['digest'] == ref['digest']}")


if __name__ == "__main__":
    main()
