"""Per-sample cost of the report's sampling path against the organism's own evaluation, side by side.

The cold report's notebooks cost ~16 ms per sample (fig01, session 8) where `rlboundary organism
eval` costs ~5 ms. This script samples the same organism problems with the same model, n,
temperature and max_tokens each way, in one process, and prints wall and CPU seconds per mode:

- `organism-eval`: `organism.generation.OrganismSampler` (token-id prompts, no stop strings,
  max_model_len 256);
- `study`: `study.sample_run`, the notebooks' path (text prompts through `VLLMBackend`, the
  run's stop strings, Parquet chunks written by the store) into a temporary outputs folder,
  at the model's own max_model_len (1024 for the organism), then graded (`grade_run`);
- `study-L`: the same at max_model_len L (e.g. study-256).

Modes alternate (twice by default), so a load change shows as a difference between repeats.
`--profile` adds a cProfile (CPU time) of the first study mode's top functions.

    .venv/bin/python benchmarks/study_path.py --model outputs/models/organism/default-seed0/base \
        [--problems 16] [--n 256] [--max-tokens 96] [--modes organism-eval,study,study-256] [--profile]

(the README's figures: --problems 8 --n 128, the default modes: each mode twice, alternated)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="an organism model folder (e.g. .../default-seed0/base)")
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--modes", default="organism-eval,study,study-256,organism-eval,study,study-256",
                    help="in order: organism-eval, study (the model's max_model_len) or study-L (max_model_len L)")
    ap.add_argument("--profile", action="store_true", help="cProfile (CPU time) of the first study mode")
    args = ap.parse_args()

    # The study run goes to a throw-away outputs folder (set before the package reads it).
    os.environ["RLBOUNDARY_OUTPUTS"] = tempfile.mkdtemp(prefix="study-path-")
    from rlboundary.benchmarks import get_benchmark
    from rlboundary.models import ModelSpec
    from rlboundary.organism.generation import OrganismSampler
    from rlboundary.sampling import SamplingSettings
    from rlboundary.study import effective_settings, sample_run
    import rlboundary.organism.grader  # noqa: F401  registers the "organism" grader
    from rlboundary.verify.grading import get_grader, grade_run

    bench = get_benchmark("organism", limit=args.problems)
    questions = [p.metadata["question"] for p in bench.problems]
    samples = len(questions) * args.n
    settings = SamplingSettings(n=args.n, temperature=0.6, top_p=0.95, max_tokens=args.max_tokens)
    rows, prof = [], None

    def organism_eval():
        sampler = OrganismSampler(args.model)
        t0 = time.perf_counter()
        texts = sampler.sample(questions, n=args.n, temperature=0.6, top_p=0.95, max_tokens=args.max_tokens, seed=0)
        gen = time.perf_counter() - t0
        sampler.close()
        return gen, sum(len(t) for ts in texts for t in ts)

    def study(max_model_len, repeat):
        # A distinct model name per repeat: a fresh run key, so nothing is read back.
        spec = ModelSpec(name=f"bench-{max_model_len}-{repeat}", path=args.model, role="base", template="raw",
                         dtype="float32", max_model_len=max_model_len)
        store = sample_run(spec, "organism", settings, seed=0, backend="vllm", limit=args.problems, progress=False)
        stored = store.samples(["text", "num_tokens", "finish_reason"])
        _, grade_s, _ = timed(lambda: grade_run(store.run_dir, bench.problems, get_grader("organism")))
        return grade_s, int(stored["text"].str.len().sum()), effective_settings(spec, settings).stop

    for repeat, mode in enumerate(args.modes.split(",")):
        if mode == "organism-eval":
            (gen_s, chars), wall, cpu = timed(organism_eval)
            rows.append((mode, wall, cpu, gen_s, float("nan"), chars))
            continue
        max_model_len = int(mode.split("-")[1]) if "-" in mode else None
        if args.profile and prof is None:
            import cProfile

            prof = cProfile.Profile(time.process_time)
            (grade_s, chars, stop), wall, cpu = timed(lambda: prof.runcall(study, max_model_len, repeat))
        else:
            (grade_s, chars, stop), wall, cpu = timed(lambda: study(max_model_len, repeat))
        rows.append((f"{mode} (stop {list(stop)})", wall, cpu, float("nan"), grade_s, chars))

    print(f"{len(questions)} problems x n {args.n} = {samples} samples, max_tokens {args.max_tokens}")
    print("wall_s / cpu_s: the whole mode (engine start-up included); gen_s: generation alone (organism-eval);")
    print("grade_s: grading the stored run (study modes, inside wall_s)")
    print(f"{'mode':34s} {'wall_s':>8s} {'cpu_s':>8s} {'ms/sample':>10s} {'gen_s':>7s} {'grade_s':>8s} {'chars':>8s}")
    for name, wall, cpu, gen, grade, ch in rows:
        print(f"{name:34s} {wall:8.1f} {cpu:8.1f} {1000 * wall / samples:10.2f} {gen:7.1f} {grade:8.2f} {ch:8d}")
    if prof is not None:
        import pstats

        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
