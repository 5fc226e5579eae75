"""The atlas's numbers: per arm and level, Δ(arm − its base) with CIs, each claim's computed verdict.

    from rlboundary.organism.atlas_results import atlas_study
    study = atlas_study(params)     # what notebooks/atlas.py shows (params: the `atlas` notebook's)
    study["grid"], study["claims"], study["curves"], study["plan"]

Reads the units `atlas.run_unit` stored (running the missing ones in this
process first, `ensure_units`). Per arm, the seeds' per-problem tables are
pooled; every number is a mean over seeds of a mean over problems with
`reach.bootstrap_seeds_problems`'s CI (seeds, then problems: one draw shared by seeds on the same problems),
the arm always minus the base of the same seed on the same problems:

- `grid`: per arm and level, Δ luck-free pass@1 and Δ luck-free pass@n
  (n = the largest k) with CIs, `excludes_0` where the pass@n CI does;
- `claims`: per arm at the frontier (each seed's own, `reach.reach_table`):
  both Δs with CIs, the pre-registered rule's verdict (extends / narrows /
  no change), the same verdict Bonferroni-corrected over the arms
  (`verdict_familywise`), and whether the arm's published claim is reproduced, computed
  from the CIs by `atlas.EXPECTATIONS` (never typed in);
- `checkpoints`: the same frontier Δ for the RL checkpoints evaluated along
  the way (prolonged RL);
- `curves`: the training-reward curves, mean over seeds per step;
- `runs`: per arm and seed, RL steps, why it stopped, reward at both ends;
- `bases`: per base (the organism's, or an exposure arm's own), evaluation
  temperature and seed, its frontier and luck-free pass@n per level.
An out-of-distribution arm is judged on the evaluation problems outside its
RL prompts' part of the task only (`in_rl_part` false), base and arm alike.
"""

from __future__ import annotations

import json

import pandas as pd

from .atlas import EQUIVALENCE_MARGIN, get_arm

# How one expectation is decided from a CI (atlas.EXPECTATIONS): (met, contradicted). A "no
# gain" statement (no-gain met; up contradicted) also needs the exact bound on the share of
# pairs that gain below the margin, a "no loss" statement the one on losses (reach.change_bounds):
# at a floor the bootstrap CI is [0, 0] however few the problems.
_RULES = {
    "up": (lambda lo, hi, m, g, l: lo > 0, lambda lo, hi, m, g, l: max(hi, g) < m),
    "down": (lambda lo, hi, m, g, l: hi < 0, lambda lo, hi, m, g, l: min(lo, -l) > -m),
    "no-gain": (lambda lo, hi, m, g, l: max(hi, g) < m, lambda lo, hi, m, g, l: lo > 0),
    "no-loss": (lambda lo, hi, m, g, l: min(lo, -l) > -m, lambda lo, hi, m, g, l: hi < 0),
}
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"


def expectation_outcome(direction: str, lo: float, hi: float, margin: float = EQUIVALENCE_MARGIN,
                        gain_bound: float = 0.0, loss_bound: float = 0.0) -> str:
    """"met", "contradicted" or "undecided" for one expectation, from the CI [lo, hi] of
    (arm − base) and, for 0/1 endpoints, the exact bounds on the shares of pairs that gain / lose."""
    met, contradicted = _RULES[direction]
    if met(lo, hi, margin, gain_bound, loss_bound):
        return "met"
    return "contradicted" if contradicted(lo, hi, margin, gain_bound, loss_bound) else "undecided"


def claim_outcome(outcomes: list[str]) -> str:
    """Reproduced when every expectation is met, not reproduced when any is contradicted, else inconclusive."""
    if "contradicted" in outcomes:
        return NOT_REPRODUCED
    return REPRODUCED if outcomes and all(o == "met" for o in outcomes) else INCONCLUSIVE


