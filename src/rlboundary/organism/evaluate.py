"""Evaluate the organism's models on its evaluation split: pass@k, validity, guessing.

    rlboundary organism eval --preset default --seed 0 --n 256
    from rlboundary.organism.evaluate import evaluate_organism
    result = evaluate_organism("default", 0, n=256)
    result["passk"], result["validity"], result["guessing"]

For each model: n samples per evaluation problem with vLLM at the paper's
settings (temperature 0.6, top-p 0.95; `temperature=` / `--temperature` for another,
the atlas's temperature arm), every sample checked step by step
(`validity.trace_verdict`); pass@k (unbiased estimator, bootstrap CIs over
problems) from `rlboundary.metrics`; the share of correct answers whose
trace is fully valid by per-problem pass-rate bucket (the same function the
CoT-validity notebook uses); and the guessability baseline. Per-sample rows
are cached as Parquet under `paths.cache_dir()/organism-eval/`, so a second
call only samples models it has not seen. `passk_valid` is the same table
counting a sample only when its answer is right AND every step of its trace
is valid: pass@k with lucky guesses removed.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import UserError
from ..models import weights_digest

PASS_RATE_EDGES = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
EVAL_TEMPERATURE = 0.6  # the study's sampling temperature (the paper's); top-p 0.95


def cache_name(model_name: str, digest: str, n: int, seed: int, temperature: float) -> str:
    """A cached sample file's name; the default temperature keeps the name it always had."""
    t = "" if temperature == EVAL_TEMPERATURE else f"-T{temperature:g}"
    return f"{model_name}-{digest}-n{n}-seed{seed}{t}.parquet"


def _sample_rows(model_name: str, sampler, problems, n: int, max_tokens: int, seed: int, cache: Path,
                 digest: str, temperature: float = EVAL_TEMPERATURE):
    import pandas as pd
    from filelock import FileLock

    path = cache / cache_name(model_name, digest, n, seed, temperature)
    if path.is_file():
        return pd.read_parquet(path)
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # atlas units side by side may want the same model's samples
        if path.is_file():
            return pd.read_parquet(path)
        return _sample_rows_unlocked(model_name, sampler, problems, n, max_tokens, seed, path, temperature)


def _sample_rows_unlocked(model_name, sampler, problems, n, max_tokens, seed, path, temperature):
    import pandas as pd

    from .benchmark import lock_problem
    from .validity import trace_verdict

    t0 = time.perf_counter()
    texts = sampler().sample([p.metadata["question"] for p in problems], n=n, temperature=temperature, top_p=0.95,
                             max_tokens=max_tokens, seed=seed)
    seconds = time.perf_counter() - t0
    rows = []
    for p, outs in zip(problems, texts):
        lp = lock_problem(p)
        for i, t in enumerate(outs):
            v = trace_verdict(lp, t)
            rows.append({"model": model_name, "benchmark": "organism", "problem_id": p.id, "sample_idx": i,
                         "n_steps": p.metadata["n_steps"], "text": t, "verdict": "correct" if v["correct"] else "incorrect",
                         **v})
    df = pd.DataFrame(rows)
    df.attrs["sampling_seconds"] = seconds
    tmp = path.with_suffix(".tmp")
    df.to_parquet(tmp)
    tmp.rename(path)
    return df


def eval_cache(preset: str, seed: int) -> Path:
    """Where the evaluation samples of one build seed's models are cached (keyed by weights)."""
    from .. import paths

    return paths.cache_dir() / "organism-eval" / f"{preset}-seed{seed}"


def sample_models(models: dict[str, str], problems, cache: Path, n: int, max_tokens: int, eval_seed: int = 0,
                  temperature: float = EVAL_TEMPERATURE, guess_n: int = 0, log=print):
    """Per-sample rows (every sample checked step by step) of each model {name: path} on `problems`,
    cached under `cache` by name, weights, n, seed and temperature; and, with guess_n, each model's
    guessability. Returns (rows DataFrame, guess rows)."""
    import pandas as pd

    from .benchmark import lock_problem
    from .generation import OrganismSampler
    from .validity import guessability

    frames, guesses = [], []
    for name, path in models.items():
        log(f"[eval] {name}: {len(problems)} problems x n={n} at T={temperature:g}")
        engine = []  # started on first need, shared by sampling and guessing

        def sampler(path=path):
            if not engine:
                engine.append(OrganismSampler(path, seed=eval_seed))
            return engine[0]

        frames.append(_sample_rows(name, sampler, problems, n, max_tokens, eval_seed, cache, weights_digest(path),
                                   temperature))
        if guess_n:
            g = guessability(path, [lock_problem(q) for q in problems], guess_n, seed=eval_seed,
                             sampler=sampler(), temperature=temperature)
            guesses.append({"model": name, **g})
        if engine:
            engine[0].close()
    return pd.concat(frames, ignore_index=True), guesses


