"""The atlas's confirmation panel (session 14 amendment): every arm judged on fresh frontier problems.

    rlboundary organism atlas --params params/atlas/atlas.yaml --confirm-only [--arms grpo,psr]
    from rlboundary.organism.atlas_confirm import confirm_unit, confirmation_row
    confirm_unit("psr", "micro", seed=0, n=8, count=3, draw=1)   # trains what it needs, samples, stores

Why: with 8 main-set problems at the frontier per seed (16 pairs over two
seeds) the atlas's session-11 rule cannot reproduce a "no gain" claim nor
refute an "RL raises reach" one (the exact gain bound is at least .206 > the
5-point margin): 16 of 17 arms came out inconclusive by the design's power,
not by the data. The organism's main study met the same wall and answered
it with a confirmation panel (session 13, `evaluate._confirmation_frames`,
`reach.confirmation_claim`); this module gives each atlas arm the same.

Per unit (arm x seed), `confirm_unit`:
- trains (through the stage cache: nothing retrained that is stored) the
  arm's base, frontier and RL run (`atlas.train_arm`);
- samples `count` fresh evaluation problems at that seed's frontier, draw
  `draw` of the panel stream (`evaluate.confirmation_problems`), for the
  base, the arm's final model and the null control (the base resampled),
  each on its own random stream (`evaluate.confirmation_sampling_seed`), at
  the arm's temperature; the samples are cached by weights with the
  organism's other evaluation samples, so arms sharing a base share its
  base and null samples;
- stores `confirmation-draw<d>.parquet` (per problem) and `.json` (key,
  frontier, seconds) beside the unit's files; a changed arm or preset redoes it.

`confirmation_row` judges one arm over its seeds by the rule written in the
README before any of these samples: d = arm - base in luck-free pass@n per
(seed, problem) pair, its bootstrap CI over seeds and problems, and the
excess gain / loss shares over the null control with theirs
(`reach.excess_gain_interval`); against `ATLAS_CONFIRMATION_MARGIN`:

| statement | holds when                                                         |
|-----------|--------------------------------------------------------------------|
| gain      | CI of d above 0                                                    |
| no gain   | upper ends of d's CI and of the excess gain share both < margin    |
| loss      | CI of d below 0                                                    |
| no loss   | lower end of d's CI > -margin and excess loss share's upper end < margin |

An expectation "up" is met by gain and contradicted by no gain; "no-gain"
the reverse; "no-loss" is met by no loss and contradicted by loss; "down"
the reverse. Where a certain change smaller than the margin establishes
both gain and no gain (or loss and no loss), the directional one decides. Luck-free pass@1 expectations (psr's "pass@1 up") are judged
from its CI on the same panel with the atlas's 5-point margin
(`atlas_results.expectation_outcome`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from .atlas import EQUIVALENCE_MARGIN, get_arm, set_threads, train_arm, unit_dir, unit_key

# The smallest of .05-.50 at which a model identical to the base is called "no gain" with
# probability >= .8 in the worst case (reach .5 on every pair) with 2 seeds x 32 problems
# (`power.simulate_power(problems=32, seeds=2)`, 300 panels, B = 400): .847 at .35, .663 at .30.
# Chosen before any atlas confirmation sample, by the rule that set the main study's .30.
ATLAS_CONFIRMATION_MARGIN = 0.35
CONFIRMATION_VERSION = 1
NULL = "base-resampled"  # evaluate.NULL_MODEL: the base resampled on its own stream


def confirmation_key(arm: str, preset: str, seed: int, n: int, count: int, draw: int, eval_seed: int = 0) -> dict:
    """What a stored confirmation depends on: the unit's key (arm, stages) plus the panel's size and draw."""
    return {**unit_key(get_arm(arm), preset, seed, n, eval_seed), "confirm": count, "draw": draw,
            "confirm_version": CONFIRMATION_VERSION}


def confirmation_files(preset: str, arm: str, seed: int, draw: int) -> tuple[Path, Path]:
    """(record, per-problem table) of one unit's confirmation draw."""
    out = unit_dir(preset, arm, seed)
    return out / f"confirmation-draw{draw}.json", out / f"confirmation-draw{draw}.parquet"


