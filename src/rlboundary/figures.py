"""The data behind each figure notebook: sample (cached), grade (cached), summarise.

Notebooks hold no logic; they call one function here per figure and plot
what it returns. Every function takes validated parameters
(`rlboundary.params.Params`) and works through the package's stages:

    benchmark (benchmarks.get_benchmark)
      -> samples (study.sample_run: the resumable Parquet store; a run that is
         already stored is read, not sampled again)
      -> verdicts (verify.grading.grade_run: cached beside the samples)
      -> counts / pass@k / crossover / ΔSE / histograms / coverage (metrics)

so a warm rerun only reads Parquet and recomputes the (fast) statistics.
Model paths of the form `organism:<model>` name a model of the embedded
organism; it is built on first use (`organism.ensure_organism`).

Several seeds pool their samples: seed i's sample j becomes sample
i * n + j, so a problem's n is n x len(seeds).

    from rlboundary import figures
    from rlboundary.params import load_params
    study = figures.passk_study(load_params("fig01_passk_math", "micro"))
    study.headline
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from . import metrics
from .errors import UserError
from .params import Params

ORGANISM_PREFIX = "organism:"
# The organism's models are trained, selected and evaluated (`organism eval`) in float32.
# vLLM's dtype "auto" would downcast their float32 checkpoints to bfloat16, which a CPU
# without AVX512-BF16 runs emulated (slower) and which samples a slightly different model.
ORGANISM_DTYPE = "float32"


# --- models, benchmarks, graders -----------------------------------------------

def roles(params: Params) -> dict[str, str]:
    """Model name -> role (the colour of its curves)."""
    return {m["name"]: m["role"] for m in params.models}


def organism_models(params: Params) -> dict[str, str]:
    """The embedded organism's model paths, building it on first use."""
    from .organism import ensure_organism

    return {name: str(path) for name, path in ensure_organism(params.organism_preset, params.organism_seed).items()}


def model_spec(params: Params, entry: dict, benchmark: str | None = None):
    """A models.ModelSpec for one `models:` entry (organism paths resolved),
    with its template for `benchmark` (`template_per_benchmark`)."""
    from .models import ModelSpec

    path, dtype = entry["path"], entry["dtype"]
    if path.startswith(ORGANISM_PREFIX):
        dtype = ORGANISM_DTYPE if dtype == "auto" else dtype
        built = organism_models(params)
        key = path[len(ORGANISM_PREFIX):]
        if key not in built:
            raise UserError(f"model '{entry['name']}': the organism has no model '{key}'.",
                            f"use organism:<one of {', '.join(sorted(built))}>.")
        path = built[key]
    template = params.template_for(entry, benchmark) if benchmark is not None else entry["template"]
    return ModelSpec(name=entry["name"], path=path, role=entry["role"], template=template,
                     dtype=dtype, max_model_len=params.max_model_len_for(entry),
                     stop=model_stop(params, {**entry, "template": template}),
                     tokenizer=entry["tokenizer"], tensor_parallel_size=entry["tensor_parallel_size"],
                     data_parallel_size=entry["data_parallel_size"])


def model_stop(params: Params, entry: dict) -> list[str]:
    """A model's stop strings: its own, plus the paper's evaluation-code stops
    for its template when `official_stops` is on."""
    from .prompts import official_code_stop

    extra = official_code_stop(entry["template"]) if params.get("official_stops") else ()
    return list(dict.fromkeys([*entry["stop"], *extra]))


@lru_cache(maxsize=32)
def _benchmark_cached(name: str, data_dir: str | None, limit: int | None):
    from .benchmarks import get_benchmark

    return get_benchmark(name, data_dir=data_dir, limit=limit)


def benchmark(params: Params, name: str):
    return _benchmark_cached(name, params.data_dir, params.limit)


def chance_pass_at_k(params: Params, bench_names: Iterable[str], k: int) -> float | None:
    """The pass@k a uniform guesser reaches on these benchmarks' problems (pooled): the mean
    over problems of 1 - (1 - 1/A)^k, A the problem's answer space (`metadata["answer_space"]`:
    the organism's problems state it, 10 for one-digit answers). None when a problem does not
    state it (free-form answers: math, code), or for a benchmark this process cannot load
    (counts imported from elsewhere under another name): no guessing floor is known."""
    from .benchmarks import is_known_benchmark

    if not all(is_known_benchmark(b) for b in bench_names):
        return None
    spaces = [p.metadata.get("answer_space") for b in bench_names for p in benchmark(params, b).problems]
    if not spaces or not all(isinstance(a, (int, float)) and a >= 1 for a in spaces):
        return None
    return float(np.mean([1 - (1 - 1 / a) ** k for a in spaces]))


def grader_for(params: Params, kind: str):
    """The grader that judges a benchmark of this kind (math: the chosen math
    grader; code: executed tests in the sandbox; organism: the exact step checker)."""
    from .verify.grading import get_grader

    if kind == "math":
        return get_grader(params.math_grader)
    if kind == "code":
        return get_grader("code-exec", timeout_s=params.get("code_timeout", 10.0))
    if kind == "organism":
        import rlboundary.organism.grader  # noqa: F401  registers "organism" with the grading registry
    return get_grader(kind)


def sampling_settings(params: Params, benchmark_name: str, entry: dict | None = None):
    """How a model samples a benchmark: its own n and max_tokens where it has them."""
    from .sampling import SamplingSettings

    return SamplingSettings(n=params.n_for(benchmark_name, entry), temperature=params.temperature, top_p=params.top_p,
                            max_tokens=params.max_tokens_for(entry), chunk_size=params.chunk_size)


# --- samples and verdicts ------------------------------------------------------