def run_missing_side_by_side(params, seeds, count: int, log=lambda *_: None):
    """Trains and samples every unit (and, with `count`, confirmation panel) that `params` needs and the
    outputs lack, `schedule.default_workers` at a time (2 on two CPU cores, 1 with a GPU), as
    `rlboundary organism atlas --workers N` does; returns run_atlas's record, or None when nothing is
    missing. Without it `rlboundary report --params atlas` ran missing units one after another inside
    the notebook, on one core of two. Before it runs, the set's plan (`plan_before_run`)."""
    from .atlas import load_unit
    from .atlas_backends import run_atlas
    from .atlas_confirm import load_confirmation
    from .atlas_plan import plan_before_run
    from .schedule import default_workers

    preset, n, draw = params.organism_preset, params.n, params.get("confirmation_draw", 1)
    missing = [(a, s) for a in params.arms for s in seeds
               if load_unit(preset, a, s, n) is None
               or (count and load_confirmation(preset, a, s, n, count, draw) is None)]
    if not missing:
        return None
    # The arms and seeds with something missing; a stored unit among them is read back, not rerun.
    arms = [a for a in params.arms if a in {m for m, _ in missing}]
    chosen = [s for s in seeds if s in {m for _, m in missing}]
    workers = max(1, min(default_workers(), len(arms) * len(chosen)))
    name = plan_before_run(params.arms, preset, seeds, n, count, draw, workers, log)
    # Recorded under the whole parameter set (its plan's folder), though only what it lacked ran.
    return run_atlas(arms, preset, chosen, n, workers=workers, confirm=count, draw=draw, set_name=name,
                     log=lambda *_: None)


def ensure_units(arms, preset: str, seeds, n: int, eval_seed: int = 0, log=print) -> list[dict]:
    """Every unit's record, running (in this process) the ones not stored yet."""
    from .atlas import load_unit, run_unit

    return [load_unit(preset, a, s, n, eval_seed) or run_unit(a, preset, s, n, eval_seed, log=log)
            for s in seeds for a in arms]


def arm_table(preset: str, arm: str, records: list[dict]) -> pd.DataFrame:
    """The arm's per-problem table over its seeds (base and arm rows), restricted for an OOD arm."""
    from .atlas import unit_dir

    frames = [pd.read_parquet(unit_dir(preset, arm, r["seed"]) / "per_problem.parquet") for r in records]
    table = pd.concat(frames, ignore_index=True)
    if get_arm(arm).signs != "any":
        table = table[~table["in_rl_part"]]
    return table


def _delta(table: pd.DataFrame, model: str, column: str, level: int, n_boot: int) -> tuple[float, float, float]:
    from .reach import per_seed_values, bootstrap_seeds_problems

    return bootstrap_seeds_problems(per_seed_values(table, model, column, level, "base"), n_boot)


def grid_rows(arm: str, table: pd.DataFrame, n_boot: int) -> list[dict]:
    rows = []
    for level in sorted(table["level"].unique()):
        rec = {"arm": arm, "level": int(level)}
        for col in ("lf_pass_at_1", "lf_pass_at_n"):
            m, lo, hi = _delta(table, arm, col, level, n_boot)
            rec.update({f"d_{col}": m, f"d_{col}_lo": lo, f"d_{col}_hi": hi})
        rec["excludes_0"] = rec["d_lf_pass_at_n_lo"] > 0 or rec["d_lf_pass_at_n_hi"] < 0
        rows.append(rec)
    return rows