def load_confirmation(preset: str, arm: str, seed: int, n: int, count: int, draw: int,
                      eval_seed: int = 0) -> dict | None:
    """A stored confirmation's record, or None when absent or made with other settings."""
    path, table = confirmation_files(preset, arm, seed, draw)
    if not (path.is_file() and table.is_file()):
        return None
    record = json.loads(path.read_text())
    return record if record.get("key") == confirmation_key(arm, preset, seed, n, count, draw, eval_seed) else None


def confirm_unit(arm: str, preset: str, seed: int, n: int, count: int, draw: int, eval_seed: int = 0,
                 threads: int | None = None, log=print) -> dict:
    """Train (through the stage cache) and sample one arm x seed's confirmation panel; returns its record."""
    from .atlas import in_rl_part
    from .benchmark import lock_problem
    from .evaluate import confirmation_problems, confirmation_frames_for
    from .presets import get_preset
    from .reach import per_problem

    if count < 1:
        raise ValueError(f"count={count}: a confirmation panel needs at least one problem")
    done = load_confirmation(preset, arm, seed, n, count, draw, eval_seed)
    if done is not None:
        log(f"[atlas] {arm} seed {seed}: confirmation draw {draw} stored, reusing it")
        return done
    set_threads(threads)
    a, p = get_arm(arm), get_preset(preset)
    t0 = time.perf_counter()
    trained = train_arm(a, preset, seed, log)
    level = trained["frontier"]["frontier"]
    base = str(trained["base_root"] / "base")
    weights = {"base": base, arm: str(trained["run_root"] / trained["final"]["path"]), NULL: base}
    problems = confirmation_problems(preset, seed, level, count, draw, p.frontier_panel, eval_seed)
    t = time.perf_counter()
    rows = confirmation_frames_for(weights, preset, seed, level, count, draw, n=n, temperature=a.temperature,
                                   eval_seed=eval_seed, log=log, problems=problems)
    sampled = time.perf_counter() - t
    table = per_problem(rows.assign(seed=seed), n)
    table["in_rl_part"] = table["problem_id"].map({q.id: in_rl_part(a, lock_problem(q)) for q in problems})
    record_path, table_path = confirmation_files(preset, arm, seed, draw)
    table_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = table_path.with_suffix(".parquet.tmp")
    table.to_parquet(tmp)
    tmp.rename(table_path)
    record = {"key": confirmation_key(arm, preset, seed, n, count, draw, eval_seed), "arm": arm, "seed": seed,
              "n": n, "count": count, "draw": draw, "frontier": level, "temperature": a.temperature,
              "frontier_in_range": trained["frontier"].get("in_range"),
              "seconds": {**trained["seconds"], "sample": sampled, "confirm": time.perf_counter() - t0}}
    tmp = record_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.rename(record_path)
    log(f"[atlas] {arm} seed {seed}: confirmation draw {draw} ({count} problems at level {level}) "
        f"in {record['seconds']['confirm']:.0f} s")
    return record


def confirmation_table(preset: str, arm: str, records: list[dict]) -> pd.DataFrame:
    """The arm's confirmation rows over its seeds; an OOD arm's restricted to problems outside its RL part."""
    frames = [pd.read_parquet(confirmation_files(preset, arm, r["seed"], r["draw"])[1]) for r in records]
    table = pd.concat(frames, ignore_index=True)
    return table[~table["in_rl_part"].astype(bool)] if get_arm(arm).signs != "any" else table


_STATEMENTS = {  # expectation -> (the statement that meets it, the one that contradicts it)
    "up": ("gain", "no gain"), "no-gain": ("no gain", "gain"),
    "down": ("loss", "no loss"), "no-loss": ("no loss", "loss"),
}