@dataclass(frozen=True, eq=False)
class GradedRun:
    """One (model, benchmark, seed) run: its store and its verdicts, sample_idx pooled over seeds."""

    model: dict  # the params' `models:` entry
    benchmark: str
    seed: int
    seed_index: int  # position in params.seeds: pooled sample_idx = seed_index * n + stored sample_idx
    n: int  # samples per problem and seed
    run_dir: Path
    grader_id: str
    verdicts: pd.DataFrame


def graded_runs(params: Params, models: Iterable[str] | None = None, benchmarks: Iterable[str] | None = None,
                grader: str | None = None, labels: bool = False) -> Iterable[GradedRun]:
    """Every (model, benchmark, seed) run, sampling and grading only what is not stored yet.

    `grader`: a grader by name instead of the benchmark's default
    (`verify.compare.run_verdicts`: `source` for imported runs). `labels`:
    add each sample's vote label (`majority.vote_labels`) for maj@k."""
    from .imports.references import is_run_ref, resolve_run
    from .imports.references import run_verdicts as imported_verdicts
    from .store import RunStore
    from .study import sample_run
    from .verify.compare import run_verdicts
    from .verify.grading import grade_run

    wanted_models = [params.model(m) for m in models] if models is not None else list(params.models)
    for bench_name in (list(benchmarks) if benchmarks is not None else params.benchmarks):
        bench = benchmark(params, bench_name)
        # `math_grader: source` reads the verdicts imported with a run (imports/references.py).
        grader_name = params.math_grader if bench.kind == "math" else bench.kind
        default = None if grader is not None or grader_name == "source" else grader_for(params, bench.kind)
        for entry in wanted_models:
            if not params.runs_on(entry, bench_name):
                continue
            settings = sampling_settings(params, bench_name, entry)
            imported = is_run_ref(entry["path"])
            spec = None if imported else model_spec(params, entry, bench_name)
            for i, seed in enumerate(params.seeds):
                if imported:  # an imported run: never sampled
                    store = RunStore(resolve_run(entry["path"], entry["name"], bench_name, seed))
                    v = (run_verdicts(store.run_dir, grader, problems=bench.problems) if grader is not None
                         else imported_verdicts(store.run_dir, bench.problems, default, grader_name))
                    v = v[v["problem_id"].isin(set(bench.problem_ids))]  # `limit:` applies as for sampled runs
                else:
                    if grader is None and default is None:
                        raise UserError(f"math_grader: source needs imported runs, but model '{entry['name']}' is sampled.",
                                        "use math-verify or math-equal, or give the model path: \"run:<imported run>\".")
                    store = sample_run(spec, bench_name, settings, seed=seed, backend=params.backend,
                                       data_dir=params.data_dir, limit=params.limit, progress=False)
                    v = (grade_run(store.run_dir, bench.problems, default) if grader is None
                         else run_verdicts(store.run_dir, grader, problems=bench.problems))
                if labels:  # a counts run has no answers to vote with: no label, no maj@k
                    v = _with_labels(v, store, bench.kind) if store.has_text() else v.assign(label=None)
                # A run may hold more samples than this notebook asks for
                # (another notebook raised n): use the first n only.
                v = v[v["sample_idx"] < settings.n].copy()
                v["sample_idx"] = v["sample_idx"].astype(np.int64) + i * settings.n
                yield GradedRun(entry, bench_name, seed, i, settings.n, Path(store.run_dir),
                                default.grader_id if default is not None else (grader or grader_name), v)


def verdicts(params: Params, models: Iterable[str] | None = None,
             benchmarks: Iterable[str] | None = None, grader: str | None = None,
             labels: bool = False) -> pd.DataFrame:
    """Verdict rows for every (model, benchmark, seed), sampling and grading
    only what is not stored yet. Columns: model, benchmark, seed, problem_id,
    sample_idx (pooled over seeds), verdict, correct, + grader extras
    (`grader`, `labels`: as in `graded_runs`)."""
    frames = []
    for run in graded_runs(params, models, benchmarks, grader, labels):
        v = run.verdicts
        v.insert(0, "seed", run.seed)
        v.insert(0, "benchmark", run.benchmark)
        v.insert(0, "model", run.model["name"])
        frames.append(v)
    return pd.concat(frames, ignore_index=True)


def _with_labels(v: pd.DataFrame, store, kind: str) -> pd.DataFrame:
    """Verdict rows plus `label`, the sample's answer as it votes in maj@k."""
    from .majority import TEXT_ANSWER_KINDS, vote_labels

    if kind in TEXT_ANSWER_KINDS:
        # Batch by batch: a run's text (1 GB at 500 x 1,024 x 2k characters) is never held at once.
        labels = [pd.DataFrame({"problem_id": [str(p) for p in b.column(0).to_pylist()],
                                "sample_idx": b.column(1).to_numpy(),
                                "label": vote_labels(b.column(2).to_pylist(), kind)})
                  for b in store.iter_batches(["problem_id", "sample_idx", "text"])]
        if not labels:
            return v.assign(label=None)
        return v.merge(pd.concat(labels, ignore_index=True), on=["problem_id", "sample_idx"], how="left")
    return v.assign(label=vote_labels([], kind, v["extracted"].tolist()))


def counts(verdict_rows: pd.DataFrame) -> pd.DataFrame:
    """Per-problem counts (model, benchmark, problem_id, n, c) of every group."""
    return metrics.concat_counts(
        metrics.counts_from_verdicts(g, model=m, benchmark=b)
        for (m, b), g in verdict_rows.groupby(["model", "benchmark"], sort=False))


def run_summary(count_rows: pd.DataFrame) -> pd.DataFrame:
    """What was sampled: problems, samples per problem and mean accuracy per run."""
    rows = count_rows.assign(accuracy=count_rows["c"] / count_rows["n"])
    return (rows.groupby(["model", "benchmark"], sort=False)
            .agg(problems=("problem_id", "size"), n=("n", "min"), samples=("n", "sum"), mean_accuracy=("accuracy", "mean"))
            .reset_index())