def claim_row(arm: str, table: pd.DataFrame, records: list[dict], n_boot: int,
              family: int = 1) -> tuple[dict, list[dict]]:
    """The arm's frontier row (Δs, rule verdict, claim outcome) and its checkpoints' rows.

    `family`: how many arms the atlas judges together; `extends_familywise` is the rule's
    "extends" at a Bonferroni-corrected level (CI at 1 - 0.05 / family), so that "k of m arms
    extend reach" does not count the ~m x 2.5 % that extend by chance at 95 % each."""
    from .reach import decide, reach_table

    a = get_arm(arm)
    frontier = {r["seed"]: r["frontier"] for r in records}
    reach = reach_table(table, frontier, records[0]["unseen"], n_boot=n_boot)
    front = reach[reach["endpoint"] == "frontier"].set_index("model") if len(reach) else pd.DataFrame()
    familywise, familywise_lo = "not measured", float("nan")
    if arm in front.index:
        wide = reach_table(table, frontier, records[0]["unseen"], n_boot=n_boot, ci=1 - 0.05 / max(family, 1))
        w = wide[(wide["endpoint"] == "frontier") & (wide["model"] == arm)].iloc[0]
        familywise, familywise_lo = decide(w["d_lf_pass_at_n_lo"], w["d_lf_pass_at_n_hi"]), w["d_lf_pass_at_n_lo"]
        r = front.loc[arm]
        outcomes = [expectation_outcome(direction, r[f"d_{metric}_lo"], r[f"d_{metric}_hi"],
                                        gain_bound=r.get(f"d_{metric}_gain_bound", 0.0),
                                        loss_bound=r.get(f"d_{metric}_loss_bound", 0.0))
                    for metric, direction in a.expect]
    else:  # e.g. an OOD arm whose held-out part has no problem at the frontier level: nothing measured
        r = pd.Series({"seeds": len(records), "verdict": "not measured: no evaluation problem at the frontier",
                       **{f"d_{m}{x}": float("nan") for m in ("lf_pass_at_1", "lf_pass_at_n") for x in ("", "_lo", "_hi")}})
        outcomes = ["undecided" for _ in a.expect]
    row = {"arm": arm, "family": a.family, "claim": a.claim, "citation": a.citation,
           "expected": "; ".join(f"{m.replace('lf_pass_at_', 'Δ luck-free pass@')} {d}" for m, d in a.expect),
           "seeds": int(r["seeds"]), "frontier": ",".join(str(frontier[s]) for s in sorted(frontier)),
           "d_lf_pass_at_1": r["d_lf_pass_at_1"], "d_lf_pass_at_1_lo": r["d_lf_pass_at_1_lo"],
           "d_lf_pass_at_1_hi": r["d_lf_pass_at_1_hi"], "d_lf_pass_at_n": r["d_lf_pass_at_n"],
           "d_lf_pass_at_n_lo": r["d_lf_pass_at_n_lo"], "d_lf_pass_at_n_hi": r["d_lf_pass_at_n_hi"],
           "pairs": r.get("pairs", float("nan")), "gain_bound": r.get("d_lf_pass_at_n_gain_bound", float("nan")),
           "loss_bound": r.get("d_lf_pass_at_n_loss_bound", float("nan")), "verdict": r["verdict"],
           "verdict_familywise": familywise, "d_lf_pass_at_n_lo_familywise": familywise_lo,
           "expectations": ", ".join(outcomes), "reproduced": claim_outcome(outcomes)}
    along = []
    for label, step in records[0].get("checkpoints", {}).items():
        if label in getattr(front, "index", ()):
            c = front.loc[label]
            along.append({"arm": arm, "step": step, "d_lf_pass_at_n": c["d_lf_pass_at_n"],
                          "d_lf_pass_at_n_lo": c["d_lf_pass_at_n_lo"], "d_lf_pass_at_n_hi": c["d_lf_pass_at_n_hi"],
                          "d_lf_pass_at_1": c["d_lf_pass_at_1"]})
    along.append({"arm": arm, "step": int(records[0]["rl"]["steps"]), "d_lf_pass_at_n": r["d_lf_pass_at_n"],
                  "d_lf_pass_at_n_lo": r["d_lf_pass_at_n_lo"], "d_lf_pass_at_n_hi": r["d_lf_pass_at_n_hi"],
                  "d_lf_pass_at_1": r["d_lf_pass_at_1"]})
    return row, along


def reward_curve_frame(arm: str, records: list[dict]) -> pd.DataFrame:
    """The arm's training-reward curve, mean over seeds per step (column `algorithm` = the arm)."""
    rows = [{"step": c["step"], "reward": c["reward"], "frontier_reward": c["frontier_reward"], "seed": r["seed"]}
            for r in records for c in r["rl"]["reward_curve"]]
    if not rows:
        return pd.DataFrame(columns=["algorithm", "step", "reward", "frontier_reward"])
    f = pd.DataFrame(rows).groupby("step", as_index=False)[["reward", "frontier_reward"]].mean()
    return f.assign(algorithm=arm)


REWARD_WINDOW = 10  # steps averaged at each end of a training-reward curve in `run_rows`


def _window_means(values: list[float]) -> tuple[float, float]:
    """Mean of the first and of the last REWARD_WINDOW values, NaNs (steps without a frontier prompt) left out."""
    def mean(xs):
        xs = [x for x in xs if x == x]
        return sum(xs) / len(xs) if xs else float("nan")
    return mean(values[:REWARD_WINDOW]), mean(values[-REWARD_WINDOW:])