def statements(lo: float, hi: float, excess_gain_hi: float, excess_loss_hi: float,
               margin: float = ATLAS_CONFIRMATION_MARGIN) -> set[str]:
    """Which of gain / no gain / loss / no loss the confirmation numbers establish (module docstring)."""
    out = set()
    if lo > 0:
        out.add("gain")
    if hi < 0:
        out.add("loss")
    if max(hi, excess_gain_hi) < margin:
        out.add("no gain")
    if lo > -margin and excess_loss_hi < margin:
        out.add("no loss")
    return out


def confirmation_outcome(direction: str, lo: float, hi: float, excess_gain_hi: float, excess_loss_hi: float,
                         margin: float = ATLAS_CONFIRMATION_MARGIN) -> str:
    """"met", "contradicted" or "undecided" for one luck-free pass@n expectation on the panel."""
    meets, contradicts = _STATEMENTS[direction]
    held = statements(lo, hi, excess_gain_hi, excess_loss_hi, margin)
    # A certain change smaller than the margin establishes both "gain" and "no gain" (or both "loss" and
    # "no loss"): the directional statement decides, as in the main study's rule (reach.confirmation_claim
    # calls a CI above 0 contradicted before it looks at the margin).
    for tier in ({"gain", "loss"} & held, held):
        if meets in tier:
            return "met"
        if contradicts in tier:
            return "contradicted"
    return "undecided"


def confirmation_row(arm: str, table: pd.DataFrame, frontier: dict[int, int], n_boot: int = 2000,
                     family: int = 1, margin: float = ATLAS_CONFIRMATION_MARGIN) -> dict:
    """One arm's confirmation verdicts over its seeds: Δ luck-free pass@1 / pass@n with CIs, gains and
    losses, excess gain / loss shares over the null with CIs, the statements established, each
    expectation's outcome and the claim's, and the paper's claim for this arm (its "gain" from a CI
    Bonferroni-corrected over `family` arms, its "no gain" at 95 %)."""
    from .atlas_results import claim_outcome, expectation_outcome
    from .reach import confirmation_claim, excess_gain_interval, per_seed_values, reach_table

    t = table.copy()
    t["model"] = t["model"].replace({arm: "arm"})
    rt = reach_table(t, frontier, unseen=-1, n_boot=n_boot, null=NULL)
    r = rt[(rt["endpoint"] == "confirmation") & (rt["model"] == "arm")].iloc[0]
    e = t[t["confirmation"].astype(bool)].assign(level=0)
    d = per_seed_values(e, "arm", "lf_pass_at_n", 0, "base")
    z = per_seed_values(e, NULL, "lf_pass_at_n", 0, "base")
    loss, loss_lo, loss_hi = excess_gain_interval([-v for v in d], [-v for v in z], n_boot, seed=2)
    wide = reach_table(t, frontier, unseen=-1, n_boot=n_boot, null=NULL, ci=1 - 0.05 / max(family, 1))
    lo_fw = float(wide[(wide["endpoint"] == "confirmation") & (wide["model"] == "arm")].iloc[0]["d_lf_pass_at_n_lo"])
    a = get_arm(arm)
    lo, hi = r["d_lf_pass_at_n_lo"], r["d_lf_pass_at_n_hi"]
    outcomes = [confirmation_outcome(direction, lo, hi, r["excess_gain_hi"], loss_hi, margin)
                if metric == "lf_pass_at_n" else
                expectation_outcome(direction, r[f"d_{metric}_lo"], r[f"d_{metric}_hi"], EQUIVALENCE_MARGIN)
                for metric, direction in a.expect]
    null_row = rt[(rt["endpoint"] == "confirmation") & (rt["model"] == NULL)]
    return {"arm": arm, "family": a.family, "claim": a.claim,
            "expected": "; ".join(f"{m.replace('lf_pass_at_', 'Δ luck-free pass@')} {x}" for m, x in a.expect),
            "seeds": int(r["seeds"]), "frontier": ",".join(str(frontier[s]) for s in sorted(frontier)),
            "pairs": int(r["pairs"]), "gains": int(r["gains"]), "losses": int(r["losses"]),
            "null_gains": int(null_row.iloc[0]["gains"]) if len(null_row) else -1,
            "null_losses": int(null_row.iloc[0]["losses"]) if len(null_row) else -1,
            **{k: float(r[k]) for k in ("d_lf_pass_at_1", "d_lf_pass_at_1_lo", "d_lf_pass_at_1_hi", "d_lf_pass_at_n",
                                        "d_lf_pass_at_n_lo", "d_lf_pass_at_n_hi", "excess_gain", "excess_gain_lo",
                                        "excess_gain_hi")},
            "excess_loss": loss, "excess_loss_lo": loss_lo, "excess_loss_hi": loss_hi,
            "d_lf_pass_at_n_lo_familywise": lo_fw,
            "statements": ", ".join(sorted(statements(lo, hi, r["excess_gain_hi"], loss_hi, margin))) or "none",
            "outcomes": ", ".join(outcomes), "reproduced": claim_outcome(outcomes),
            "paper_claim": confirmation_claim(lo_fw, hi, r["excess_gain_hi"], margin=margin), "margin": margin}