# --- pass@k (Figures 1-4, 7) ---------------------------------------------------

@dataclass
class PasskStudy:
    counts: pd.DataFrame
    curves: pd.DataFrame  # model, benchmark, k, pass_at_k, ci_low, ci_high
    comparisons: pd.DataFrame  # model vs its base per benchmark: difference at k_max, crossover, ΔSE@k (+ CIs)
    headline: pd.DataFrame  # per model and benchmark: pass@1, pass@k, difference, crossover, ΔSE@k
    not_run: str = ""  # why the study did not run (then every frame is empty)
    grader_curves: pd.DataFrame | None = None  # the curves again, one set per grader (+ `grader`), when several
    grader_comparisons: pd.DataFrame | None = None  # crossover and ΔSE per grader
    maj_curves: pd.DataFrame | None = None  # maj@k: model, benchmark, k, maj_at_k, ci_low, ci_high, method

    @property
    def note(self) -> str:
        """What the headline's numbers are, ΔSE named with its k (flagged below the paper's 256)."""
        if self.not_run:
            return self.not_run
        labels = sorted(set(self.comparisons["delta_se_label"])) if len(self.comparisons) else []
        return ("ΔSE@k = base pass@k − model pass@1 at the headline k: " + "; ".join(labels)) if labels else ""


def headline_k(params: Params, n: int) -> int:
    return min(params.headline_k, n)


def compare_to_base(params: Params, count_rows: pd.DataFrame) -> pd.DataFrame:
    """Every non-base model against its base, per benchmark: the paired
    difference base − model pass@k at the largest k (k_max: the headline k
    clipped to n) with its CI, the k ranges where that difference's CI
    excludes 0, the first crossing (with its CI and the number of sign
    changes) and ΔSE@k_max."""
    rows = []
    for entry in params.models:
        if entry["role"] == "base":
            continue
        base = params.base_of(entry)
        for bench in params.benchmarks:
            b = count_rows[(count_rows["model"] == base["name"]) & (count_rows["benchmark"] == bench)]
            m = count_rows[(count_rows["model"] == entry["name"]) & (count_rows["benchmark"] == bench)]
            if b.empty or m.empty:
                continue
            k_max = headline_k(params, int(min(b["n"].min(), m["n"].min())))
            cross = metrics.crossover(b, m, n_boot=params.bootstrap, ci=params.ci_level).iloc[0]
            gap = metrics.sampling_efficiency_gap(b, m, k_max=k_max, n_boot=params.bootstrap, ci=params.ci_level).iloc[0]
            at = metrics.paired_difference_curve(b, m, ks=[k_max], n_boot=params.bootstrap, ci=params.ci_level).iloc[0]
            rows.append({"model": entry["name"], "role": entry["role"], "base": base["name"], "benchmark": bench,
                         "n": int(cross["n"]), "k_max": k_max, "diff_at_k": at["diff"],
                         "diff_ci_low": at["ci_low"], "diff_ci_high": at["ci_high"],
                         "base_ahead_k": cross["base_ahead_k"], "rl_ahead_k": cross["rl_ahead_k"],
                         "crossover_k": cross["crossover_k"], "crossover": cross["description"],
                         "crossover_ci_low": cross["ci_low"], "crossover_ci_high": cross["ci_high"],
                         "sign_changes": cross["sign_changes"], "rl_ahead_at_k1": cross["rl_ahead_at_k1"],
                         "delta_se_label": gap["label"], "delta_se": gap["delta_se"],
                         "delta_se_ci_low": gap["ci_low"], "delta_se_ci_high": gap["ci_high"],
                         "chance_at_k": chance_pass_at_k(params, [bench], k_max)})
    return pd.DataFrame(rows)


def _ci_text(value, low, high) -> str:
    """"0.123 [0.045, 0.201]" (the value alone without a CI)."""
    if value is None or not np.isfinite(value):
        return "–"
    if low is None or not np.isfinite(low):
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def headline_table(params: Params, curves: pd.DataFrame, comparisons: pd.DataFrame) -> pd.DataFrame:
    """Per model and benchmark: pass@1, pass@k at the headline k, and against
    the base: base − model pass@k at that k [CI], the k where the base is
    ahead / the model is ahead (paired CI excludes 0), the first crossing and
    ΔSE@k (the k in its name, flagged below the paper's 256)."""
    rows = []
    for (model, bench), g in curves.groupby(["model", "benchmark"], sort=False):
        n = int(g["n"].iloc[0])
        k = headline_k(params, n)
        at = g.set_index("k")["pass_at_k"]
        comp = comparisons[(comparisons["model"] == model) & (comparisons["benchmark"] == bench)] if len(comparisons) else comparisons
        c = comp.iloc[0] if len(comp) else None
        rows.append({"model": model, "role": params.model(model)["role"], "benchmark": bench, "n": n,
                     "pass@1": float(at.get(1, np.nan)), "k": k, "pass@k": float(at.get(k, np.nan)),
                     "base − model pass@k [CI]": _ci_text(c["diff_at_k"], c["diff_ci_low"], c["diff_ci_high"]) if c is not None else None,
                     "base ahead at k": c["base_ahead_k"] if c is not None else None,
                     "model ahead at k": c["rl_ahead_k"] if c is not None else None,
                     "first crossing": c["crossover"] if c is not None else None,
                     "ΔSE@k": float(c["delta_se"]) if c is not None else None,
                     "ΔSE named": c["delta_se_label"] if c is not None else None})
    return pd.DataFrame(rows)