def study_store_rows(params, names: list[str]):
    """Per-sample rows of the `params.models` entries named `names` from the study's run store, each
    text checked step by step, in `sample_models`' columns: `organism_reach`'s main set with
    `sample_source: study` (one build seed, no panels; `organism-eval`, the default, samples through
    `sample_models` and its cache instead).

    The runs are those `figures.graded_runs` gives the pass@k notebooks (same model entries, sampling
    settings and seed, so the same run directories): sampled only where not stored yet, and only the
    first n samples of a run another notebook sampled to a larger n. Why: in the default report the
    distillation and pass@k notebooks sample five of the reach comparison's six models at its n on the
    same problems, so the report reads their runs instead of sampling those models a second time
    through the evaluation cache (README, "Build and report times")."""
    import pandas as pd

    from ..figures import benchmark, graded_runs
    from ..store import RunStore
    from .benchmark import lock_problem
    from .validity import trace_verdict

    frames = []
    for bench_name in params.benchmarks:
        problems = {p.id: (lock_problem(p), p.metadata["n_steps"]) for p in benchmark(params, bench_name).problems}
        for run in graded_runs(params, models=names, benchmarks=[bench_name]):
            texts = RunStore(run.run_dir).samples(["problem_id", "sample_idx", "text"], max_n=run.n)
            rows = []
            for pid, idx, text in zip(texts["problem_id"], texts["sample_idx"], texts["text"]):
                lock, n_steps = problems[pid]
                v = trace_verdict(lock, text)
                rows.append({"model": run.model["name"], "benchmark": bench_name, "problem_id": pid,
                             "sample_idx": int(idx), "n_steps": n_steps, "text": text,
                             "verdict": "correct" if v["correct"] else "incorrect", **v})
            frames.append(pd.DataFrame(rows))
    return pd.concat(frames, ignore_index=True)


def evaluate_organism(preset: str = "default", seed: int = 0, n: int = 256, names: list[str] | None = None,
                      ks: tuple[int, ...] = (1, 16, 256), guess_n: int = 64, eval_seed: int = 0, log=print,
                      temperature: float = EVAL_TEMPERATURE) -> dict:
    """pass@k table, validity by pass-rate bucket and guessability for the organism's models,
    sampled at `temperature` (the guessability baseline too)."""
    import pandas as pd

    from .. import metrics
    from ..figures import validity_by_pass_rate
    from .benchmark import load_problems
    from .build import ensure_organism
    from .presets import get_preset

    models = ensure_organism(preset, seed, log=log)
    problems = load_problems("eval", preset=preset, seed=eval_seed)
    names = names or [m["name"] for m in models.manifest["models"] if m["role"] != "rl" or m.get("final")]
    rows, guesses = sample_models({name: models[name] for name in names}, problems, eval_cache(preset, seed),
                                  n=n, max_tokens=get_preset(preset).max_completion_tokens(), eval_seed=eval_seed,
                                  temperature=temperature, guess_n=guess_n, log=log)
    rows["correct_valid"] = rows["correct"] & rows["trace_valid"]

    def counts_of(column: str):
        return (rows.groupby(["model", "benchmark", "problem_id"], sort=False)
                .agg(n=("correct", "size"), c=(column, "sum")).reset_index())

    counts = counts_of("correct")
    # The same estimator, counting a sample only when its whole trace checks:
    # pass@k with lucky guesses taken out (exact, only the organism can do it).
    counts_valid = counts_of("correct_valid")
    ks = [k for k in ks if k <= n]
    passk = metrics.pass_at_k_curve(counts, ks=ks)
    passk_valid = metrics.pass_at_k_curve(counts_valid, ks=ks)
    if rows["correct"].any():
        validity, _ = validity_by_pass_rate(rows, PASS_RATE_EDGES)
    else:  # no correct answer anywhere: no bucket has anything to show
        validity = pd.DataFrame(columns=["model", "bucket", "problems", "n_correct", "valid_fraction", "ci_low",
                                         "ci_high"])
    overall = rows[rows["correct"]].groupby("model", sort=False)["trace_valid"].mean().rename("valid_among_correct")
    return {"passk": passk, "passk_valid": passk_valid, "validity": validity, "valid_overall": overall.reset_index(),
            "guessing": pd.DataFrame(guesses), "rows": rows, "counts": counts}


