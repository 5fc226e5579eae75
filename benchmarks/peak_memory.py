"""Peak memory of sample -> verify -> pass@k as n grows: it should be flat.

    .venv/bin/python benchmarks/peak_memory.py [--ns 64 256 1024] [--problems 4] [--max-tokens 16]

For each n, a fresh subprocess runs the whole pipeline on the tiny test
model (random-init Llama, character tokenizer) with vLLM on the CPU:
`study.sample_run` (math500 format, a few synthetic problems written to a
temp data_dir) -> `verify.grading.grade_run` (math-verify, worker pool) ->
`metrics.pass_at_k`. The subprocess reports its own peak RSS after each
stage (`resource.getrusage(RUSAGE_SELF).ru_maxrss`, a high-water mark), and
a psutil sampler thread (every 50 ms) records the peak of the summed RSS of
the process and all its children (the grading workers): an upper bound, as
shared pages count once per process. (`RUSAGE_CHILDREN` is no use here: a
child forked from a 2 GB process and exec'd reports the parent's size.)
Sampling writes one chunk file per batch of units, so beyond one batch the
driver's memory should not grow with n; the samples frame read for grading
does grow (n x problems short rows), which the figures show.

Prints `peak_rss_mb_n<N>=...` (driver, whole pipeline; the per-stage and
process-tree peaks in its note) and `peak_rss_growth_n<first>_to_n<last>=ratio`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

# Synthetic problems in the math500 file format (problem, answer).
PROBLEMS = [("What is 2+3?", "5"), ("What is 7*6?", "42"), ("Compute 10-4.", "6"), ("What is 9+9?", "18"),
            ("What is 3*3?", "9"), ("Compute 100/4.", "25"), ("What is 8-5?", "3"), ("What is 6+7?", "13")]


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


class TreeRSSSampler:
    """Peak of RSS summed over this process and its descendants, sampled."""

    def __init__(self, interval: float = 0.05):
        import threading

        import psutil

        self.proc, self.interval, self.peak = psutil.Process(), interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:  # exited between listing and reading
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def child(n: int, problems: int, max_tokens: int, model: str, data_dir: str) -> None:
    """One pipeline run; prints a JSON line of peaks (MiB)."""
    from rlboundary import metrics
    from rlboundary.benchmarks import get_benchmark
    from rlboundary.models import ModelSpec
    from rlboundary.sampling import SamplingSettings
    from rlboundary.study import sample_run
    from rlboundary.verify.grading import close_worker_pools, grade_run

    sampler = TreeRSSSampler()
    peaks = {"start": _peak_mb(resource.RUSAGE_SELF)}
    spec = ModelSpec(name="tiny", path=model, template="raw")
    settings = SamplingSettings(n=n, max_tokens=max_tokens, chunk_size=64)
    store = sample_run(spec, "math500", settings, seed=0, backend="vllm", data_dir=data_dir, limit=problems,
                       progress=False)
    peaks["sample"] = _peak_mb(resource.RUSAGE_SELF)
    bench = get_benchmark("math500", data_dir=data_dir, limit=problems)
    verdicts = grade_run(store.run_dir, bench.problems, "math-verify")
    close_worker_pools()
    peaks["verify"] = _peak_mb(resource.RUSAGE_SELF)
    counts = metrics.counts_from_verdicts(verdicts, model="tiny", benchmark="math500")
    curve = metrics.pass_at_k(counts["n"].to_numpy(), counts["c"].to_numpy(), [1, n])
    peaks["passk"] = _peak_mb(resource.RUSAGE_SELF)
    peaks["tree"] = sampler.stop()
    peaks["samples"] = int(len(verdicts))
    peaks["pass_at_n"] = float(curve[:, -1].mean())
    print("PEAKS " + json.dumps(peaks), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--problems", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.problems > len(PROBLEMS):
        parser.error(f"--problems must be <= {len(PROBLEMS)}")
    if args.child:
        child(args.child, args.problems, args.max_tokens, args.model, args.data_dir)
        return

    with tempfile.TemporaryDirectory(prefix="rlb-peakmem-") as tmp:
        tmp = Path(tmp)
        from rlboundary.tinymodel import build_tiny_model

        model = build_tiny_model(tmp / "tiny", seed=0, hidden_size=64, num_layers=2, num_heads=2)
        data = tmp / "data"
        data.mkdir()
        with open(data / "math500.jsonl", "w") as f:
            for i, (q, a) in enumerate(PROBLEMS):
                f.write(json.dumps({"problem": q, "answer": a, "unique_id": f"synthetic/{i}"}) + "\n")
        env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
                   VLLM_ENABLE_V1_MULTIPROCESSING="0")
        first = last = None
        for n in args.ns:
            # Each n in a fresh process and a fresh outputs dir: peaks are high-water marks.
            env["RLBOUNDARY_OUTPUTS"] = str(tmp / f"outputs-n{n}")
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(n), "--problems", str(args.problems),
                 "--max-tokens", str(args.max_tokens), "--model", str(model), "--data-dir", str(data)],
                capture_output=True, text=True, env=env)
            line = next((l for l in proc.stdout.splitlines() if l.startswith("PEAKS ")), None)
            if proc.returncode != 0 or line is None:
                sys.stderr.write(proc.stderr[-3000:])
                raise SystemExit(f"pipeline for n={n} failed (exit {proc.returncode})")
            peaks = json.loads(line[6:])
            if peaks["samples"] != n * args.problems:
                raise SystemExit(f"n={n}: graded {peaks['samples']} samples, expected {n * args.problems}")
            print(f"peak_rss_mb_n{n}={peaks['passk']:.0f}  ({args.problems} problems x {n}; high-water after sample "
                  f"{peaks['sample']:.0f}, verify {peaks['verify']:.0f}; with grading workers {peaks['tree']:.0f})")
            first = first if first is not None else (n, peaks["passk"])
            last = (n, peaks["passk"])
        if first and last and first[0] != last[0]:
            print(f"peak_rss_growth_n{first[0]}_to_n{last[0]}={last[1] / first[1]:.3f}  (1.0 = flat)")


if __name__ == "__main__":
    main()
