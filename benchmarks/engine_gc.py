"""What an in-process vLLM engine costs to start and stop, with vLLM's full garbage collections and without.

vLLM runs a full `gc.collect()` about eight times per engine start-up and
shutdown; `rlboundary.vllm_backend` lets those collect the young generations
only on CPU builds and runs one full collection after each shutdown (its
module docstring). This script starts and stops an organism sampler for a
list of models several times in each mode, alternating the modes, samples
the same seeded requests with each, and prints per mode the median start-up
and shutdown seconds, the total, and whether the samples are identical.

    .venv/bin/python benchmarks/engine_gc.py --build outputs/models/organism/default-seed0 \
        [--models base,teacher,rft,distilled] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time


def one_pass(build: str, models: list[str]) -> tuple[list[float], list[float], str]:
    """Start, sample and stop an `OrganismSampler` per model: (start seconds, stop seconds, samples' digest)."""
    from rlboundary.organism.generation import OrganismSampler

    starts, stops, texts = [], [], []
    for name in models:
        t0 = time.perf_counter()
        sampler = OrganismSampler(f"{build}/{name}", seed=0)
        starts.append(time.perf_counter() - t0)
        texts.append(sampler.sample(["3+8+9-4=?", "1+2=?", "5-7+2+9-1+3=?"], n=8, temperature=0.6, top_p=0.95,
                                    max_tokens=48, seed=5))
        t0 = time.perf_counter()
        sampler.close()
        stops.append(time.perf_counter() - t0)
    return starts, stops, hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="a built organism's directory")
    ap.add_argument("--models", default="base,teacher,rft,distilled")
    ap.add_argument("--rounds", type=int, default=2, help="passes per mode, alternating the modes")
    args = ap.parse_args()

    from rlboundary import vllm_backend

    models = args.models.split(",")
    one_pass(args.build, models[:1])  # the first engine of a process also imports and initialises vLLM
    modes = {"young collections (package default)": True, "full collections (vLLM's own)": False}
    results: dict[str, dict] = {m: {"start": [], "stop": [], "total": 0.0, "digests": set()} for m in modes}
    for _ in range(args.rounds):
        for mode, young in modes.items():
            vllm_backend.YOUNG_COLLECTIONS_DURING_ENGINE_CHANGES = young
            t0 = time.perf_counter()
            starts, stops, digest = one_pass(args.build, models)
            r = results[mode]
            r["total"] += time.perf_counter() - t0
            r["start"] += starts
            r["stop"] += stops
            r["digests"].add(digest)
    vllm_backend.YOUNG_COLLECTIONS_DURING_ENGINE_CHANGES = True
    digests = set().union(*(r["digests"] for r in results.values()))
    engines = len(models) * args.rounds
    print(f"{engines} engine start-ups and shutdowns per mode ({', '.join(models)} x {args.rounds} rounds, alternated)")
    for mode, r in results.items():
        print(f"{mode:<40} start median {statistics.median(r['start']):.2f} s, stop median "
              f"{statistics.median(r['stop']):.2f} s, {r['total'] / engines:.2f} s per engine with its sampling")
    a, b = (results[m]["total"] for m in modes)
    print(f"ratio full / young: {b / a:.2f}x; samples identical across modes and rounds: {len(digests) == 1}")


if __name__ == "__main__":
    main()