NULL_MODEL = "base-resampled"
# The null control's sampling seed: the base's own weights, sampled again with other random numbers on
# the same problems. Judged by the same rule against the base, it shows what sampling noise alone does
# to per-problem luck-free reach (a model identical to the base must not "extend" it).
NULL_SAMPLING_SEED = 1_000_003
# A second copy of the base, sampled only on the confirmation panel: judged by the confirmation rule
# against the base and the null control it is a model the paper's claim is true of (the negative
# control: the rule should call it "supported" about as often as the power simulation says).
NULL2_MODEL = "base-resampled-2"
NULLS = (NULL_MODEL, NULL2_MODEL)
REACH_MODELS = ("base", "rl-grpo", "rl-dr_grpo", "rl-rloo", "rl-dapo", "rft", "distilled-matched", "distilled",
                "teacher", NULL_MODEL, NULL2_MODEL)
# (those a build has; the default build trains GRPO and RLOO). The stronger teacher is the positive
# control: its training-split reach at the frontier is above the base's on every seed, so the rule
# should say "extends" for it; if it does not, the comparison cannot see a gain of that size.


def panel_cache(preset: str, seed: int, level: int, count: int, start: int = 0) -> Path:
    """Where one build's samples of the frontier panel (or, with `start`, the confirmation
    panel) are cached (beside the main set's)."""
    return eval_cache(preset, seed) / (f"panel-s{level}-{count}" if not start else f"panel-s{level}-{start}-{start + count}")


def independent_seed(model_name: str, eval_seed: int = 0) -> int:
    """The confirmation panel's sampling seed of one model: its own random stream.

    On the main set and the frontier panel every model is sampled with the base's seeds, so a
    post-trained model close to the base repeats some of its samples word for word (common random
    numbers; 2-20 % of an RL model's samples at the frontier), which hides sampling churn that the
    null control, sampled with other seeds, shows. On the confirmation panel every model, the base
    and both nulls included, gets its own stream, so the null calibrates the others' gains.
    Offsets are multiples of 1_000_003 (not a multiple of 7919, the per-question stride of
    `generation.question_seed`), keyed by the name's CRC, so they do not depend on which models run."""
    import zlib

    return eval_seed + 1_000_003 * (10 + zlib.crc32(model_name.encode()) % 2000)


def confirmation_start(count: int, draw: int, first: int) -> int:
    """Where confirmation draw `draw` of `count` problems starts in the panel stream (after the
    frontier panel's `first` problems, so never a problem already looked at)."""
    return first + (draw - 1) * count


def confirmation_problems(preset: str, seed: int, level: int, count: int, draw: int, first: int,
                          eval_seed: int = 0) -> list:
    """Confirmation draw `draw`'s problems at `level` (build seed `seed` is only named in the error)."""
    from .benchmark import load_panel

    start = confirmation_start(count, draw, first)
    problems = load_panel(level, count, preset=preset, seed=eval_seed, start=start)
    if len(problems) < count:  # a small level's evaluation problems are all used up
        raise UserError(f"seed {seed}'s frontier level {level} has {len(problems)} evaluation problems left after "
                        f"the main set and the panel stream's first {start}, fewer than confirm={count}.",
                        f"pass --confirm {len(problems)} or fewer" +
                        (" (or 0: no confirmation panel)." if len(problems) else
                         " (an earlier draw), or 0: no confirmation panel at this level."))
    return problems


def confirmation_sampling_seed(model_name: str, count: int, draw: int, first: int, eval_seed: int = 0) -> int:
    """The sampling seed of one model on confirmation draw `draw`: its own stream (`independent_seed`),
    question i getting the seed of its place in the whole confirmation stream, so later draws do not
    reuse the first draw's random numbers (and the first draw's samples stay what they were)."""
    from .generation import question_seed

    return independent_seed(model_name, eval_seed) + question_seed(0, confirmation_start(count, draw, first) - first)