def run_rows(arm: str, records: list[dict]) -> list[dict]:
    """Per seed: RL steps, why it stopped, and the mean training reward of its first and last steps
    (all prompts, and frontier-level prompts)."""
    rows = []
    for r in records:
        curve = r["rl"]["reward_curve"]
        first, last = _window_means([c["reward"] for c in curve])
        front_first, front_last = _window_means([c["frontier_reward"] for c in curve])
        rows.append({"arm": arm, "seed": r["seed"], "steps": r["rl"]["steps"], "stopped": r["rl"]["stopped"],
                     "reward_first": first, "reward_last": last,
                     "frontier_reward_first": front_first, "frontier_reward_last": front_last})
    return rows


def base_label(arm: str) -> str:
    """Which base an arm is compared with: its own for an exposure arm, else the organism's ("default")."""
    return arm if get_arm(arm).exposure_total is not None else "default"


def base_rows(arm: str, table: pd.DataFrame, records: list[dict]) -> list[dict]:
    """Per seed, the arm's base: its frontier level and its luck-free pass@n per level (mean over
    problems). What the exposure arms change is the base itself, so their bases are shown side by side."""
    frontier = {r["seed"]: r["frontier"] for r in records}
    base = table[table["model"] == "base"]
    rows = []
    for seed, part in base.groupby("seed"):
        by_level = part.groupby("level")["lf_pass_at_n"].mean()
        rows.append({"base": base_label(arm), "temperature": get_arm(arm).temperature, "seed": int(seed),
                     "frontier": frontier[int(seed)], **{f"level {int(lv)}": v for lv, v in by_level.items()}})
    return rows


def summarise(preset: str, arms, seeds, n: int, records: list[dict], n_boot: int = 2000) -> dict:
    """grid, claims, checkpoints, curves, runs and bases of the stored units `records` (see the module docstring)."""
    grid, claims, along, curves, runs, bases = [], [], [], [], [], {}
    for arm in arms:
        mine = sorted((r for r in records if r["arm"] == arm), key=lambda r: r["seed"])
        table = arm_table(preset, arm, mine)
        grid += grid_rows(arm, table, n_boot)
        row, steps = claim_row(arm, table, mine, n_boot, family=len(arms))
        claims.append(row)
        if len(steps) > 1:
            along += steps
        curves.append(reward_curve_frame(arm, mine))
        runs += run_rows(arm, mine)
        if get_arm(arm).signs == "any":  # an OOD arm's table holds only its held-out problems
            for row in base_rows(arm, table, mine):
                bases.setdefault((row["base"], row["temperature"], row["seed"]), row)
    return {"grid": pd.DataFrame(grid), "claims": pd.DataFrame(claims), "checkpoints": pd.DataFrame(along),
            "curves": pd.concat(curves, ignore_index=True), "runs": pd.DataFrame(runs), "n": n,
            "bases": pd.DataFrame(list(bases.values())), "seeds": list(seeds), "arms": list(arms)}


def plan_vs_measured(preset: str, set_name: str) -> pd.DataFrame:
    """Per arm the plan of parameter set `set_name` (`atlas_plan.run_set`; its `plan.json`) had work
    for: its predicted seconds beside the measured seconds of the units it priced (each unit's own
    wall time, `unit.json`), and their ratio; a last row sums the arms measured so far. Unit times,
    not the run's: an interrupted or resumed atlas is still compared arm by arm (`run.json` keeps
    the last run's wall time)."""
    from .atlas import unit_dir
    from .atlas_confirm import confirmation_files
    from .atlas_plan import run_records

    cols = ["arm", "units", "predicted_s", "measured_s", "measured / predicted"]
    path, run_file = run_records(preset, set_name)
    if not path.is_file():
        return pd.DataFrame(columns=cols)
    plan = json.loads(path.read_text())
    rows = []
    for r in plan["rows"]:
        seeds = r.get("seeds_to_run", [])
        # What the plan priced: the units (unless confirmation-only) and their confirmation panels.
        files = [] if plan.get("confirm_only") else [(unit_dir(preset, r["arm"], s) / "unit.json", "unit")
                                                      for s in seeds]
        if plan.get("confirm"):
            files += [(confirmation_files(preset, r["arm"], s, plan.get("confirm_draw", 1))[0], "confirm")
                      for s in seeds]
        if not seeds or not all(f.is_file() for f, _ in files):
            continue  # nothing to do when planned, or not finished yet
        measured = sum(json.loads(f.read_text())["seconds"][k] for f, k in files)
        rows.append({"arm": r["arm"], "units": len(seeds), "predicted_s": r["total_s"], "measured_s": measured})
    out = pd.DataFrame(rows, columns=cols[:4])
    if len(out):
        out.loc[len(out)] = {"arm": "all measured", "units": out.units.sum(), "predicted_s": out.predicted_s.sum(),
                             "measured_s": out.measured_s.sum()}
    whole = run_vs_plan(plan, path, run_file)
    if whole is not None:
        out.loc[len(out)] = whole
    out["measured / predicted"] = out.measured_s / out.predicted_s.where(out.predicted_s > 0)
    return out