def confirmation_rows(preset: str, arms, records: list[dict], n_boot: int = 2000,
                      margin: float = ATLAS_CONFIRMATION_MARGIN) -> pd.DataFrame:
    """Every arm's `confirmation_row` from the stored confirmation records (one per arm x seed)."""
    rows = []
    for arm in arms:
        mine = sorted((r for r in records if r["arm"] == arm), key=lambda r: r["seed"])
        if mine:
            rows.append(confirmation_row(arm, confirmation_table(preset, arm, mine),
                                         {r["seed"]: r["frontier"] for r in mine}, n_boot, family=len(arms),
                                         margin=margin))
    return pd.DataFrame(rows)


def overall_confirmation(rows: pd.DataFrame) -> str:
    """The paper's claim over every arm on the confirmation panel: contradicted if any arm gains
    (Bonferroni over the arms), supported if every arm's "no gain" holds, else inconclusive."""
    claims = list(rows.get("paper_claim", []))
    if not claims:
        return "not run"
    if "contradicted" in claims:
        return "contradicted"
    return "supported" if all(c == "supported" for c in claims) else "inconclusive"


DISPLAY_COLUMNS = ("arm", "expected", "frontier", "pairs", "d_lf_pass_at_1", "d_lf_pass_at_1_lo", "d_lf_pass_at_1_hi",
                   "d_lf_pass_at_n", "d_lf_pass_at_n_lo", "d_lf_pass_at_n_hi", "gains", "losses", "null_gains",
                   "null_losses", "excess_gain_hi", "excess_loss_hi", "statements", "outcomes", "reproduced",
                   "paper_claim", "margin")


def display_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The confirmation rows as the atlas notebook shows them (empty when none was sampled)."""
    return rows[[c for c in DISPLAY_COLUMNS if c in rows.columns]].round(3)


def format_confirmation(rows: pd.DataFrame) -> str:
    """The arms' confirmation verdicts as a plain-text table."""
    if rows.empty:
        return "no confirmation panel stored"

    def ci(r, col):
        return f"{r[col]:+.3f} [{r[col + '_lo']:+.3f}, {r[col + '_hi']:+.3f}]"

    lines = [f"confirmation panel (margin {rows['margin'].iloc[0]:.2f}): arm − base at each seed's frontier"]
    for _, r in rows.iterrows():
        lines.append(f"  {r['arm']:<16} pairs {r['pairs']:>3}  Δ lf pass@1 {ci(r, 'd_lf_pass_at_1')}  "
                     f"Δ lf pass@n {ci(r, 'd_lf_pass_at_n')}  gains/losses {r['gains']}/{r['losses']} "
                     f"(null {r['null_gains']}/{r['null_losses']})  excess gain {ci(r, 'excess_gain')}  "
                     f"excess loss {ci(r, 'excess_loss')}  -> {r['statements']}; expected {r['expected']}: "
                     f"{r['reproduced']}; paper's claim {r['paper_claim']}")
    lines.append(f"the paper's claim over these arms: {overall_confirmation(rows)}")
    return "\n".join(lines)