def _confirmation_frames(sample, weights: dict, preset: str, seed: int, level: int, count: int, draw: int,
                         first: int, eval_seed: int, log, problems: list | None = None) -> list:
    """One build's samples of confirmation draw `draw`: the panel stream's problems
    first + (draw - 1) * count onwards (after the frontier panel's `first`, so never problems already
    looked at), every model in `weights` ({name: path}) on its own random stream."""
    if problems is None:
        problems = confirmation_problems(preset, seed, level, count, draw, first, eval_seed)
    log(f"[eval] seed {seed}: confirmation panel (draw {draw}), {len(problems)} fresh problems at level {level}, "
        f"an independent random stream per model")
    cache = panel_cache(preset, seed, level, count, start=confirmation_start(count, draw, first))
    return [sample({name: path}, problems, cache, confirmation_sampling_seed(name, count, draw, first, eval_seed))
            .assign(panel=True, confirmation=True) for name, path in weights.items()]


def _panel_sampler(p, n: int, temperature: float, log):
    """sample(weights, problems, cache, sampling_seed) -> per-sample rows, at preset `p`'s settings."""
    def sample(which: dict, problems, cache: Path, sampling_seed: int):
        rows, _ = sample_models(which, problems, cache, n=n, max_tokens=p.max_completion_tokens(),
                                eval_seed=sampling_seed, temperature=temperature, log=log)
        return rows

    return sample


def confirmation_frames_for(weights: dict, preset: str, seed: int, level: int, count: int, draw: int, n: int,
                            temperature: float = EVAL_TEMPERATURE, eval_seed: int = 0, log=print,
                            problems: list | None = None):
    """Per-sample rows of every model in `weights` ({name: path}) on confirmation draw `draw` at `level`
    (the atlas's arms use it; `evaluate_seeds` samples the same panels for the organism's models);
    `problems`: the draw's problems when the caller has them already (`confirmation_problems`)."""
    import pandas as pd

    from .presets import get_preset

    p = get_preset(preset)

    sample = _panel_sampler(p, n, temperature, log)

    return pd.concat(_confirmation_frames(sample, weights, preset, seed, level, count, draw, first=p.frontier_panel,
                                          eval_seed=eval_seed, log=log, problems=problems), ignore_index=True)


def _seed_models(preset: str, seed: int, names: list[str] | None, log):
    """One build's models for `evaluate_seeds`: (models, frontier level, the names wanted, those the
    build has). A model asked for by name that the build lacks is refused, never dropped silently (the
    default list, REACH_MODELS, keeps what a build has)."""
    from .build import ensure_organism

    models = ensure_organism(preset, seed, log=log)
    missing = [m for m in (names or ()) if m not in models and m not in NULLS]
    if missing:
        raise UserError(f"seed {seed}'s {preset} build has no model {missing[0]!r}.",
                        f"use models every seed has: {', '.join(m['name'] for m in models.manifest['models'])} "
                        f"(or {NULL_MODEL} / {NULL2_MODEL}, the null controls).")
    wanted = names or REACH_MODELS
    return models, models.manifest["frontier"]["frontier"], wanted, [m for m in wanted if m in models]


def _confirmation_weights(models, chosen: list[str], wanted) -> dict:
    """{name: weights} of every model sampled on a confirmation draw: the chosen ones and the null
    controls asked for (the base's weights on their own random streams)."""
    return {**{m: models[m] for m in chosen}, **{z: models["base"] for z in NULLS if z in wanted}}