def _curves(params: Params, rows: pd.DataFrame) -> pd.DataFrame:
    curves = []
    for bench in params.benchmarks:
        # Per model: a model with its own n for this benchmark (the paper's
        # LLaMA on OlympiadBench) is plotted up to its own n.
        for model, sub in rows[rows["benchmark"] == bench].groupby("model", sort=False):
            n = int(sub["n"].min())
            ks = sorted(set(params.ks_for(bench, params.model(model))) | {1, headline_k(params, n)})
            ks = [k for k in ks if k <= n]
            curves.append(metrics.pass_at_k_curve(sub, ks=ks, n_boot=params.bootstrap, ci=params.ci_level))
    return pd.concat(curves, ignore_index=True)


def maj_curves(params: Params, verdict_rows: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """maj@k at the k of the pass@k curves, per model and benchmark."""
    from .majority import maj_at_k_curve, vote_frame

    frames = []
    for (model, bench), g in verdict_rows.groupby(["model", "benchmark"], sort=False):
        if g["label"].isna().all():
            continue  # no answers to vote with (an imported run of outcome counts only)
        ks = curves[(curves["model"] == model) & (curves["benchmark"] == bench)]["k"].tolist()
        frames.append(maj_at_k_curve(vote_frame(g, g["label"].tolist()), ks, model, bench,
                                     n_boot=params.bootstrap, ci=params.ci_level))
    return pd.concat(frames, ignore_index=True)


def passk_study(params: Params, models: Iterable[str] | None = None) -> PasskStudy:
    """pass@k curves (k on the params' grid, plus 1 and the headline k) with
    bootstrap CIs, and every model compared with its base. With several
    `graders`, the first draws the curves and every one its own (the
    spread); with `maj`, maj@k beside pass@k."""
    graders = list(params.get("graders") or [])
    want_maj = bool(params.get("maj", False))
    v = verdicts(params, models, grader=graders[0] if graders else None, labels=want_maj)
    rows = counts(v)
    curves = _curves(params, rows)
    comparisons = compare_to_base(params, rows)
    study = PasskStudy(rows, curves, comparisons, headline_table(params, curves, comparisons))
    if want_maj and v["label"].notna().any():
        study.maj_curves = maj_curves(params, v, curves)
    if len(graders) > 1:
        per_grader, per_comparison = [curves.assign(grader=graders[0])], [comparisons.assign(grader=graders[0])]
        for name in graders[1:]:
            other = counts(verdicts(params, models, grader=name))
            per_grader.append(_curves(params, other).assign(grader=name))
            per_comparison.append(compare_to_base(params, other).assign(grader=name))
        study.grader_curves = pd.concat(per_grader, ignore_index=True)
        study.grader_comparisons = pd.concat(per_comparison, ignore_index=True)
    return study


def code_passk_study(params: Params) -> PasskStudy:
    """Figures 3-4: `passk_study` on the parameters' code benchmarks (executed
    tests). With no code benchmark (the organism has no code model) nothing is
    sampled: the study comes back empty with `not_run` saying why, and the
    report shows "not run" instead of a figure."""
    kinds = {b: benchmark(params, b).kind for b in params.benchmarks}
    if "code" not in kinds.values():
        return PasskStudy(pd.DataFrame(columns=metrics.COUNT_COLUMNS), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                          not_run=f"not run: needs a code model (no code benchmark among {', '.join(kinds)}; "
                                  "params/paper/fig03_passk_code.yaml runs code models on HumanEval/MBPP+)")
    non_code = [b for b, kind in kinds.items() if kind != "code"]
    if non_code:
        raise UserError(f"fig03_passk_code is the code figure, but {', '.join(non_code)} is not a code benchmark.",
                        "list only code benchmarks (humaneval, humaneval_plus, mbpp_plus) here; math goes to fig01.")
    return passk_study(params)


# --- Figure 5: accuracy histograms and coverage --------------------------------

@dataclass
class CoverageStudy:
    histogram: pd.DataFrame
    coverage: pd.DataFrame
    headline: pd.DataFrame


def base_and_rl(params: Params) -> tuple[str, str]:
    """The pair a two-model figure compares: the parameters' choice, else the first of each role."""
    def pick(name, role):
        if name is not None:
            return name
        found = params.models_with_role(role)
        if not found:
            raise UserError(f"no model with role {role}.", f"add one with `role: {role}` or set {role}_model.")
        return found[0]["name"]
    return pick(params.get("base_model"), "base"), pick(params.get("rl_model"), "rl")


def accuracy_and_coverage(params: Params) -> CoverageStudy:
    base, rl = base_and_rl(params)
    rows = counts(verdicts(params, [base, rl]))
    hist = metrics.accuracy_histogram(rows)
    coverage = pd.concat([metrics.coverage_sets(rows[(rows["model"] == base) & (rows["benchmark"] == b)],
                                                rows[(rows["model"] == rl) & (rows["benchmark"] == b)])
                          for b in params.benchmarks], ignore_index=True)
    n_equal = {b: int(rows[rows["benchmark"] == b]["n"].min()) for b in params.benchmarks}  # coverage is at equal n
    coverage["chance_at_n"] = coverage["benchmark"].map(lambda b: chance_pass_at_k(params, [b], n_equal[b]))
    wide = coverage.pivot(index="benchmark", columns="set", values="n_problems").reset_index()
    wide.columns.name = None
    wide.insert(1, "base", base)
    wide.insert(2, "rl", rl)
    return CoverageStudy(hist, coverage, wide[["benchmark", "base", "rl", *metrics.COVERAGE_SETS]])


# --- Figure 8: RL algorithms and training steps ---------------------------------

@dataclass
class AlgorithmStudy:
    summary: pd.DataFrame  # one row per algorithm at its last step: pass@1, pass@k, ΔSE (+ CIs)
    steps: pd.DataFrame  # algorithm, step, pass@1, pass@k (+ CIs)
    base: str
    base_top: float  # the base model's pass@k
    k: int
    headline: pd.DataFrame

    @property
    def note(self) -> str:
        return f"ΔSE named with its k: {metrics.delta_se_label(self.k)}"


def _pooled(rows: pd.DataFrame) -> pd.DataFrame:
    """Counts of several benchmarks as one evaluation set (problem ids kept unique)."""
    return rows.assign(problem_id=rows["benchmark"] + "/" + rows["problem_id"].astype(str), benchmark="all")


def checkpoint_step(params: Params, entry: dict) -> int:
    """An RL entry's training step: its `step:`, else the organism manifest's (RL stops at
    a plateau, so the final checkpoint's step is known only after the build), else -1."""
    if entry.get("step") is not None:
        return int(entry["step"])
    if str(entry["path"]).startswith(ORGANISM_PREFIX):
        from .organism import ensure_organism

        manifest = ensure_organism(params.organism_preset, params.organism_seed).manifest
        key = entry["path"][len(ORGANISM_PREFIX):]
        return int(next(m["step"] for m in manifest["models"] if m["name"] == key))
    return -1


def rl_reward_curves(params: Params) -> pd.DataFrame:
    """The organism's RL training-reward curves (all prompts and frontier-level prompts)
    per algorithm, from the build manifest: algorithm, step, reward, frontier_reward
    (empty when no model was built here: hub models carry no curve)."""
    from .organism import ensure_organism

    if not any(str(m["path"]).startswith(ORGANISM_PREFIX) for m in params.models):
        return pd.DataFrame(columns=["algorithm", "step", "reward", "frontier_reward", "stopped"])
    manifest = ensure_organism(params.organism_preset, params.organism_seed).manifest
    frames = [pd.DataFrame(m["reward_curve"]).assign(algorithm=m["algorithm"], stopped=m.get("stopped"))
              for m in manifest["models"] if m.get("final") and m.get("reward_curve")]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["algorithm", "step", "reward", "frontier_reward", "stopped"])