def run_vs_plan(plan: dict, plan_file, run_file) -> dict | None:
    """The run's wall time (`run_file`) beside the plan's predicted wall time, when that run is the
    one the plan priced: written after the plan, with the arms and seeds the plan had work for
    and as many units at a time as the plan assumed. None otherwise."""
    if not run_file.is_file() or run_file.stat().st_mtime < plan_file.stat().st_mtime:
        return None
    run = json.loads(run_file.read_text())
    planned = [r for r in plan["rows"] if r.get("seeds_to_run")]
    seeds = sorted({s for r in planned for s in r["seeds_to_run"]})
    if (bool(run.get("confirm_only")) != bool(plan.get("confirm_only")) or [r["arm"] for r in planned] != run["arms"]
            or seeds != sorted(run["seeds"]) or run["workers"] != plan.get("workers", 1)):
        return None
    return {"arm": f"whole run, {run['workers']} at a time (wall)", "units": len(run["units"]),
            "predicted_s": plan["predicted_seconds"], "measured_s": run["wall_seconds"]}


def ensure_confirmations(arms, preset: str, seeds, n: int, count: int, draw: int, eval_seed: int = 0,
                         log=print) -> list[dict]:
    """Every unit's confirmation record (`atlas_confirm`), sampling (in this process) the ones not stored yet."""
    from .atlas_confirm import confirm_unit, load_confirmation

    return [load_confirmation(preset, a, s, n, count, draw, eval_seed)
            or confirm_unit(a, preset, s, n, count, draw, eval_seed, log=log) for s in seeds for a in arms]


def _confirmation_verdict(params, rows: pd.DataFrame):
    """The atlas's verdict from its confirmation panel (the session-14 amendment), with its numbers."""
    from .. import verdicts
    from .atlas_confirm import confirmation_row, overall_confirmation, statements

    numbers = [{"what": f"{r.arm} − base, luck-free pass@{params.n} on the confirmation panel ({r.pairs} pairs; "
                        f"gains / losses {r.gains} / {r.losses}, null {r.null_gains} / {r.null_losses}; excess gain "
                        f"share {r.excess_gain:+.3f} [{r.excess_gain_lo:+.3f}, {r.excess_gain_hi:+.3f}]; "
                        f"established: {r.statements})", "value": r.d_lf_pass_at_n,
                "ci_low": r.d_lf_pass_at_n_lo, "ci_high": r.d_lf_pass_at_n_hi, "verdict": r.paper_claim}
               for r in rows.itertuples()]
    reason = (f"on the confirmation panel (draw {params.confirmation_draw}, {params.confirmation_panel} fresh "
              f"problems per seed at its frontier, margin {rows['margin'].iloc[0]:.2f}): "
              f"{(rows['paper_claim'] == 'contradicted').sum()} of {len(rows)} arms gain reach (Bonferroni over "
              f"the arms), {(rows['paper_claim'] == 'supported').sum()} establish no gain; "
              f"{(rows['reproduced'] == REPRODUCED).sum()} of {len(rows)} published claims reproduced, "
              f"{(rows['reproduced'] == NOT_REPRODUCED).sum()} not reproduced")
    rule = (" ".join((statements.__doc__ or "").split()) + " Per arm: " + " ".join((confirmation_row.__doc__ or
            "").split()) + " Over all arms: " + " ".join((overall_confirmation.__doc__ or "").split())
            + " CIs: bootstrap over seeds and problems; d = arm − base per (seed, problem) pair, each model on its "
            "own random stream.")
    return verdicts.Verdict(claim=verdicts.CLAIMS["atlas"], verdict=overall_confirmation(rows), reason=reason,
                            rule=rule, numbers=numbers)