def confirmation_draw_reach(preset: str = "default", seeds: tuple[int, ...] = (0, 1, 2), n: int = 256,
                            names: list[str] | None = None, confirm: int | None = None, draw: int = 2,
                            panel: int | None = None, eval_seed: int = 0, log=print,
                            temperature: float = EVAL_TEMPERATURE):
    """The reach comparison on one confirmation draw alone: what `evaluate_seeds(..., confirm_draw=draw)`
    gives on its confirmation endpoint (the same samples, cache and rule), without the main set.
    The organism_reach notebook reads replication draws with it (`reach.replicated_claim`)."""
    import pandas as pd

    from .presets import get_preset
    from .reach import per_problem, reach_table

    p = get_preset(preset)
    panel = p.frontier_panel if panel is None else panel
    confirm = p.confirmation_panel if confirm is None else confirm
    if confirm < 1 or draw < 1:
        raise UserError(f"confirm={confirm}, draw={draw}: a confirmation draw needs both >= 1.",
                        "pass confirm=32 (problems per seed) and draw=1, 2, ...")

    sample = _panel_sampler(p, n, temperature, log)

    frames, frontier = [], {}
    for s in seeds:
        models, frontier[s], wanted, chosen = _seed_models(preset, s, names, log)
        frames += [f.assign(seed=s) for f in _confirmation_frames(
            sample, _confirmation_weights(models, chosen, wanted), preset, s, frontier[s], confirm, draw,
            first=max(panel, p.frontier_panel), eval_seed=eval_seed, log=log)]
    table = per_problem(pd.concat(frames, ignore_index=True), n)
    return reach_table(table, frontier, p.unseen_level, null=NULL_MODEL).assign(draw=draw)


def evaluate_seeds(preset: str = "default", seeds: tuple[int, ...] = (0, 1, 2), n: int = 256,
                   names: list[str] | None = None, eval_seed: int = 0, log=print,
                   temperature: float = EVAL_TEMPERATURE, panel: int | None = None, confirm: int | None = None,
                   confirm_draw: int = 1, study_params=None) -> dict:
    """Every seed's organism on the same evaluation problems; the pre-registered reach comparison
    (every model sampled at `temperature`: the atlas's temperature arm uses 1.0).

    `panel` (default: the preset's `frontier_panel`) more evaluation problems at each seed's frontier
    level (`benchmark.load_panel`) join that seed's frontier endpoint in the reach comparison; the
    per-level table stays on the main set, so its levels are alike for every seed.

    `confirm` (default: the preset's `confirmation_panel`) problems more at each seed's frontier, the panel stream's next ones after the frontier
    panel's (fresh problems), are sampled with an independent random stream per model
    (`independent_seed`), both null controls included, and judged by the confirmation rule
    (`reach.confirmation_claim`, the session-13 amendment): rows carry `confirmation`. `confirm_draw`
    d takes the stream's d-th block of `confirm` problems after the frontier panel (a replication on
    problems no earlier draw used).

    Returns {"levels": per model x level pass@1 / luck-free pass@1 / pass@n / luck-free pass@n with CIs
    over seeds and problems, "reach": each model vs the base at the frontier and unseen levels with the
    rule's verdict (`reach.py`), "frontier": {seed: level}, "unseen": level, "per_problem", "rows"}.

    `study_params` (an organism_reach notebook's parameters with `sample_source: study`): the main set's
    samples are read from the study's run store (`study_store_rows`) for the one build seed those
    parameters' models resolve to, instead of the evaluation cache; no panels, no null control."""
    import pandas as pd

    from .benchmark import load_panel, load_problems
    from .presets import get_preset
    from .reach import level_table, per_problem, reach_table

    p = get_preset(preset)
    panel = p.frontier_panel if panel is None else panel
    confirm = p.confirmation_panel if confirm is None else confirm
    if panel < 0:
        raise UserError(f"panel={panel} is negative.", "pass 0 (no frontier panel) or a positive count, e.g. 32.")
    if confirm < 0:
        raise UserError(f"confirm={confirm} is negative.", "pass 0 (no confirmation panel) or a positive count, e.g. 32.")
    if confirm_draw < 1:
        raise UserError(f"confirm_draw={confirm_draw} is not a draw number.",
                        "pass 1 (the first confirmation draw), 2 for a replication on the next problems, ...")
    main = load_problems("eval", preset=preset, seed=eval_seed)  # the same for every build seed
    if study_params is not None:
        check_study_source(study_params, preset, seeds, n, panel, confirm, names)

    sample = _panel_sampler(p, n, temperature, log)

    frames, frontier = [], {}
    for s in seeds:
        models, frontier[s], wanted, chosen = _seed_models(preset, s, names, log)
        if study_params is not None:
            rows = study_store_rows(study_params, chosen)
        else:
            rows = evaluate_organism(preset, s, n=n, names=chosen, guess_n=0, eval_seed=eval_seed, log=log,
                                     temperature=temperature)["rows"]
        frames.append(rows.assign(seed=s, panel=False))
        sets = [(False, main, eval_cache(preset, s))]
        if panel:
            problems = load_panel(frontier[s], panel, preset=preset, seed=eval_seed)
            log(f"[eval] seed {s}: frontier panel, {len(problems)} more problems at level {frontier[s]}")
            cache = panel_cache(preset, s, frontier[s], panel)
            frames.append(sample({name: models[name] for name in chosen}, problems, cache, eval_seed)
                          .assign(seed=s, panel=True))
            sets.append((True, problems, cache))
        if NULL_MODEL in wanted:
            for is_panel, problems, cache in sets:
                frames.append(sample({NULL_MODEL: models["base"]}, problems, cache, eval_seed + NULL_SAMPLING_SEED)
                              .assign(seed=s, panel=is_panel))
        if confirm:
            frames += [f.assign(seed=s) for f in _confirmation_frames(
                sample, _confirmation_weights(models, chosen, wanted), preset, s, frontier[s], confirm,
                confirm_draw, first=max(panel, p.frontier_panel), eval_seed=eval_seed, log=log)]
    rows = pd.concat(frames, ignore_index=True)
    rows["confirmation"] = rows["confirmation"].fillna(False).astype(bool) if "confirmation" in rows else False
    table = per_problem(rows, n)
    unseen = p.unseen_level
    return {"levels": level_table(table[~table["panel"]]),
            "reach": reach_table(table, frontier, unseen, null=NULL_MODEL),
            "frontier": frontier, "unseen": unseen, "per_problem": table, "rows": rows, "n": n,
            "temperature": temperature, "panel": panel, "confirm": confirm, "confirm_draw": confirm_draw}


