"""How often does a post-trained model repeat its base's samples word for word? Common random numbers, measured.

    .venv/bin/python benchmarks/sampling_coupling.py [--seeds 0,1,2] [--preset default]

On the main evaluation set and the frontier panel every model is sampled with
the base's per-question seeds, so a model close to the base draws many of the
same texts (vLLM seeds the token sampler per request): its gains and losses of
reach against the base churn less than those of the null control, which is
sampled with other seeds. The confirmation panel gives every model its own
stream (`evaluate.independent_seed`), which removes the coupling. This reads
the evaluation cache (`rlboundary organism eval --seeds 0,1,2 --n 256
--confirm 32` fills it; nothing is sampled here) and prints, per build seed
and model, the share of (problem, sample) pairs whose text equals the base's,
at that build's frontier level, on the main set (shared seeds) and on the
confirmation panel (own streams).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd

CACHED = re.compile(r"^(?P<model>.+)-(?P<digest>[0-9a-f]{12})-n(?P<n>\d+)-seed(?P<seed>\d+)\.parquet$")


def cached_runs(folder: Path) -> dict[str, Path]:
    """{model: parquet} of the T = 0.6 samples cached in one folder (the first file per model)."""
    out: dict[str, Path] = {}
    for f in sorted(folder.glob("*.parquet")):
        m = CACHED.match(f.name)
        if m:
            out.setdefault(m["model"], f)
    return out


def identical_share(base: pd.DataFrame, other: pd.DataFrame, level: int) -> tuple[float, int]:
    """Share of (problem, sample index) pairs at `level` whose texts are the same, and how many pairs."""
    cols = ["problem_id", "sample_idx", "text", "n_steps"]
    m = base[cols].merge(other[cols], on=["problem_id", "sample_idx", "n_steps"], suffixes=("_base", "_other"))
    m = m[m["n_steps"] == level]
    return (float((m["text_base"] == m["text_other"]).mean()) if len(m) else float("nan")), len(m)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--preset", default="default")
    args = ap.parse_args()
    from rlboundary.organism.evaluate import eval_cache
    from rlboundary.paths import models_dir

    found = 0
    for s in (int(x) for x in args.seeds.split(",")):
        manifest = models_dir() / "organism" / f"{args.preset}-seed{s}" / "manifest.json"
        if not manifest.is_file():
            continue
        level = json.loads(manifest.read_text())["frontier"]["frontier"]
        root = eval_cache(args.preset, s)
        sets = {"main": root}
        sets.update({"confirmation": d for d in sorted(root.glob(f"panel-s{level}-*-*")) if d.is_dir()})
        for label, folder in sets.items():
            runs = cached_runs(folder)
            if "base" not in runs:
                continue
            base = pd.read_parquet(runs["base"])
            for model, path in runs.items():
                if model == "base":
                    continue
                share, pairs = identical_share(base, pd.read_parquet(path), level)
                if pairs:
                    found += 1
                    print(f"identical_share_seed{s}_{label}_{model}={share:.3f}  (level {level}, {pairs} samples)")
    if not found:
        print("no cached evaluation samples: run `rlboundary organism eval --seeds 0,1,2 --n 256 --confirm 32` first",
              file=sys.stderr)


if __name__ == "__main__":
    main()