def algorithm_study(params: Params) -> AlgorithmStudy:
    """pass@1 and pass@k of every RL checkpoint, grouped by algorithm and
    step, with ΔSE against the base; the problems of all listed benchmarks
    are pooled into one evaluation set."""
    rl = [m for m in params.models if m["role"] == "rl"]
    if not rl:
        raise UserError("no model with role rl.", "list the RL checkpoints with `role: rl` (and `algorithm:`, `step:`).")
    base = params.base_of(rl[0])["name"]
    return algorithms_from_counts(params, counts(verdicts(params, [base, *[m["name"] for m in rl]])))


def algorithms_from_counts(params: Params, count_rows: pd.DataFrame) -> AlgorithmStudy:
    """`algorithm_study` from counts already in hand (benchmarks pooled here)."""
    rl = [m for m in params.models if m["role"] == "rl"]
    base = params.base_of(rl[0])["name"]
    rows = _pooled(count_rows)
    k = headline_k(params, int(rows["n"].min()))
    base_rows = rows[rows["model"] == base]
    base_top = float(metrics.pass_at_k_curve(base_rows, ks=[k], n_boot=0)["pass_at_k"].iloc[0])
    chance = chance_pass_at_k(params, params.benchmarks, k)  # pooled benchmarks, as the counts are
    records = []
    for entry in rl:
        mine = rows[rows["model"] == entry["name"]]
        curve = metrics.pass_at_k_curve(mine, ks=sorted({1, k}), n_boot=params.bootstrap, ci=params.ci_level).set_index("k")
        gap = metrics.sampling_efficiency_gap(base_rows, mine, k_max=k, n_boot=params.bootstrap, ci=params.ci_level).iloc[0]
        at1 = metrics.paired_difference_curve(base_rows, mine, ks=[1], n_boot=params.bootstrap, ci=params.ci_level).iloc[0]
        records.append({"model": entry["name"], "algorithm": entry["algorithm"] or entry["name"],
                        "step": checkpoint_step(params, entry),
                        "pass_at_1": curve.loc[1, "pass_at_k"], "pass_at_1_low": curve.loc[1, "ci_low"],
                        "pass_at_1_high": curve.loc[1, "ci_high"], "pass_at_k": curve.loc[k, "pass_at_k"],
                        "pass_at_k_low": curve.loc[k, "ci_low"], "pass_at_k_high": curve.loc[k, "ci_high"],
                        "pass1_gain": -at1["diff"], "pass1_gain_low": -at1["ci_high"], "pass1_gain_high": -at1["ci_low"],
                        "delta_se": gap["delta_se"], "delta_se_low": gap["ci_low"], "delta_se_high": gap["ci_high"],
                        "chance_at_k": chance})
    steps = pd.DataFrame(records)
    summary = steps.sort_values("step").groupby("algorithm", sort=False).tail(1).reset_index(drop=True)
    headline = summary[["algorithm", "model", "step", "pass_at_1", "pass_at_k", "pass1_gain", "delta_se"]].rename(
        columns={"pass_at_1": "pass@1", "pass_at_k": f"pass@{k}", "pass1_gain": "RL − base pass@1",
                 "delta_se": f"ΔSE@{k}"})
    headline.insert(0, "base pass@%d" % k, base_top)
    return AlgorithmStudy(summary, steps, base, base_top, k, headline)


# --- CoT validity (organism) -------------------------------------------------------

@dataclass
class ValidityStudy:
    by_bucket: pd.DataFrame  # model, bucket, problems, n_correct, valid_fraction, ci_low, ci_high
    headline: pd.DataFrame
    lowest_bucket: str = ""  # the lowest pass-rate bucket of the parameters' bins, e.g. "(0,0.05]"
    base_models: tuple = ()  # the models with role base (whose answers the claim is about)