def check_study_source(params, preset: str, seeds, n: int, panel: int, confirm: int, names) -> None:
    """Refuse what the study's run store cannot give the reach comparison, in one line each."""
    fix = "use sample_source: organism-eval for this (params/organism3/organism_reach.yaml does)."
    if list(seeds) != [params.organism_seed]:
        raise UserError(f"sample_source: study reads one build's runs (organism_seed {params.organism_seed}), "
                        f"but organism_seeds is {list(seeds)}.",
                        f"set organism_seeds: [{params.organism_seed}], or {fix}")
    if panel or confirm or NULL_MODEL in (names or ()):
        raise UserError("sample_source: study has the main evaluation set only: no frontier or confirmation "
                        "panel, no null control.", f"set frontier_panel: 0 and confirmation_panel: 0, or {fix}")
    bench = "organism" if preset == "default" else f"organism:{preset}"  # the problems of load_problems("eval")
    if params.organism_preset != preset or params.n != n or list(params.benchmarks) != [bench] \
            or params.limit is not None or len(params.seeds) != 1 or params.temperature != EVAL_TEMPERATURE:
        raise UserError(f"sample_source: study needs the benchmark {bench} alone (the preset's whole evaluation set), "
                        f"one sampling seed and temperature {EVAL_TEMPERATURE} (the reach rule's).",
                        f"set benchmarks: [{bench}], limit: null, seeds: [0], temperature: {EVAL_TEMPERATURE}, or {fix}")


def format_levels(result: dict) -> str:
    """Per level and model: luck-free pass@1 and pass@n with CIs (plain text)."""
    t, n = result["levels"], result["n"]
    lines = [f"{'level':<6}{'model':<20}{'pass@1':<22}{'luck-free pass@1':<22}{f'pass@{n}':<22}"
             f"{f'luck-free pass@{n}':<22}"]
    for _, r in t.sort_values(["level", "model"]).iterrows():
        cells = "".join(f"{r[c]:.3f} [{r[c + '_lo']:.3f},{r[c + '_hi']:.3f}]".ljust(22)
                        for c in ("pass_at_1", "lf_pass_at_1", "pass_at_n", "lf_pass_at_n"))
        lines.append(f"{int(r.level):<6}{r.model:<20}{cells}")
    return "\n".join(lines)


