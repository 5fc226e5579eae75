"""Run every benchmark under benchmarks/ and print one table (`make bench`).

    .venv/bin/python benchmarks/run_all.py [--only peak_memory --only passk_speed] [--timeout 1200]

Each benchmark is a script `benchmarks/<name>.py` run as its own subprocess
(so one's memory or crash cannot touch another's figures) with its default
arguments; it reports by printing `name=value` lines. The cost model is run
as `rlboundary plan paper --summary`. GPU-only scripts (gpu_*) are left
out: they run on a GPU machine (`benchmarks/gpu_check.sh`). The table lists
every reported figure with the benchmark that produced it, its wall time
and status; the exit status is non-zero when any benchmark failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIPPED_PREFIXES = ("gpu_", "run_all", "_")
# A reported figure: a name without spaces, '=', a value without spaces, and
# optionally a note after whitespace (`passk_seconds=0.41  (all k)`).
FIGURE = re.compile(r"^(?P<name>[^\s=]+)=(?P<value>\S+)(?:\s+(?P<note>.*))?$")


def discover() -> dict[str, list[str]]:
    """{benchmark name: command}, the scripts found here plus the cost model."""
    found = {p.stem: [sys.executable, str(p)] for p in sorted(HERE.glob("*.py"))
             if not p.stem.startswith(SKIPPED_PREFIXES)}
    found["cost_model"] = [sys.executable, "-m", "rlboundary.cli", "plan", "paper", "--summary"]
    return found


def parse_figures(stdout: str) -> list[tuple[str, str, str]]:
    out = []
    for line in stdout.splitlines():
        m = FIGURE.match(line.strip())
        if m:
            out.append((m["name"], m["value"], m["note"] or ""))
    return out


def run_one(command: list[str], timeout: float) -> tuple[str, float, str, str]:
    """(status, seconds, stdout, stderr tail) of one benchmark subprocess."""
    env = dict(os.environ)
    # The project's offline, small-KV-cache settings (what `make` exports too).
    for key, value in (("VLLM_CPU_KVCACHE_SPACE", "1"), ("VLLM_ENABLE_V1_MULTIPROCESSING", "0"),
                       ("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        env.setdefault(key, value)
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE.parent)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        return f"timeout {timeout:.0f}s", time.perf_counter() - start, out, ""
    status = "ok" if proc.returncode == 0 else f"failed rc={proc.returncode}"
    return status, time.perf_counter() - start, proc.stdout, proc.stderr[-2000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark")
    args = parser.parse_args(argv)

    benchmarks = discover()
    if args.only:
        unknown = [b for b in args.only if b not in benchmarks]
        if unknown:
            parser.error(f"unknown benchmark {unknown[0]!r}; choose from: {', '.join(benchmarks)}")
        benchmarks = {k: v for k, v in benchmarks.items() if k in args.only}

    rows = []  # (benchmark, figure, value, note)
    failed = []
    for name, command in benchmarks.items():
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        status, seconds, stdout, stderr = run_one(command, args.timeout)
        figures = parse_figures(stdout)
        if status != "ok" or not figures:
            failed.append(name)
            detail = stderr.strip().splitlines()[-1] if stderr.strip() else "no name=value line printed"
            rows.append((name, "status", status if status != "ok" else "no figures", detail[:120]))
        rows.extend((name, fig, value, note[:90]) for fig, value, note in figures)
        rows.append((name, "wall_seconds", f"{seconds:.1f}", status))

    widths = [max(len(r[i]) for r in rows + [("benchmark", "figure", "value", "note")]) for i in range(3)]
    header = ("benchmark", "figure", "value", "note")
    print("  ".join(c.ljust(w) for c, w in zip(header[:3], widths)) + "  " + header[3])
    print("-" * (sum(widths) + 6 + min(40, max(len(r[3]) for r in rows + [header]))))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
