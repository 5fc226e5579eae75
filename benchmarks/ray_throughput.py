"""Single-process vLLM vs the Ray backend, same work, same machine, one run.

    .venv/bin/python benchmarks/ray_throughput.py [--problems 16] [--n 32] [--max-tokens 64] [--workers 2]

Builds the tiny test model (random-init Llama, character tokenizer: it
rarely stops early, so most samples run to max_tokens), makes the study's
work units (problem x chunk, seeded) and generates them twice: with one
in-process `VLLMBackend`, then with `RayBackend` on a local Ray cluster of
`--workers` actors (one CPU each). Start-up (engine load; cluster plus
actors) is timed apart from generation. The two runs must return identical
samples; the script fails otherwise.

Prints `single_process_tokens_per_s`, `ray_tokens_per_s`, the start-up
seconds of each and `ray_speedup` (generation only). On a 2-core machine
the single process already uses both cores, so Ray can only add overhead
here: the figures measure that overhead, not a scaling result.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=16)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--chunk-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

    from rlboundary.models import ModelSpec
    from rlboundary.ray_backend import RayBackend, start_local_cluster
    from rlboundary.sampling import GenRequest, SamplingSettings, derive_seed
    from rlboundary.tinymodel import build_tiny_model
    from rlboundary.vllm_backend import VLLMBackend

    settings = SamplingSettings(n=args.n, chunk_size=args.chunk_size, max_tokens=args.max_tokens)
    requests = [GenRequest(f"{p}*{p}=", len(settings.chunk_range(c)), derive_seed(0, f"p{p}", c), key=(f"p{p}", c))
                for p in range(args.problems) for c in range(settings.n_chunks())]
    with tempfile.TemporaryDirectory(prefix="rlb-raybench-") as tmp:
        path = build_tiny_model(Path(tmp) / "tiny", seed=0, hidden_size=64, num_layers=2, num_heads=2)
        spec = ModelSpec(name="tiny", path=str(path), template="raw")

        t0 = time.perf_counter()
        local = VLLMBackend(spec)
        t1 = time.perf_counter()
        single = local.generate(requests, settings)
        t2 = time.perf_counter()
        local.close()
        tokens = sum(c.num_tokens for unit in single for c in unit)
        single_rate = tokens / (t2 - t1)
        print(f"single_process_startup_s={t1 - t0:.1f}")
        print(f"single_process_tokens_per_s={single_rate:.0f}  ({tokens} tokens, {len(requests)} units)")

        import ray

        t0 = time.perf_counter()
        start_local_cluster(num_cpus=args.workers)
        backend = RayBackend(spec, num_workers=args.workers)
        backend.worker_pids()  # cluster and actors up, engines loaded
        t1 = time.perf_counter()
        distributed = backend.generate(requests, settings)
        t2 = time.perf_counter()
        backend.close()
        ray.shutdown()
        ray_tokens = sum(c.num_tokens for unit in distributed for c in unit)
        ray_rate = ray_tokens / (t2 - t1)
        print(f"ray_startup_s={t1 - t0:.1f}  (cluster + {args.workers} actors)")
        print(f"ray_tokens_per_s={ray_rate:.0f}  ({args.workers} workers)")
        same = [[c.text for c in u] for u in single] == [[c.text for c in u] for u in distributed]
        print(f"ray_identical_samples={same}")
        print(f"ray_speedup={ray_rate / single_rate:.2f}  (generation only)")
        if not same:
            raise SystemExit("the Ray backend returned different samples from the single process")


if __name__ == "__main__":
    main()