def format_reach(result: dict) -> str:
    """The pre-registered comparison with its verdicts (plain text)."""
    from .reach import draw_claim, overall_paper_claim, paper_claim

    n = result["n"]
    panel = result.get("panel") or 0
    lines = [f"frontier level per seed: {result['frontier']}; unseen level: {result['unseen']}; "
             f"T = {result.get('temperature', EVAL_TEMPERATURE):g}; frontier panel: "
             + (f"{panel} more problems at each seed's frontier level" if panel else "none"),
             f"{'endpoint':<14}{'model':<20}{f'd luck-free pass@{n}':<26}{'pairs: gains/losses, bounds':<30}"
             f"{'d luck-free pass@1':<26}verdict"]
    for _, r in result["reach"].iterrows():
        d_n = f"{r.d_lf_pass_at_n:+.3f} [{r.d_lf_pass_at_n_lo:+.3f},{r.d_lf_pass_at_n_hi:+.3f}]"
        bounds = (f"{r.pairs}: {r.gains}/{r.losses}, "
                  f"{r.d_lf_pass_at_n_gain_bound:.3f}/{r.d_lf_pass_at_n_loss_bound:.3f}")
        d_1 = f"{r.d_lf_pass_at_1:+.3f} [{r.d_lf_pass_at_1_lo:+.3f},{r.d_lf_pass_at_1_hi:+.3f}]"
        claim = f"  (paper's claim: {r.paper_claim})" if r.paper_claim else ""
        if r.model in NULLS and r.endpoint == "frontier":  # what the claim's rule says of the base itself
            claim = (f"  (null control; the claim's rule on it: "
                     f"{paper_claim(r.d_lf_pass_at_n_lo, r.d_lf_pass_at_n_hi, r.d_lf_pass_at_n_gain_bound)})")
        if r.endpoint == "confirmation":
            if r.model == NULL_MODEL:
                claim = "  (null control: the calibrator)"
            else:
                excess = (f"  excess gain {r.excess_gain:+.3f} [{r.excess_gain_lo:+.3f},{r.excess_gain_hi:+.3f}]"
                          if r.excess_gain == r.excess_gain else "  excess gain: no null control")
                claim = excess + (f"  (paper's claim: {r.paper_claim})" if r.model.startswith("rl-") else
                                  f"  (the confirmation rule on it: {r.confirmation_claim or 'not judged'})")
        lines.append(f"{r.endpoint:<14}{r.model:<20}{d_n:<26}{bounds:<30}{d_1:<26}{r.verdict}{claim}")
    lines.append(f"{NULL_MODEL}: the base's weights sampled again with other random numbers (null control); "
                 f"{NULL2_MODEL}: once more, on the confirmation panel only (negative control).")
    lines.append("gain/loss bound: exact 97.5 % upper bound on the share of (seed, problem) pairs where the model "
                 "gains / loses reach; 'supported' needs the CI's upper end and the gain bound below +0.05.")
    if result.get("confirm"):
        from .reach import CONFIRMATION_MARGIN

        lines.append(f"confirmation (draw {result.get('confirm_draw', 1)}): {result['confirm']} fresh problems per "
                     f"seed at its frontier, an independent "
                     f"random stream per model; excess gain = share of pairs the model gains minus the null "
                     f"control's; 'supported' needs the CI's upper end and the excess gain's below "
                     f"+{CONFIRMATION_MARGIN:.2f} (the margin the power simulation set; rlboundary organism power).")
    if result.get("confirm"):  # read as pre-registered: not read when the positive control failed
        claim, why = draw_claim(result["reach"])
        lines.append(f"the paper's claim (RL does not extend reach), over every RL algorithm, on the confirmation "
                     f"panel (draw {result.get('confirm_draw', 1)}): {claim} ({why})")
    else:
        lines.append(f"the paper's claim (RL does not extend reach), over every RL algorithm, at the frontier: "
                     f"{overall_paper_claim(result['reach'])}")
    return "\n".join(lines)


def format_table(result: dict, key: str = "passk") -> str:
    """A plain-text pass@k table: one row per model, `p [lo, hi]` per k."""
    passk = result[key]
    lines = []
    ks = sorted(passk["k"].unique())
    lines.append("model".ljust(20) + "".join(f"pass@{k}".ljust(24) for k in ks))
    for model, g in passk.groupby("model", sort=False):
        cells = []
        for k in ks:
            r = g[g["k"] == k].iloc[0]
            cells.append(f"{r.pass_at_k:.3f} [{r.ci_low:.3f},{r.ci_high:.3f}]".ljust(24))
        lines.append(model.ljust(20) + "".join(cells))
    return "\n".join(lines)
