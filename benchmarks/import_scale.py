"""Import at scale: file -> `rlboundary import` -> math-verify regrade -> pass@k -> fig01, with times and peak RSS.

    .venv/bin/python benchmarks/import_scale.py                      # 500 problems x 64 and 256 samples
    .venv/bin/python benchmarks/import_scale.py --samples 1024       # the issue's scale: 500 x 1,024 x ~2k chars (~1 GB)

Writes a synthetic Qwen2.5-Math output file (the `qwen-math` format: one
line per problem, `code` = n responses of ~`--chars` characters of filler
reasoning ending in a \\boxed{} answer drawn from a few candidates per
problem, `pred`, `score`), then runs each stage in its own fresh Python
process and reports that process's wall time, CPU time (its own and its
exited children's: on a loaded machine wall time mostly measures waiting) and peak RSS
(`ru_maxrss` of RUSAGE_SELF: the grading worker processes of `verify` are
not included; they hold one item at a time):
  import  - `imports.importer.import_run` (streams the file; flushes every 20,000 samples)
  verify  - `verify.grading.grade_run` with math-verify on the imported run (the `rlboundary verify` path)
  passk   - pass@k at every power of two up to n with 1,000 bootstrap replicates, from the verdicts
  fig01   - fig01 as its notebook draws it (`figures.passk_study` with maj@k, `plots.passk_curves`,
            `plots.save_figure`) from the imported run, graded with math-verify (cached by `verify`)
Memory of `import` does not grow with the file, nor does that of `verify`:
`grade_run` reads and grades the run's text in bounded chunks
(`grading.CHUNK_SAMPLES`, `CHUNK_TEXT_BYTES`) and holds only the verdict
rows (no text) of the whole run; `fig01` reads the text batch by batch for
the maj@k labels. Compare the sizes.

Prints `import_seconds_n<N>=...`, `import_peak_rss_mb_n<N>=...`, the same
for verify, passk and fig01, and `file_mb_n<N>=...`. The figures are kept
with `--figures DIR` (DIR/fig01_import_scale_n<N>.png), else they go with
the temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILLER = ("We consider the quantities given in the problem and simplify step by step, checking each "
          "intermediate result before moving on. ")

STAGE = r'''
import json, resource, sys, time
stage, args = sys.argv[1], json.loads(sys.argv[2])
start = time.perf_counter()
if stage == "import":
    from rlboundary.imports.importer import import_run
    out = import_run("qwen-math", args["file"], model="scale", benchmark="import_scale")
    result = {"run_dir": out["run_dir"], "samples": out["samples"]}
elif stage == "verify":
    from rlboundary.benchmarks import get_benchmark
    from rlboundary.verify.grading import grade_run
    v = grade_run(args["run_dir"], get_benchmark("import_scale"), "math-verify")
    s = v.attrs["stats"]
    from rlboundary.verify.workers import close_worker_pools
    close_worker_pools()  # reap the workers, so that their CPU time is counted
    result = {"samples": s.samples, "distinct": s.distinct, "accuracy": float(v["correct"].mean()),
              "frame_mb": v.memory_usage(deep=True).sum() / 2**20}  # the verdict rows grade_run returns
elif stage == "fig01":
    # The fig01 notebook's two calls (figures.passk_study, plots.passk_curves) on the imported,
    # regraded run: a model entry `path: "run:<run dir>"`, graded with math-verify (cached by
    # the verify stage), maj@k from the texts, the notebook's default bootstrap.
    from rlboundary import figures, plots
    from rlboundary.params import validate
    params = validate("fig01_passk_math", {
        "models": [{"name": "scale", "path": "run:" + args["run_dir"], "role": "base"}],
        "benchmarks": ["import_scale"], "n": args["n"], "headline_k": args["n"], "seeds": [0],
        "math_grader": "math-verify", "maj": True}, source="benchmarks/import_scale.py")
    study = figures.passk_study(params)
    fig = plots.passk_curves(study.curves, figures.roles(params), study.comparisons, title="pass@k (import_scale)",
                             grader_curves=study.grader_curves, maj_curves=study.maj_curves)
    paths = plots.save_figure(fig, f"fig01_import_scale_n{args['n']}")
    curve = study.curves
    result = {"png": str(paths["png"]), "pass_at_n": float(curve["pass_at_k"].iloc[-1]),
              "maj_at_n": float(study.maj_curves["maj_at_k"].iloc[-1])}
else:
    from pathlib import Path
    from rlboundary import metrics
    from rlboundary.commands.metrics_cli import load_run_counts
    run = Path(args["run_dir"])
    grader = next(p.name for p in (run / "verdicts").iterdir() if p.name.startswith("math-verify"))
    counts = load_run_counts(run, grader)
    curve = metrics.pass_at_k_curve(counts, ks=metrics.powers_of_two(int(counts["n"].min())), n_boot=1000)
    result = {"pass_at_1": float(curve["pass_at_k"].iloc[0]), "pass_at_n": float(curve["pass_at_k"].iloc[-1])}
result["seconds"] = time.perf_counter() - start
usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
result["cpu_seconds"] = sum(u.ru_utime + u.ru_stime for u in usage)  # + grading workers that exited
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
'''


def write_source(path: Path, problems: int, samples: int, chars: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    body = (FILLER * (chars // len(FILLER) + 1))[:chars]
    with open(path, "w") as f:
        for i in range(problems):
            gold = str(rng.randint(1, 999))
            p_correct = rng.random() ** 2
            wrong = [str(rng.randint(1000, 1999)) for _ in range(5)] + [f"\\frac{{{gold}}}{{2}}"]
            answers = [gold if rng.random() < p_correct else rng.choice(wrong) for _ in range(samples)]
            f.write(json.dumps({"idx": i, "question": f"Synthetic problem {i}: find the value.", "gt": gold,
                                "code": [f"{body}\nTherefore the answer is \\boxed{{{a}}}." for a in answers],
                                "pred": answers, "score": [a == gold for a in answers]}) + "\n")


def stage(name: str, args: dict, env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", STAGE, name, json.dumps(args)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, nargs="+", default=[64, 256], help="samples per problem (one run each)")
    ap.add_argument("--chars", type=int, default=2000, help="characters per response")
    ap.add_argument("--workdir", default=None, help="where the file and the store go (default: a temp dir)")
    ap.add_argument("--figures", default=None, help="keep the fig01 figures here (default: dropped with the temp dir)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for n in args.samples:
            work = Path(tmp) / f"n{n}"
            work.mkdir()
            env = {**os.environ, "RLBOUNDARY_OUTPUTS": str(work / "outputs")}
            source = work / "source.jsonl"
            start = time.perf_counter()
            write_source(source, args.problems, n, args.chars)
            print(f"file_mb_n{n}={source.stat().st_size / 2**20:.0f}  ({args.problems} problems x {n} samples x "
                  f"{args.chars} chars; written in {time.perf_counter() - start:.0f} s)", flush=True)
            imported = stage("import", {"file": str(source)}, env)
            source.unlink()  # the run is stored now; the file is not needed for grading
            graded = stage("verify", {"run_dir": imported["run_dir"]}, env)
            passk = stage("passk", {"run_dir": imported["run_dir"]}, env)
            figures = Path(args.figures).resolve() if args.figures else work / "figures"
            drawn = stage("fig01", {"run_dir": imported["run_dir"], "n": n}, {**env, "RLBOUNDARY_FIGURES_DIR": str(figures)})
            for name, r, note in (("import", imported, f"{imported['samples']} samples"),
                                  ("verify", graded, f"math-verify, {graded['distinct']} distinct answers, "
                                                     f"accuracy {graded['accuracy']:.4f}, verdict frame "
                                                     f"{graded['frame_mb']:.0f} MB"),
                                  ("passk", passk, f"all powers of two, 1000 bootstrap; pass@1 {passk['pass_at_1']:.4f}"),
                                  ("fig01", drawn, f"passk_study + passk_curves, maj@k; pass@{n} {drawn['pass_at_n']:.4f}, "
                                                   f"maj@{n} {drawn['maj_at_n']:.4f}; {Path(drawn['png']).name}")):
                print(f"{name}_seconds_n{n}={r['seconds']:.1f}  ({note}; CPU {r['cpu_seconds']:.1f} s)", flush=True)
                print(f"{name}_peak_rss_mb_n{n}={r['peak_rss_mb']:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
