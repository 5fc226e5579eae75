"""What rlboundary's sampling bookkeeping costs, next to raw vLLM.

    .venv/bin/python benchmarks/sampling_overhead.py [--problems 64] [--n 16] [--max-tokens 64] \\
        [--chunk-size 16] [--units-per-batch 32] [--repeats 3] [--model DIR]

One vLLM engine (the tiny test model unless --model is given), the same
prompts and the same seeded requests (one per work unit:
`SamplingParams(n=chunk_size, seed=derive_seed(...))`) measured two ways,
back to back, `--repeats` times each:
  raw  — `LLM.generate` on all requests in one call, outputs discarded;
  rlb  — `study.sample_run` into a fresh store: benchmark load, missing-unit
         computation, prompt rendering, batching (here 2 batches), Parquet
         chunk writes.
Prints, for both, tokens per wall second and per CPU second of this
process (vLLM runs in-process, so its CPU time is the engine's), medians of
repeats whose order alternates, then:
  wall_overhead_pct        100 * (rlb / raw - 1) in wall time;
  bookkeeping_overhead_pct time sample_run spends outside the backend's
                           generate calls (store, prompts, bookkeeping),
                           relative to generation;
  sampling_overhead_pct    100 * (rlb / raw - 1) in CPU time: the headline
                           (target < 5), as wall time on a shared machine
                           mostly measures the other processes.
Batching shows up in the first and last figures: sample_run generates in
batches of --units-per-batch units (a chunk file each), raw in one call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=64)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--chunk-size", type=int, default=16)
    ap.add_argument("--units-per-batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None, help="HF model dir (default: build the tiny test model)")
    args = ap.parse_args()

    from rlboundary.models import ModelSpec
    from rlboundary.prompts import render_prompt
    from rlboundary.sampling import GenRequest, SamplingSettings, derive_seed
    from rlboundary.benchmarks import get_benchmark
    from rlboundary.study import effective_settings, sample_run
    from rlboundary.vllm_backend import VLLMBackend

    work = Path(tempfile.mkdtemp(prefix="rlb-overhead-"))
    model = args.model
    if model is None:
        from rlboundary.tinymodel import build_tiny_model

        model = str(build_tiny_model(work / "tiny", seed=0, hidden_size=64, num_layers=2, num_heads=2))
    data = work / "data"
    data.mkdir()
    with open(data / "math500.jsonl", "w") as f:
        for i in range(args.problems):
            f.write(json.dumps({"problem": f"Compute {i} + {i} and explain.", "answer": str(2 * i),
                                "subject": "Algebra", "level": 1, "unique_id": f"p{i}"}) + "\n")

    spec = ModelSpec(name="overhead", path=model, template="raw")
    settings = effective_settings(spec, SamplingSettings(n=args.n, max_tokens=args.max_tokens, chunk_size=args.chunk_size))
    backend = VLLMBackend(spec)
    seed = 0
    bench = get_benchmark("math500", data_dir=data)
    requests = [
        GenRequest(render_prompt(p, spec.template), n=len(settings.chunk_range(c)), seed=derive_seed(seed, p.id, c))
        for c in range(settings.n_chunks()) for p in bench.problems
    ]
    params = [backend.sampling_params(r, settings) for r in requests]

    def raw() -> tuple[float, int, float]:
        t, c = time.perf_counter(), time.process_time()
        outs = backend.llm.generate([r.prompt for r in requests], params, use_tqdm=False)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        return dt, sum(len(o.token_ids) for out in outs for o in out.outputs), dc

    class TimedBackend:
        """The same engine, timing its generate calls (what sample_run does besides is bookkeeping)."""

        name = "vllm"
        seconds = 0.0

        def generate(self, reqs, st):
            t = time.perf_counter()
            try:
                return backend.generate(reqs, st)
            finally:
                TimedBackend.seconds += time.perf_counter() - t

        def close(self):
            pass

    def rlb(k: int) -> tuple[float, int, float, float]:
        os.environ["RLBOUNDARY_OUTPUTS"] = str(work / f"out{k}")  # a fresh store each time
        TimedBackend.seconds = 0.0
        t, c = time.perf_counter(), time.process_time()
        store = sample_run(spec, "math500", settings, seed=seed, backend=TimedBackend(), data_dir=data,
                           max_units_per_batch=args.units_per_batch, progress=False)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        return dt, int(store.samples(columns=["num_tokens"]).num_tokens.sum()), dc, TimedBackend.seconds

    raw()  # warm-up: first-call costs belong to neither side
    rlb(-1)
    raw_runs, rlb_runs = [], []
    for k in range(args.repeats):
        # Alternate which side goes first, so that drift in machine load is shared.
        if k % 2 == 0:
            raw_runs.append(raw())
            rlb_runs.append(rlb(k))
        else:
            rlb_runs.append(rlb(k))
            raw_runs.append(raw())
    backend.close()

    med = statistics.median
    raw_wall, rlb_wall = med(r[0] for r in raw_runs), med(r[0] for r in rlb_runs)
    raw_cpu, rlb_cpu = med(r[2] for r in raw_runs), med(r[2] for r in rlb_runs)
    raw_tok, rlb_tok = raw_runs[0][1], rlb_runs[0][1]
    if raw_tok != rlb_tok:
        print(f"warning: token counts differ (raw {raw_tok}, rlboundary {rlb_tok})")
    bookkeeping = med(100.0 * (r[0] - r[3]) / r[3] for r in rlb_runs)
    print(f"workload: {args.problems} problems x n={args.n}, max_tokens={args.max_tokens}, "
          f"chunk_size={args.chunk_size}, units_per_batch={args.units_per_batch}, {len(requests)} requests, "
          f"{raw_tok} generated tokens; medians of {args.repeats} alternating repeats")
    for label, wall, cpu, runs in (("raw LLM.generate", raw_wall, raw_cpu, raw_runs), ("rlboundary", rlb_wall, rlb_cpu, rlb_runs)):
        print(f"{label:17s}: wall {wall:7.2f} s = {raw_tok / wall:8.1f} tok/s | CPU {cpu:7.2f} s = {raw_tok / cpu:8.1f} tok/CPU-s"
              f"  (wall runs {[round(r[0], 1) for r in runs]})")
    print(f"wall_overhead_pct={100.0 * (rlb_wall / raw_wall - 1.0):.2f}")
    print(f"bookkeeping_overhead_pct={bookkeeping:.2f}")
    # CPU time of this process (vLLM runs in-process) is what a busy, shared
    # machine distorts least: the headline figure.
    print(f"sampling_overhead_pct={100.0 * (rlb_cpu / raw_cpu - 1.0):.2f}")


if __name__ == "__main__":
    main()