def atlas_study(params) -> dict:
    """Everything notebooks/atlas.py shows, with its computed verdict (from the confirmation panel when
    the parameters ask for one, else from the main set's frontier problems)."""
    from .. import verdicts
    from .atlas_confirm import confirmation_rows, display_table
    from .atlas_plan import run_set
    from .reach import overall_paper_claim, paper_claim

    seeds = list(params.organism_seeds)
    count = params.get("confirmation_panel", 0) or 0
    run_missing_side_by_side(params, seeds, count)  # then every unit below is read, not run
    records = ensure_units(params.arms, params.organism_preset, seeds, params.n, log=lambda *_: None)
    study = summarise(params.organism_preset, params.arms, seeds, params.n, records, n_boot=params.bootstrap)
    confirmation = pd.DataFrame()
    if count:
        stored = ensure_confirmations(params.arms, params.organism_preset, seeds, params.n, count,
                                      params.confirmation_draw, log=lambda *_: None)
        confirmation = confirmation_rows(params.organism_preset, params.arms, stored, n_boot=params.bootstrap)
    claims = study["claims"]
    # The paper's claim over every arm, by the organism's pre-registered rule (reach.paper_claim). "Some
    # arm extends reach" is a claim about any of m arms: its lower CI ends are Bonferroni-corrected
    # (amendment, session 12, before any atlas result under it); "every arm supports" needs each arm
    # at 95 % on its own (an intersection of claims needs no correction).
    per_arm = [paper_claim(r.d_lf_pass_at_n_lo_familywise, r.d_lf_pass_at_n_hi, r.gain_bound)
               for r in claims.itertuples()]
    overall = overall_paper_claim(pd.DataFrame({"paper_claim": per_arm}))
    numbers = [{"what": f"{r.arm} − base, luck-free pass@{params.n} at the frontier ({r.pairs:.0f} pairs; "
                        f"exact bound on the share that gains {r.gain_bound:.3f})", "value": r.d_lf_pass_at_n,
                "ci_low": r.d_lf_pass_at_n_lo, "ci_high": r.d_lf_pass_at_n_hi, "verdict": v}
               for r, v in zip(claims.itertuples(), per_arm)]
    reason = (f"{sum(v == 'contradicted' for v in per_arm)} of {len(per_arm)} arms extend reach (Bonferroni over "
              f"the arms); "
              f"{(claims['reproduced'] == REPRODUCED).sum()} of {len(claims)} published claims reproduced")
    verdict = verdicts.Verdict(claim=verdicts.CLAIMS["atlas"], verdict=overall, reason=reason,
                               rule=" ".join((paper_claim.__doc__ or "").split()) + " Per arm; over all arms: "
                               + " ".join((overall_paper_claim.__doc__ or "").split())
                               + f" 'Extends' (contradicted) from CIs at 1 - 0.05/{len(claims)} (Bonferroni over the"
                               " arms); 'supported' from each arm's 95 % CI."
                               + f" CIs: bootstrap over {len(seeds)} seed(s) and problems (one problem draw shared by the seeds"
                               " that share problems); bounds: exact Clopper-Pearson over (seed, problem) pairs.",
                               numbers=numbers)
    headline = claims[["arm", "claim", "d_lf_pass_at_1", "d_lf_pass_at_1_lo", "d_lf_pass_at_1_hi", "d_lf_pass_at_n",
                       "d_lf_pass_at_n_lo", "d_lf_pass_at_n_hi", "pairs", "gain_bound", "loss_bound", "verdict",
                       "verdict_familywise", "reproduced"]].round(3)
    if len(confirmation):  # the amendment's rule decides; the main set's verdicts stay beside it
        verdict = _confirmation_verdict(params, confirmation)
        headline = headline.merge(confirmation[["arm", "pairs", "d_lf_pass_at_n", "d_lf_pass_at_n_lo",
                                                "d_lf_pass_at_n_hi", "excess_gain_hi", "excess_loss_hi", "statements",
                                                "reproduced", "paper_claim"]].round(3).add_prefix("confirm_")
                                  .rename(columns={"confirm_arm": "arm"}), on="arm", how="left")
    return {**study, "verdict": verdict, "headline": headline, "confirmation": confirmation,
            "confirmation_table": display_table(confirmation),
            "plan": plan_vs_measured(params.organism_preset, run_set(params.arms, seeds, params.n, count,
                                                                     params.get("confirmation_draw", 1)))}
