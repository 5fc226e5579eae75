"""How long the atlas will take on this machine, predicted before it starts from measured costs.

    rlboundary plan params/atlas/atlas.yaml [--workers 2] [--costs-from OTHER_OUTPUTS_DIR]
    from rlboundary.organism.atlas_plan import plan_atlas
    plan = plan_atlas(["grpo", "rl-at"], "micro", [0], n=8)    # writes outputs/atlas/<preset>/runs/<set>/plan.json

Per unit (arm x seed), what it still has to do, times what that cost when it
was last measured on this machine (never a typed-in speed):

- base / frontier stage: the fastest seconds (`stage.json`) of finished
  stages of the same preset (the organism's builds, the atlas's bases);
  0 where the stage is already stored or can be copied (the stage cache);
  a base shared by several arms is counted once.
- RL: steps x seconds per step, the fastest per step measured on finished
  RL stages of the same preset (same algorithm where there is one, else
  the median of every algorithm's; KL runs priced by KL runs where measured). Steps: a
  run that may stop at the plateau rule is priced at its `min_steps` (the
  default's runs stopped at 60-64 of 240), one that may not (prolonged) at
  its cap. 0 where the RL stage is stored.
- evaluation: samples still to draw (models x problems x n; the base's
  shared by its arms at one temperature; none for a model whose samples the
  organism's evaluation cache holds, e.g. from `rlboundary organism eval`)
  x seconds per sample, the fastest measured on earlier atlas units'
  evaluations, else on the frontier stages' own sampling (seconds / samples
  drawn: vLLM start-up included, same max_tokens).
- units already stored cost 0.

Which measurement prices an input (`_price`): the median of those taken at
the torch thread count the units will run at, where records carry one
(`threads` in stage.json / unit.json, since session 21): equal conditions,
so the central estimate (the fastest of them priced a session-21 part run
1.29x low: evaluation 2.37 ms/sample fastest, 3.61 median). Where none
does, the fastest of all: under unknown conditions a measurement taken while
more work shared the CPUs (two seeds' whole builds side by side, a test
suite beside it) is slower by the share it lost, never faster (session 9:
the median priced the base stage at 646 s from two seeds built side by
side; alone it took 257 s).

With `workers` (the CLI's default: `schedule.default_workers`, what
`rlboundary report --params atlas` runs with) the units are laid out that
many at a time in the order `run_atlas` submits them (`makespan`), each at
its one-after-another price, which, priced from measurements at the units'
thread count (usable cores // workers), is its time beside the others. A fresh outputs directory has measured nothing: `--costs-from
DIR` takes the inputs from another outputs directory of this machine.
`plan.json` keeps the inputs with their
sources, the per-arm rows and the total; `atlas_backends.run_atlas` writes
the measured wall time beside it (`run.json`). Both live in
`outputs/atlas/<preset>/runs/<set>/`, one folder per parameter set (arms,
seeds, n, confirmation panel: `run_set`), so the default report's small atlas
and the whole atlas on the same organism keep their own plans and runs.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from ..errors import UserError


def run_set(arms, seeds, n: int, confirm: int = 0, draw: int = 1, confirm_only: bool = False) -> str:
    """The name of the folder a plan and its run are recorded in: what the parameter set asks for
    (its arms in order, seeds, n and confirmation panel), readable, with a digest of all of it. The
    set asked for, not the units still missing: a resumed run records beside the plan it resumes."""
    import hashlib

    spec = {"arms": list(arms), "seeds": sorted(int(s) for s in seeds), "n": int(n), "confirm": int(confirm),
            "draw": int(draw) if confirm else 1, "confirm_only": bool(confirm_only)}
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    return (f"{len(spec['arms'])}arms-seeds{'_'.join(map(str, spec['seeds']))}-n{n}"
            + (f"-confirm{confirm}d{spec['draw']}" if confirm else "") + ("-confirmonly" if confirm_only else "")
            + f"-{digest}")


def set_dir(preset: str, set_name: str) -> Path:
    """The folder parameter set `set_name` (`run_set`) writes its plan.json and run.json to."""
    from .atlas import atlas_dir

    return atlas_dir(preset) / "runs" / set_name


def run_records(preset: str, set_name: str) -> tuple[Path, Path]:
    """(plan.json, run.json) of parameter set `set_name` (`run_set`). Outputs written before session
    22 kept one pair per preset, directly in outputs/atlas/<preset>/: that pair is read for the set
    its plan was made for, so an older directory still shows its run beside its plan."""
    from .atlas import atlas_dir

    folder = set_dir(preset, set_name)
    legacy = atlas_dir(preset) / "plan.json"
    if not folder.is_dir() and legacy.is_file():
        old = json.loads(legacy.read_text())
        if "arms" in old and set_name == run_set(old["arms"], old["seeds"], old["n"], old.get("confirm", 0),
                                                 old.get("confirm_draw", 1), old.get("confirm_only", False)):
            return legacy, atlas_dir(preset) / "run.json"
    return folder / "plan.json", folder / "run.json"


def plan_before_run(arms, preset: str, seeds, n: int, confirm: int, draw: int, workers: int, log=print) -> str:
    """The set's plan, written before a run of what it lacks (`rlboundary report` and the atlas notebook
    call this), priced from this outputs directory, so the run is compared with a prediction made before
    it. Unless a plan made since the set's last run is waiting for this run (`rlboundary plan`, perhaps
    priced `--costs-from` another directory): that is the prediction, and is kept. Without
    measurements here (a fresh directory), no plan: said, not an error. Returns the set's name
    (`run_set`), which the run is recorded under."""
    name = run_set(arms, seeds, n, confirm, draw)
    plan_file, run_file = run_records(preset, name)
    if plan_file.is_file() and (not run_file.is_file() or run_file.stat().st_mtime < plan_file.stat().st_mtime):
        made = json.loads(plan_file.read_text())
        log(f"[atlas] the plan made before this run ({made.get('created', '?')}): predicted "
            f"{made['predicted_seconds']:.0f} s")
        return name
    try:
        plan = plan_atlas(arms, preset, seeds, n, confirm=confirm, draw=draw, workers=workers)
    except UserError as err:
        log(f"[atlas] no prediction: {err.problem}")
        return name
    log(f"[atlas] plan: predicted {plan['predicted_seconds']:.0f} s with {workers} unit(s) at a time ({name})")
    return name


def _stage_records(preset: str) -> list[tuple[str, dict]]:
    """(stage, record) of every finished stage of `preset` under the outputs directory."""
    from .atlas import atlas_dir
    from .build import STAGE_FILE, organism_dir

    files = [*organism_dir(preset, 0).parent.glob(f"{preset}-seed*/*/{STAGE_FILE}"),
             *atlas_dir(preset).glob(f"seed*/*/*/*/{STAGE_FILE}")]
    found, seen = [], set()
    for path in files:
        record = json.loads(path.read_text())
        # A copied stage (the stage cache) keeps the seconds of the run it copies: one measurement.
        if (path.parent.name, record["seconds"]) not in seen:
            seen.add((path.parent.name, record["seconds"]))
            found.append((path.parent.name, record))
    return found


def _price(measured: list[tuple[float, int | None]], threads: int | None) -> tuple[float, str]:
    """(the price, how it was taken) from (value, thread count) measurements: the median of those
    at `threads` torch threads when any record says so (equal conditions: the median is the
    central estimate; the fastest priced the session-21 part run 1.29x low), else the fastest of
    all (a stage recorded before session 21 carries no thread count; under unknown conditions a
    measurement taken with more load than the run will have is slower, never faster)."""
    if threads is not None:
        same = [v for v, t in measured if t == threads]
        if same:
            return statistics.median(same), f"median of {len(same)} at {threads} torch thread(s)"
    known = sorted({t for _, t in measured if t is not None})
    values = [v for v, _ in measured]
    if threads is None:
        return min(values), f"fastest of {len(values)}, any thread count"
    elsewhere = f"at {', '.join(map(str, known))} thread(s) or unrecorded" if known else "thread counts unrecorded"
    return min(values), f"fastest of {len(values)}; none recorded at {threads} thread(s) ({elsewhere})"


def measured_costs(preset: str, threads: int | None = None) -> dict:
    """The measured inputs: seconds of the base and frontier stages, RL seconds per step
    (per algorithm and KL on/off), evaluation seconds per sample; each with its source.
    `threads`: the torch threads each unit will run at (usable cores // workers); measurements
    at that count are preferred where recorded (a base stage at one thread beside another unit
    took 272-277 s here, at two threads alone 158 s)."""
    from .atlas import atlas_dir

    records = _stage_records(preset)
    by_stage: dict[str, list[tuple[float, int | None]]] = {}
    rl: dict[tuple[str, bool], list[tuple[float, int | None]]] = {}
    sampling: list[tuple[float, int | None]] = []
    for stage, rec in records:
        ran_at = rec.get("threads")
        by_stage.setdefault(stage, []).append((rec["seconds"], ran_at))
        if stage.startswith("rl-"):
            final = next((e for e in rec["entries"] if e.get("final")), None)
            if final and final["step"]:
                rl.setdefault((stage[3:], bool(final.get("beta"))), []).append((rec["seconds"] / final["step"], ran_at))
        if stage == "frontier":
            entry = rec["entries"][0]
            drawn = sum(r.get("samples", r["problems"] * r["n"]) for r in entry["base_reach"].values())
            sampling.append((rec["seconds"] / drawn, ran_at))
    units = []
    for path in atlas_dir(preset).glob("units/*/unit.json"):
        u = json.loads(path.read_text())
        if u.get("eval_samples_sampled"):
            units.append((u["seconds"]["eval"] / u["eval_samples_sampled"], u.get("threads")))
    if not by_stage.get("base") or not by_stage.get("frontier") or not rl:
        raise UserError(f"no measured stage times of the {preset} preset on this machine to predict from.",
                        f"build it once first: rlboundary organism build --preset {preset} --seed 0.")
    base, base_note = _price(by_stage["base"], threads)
    frontier, frontier_note = _price(by_stage["frontier"], threads)
    per_step = {key: _price(v, threads) for key, v in rl.items()}
    per_sample, sample_note = _price(units or sampling, threads)
    return {
        "base_seconds": base,
        "frontier_seconds": frontier,
        "rl_seconds_per_step": {f"{a}{'+kl' if kl else ''}": v for (a, kl), (v, _) in per_step.items()},
        "eval_seconds_per_sample": per_sample,
        "threads": threads,
        "sources": {
            "base": f"{base_note}: finished base stages of {preset} (stage.json seconds)",
            "frontier": f"{frontier_note}: finished frontier stages of {preset}",
            "rl": f"seconds / step per algorithm of finished RL stages of {preset}: "
                  + "; ".join(f"{a}{'+kl' if kl else ''} {note}" for (a, kl), (_, note) in sorted(per_step.items())),
            "eval": f"{sample_note}: " + ("earlier atlas units' evaluation seconds / samples drawn" if units else
                                          "frontier stages' sampling seconds / samples drawn (vLLM start-up included)"),
        },
    }


def _rl_per_step(costs: dict, algo: str, kl: bool) -> tuple[float, str]:
    table = costs["rl_seconds_per_step"]
    for key, note in ((f"{algo}{'+kl' if kl else ''}", "measured"),
                      (algo, "measured without KL: the KL reference pass is not priced" if kl else "measured")):
        if key in table:
            return table[key], note
    return statistics.median(table.values()), f"no {algo} run measured: median of every algorithm's"


def costs_measured_in(outputs: Path, preset: str, threads: int | None = None) -> dict:
    """`measured_costs` read from another outputs directory of this machine (`rlboundary plan
    --costs-from DIR`): a fresh outputs directory has measured nothing yet."""
    from ..machine import environ

    if not Path(outputs).is_dir():
        raise UserError(f"--costs-from {outputs}: no such directory.",
                        "pass an outputs directory of this machine that holds a build of the preset.")
    with environ({"RLBOUNDARY_OUTPUTS": str(Path(outputs).resolve())}):
        costs = measured_costs(preset, threads)
    costs["sources"] = {k: f"{v}, in {outputs}" for k, v in costs["sources"].items()}
    return costs


def makespan(unit_seconds: list[float], workers: int) -> float:
    """Wall seconds of units run `workers` at a time in the given order, each started on the first
    worker to come free (what the process pool and Ray do with the units `run_atlas` submits)."""
    free = [0.0] * max(1, workers)
    for seconds in unit_seconds:
        i = free.index(min(free))
        free[i] += seconds
    return max(free)


def plan_atlas(arms: list[str], preset: str, seeds: list[int], n: int, eval_seed: int = 0,
               write: bool = True, confirm: int = 0, draw: int = 1, confirm_only: bool = False,
               workers: int = 1, costs: dict | None = None) -> dict:
    """The predicted wall seconds of running `arms` x `seeds` now, per arm and in total (see the module
    docstring); with `confirm`, each unit's confirmation panel too (`confirm_s`: base, null and arm
    models x `confirm` problems x n at the measured seconds per sample, none whose samples are cached);
    with `confirm_only`, no main-set evaluation. With `workers` > 1, the wall time of the units run
    that many at a time (`makespan`, each unit at its one-after-another price); `costs`: the measured
    inputs to use (default: this outputs directory's, `measured_costs`)."""
    from ..models import weights_digest
    from .atlas import arm_preset, checkpoint_models, checkpoints_along, get_arm, load_unit, stage_dirs
    from .atlas_backends import unit_threads
    from .atlas_confirm import NULL, load_confirmation
    from .benchmark import load_problems
    from .build import _done, _stage_settings, organism_dir
    from .evaluate import cache_name, confirmation_sampling_seed, confirmation_start, eval_cache, panel_cache
    from .presets import get_preset

    costs = costs or measured_costs(preset, unit_threads(workers))
    problems = len(load_problems("eval", preset=preset, seed=eval_seed))
    rows, counted, notes, unit_seconds = [], set(), set(), []
    for name in arms:
        a = get_arm(name)
        row = {"arm": name, "seeds": len(seeds), "base_s": 0.0, "frontier_s": 0.0, "rl_steps": 0, "rl_s": 0.0,
               "eval_samples": 0, "eval_s": 0.0, "confirm_samples": 0, "confirm_s": 0.0, "seeds_to_run": []}
        for seed in seeds:
            unit_needed = not confirm_only and load_unit(preset, name, seed, n, eval_seed) is None
            confirm_needed = bool(confirm) and load_confirmation(preset, name, seed, n, confirm, draw,
                                                                 eval_seed) is None
            if not (unit_needed or confirm_needed):
                continue
            row["seeds_to_run"].append(seed)
            before = _priced(row)
            p = arm_preset(a, get_preset(preset))
            base_root, run_root = stage_dirs(a, preset, seed)
            sources = [base_root, run_root, organism_dir(preset, seed)]

            def stored(stage: str) -> tuple[Path, dict] | None:
                """(directory holding it, record) of a finished `stage` with the arm's settings."""
                settings = _stage_settings(p, seed, stage)
                return next(((root, r) for root in sources if (r := _done(root, stage, settings))), None)

            def cached(name: str, model_dir: Path) -> bool:
                """Whether the organism's evaluation cache holds this model's samples (any earlier
                evaluation of the same weights: the organism's own `eval`, another arm's unit)."""
                digest = weights_digest(str(model_dir))
                return digest is not None and (eval_cache(preset, seed) / cache_name(
                    name, digest, n, eval_seed, a.temperature)).is_file()

            for stage in ("base", "frontier"):
                key = (stage, base_root)
                if key not in counted and stored(stage) is None:
                    row[f"{stage}_s"] += costs[f"{stage}_seconds"]
                counted.add(key)
            rl = stored(f"rl-{a.algorithm}")
            if rl is None and (f"rl-{a.algorithm}", run_root) not in counted:
                steps = p.rl.min_steps if p.rl.min_steps < p.rl.steps else p.rl.steps
                per_step, note = _rl_per_step(costs, a.algorithm, bool(p.rl.beta))
                notes.add(f"{name}: RL {note}")
                row["rl_steps"] += steps
                row["rl_s"] += steps * per_step
            counted.add((f"rl-{a.algorithm}", run_root))
            if confirm_needed:
                front = stored("frontier")
                first = get_preset(preset).frontier_panel

                def confirm_cached(model: str, model_dir: Path) -> bool:
                    """Whether this model's confirmation samples are cached (frontier level known)."""
                    digest = weights_digest(str(model_dir))
                    if front is None or digest is None:
                        return False
                    level = front[1]["entries"][0]["frontier"]
                    cache = panel_cache(preset, seed, level, confirm, start=confirmation_start(confirm, draw, first))
                    return (cache / cache_name(model, digest, n, confirmation_sampling_seed(
                        model, confirm, draw, first, eval_seed), a.temperature)).is_file()

                base_stored = stored("base")
                arm_model = None if rl is None else rl[0] / next(e for e in rl[1]["entries"] if e.get("final"))["path"]
                wanted = 0 if arm_model is not None and confirm_cached(name, arm_model) else 1
                if ("confirm-base", base_root, a.temperature) not in counted:
                    wanted += sum(base_stored is None or not confirm_cached(m, base_stored[0] / "base")
                                  for m in ("base", NULL))
                counted.add(("confirm-base", base_root, a.temperature))
                row["confirm_samples"] += wanted * confirm * n
                row["confirm_s"] += wanted * confirm * n * costs["eval_seconds_per_sample"]
            if not unit_needed:
                unit_seconds.append(_priced(row) - before)
                continue
            # Models to sample: the base once per (base, temperature), the arm's final model and
            # checkpoints; none whose samples are cached already (a stored RL run's models looked up).
            if rl is None:
                models = a.eval_checkpoints + 1
            else:
                root, record = rl
                final = next(e for e in record["entries"] if e.get("final"))
                rl_models = {f"rl-{a.algorithm}": root / final["path"],
                             **checkpoint_models(a, root, checkpoints_along(record, a.eval_checkpoints))}
                models = sum(not cached(k, Path(v)) for k, v in rl_models.items())
            base = stored("base")
            if (base is None or not cached("base", base[0] / "base")) and \
                    ("eval-base", base_root, a.temperature) not in counted:
                models += 1
            counted.add(("eval-base", base_root, a.temperature))
            row["eval_samples"] += models * problems * n
            row["eval_s"] += models * problems * n * costs["eval_seconds_per_sample"]
            unit_seconds.append(_priced(row) - before)
        row["total_s"] = _priced(row)
        rows.append(row)
    one_after_another = sum(r["total_s"] for r in rows)
    side_by_side = ([f"{workers} units at a time, each at its one-after-another price, in the order they are "
                     "submitted (arm by arm, seed by seed), each to the first worker free"] if workers > 1 else
                    ["units one after another"])
    plan = {"preset": preset, "arms": arms, "seeds": seeds, "n": n, "problems": problems, "rows": rows,
            "confirm": confirm, "confirm_draw": draw, "confirm_only": confirm_only, "workers": workers,
            "unit_seconds": unit_seconds, "one_after_another_seconds": one_after_another,
            "predicted_seconds": makespan(unit_seconds, workers), "inputs": costs, "notes": sorted(notes),
            "assumptions": [*side_by_side, "an RL run that may stop at its plateau rule stops at min_steps",
                            "evaluation seconds per sample as measured (vLLM start-up amortised)"],
            "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    if write:
        path = set_dir(preset, run_set(arms, seeds, n, confirm, draw, confirm_only)) / "plan.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(plan, indent=1))
    return plan


def _priced(row: dict) -> float:
    return row["base_s"] + row["frontier_s"] + row["rl_s"] + row["eval_s"] + row["confirm_s"]


def format_plan(plan: dict) -> str:
    """The plan as a plain-text table with its inputs and their sources."""
    cols = ("arm", "seeds", "base_s", "frontier_s", "rl_steps", "rl_s", "eval_samples", "eval_s", "confirm_s",
            "total_s")
    lines = [f"atlas plan: preset {plan['preset']}, seeds {plan['seeds']}, n {plan['n']}, "
             f"{plan['problems']} evaluation problems (0 where stored already)"
             + (f"; confirmation panel {plan['confirm']} problems, draw {plan['confirm_draw']}"
                + (", no main-set evaluation" if plan.get("confirm_only") else "") if plan.get("confirm") else ""),
             "".join(c.ljust(14) for c in cols)]
    for r in plan["rows"]:
        lines.append("".join((f"{v:.0f}" if isinstance(v := r.get(c, 0.0), float) else str(v)).ljust(14)
                             for c in cols))
    total, workers = plan["predicted_seconds"], plan.get("workers", 1)
    if workers > 1:
        alone = plan["one_after_another_seconds"]
        lines.append(f"predicted wall time: {total:.0f} s ({total / 60:.1f} min) with {workers} units at a time "
                     f"({alone:.0f} s one after another)")
    else:
        lines.append(f"predicted wall time: {total:.0f} s ({total / 60:.1f} min), units one after another")
    c = plan["inputs"]
    lines.append(f"inputs: base {c['base_seconds']:.1f} s, frontier {c['frontier_seconds']:.1f} s, RL s/step "
                 + ", ".join(f"{k} {v:.3f}" for k, v in c["rl_seconds_per_step"].items())
                 + f", evaluation {c['eval_seconds_per_sample'] * 1000:.2f} ms/sample")
    lines += [f"  {k}: {v}" for k, v in c["sources"].items()]
    lines += [f"note: {x}" for x in plan["notes"]] + [f"assumed: {x}" for x in plan["assumptions"]]
    return "\n".join(lines)