def _ratio_ci(num: np.ndarray, den: np.ndarray, n_boot: int, ci: float, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap over problems of sum(num) / sum(den)."""
    w = metrics.resample_weights(len(num), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = (w @ num) / (w @ den)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return float("nan"), float("nan")
    a = (1 - ci) / 2
    lo, hi = np.quantile(reps, [a, 1 - a])
    return float(lo), float(hi)


def bucket_labels(edges: list[float]) -> list[str]:
    """"(0,0.05]", ... for the half-open pass-rate bins of `edges`."""
    return [f"({edges[i]:g},{edges[i + 1]:g}]" for i in range(len(edges) - 1)]


def validity_by_pass_rate(verdict_rows: pd.DataFrame, edges: list[float], n_boot: int = 1000,
                          ci: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(by bucket, per problem) validity of correct answers.

    A problem's bucket is its pass rate c/n in the half-open bins (e_i, e_i+1]
    of `edges` (problems never solved have no correct answer and no bucket).
    In each bucket: valid_fraction = correct samples with a fully valid trace /
    correct samples, with a percentile bootstrap CI over problems."""
    v = verdict_rows.assign(valid_correct=verdict_rows["correct"].astype(bool)
                            & verdict_rows["trace_valid"].fillna(False).astype(bool))
    per_problem = (v.groupby(["model", "benchmark", "problem_id"], sort=False)
                   .agg(n=("correct", "size"), c=("correct", "sum"), valid=("valid_correct", "sum")).reset_index())
    per_problem["rate"] = per_problem["c"] / per_problem["n"]
    labels = bucket_labels(edges)
    per_problem["bucket"] = pd.cut(per_problem["rate"], edges, labels=labels, right=True)
    rows = []
    for (model, bucket), g in per_problem.dropna(subset=["bucket"]).groupby(["model", "bucket"], sort=False, observed=True):
        num, den = g["valid"].to_numpy(float), g["c"].to_numpy(float)
        lo, hi = _ratio_ci(num, den, n_boot, ci)
        rows.append({"model": model, "bucket": str(bucket), "problems": len(g), "n_correct": int(den.sum()),
                     "valid_fraction": float(num.sum() / den.sum()), "ci_low": lo, "ci_high": hi})
    by_bucket = pd.DataFrame(rows, columns=["model", "bucket", "problems", "n_correct", "valid_fraction", "ci_low", "ci_high"])
    order = {label: i for i, label in enumerate(labels)}
    by_bucket = (by_bucket.sort_values(["model", "bucket"], key=lambda s: s.map(order) if s.name == "bucket" else s)
                 .reset_index(drop=True))
    return by_bucket, per_problem


def validity_study(params: Params) -> ValidityStudy:
    """Share of correct answers whose every step is valid, by per-problem
    pass rate (c/n): are correct answers at low pass rates lucky guesses?"""
    not_organism = [b for b in params.benchmarks if benchmark(params, b).kind != "organism"]
    if not_organism:
        raise UserError(f"benchmark {not_organism[0]} has no step checker (only the organism's traces can be verified step by step).",
                        "use an organism benchmark (organism, organism:<preset>) for this notebook.")
    v = verdicts(params)
    if "trace_valid" not in v.columns:
        # Only graded samples carry the column; a run whose every sample had no
        # \boxed{} answer (unparseable) has no valid trace at all.
        v["trace_valid"] = False
    by_bucket, per_problem = validity_by_pass_rate(v, params.pass_rate_bins, params.bootstrap, params.ci_level)
    model_order = {m["name"]: i for i, m in enumerate(params.models)}
    overall = per_problem.groupby("model").agg(correct=("c", "sum"), valid=("valid", "sum")).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        overall["valid among correct"] = overall["valid"] / overall["correct"].where(overall["correct"] > 0)
    lowest = by_bucket.groupby("model", sort=False).first().reset_index()[["model", "bucket", "valid_fraction", "n_correct"]]
    headline = overall.merge(lowest.rename(columns={"bucket": "lowest bucket", "valid_fraction": "valid in lowest bucket",
                                                    "n_correct": "correct in lowest bucket"}), on="model", how="left")
    headline = headline.sort_values("model", key=lambda s: s.map(model_order)).reset_index(drop=True)
    by_bucket = by_bucket.sort_values("model", key=lambda s: s.map(model_order), kind="stable").reset_index(drop=True)
    return ValidityStudy(by_bucket, headline, bucket_labels(params.pass_rate_bins)[0],
                         tuple(m["name"] for m in params.models_with_role("base")))


# --- Horizon (organism) ---------------------------------------------------------

@dataclass
class HorizonStudy:
    points: pd.DataFrame  # model, k, n_steps, pass_at_k, ci_low, ci_high
    fits: pd.DataFrame  # model, k, h50, scale, floor, ci_low, ci_high, extrapolated, ...
    comparisons: pd.DataFrame  # base − RL horizon per RL model and k, paired bootstrap CI
    headline: pd.DataFrame


def horizon_from_counts(rows: pd.DataFrame, ks: list[int], n_boot: int = 1000, ci: float = 0.95,
                        fit_boot: int = 200, chance: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, fits) from counts with an `n_steps` column: mean pass@k per
    step count with bootstrap CIs, and a logistic horizon fit over problems
    above the chance floor 1 - (1 - chance)^k, for every model and k. The
    fits' `boot` column holds the bootstrap replicates of h50; problems are
    ordered by id, so the replicates of two models on the same problems are
    paired."""
    from .horizon import chance_floor, horizon_fit

    points, fits = [], []
    for model, g in rows.groupby("model", sort=False):
        g = g.sort_values("problem_id").reset_index(drop=True)
        per_problem = metrics.pass_at_k(g["n"].to_numpy(), g["c"].to_numpy(), ks)  # (problems, len(ks))
        for j, k in enumerate(ks):
            for n_steps, idx in g.groupby("n_steps").groups.items():
                mean, lo, hi = metrics.bootstrap_mean_ci(per_problem[np.asarray(idx), j], n_boot, ci)
                points.append({"model": model, "k": k, "n_steps": n_steps, "problems": len(idx),
                               "pass_at_k": float(mean[0]), "ci_low": float(lo[0]), "ci_high": float(hi[0])})
            fit = horizon_fit(g["n_steps"].to_numpy(), per_problem[:, j], n_boot=fit_boot, ci=ci,
                              floor=chance_floor(chance, k))
            fits.append({"model": model, "k": k, **fit.as_dict(), "boot": np.asarray(fit.boot),
                         "problem_ids": tuple(g["problem_id"])})
    return pd.DataFrame(points), pd.DataFrame(fits)


def horizon_comparisons(params: Params, fits: pd.DataFrame) -> pd.DataFrame:
    """base − RL 50 % horizon for every RL model at every k, with a paired
    percentile CI from the two fits' bootstrap replicates (same problems
    resampled in both)."""
    rows = []
    by = fits.set_index(["model", "k"])
    for entry in params.models_with_role("rl"):
        base = params.base_of(entry)["name"]
        for k in sorted(fits["k"].unique()):
            if (base, k) not in by.index or (entry["name"], k) not in by.index:
                continue
            b, r = by.loc[(base, k)], by.loc[(entry["name"], k)]
            if b["problem_ids"] != r["problem_ids"]:
                raise UserError(f"{base} and {entry['name']} were evaluated on different problems.",
                                "sample both on the same benchmark and limit.")
            boot = np.asarray(b["boot"]) - np.asarray(r["boot"])
            boot = boot[np.isfinite(boot)]
            alpha = (1 - params.ci_level) / 2
            low, high = np.quantile(boot, [alpha, 1 - alpha]) if boot.size else (np.nan, np.nan)
            rows.append({"model": entry["name"], "base": base, "k": int(k), "diff": b["h50"] - r["h50"],
                         "ci_low": float(low), "ci_high": float(high),
                         "extrapolated": bool(b["extrapolated"] or r["extrapolated"]),
                         "base_horizon": b["horizon"], "horizon": r["horizon"]})
    return pd.DataFrame(rows, columns=["model", "base", "k", "diff", "ci_low", "ci_high", "extrapolated",
                                       "base_horizon", "horizon"])


def horizon_study(params: Params) -> HorizonStudy:
    """pass@k against the number of reasoning steps, and the 50 % horizon
    (logistic fit over problems above the chance floor of a guesser that is
    right with probability `horizon_chance`) for every model and k in
    horizon_ks; base − RL horizon differences at each k."""
    rows = counts(verdicts(params))
    steps_of = {}
    for bench in params.benchmarks:
        for p in benchmark(params, bench).problems:
            if "n_steps" not in p.metadata:
                raise UserError(f"benchmark {bench} has no n_steps per problem.", "use an organism benchmark here.")
            steps_of[(bench, p.id)] = p.metadata["n_steps"]
    rows["n_steps"] = [steps_of[(b, str(p))] for b, p in zip(rows["benchmark"], rows["problem_id"])]
    rows = _pooled(rows)  # several benchmarks: one set of problems, ids kept unique
    points, fits = horizon_from_counts(rows, list(params.horizon_ks), params.bootstrap, params.ci_level,
                                       fit_boot=min(params.bootstrap, 200), chance=params.horizon_chance)
    comparisons = horizon_comparisons(params, fits)
    fits = fits.drop(columns=["boot", "problem_ids"])
    fits.insert(1, "role", fits["model"].map(roles(params)))
    headline = fits[["model", "role", "k", "floor", "horizon", "status"]].rename(
        columns={"horizon": "50% horizon in steps [CI]", "floor": "chance floor"})
    return HorizonStudy(points, fits, comparisons, headline)


# --- Figure 6: perplexity under the base model ------------------------------------

@dataclass
class PerplexityStudy:
    scores: pd.DataFrame  # perplexity.COLUMNS per scored response
    long: pd.DataFrame  # scorer, source, variant, perplexity (for the boxplots)
    headline: pd.DataFrame  # median perplexity per scorer, source and variant
    note: str
    gaps: pd.DataFrame = None  # RL vs base responses under the scoring model, paired over problems


def perplexity_gaps(scores: pd.DataFrame, scorer: str, n_boot: int = 1000, ci: float = 0.95) -> pd.DataFrame:
    """Per benchmark: mean over problems of [mean log PPL of RL responses − mean
    log PPL of base responses], both under `scorer`, with a bootstrap CI over
    the problems that have responses of both (paired); also the same difference
    without tokens copied from the prompt (no CI). exp(diff) is the ratio of
    geometric-mean perplexities."""
    rows = []
    mine = scores[scores["scorer"] == scorer]
    for bench, g in mine.groupby("benchmark", sort=False):
        def per_problem(column):
            ok = g[np.isfinite(g[column]) & (g[column] > 0)]
            logs = ok.assign(log_ppl=np.log(ok[column]))
            wide = logs.groupby(["problem_id", "source"])["log_ppl"].mean().unstack("source")
            if not {"rl", "base"} <= set(wide.columns):
                return pd.Series(dtype=float)
            return (wide["rl"] - wide["base"]).dropna().sort_index()
        d, d_excl = per_problem("ppl"), per_problem("ppl_excl_copied")
        if d.empty:
            continue
        mean, low, high = metrics.bootstrap_mean_ci(d.to_numpy(), n_boot, ci)
        rows.append({"scorer": scorer, "benchmark": bench, "problems": len(d), "diff": float(mean[0]),
                     "ci_low": float(low[0]), "ci_high": float(high[0]), "ppl_ratio": float(np.exp(mean[0])),
                     "diff_excl_copied": float(d_excl.mean()) if len(d_excl) else float("nan")})
    return pd.DataFrame(rows, columns=["scorer", "benchmark", "problems", "diff", "ci_low", "ci_high", "ppl_ratio",
                                       "diff_excl_copied"])


def _first_responses(params: Params, entry: dict, bench_name: str) -> pd.DataFrame:
    """The first `responses_per_problem` stored samples of a model (sampled if missing)."""
    from .study import sample_run

    from .imports.references import is_run_ref, resolve_run
    from .store import RunStore

    settings = sampling_settings(params, bench_name, entry)
    if is_run_ref(entry["path"]):  # an imported run (its text; a counts run says it has none)
        store = RunStore(resolve_run(entry["path"], entry["name"], bench_name, params.seeds[0]))
    else:
        store = sample_run(model_spec(params, entry, bench_name), bench_name, settings, seed=params.seeds[0],
                           backend=params.backend, data_dir=params.data_dir, limit=params.limit, progress=False)
    rows = store.samples(columns=["problem_id", "sample_idx", "text", "token_ids"])
    return rows[rows["sample_idx"] < params.responses_per_problem].reset_index(drop=True)


def reference_solution(kind: str, problem) -> str | None:
    """A written-out correct solution, where the benchmark has one: the
    organism's clean step-by-step trace, or a dataset's `solution` field."""
    if kind == "organism":
        from .organism.benchmark import lock_problem
        from .organism.task import clean_trace

        return clean_trace(lock_problem(problem))
    return problem.metadata.get("solution") or None


def perplexity_study(params: Params) -> PerplexityStudy:
    """PPL under the scoring (base) model of base, RL, teacher and ground-truth
    responses, PPL of RL responses under the RL model itself, each with all
    response tokens and without the tokens copied from the prompt.
    Scores are cached under outputs/cache/perplexity, keyed by everything that changes them."""
    from .perplexity import Scorer, score_samples
    from .prompts import get_template, render_prompt

    scorer_entry = params.model(params.scoring_model) if params.scoring_model else params.models_with_role("base")[0]
    _, rl_name = base_and_rl(params)
    rl_entry = params.model(rl_name)
    sources = [scorer_entry, rl_entry] + params.models_with_role("teacher")
    backend = "hf" if params.backend == "hf" else "vllm"
    frames, notes = [], []
    for bench_name in params.benchmarks:
        bench = benchmark(params, bench_name)
        # Who scores what: the scoring model scores every source; the RL model its own responses.
        plan = [(scorer_entry, [(m, _first_responses(params, m, bench_name)) for m in sources])]
        plan.append((rl_entry, [(rl_entry, _first_responses(params, rl_entry, bench_name))]))
        for scoring, jobs in plan:
            spec = model_spec(params, scoring)
            tokenizer = None
            if get_template(scoring["template"]).needs_tokenizer:
                from .models import load_tokenizer

                tokenizer = load_tokenizer(spec)
            prompts = {p.id: render_prompt(p, scoring["template"], tokenizer) for p in bench.problems}
            truth = pd.DataFrame([{"problem_id": p.id, "sample_idx": 0, "text": reference_solution(bench.kind, p)}
                                  for p in bench.problems if reference_solution(bench.kind, p)])
            if scoring is scorer_entry and params.include_ground_truth:
                if len(truth):
                    jobs = jobs + [(None, truth)]
                else:
                    notes.append(f"{bench_name} has no reference solutions: no ground-truth box")
            cached = _ppl_cache_get(params, bench_name, spec, jobs)
            if cached is not None:
                frames.append(cached)
                continue
            scorer_obj = Scorer(spec, backend=backend)
            try:
                scored = [score_samples(rows, prompts, spec, source=(m["role"] if m else "ground_truth"),
                                        scorer=scoring["name"], min_copy_len=params.copy_min_tokens, scorer_obj=scorer_obj)
                          .assign(benchmark=bench_name, model=(m["name"] if m else "ground truth"))
                          for m, rows in jobs]
            finally:
                scorer_obj.close()
            result = pd.concat(scored, ignore_index=True)
            _ppl_cache_put(params, bench_name, spec, jobs, result)
            frames.append(result)
    scores = pd.concat(frames, ignore_index=True)
    long = pd.concat([
        scores.assign(variant="all tokens", perplexity=scores["ppl"]),
        scores.assign(variant="without prompt copies", perplexity=scores["ppl_excl_copied"]),
    ], ignore_index=True)
    long = long[np.isfinite(long["perplexity"])]
    headline = (long.groupby(["scorer", "source", "variant"], sort=False)["perplexity"]
                .agg(median="median", responses="size").reset_index())
    gaps = perplexity_gaps(scores, scorer_entry["name"], params.bootstrap, params.ci_level)
    return PerplexityStudy(scores, long[["benchmark", "scorer", "source", "model", "variant", "perplexity"]],
                           headline, "; ".join(notes), gaps)


def _ppl_cache_path(params: Params, bench_name: str, spec, jobs) -> Path:
    import hashlib
    import json

    from .paths import cache_dir

    # "response_ids": how response tokens are chosen (stored generated ids where they match); a change re-scores.
    ident = {"benchmark": bench_name, "limit": params.limit, "scorer": [spec.name, spec.path, spec.template],
             "response_ids": "stored-if-exact-v1",
             "min_copy": params.copy_min_tokens, "backend": params.backend,
             "sources": [[m["name"] if m else "ground truth",
                          hashlib.sha256(pd.util.hash_pandas_object(rows[["problem_id", "sample_idx", "text"]],
                                                                    index=False).values.tobytes()).hexdigest()]
                         for m, rows in jobs]}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / "perplexity" / f"{spec.name}-{bench_name.replace(':', '_')}-{key}.parquet"


def _ppl_cache_get(params, bench_name, spec, jobs):
    path = _ppl_cache_path(params, bench_name, spec, jobs)
    return pd.read_parquet(path) if path.exists() else None


def _ppl_cache_put(params, bench_name, spec, jobs, frame) -> None:
    path = _ppl_cache_path(params, bench_name, spec, jobs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)  # atomic: a killed run never leaves half a cache file
