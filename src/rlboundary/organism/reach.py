"""Does a post-trained model reach problems its base cannot? The organism's decision rule.

Pre-registered (written into the README before any multi-seed result was
seen, and applied by code, never by hand):

- Unit of evidence: the *luck-free* pass@k per problem (a sample counts
  only when its answer is right AND every step of its trace is valid), at
  k = n = the samples drawn per problem (256 by default), and pass@1.
- For a model M built from seed s, compare it with the base of the same
  seed on the same evaluation problems: d(s, problem) = lf-pass@n(M) -
  lf-pass@n(base). Levels are analysed separately: the *frontier* level
  (where the base's reach on training problems was partial; M trained on
  it) is the primary endpoint, the *unseen* level (longer than anything any
  model trained on) the secondary one.
- Mean difference over seeds and problems, with a 95 % percentile
  bootstrap CI that resamples seeds and problems (seeds with replacement;
  problems with replacement, one draw shared by every seed evaluated on the
  same problems, since the design is crossed: every seed sees the same
  evaluation problems; B = 2000).
- Verdict at a level: "extends" when the CI's lower end is > 0, "narrows"
  when its upper end is < 0, "no change detected" otherwise. With one seed
  the CI covers problems only, and the verdict says so.

The paper's claim ("RL does not extend the base's reach"), per RL algorithm
at the frontier: contradicted if the verdict is "extends"; supported if the
CI's upper end is below +EQUIVALENCE_MARGIN (RL adds at most 5 points of
luck-free reach; "no change detected" alone is absence of evidence) AND the
data can resolve a gain of that size: the exact (Clopper-Pearson, 97.5 %
one-sided) upper bound on the share of (seed, problem) pairs on which the
model gains must be below the margin too (`change_bounds`); inconclusive
otherwise (`paper_claim`). Amendment (session 11, before any result was
recomputed): a percentile bootstrap of differences that are all 0 (a level
where neither model reaches anything) is the interval [0, 0] however few
the problems, which made "supported" automatic at a floor; the resolution
bound closes that hole. Since mean(d) <= P(d > 0) for d in [-1, 1], the
bound is a valid upper end on its own; it needs >= 72 pairs with no gain to
fall below 0.05. Power amendment (session 12, before any of its samples):
the frontier endpoint pools the main evaluation set's problems at a seed's
frontier with a *frontier panel* of more problems at that level
(`benchmark.load_panel`, `Preset.frontier_panel`: 32, so 120 pairs over
three seeds); the rows carry `panel`, and per-level tables leave them out.

Confirmation amendment (session 13, written and committed before any of its
samples): the frontier endpoint's pairs all share sampling seeds between a
model and its base (common random numbers: at the frontier 2-20 % of an RL
model's samples are the base's, word for word), while the null control does
not, so gains cannot be calibrated against the null there. A *confirmation
panel* of fresh problems at each frontier (`benchmark.load_panel(start=)`,
the panel stream's next problems) is sampled with an independent stream per
model (`evaluate.independent_seed`); on it the claim is judged by
`confirmation_claim`: contradicted if the CI of d excludes 0 upward;
supported if both the CI's upper end and the upper end of the *excess gain
share* (share of pairs the model gains minus the share the null control
gains, on the same pairs; `excess_gains`) are below CONFIRMATION_MARGIN,
chosen before any sample by the power simulation (`organism/power.py`) as
the smallest margin at which a model identical to the base is called
supported with probability >= 0.8 in the worst case; inconclusive otherwise.
Those rows form their own endpoint, "confirmation"; the verdict over every
RL algorithm is taken there when it exists.

Every post-trained model (each RL algorithm, RFT, both distillations) is
judged by the same rule against the same base. When builds disagree on
the frontier level (it is measured per seed), each seed's own frontier is
used for its own rows.

    from rlboundary.organism.reach import reach_table, decide
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluate import NULL2_MODEL

N_BOOT = 2000
VERDICTS = ("extends", "narrows", "no change detected")
EQUIVALENCE_MARGIN = 0.05
# The confirmation rule's margin: the smallest of power.MARGINS at which the power simulation
# (`rlboundary organism power --worst-case`: every pair's reach a coin flip) calls a model identical
# to the base "supported" with probability >= 0.8 on 3 seeds x 32 confirmation problems. Set in
# session 13 before any confirmation sample was drawn; see the README's "Confirmation amendment".
CONFIRMATION_MARGIN = 0.30  # worst case (reach .5 on every pair): P(supported | no change) .843 at .30, .607 at .25


def per_problem(rows: pd.DataFrame, n: int) -> pd.DataFrame:
    """Per (seed, model, problem): level, pass@1, luck-free pass@1, pass@n, luck-free pass@n.

    `rows` are per-sample rows with seed, model, problem_id, n_steps, correct, trace_valid;
    every (seed, model, problem) must have exactly n samples."""
    r = rows.assign(valid_correct=rows["correct"] & rows["trace_valid"])
    g = r.groupby(["seed", "model", "problem_id"], sort=False)
    # the frontier panel's rows, and the confirmation panel's (a subset of them)
    extra = {c: (c, "first") for c in ("panel", "confirmation") if c in r.columns}
    out = g.agg(level=("n_steps", "first"), samples=("correct", "size"), c=("correct", "sum"),
                c_valid=("valid_correct", "sum"), **extra).reset_index()
    for c in ("panel", "confirmation"):
        if c not in out.columns:
            out[c] = False
    bad = out[out["samples"] != n]
    if len(bad):
        raise ValueError(f"{len(bad)} (seed, model, problem) groups do not have n={n} samples, e.g. "
                         f"{bad.iloc[0].to_dict()}")
    out["pass_at_1"] = out["c"] / n
    out["lf_pass_at_1"] = out["c_valid"] / n
    # pass@k at k = n is "at least one success among the n samples": exact, no estimator needed.
    out["pass_at_n"] = (out["c"] > 0).astype(float)
    out["lf_pass_at_n"] = (out["c_valid"] > 0).astype(float)
    return out


def bootstrap_seeds_problems(per_seed: list, n_boot: int = N_BOOT, ci: float = 0.95,
                             seed: int = 0) -> tuple[float, float, float]:
    """Mean over seeds of each seed's mean over problems, with a percentile
    bootstrap CI that resamples seeds, then problems.

    Items may be arrays (each seed's problems resampled on their own) or
    pandas Series indexed by problem id: seeds holding the same problem ids
    (a crossed design: every seed scored on the same evaluation problems)
    then share one problem draw per replicate, so that the problems'
    variance is not divided by the number of seeds."""
    import pandas as pd

    values, groups = [], []  # groups[i]: seed i's problem ids, None when it has none (drawn on its own)
    for v in per_seed:
        if not len(v):
            continue
        if isinstance(v, pd.Series):
            v = v.sort_index()
        groups.append(tuple(v.index) if isinstance(v, pd.Series) else None)
        values.append(np.asarray(v, dtype=float))
    if not values:
        raise ValueError("no values to bootstrap")
    shared = {g: len(v) for v, g in zip(values, groups) if g is not None}
    rng = np.random.default_rng(seed)
    s = len(values)
    means = np.empty(n_boot)
    for b in range(n_boot):
        drawn = rng.integers(0, s, size=s)
        draw = {g: rng.integers(0, m, size=m) for g, m in shared.items()}  # one draw per shared problem set
        means[b] = np.mean([values[i][draw[groups[i]] if groups[i] is not None else
                                      rng.integers(0, len(values[i]), size=len(values[i]))].mean() for i in drawn])
    alpha = (1 - ci) / 2
    point = float(np.mean([v.mean() for v in values]))
    return point, float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def share_upper_bound(count: int, total: int, ci: float = 0.95) -> float:
    """Exact (Clopper-Pearson) one-sided upper bound, at level (1 + ci) / 2, on a
    share observed `count` times in `total` trials (1.0 when nothing was observed)."""
    from scipy.stats import beta

    if total <= 0 or count >= total:
        return 1.0
    return float(beta.ppf((1 + ci) / 2, count + 1, total - count))


def change_bounds(per_seed: list, ci: float = 0.95) -> tuple[float, float]:
    """(gain bound, loss bound) of paired differences d in [-1, 1] pooled over
    seeds and problems: exact upper bounds on the share of pairs with d > 0 and
    with d < 0. mean(d) <= P(d > 0) and mean(d) >= -P(d < 0), so they bound the
    mean difference whatever the bootstrap says; unlike a percentile bootstrap
    of all-zero differences ([0, 0]), they say how small a change the data can
    resolve (about 3.7 / pairs when nothing changed)."""
    d = np.concatenate([np.asarray(v, dtype=float) for v in per_seed]) if per_seed else np.array([])
    return share_upper_bound(int((d > 0).sum()), len(d), ci), share_upper_bound(int((d < 0).sum()), len(d), ci)


def resolution_floor(pairs: int, ci: float = 0.95) -> float:
    """The smallest share `pairs` pairs can bound: the exact upper bound when nothing was seen.
    A percentile bootstrap of all-zero differences is [0, 0] however few the pairs; no upper end
    is reported below this."""
    return share_upper_bound(0, pairs, ci)


def excess_gains(model_d: list, null_d: list) -> list:
    """Per seed, per problem: 1 if the model gains reach on the pair and the null control does
    not, -1 for the reverse, else 0 (the inputs: per-seed Series of d = value - base's value on
    the same problems). Their mean is the excess gain share: how many more pairs the model gains
    than a model identical to the base does by sampling noise alone."""
    out = []
    for m, z in zip(model_d, null_d):
        common = m.index.intersection(z.index)
        out.append(((m.loc[common] > 0).astype(float) - (z.loc[common] > 0).astype(float)).sort_index())
    return out


def excess_gain_interval(model_d: list, null_d: list, n_boot: int = N_BOOT, ci: float = 0.95,
                         seed: int = 0) -> tuple[float, float, float]:
    """The excess gain share of a model over the null control (`excess_gains`) with its bootstrap
    CI over seeds and problems, the upper end floored at the resolution bound (`resolution_floor`)."""
    values = excess_gains(model_d, null_d)
    m, lo, hi = bootstrap_seeds_problems(values, n_boot, ci=ci, seed=seed)
    return m, lo, max(hi, resolution_floor(int(sum(len(v) for v in values)), ci))


def confirmation_claim(ci_low: float, ci_high: float, excess_high: float,
                       margin: float = CONFIRMATION_MARGIN) -> str:
    """The paper's claim for one model on the confirmation panel: contradicted if the CI of d lies
    above 0; supported if the CI's upper end and the excess gain share's upper end (floored at the
    resolution bound) are both below the margin; inconclusive otherwise."""
    if ci_low > 0:
        return "contradicted"
    if max(ci_high, excess_high) < margin:
        return "supported"
    return "inconclusive"


def decide(ci_low: float, ci_high: float) -> str:
    """The rule's verdict from a CI of (model - base)."""
    if ci_low > 0:
        return "extends"
    if ci_high < 0:
        return "narrows"
    return "no change detected"


def paper_claim(ci_low: float, ci_high: float, gain_bound: float = 0.0) -> str:
    """The paper's claim for one RL model at the frontier, from its CI of (RL - base) and the
    exact bound on the share of pairs where RL gains (`change_bounds`; see the module docstring)."""
    if ci_low > 0:
        return "contradicted"
    if max(ci_high, gain_bound) < EQUIVALENCE_MARGIN:
        return "supported"
    return "inconclusive"


def per_seed_values(table: pd.DataFrame, model: str, column: str, level: int, baseline: str | None) -> list[pd.Series]:
    """Per seed, the per-problem values of `column` at one level (minus the
    baseline model's on the same problems, when given), indexed by problem id."""
    sub = table[table["level"] == level]
    out = []
    for s, g in sub.groupby("seed", sort=True):
        mine = g[g["model"] == model].set_index("problem_id")[column]
        if baseline is not None:
            base = g[g["model"] == baseline].set_index("problem_id")[column]
            common = mine.index.intersection(base.index)
            mine = mine.loc[common] - base.loc[common]
        out.append(mine.astype(float).sort_index())
    return out


def level_table(table: pd.DataFrame, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Per model and level: pass@1, luck-free pass@1 and pass@n with CIs over seeds and problems."""
    rows = []
    for (model, level), _ in table.groupby(["model", "level"], sort=True):
        rec = {"model": model, "level": int(level), "seeds": table[table.model == model]["seed"].nunique(),
               "problems": int(table[(table.model == model) & (table.level == level)]["problem_id"].nunique())}
        for col in ("pass_at_1", "lf_pass_at_1", "pass_at_n", "lf_pass_at_n"):
            m, lo, hi = bootstrap_seeds_problems(per_seed_values(table, model, col, level, None), n_boot)
            rec.update({col: m, f"{col}_lo": lo, f"{col}_hi": hi})
        rows.append(rec)
    return pd.DataFrame(rows)


def reach_table(table: pd.DataFrame, frontier: dict[int, int], unseen: int, base: str = "base",
                n_boot: int = N_BOOT, ci: float = 0.95, null: str | None = None) -> pd.DataFrame:
    """The pre-registered comparison: every model vs the base at the frontier and unseen levels,
    and on the confirmation panel when the table has its rows (`confirmation`).

    `frontier` maps each seed to its frontier level; when seeds disagree the
    rows of each seed are relabelled so that "frontier" means that seed's own.
    `ci`: the bootstrap CIs' level (the rule's is 0.95; the atlas also asks for a
    Bonferroni-corrected one over its arms). `null`: the null control's model name;
    on the confirmation endpoint every other model's excess gain share over it is
    computed and RL models are judged by `confirmation_claim`."""
    t = table.copy()
    if "confirmation" not in t.columns:
        t["confirmation"] = False
    t["endpoint"] = None
    for s, level in frontier.items():
        mine = t["seed"] == s
        t.loc[mine & (t["level"] == level) & ~t["confirmation"], "endpoint"] = "frontier"
        t.loc[mine & (t["level"] == unseen) & ~t["confirmation"], "endpoint"] = "unseen"
        t.loc[mine & (t["level"] == level) & t["confirmation"], "endpoint"] = "confirmation"
    t = t[t["endpoint"].notna()]
    out = []
    for endpoint in ("frontier", "unseen", "confirmation"):
        e = t[t["endpoint"] == endpoint].assign(level=0)  # one pooled "level" per endpoint
        null_d = (per_seed_values(e, null, "lf_pass_at_n", 0, base)
                  if endpoint == "confirmation" and null in set(e["model"]) else None)
        for model in [m for m in e["model"].unique() if m != base]:
            rec = {"model": model, "endpoint": endpoint, "seeds": int(e[e.model == model]["seed"].nunique())}
            for col in ("lf_pass_at_n", "lf_pass_at_1"):
                values = per_seed_values(e, model, col, 0, base)
                m, lo, hi = bootstrap_seeds_problems(values, n_boot, ci=ci)
                rec.update({f"d_{col}": m, f"d_{col}_lo": lo, f"d_{col}_hi": hi})
                if col == "lf_pass_at_n":  # 0/1 per problem: a floor gives an all-zero, [0, 0] bootstrap
                    reach_d = values  # the pairs the excess gain share is computed on
                    gain, loss = change_bounds(values)
                    d = np.concatenate([np.asarray(v, dtype=float) for v in values]) if values else np.array([])
                    rec.update({"pairs": len(d), "gains": int((d > 0).sum()), "losses": int((d < 0).sum()),
                                f"d_{col}_gain_bound": gain, f"d_{col}_loss_bound": loss})
            rec["verdict"] = decide(rec["d_lf_pass_at_n_lo"], rec["d_lf_pass_at_n_hi"])
            rec["paper_claim"] = (paper_claim(rec["d_lf_pass_at_n_lo"], rec["d_lf_pass_at_n_hi"],
                                              rec["d_lf_pass_at_n_gain_bound"])
                                  if model.startswith("rl-") and endpoint == "frontier" else "")
            if endpoint == "confirmation":
                judged = model != null and null_d is not None  # the null is the calibrator, not judged
                rec.update(zip(("excess_gain", "excess_gain_lo", "excess_gain_hi"),
                               excess_gain_interval(reach_d, null_d, n_boot, ci) if judged else (np.nan,) * 3))
                rec["confirmation_claim"] = (confirmation_claim(rec["d_lf_pass_at_n_lo"], rec["d_lf_pass_at_n_hi"],
                                                                rec["excess_gain_hi"]) if judged else "")
                if model.startswith("rl-"):
                    rec["paper_claim"] = rec["confirmation_claim"] or "inconclusive (no null control sampled)"
            if rec["seeds"] < 2:
                rec["verdict"] += " (one seed: CI over problems only)"
            out.append(rec)
    return pd.DataFrame(out)


def overall_paper_claim(reach: pd.DataFrame) -> str:
    """Over every RL algorithm: contradicted if any is, supported if all are, else inconclusive;
    on the confirmation panel when the table has it (the session-13 amendment), else at the frontier."""
    if "endpoint" in reach.columns and (reach["endpoint"] == "confirmation").any():
        reach = reach[reach["endpoint"] == "confirmation"]
    claims = [c for c in reach.get("paper_claim", []) if c]
    if not claims:
        return "not run"
    if "contradicted" in claims:
        return "contradicted"
    return "supported" if all(c == "supported" for c in claims) else "inconclusive"


# The confirmation panel's controls (README "Confirmation amendment", session 13): the stronger teacher
# must come out "contradicted" (it extends reach; if it does not, the draw's verdicts are not read) and
# the base sampled a third time (`evaluate.NULL2_MODEL`) "supported" (the claim is true of it).
POSITIVE_CONTROL = "teacher"
NEGATIVE_CONTROL = NULL2_MODEL
CONTROL_EXPECTED = {POSITIVE_CONTROL: "contradicted", NEGATIVE_CONTROL: "supported"}


def control_checks(reach: pd.DataFrame) -> dict[str, str]:
    """Each control on one confirmation draw (`reach_table` rows): "passed" if the confirmation
    rule gives it the verdict it must have (CONTROL_EXPECTED), "failed" if not, "not sampled"."""
    conf = reach[reach["endpoint"] == "confirmation"]
    out = {}
    for model, expected in CONTROL_EXPECTED.items():
        row = conf[conf["model"] == model]
        out[model] = ("not sampled" if row.empty else
                      "passed" if row.iloc[0]["confirmation_claim"] == expected else "failed")
    return out


DRAW_RULE = ("One confirmation draw: the RL algorithms' verdict, unless the positive control (the stronger "
             "teacher) did not come out contradicted; then the draw is not read (inconclusive).")
REPLICATION_RULE = ("Over confirmation draws, the first deciding: a later draw on which either control failed is "
                    "not read; a later draw that is read either gives the same verdict (replicated) or makes the "
                    "study's verdict inconclusive (it did not replicate). Fixed in the README before draw 2 was "
                    "sampled (\"Replication\", session 13).")


def draw_claim(reach: pd.DataFrame) -> tuple[str, str]:
    """(verdict, why) of the paper's claim on one confirmation draw (DRAW_RULE): `overall_paper_claim`,
    unless the positive control failed."""
    checks = control_checks(reach)
    claim = overall_paper_claim(reach)
    if checks[POSITIVE_CONTROL] == "failed":
        return "inconclusive", (f"not read: the positive control ({POSITIVE_CONTROL}) did not come out "
                                f"{CONTROL_EXPECTED[POSITIVE_CONTROL]}, so a gain of its size was not detected")
    why = ", ".join(f"{m} {c}" for m, c in checks.items())
    return claim, f"RL: {claim}; controls: {why}"


def replicated_claim(draws: dict[int, pd.DataFrame]) -> tuple[str, str, list[dict]]:
    """The study's verdict over confirmation draws ({draw number: its `reach_table`}, the first one
    deciding; REPLICATION_RULE, each draw read by `draw_claim`). Returns (verdict, why, one record per draw)."""
    if not draws:
        raise ValueError("no confirmation draw to read")
    (first, reach), *later = draws.items()
    verdict, why = draw_claim(reach)
    records = [{"draw": first, "read": True, "verdict": verdict, "why": why}]
    for d, reach in later:
        failed = [m for m, c in control_checks(reach).items() if c == "failed"]
        if failed:
            records.append({"draw": d, "read": False, "verdict": "", "why": f"not read: {', '.join(failed)} failed"})
            continue
        claim, why_d = draw_claim(reach)
        records.append({"draw": d, "read": True, "verdict": claim, "why": why_d})
        if claim != verdict:
            verdict = "inconclusive"
    read = [r for r in records if r["read"]]
    each = "; ".join(f"draw {r['draw']}: {r['why']}" for r in read)
    if len(read) == 1:
        summary = each
    elif all(r["verdict"] == read[0]["verdict"] for r in read):
        summary = f"replicated on {len(read)} independent draws ({each})"
    else:
        summary = f"did not replicate ({each})"
    summary += "".join(f"; draw {r['draw']} {r['why']}" for r in records if not r["read"])
    return verdict, summary, records


def _draw_label(draw: int, draws: list[int]) -> str:
    """The confirmation endpoint's name in the notebook's tables: as it always was with one draw."""
    return "confirmation" if len(draws) == 1 else f"confirmation draw {draw}"


def frontier_table(preset: str, seeds) -> pd.DataFrame:
    """Per seed: the frontier level the rule chose, whether it was in range, and the
    measured training-split reach (base per level; both teachers at the frontier)."""
    from .build import ensure_organism

    rows = []
    for s in seeds:
        m = ensure_organism(preset, s).manifest
        f = m["frontier"]
        teachers = {e["name"]: e.get("frontier_reach", {}).get("luck_free_pass_at_n")
                    for e in m["models"] if e["role"] == "teacher"}
        rows.append({"seed": s, "frontier": f["frontier"], "in_range": f["in_range"],
                     **{f"base lf@n level {k}": v["luck_free_pass_at_n"] for k, v in f["base_reach"].items()},
                     **{f"{name} lf@n at frontier": v for name, v in teachers.items()}})
    return pd.DataFrame(rows)




def reach_study(params) -> dict:
    """Everything the organism_reach notebook shows, with its computed verdict.

    With a confirmation panel, the verdict is the pre-registered reading of the confirmation draws
    listed in `confirmation_draws` (`replicated_claim`: the positive control gates each draw, the
    first draw decides, a later one replicates it or makes it inconclusive)."""
    from .. import verdicts
    from .evaluate import NULLS, confirmation_draw_reach, evaluate_seeds

    names = [str(m["path"]).split(":", 1)[1] for m in params.models]
    seeds = tuple(params.organism_seeds)
    confirm = getattr(params, "confirmation_panel", 0) or 0
    draws = list(getattr(params, "confirmation_draws", None) or [1])
    if confirm:  # the confirmation rule's calibrator and negative control join by themselves
        names += [z for z in NULLS if z not in names]
    panel = getattr(params, "frontier_panel", None)
    study = getattr(params, "sample_source", "organism-eval") == "study"  # samples from the study's run store
    result = evaluate_seeds(params.organism_preset, seeds, n=params.n, names=names, log=lambda *_: None,
                            panel=panel, confirm=confirm, confirm_draw=draws[0],
                            study_params=params if study else None)
    r = result["reach"]
    by_draw: dict[int, pd.DataFrame] = {}
    if confirm:
        by_draw[draws[0]] = r
        for d in draws[1:]:
            by_draw[d] = confirmation_draw_reach(params.organism_preset, seeds, n=params.n, names=names,
                                                 confirm=confirm, draw=d, panel=panel, log=lambda *_: None)
        shown = pd.concat([r[r["endpoint"] != "confirmation"]] +
                          [t[t["endpoint"] == "confirmation"].assign(endpoint=_draw_label(d, draws))
                           for d, t in by_draw.items()], ignore_index=True)
    else:
        shown = r

    def what(row, panel: str | None) -> str:
        if panel:  # a confirmation draw
            return (f"{row.model} − base, luck-free pass@{result['n']} on {panel} ({row.pairs} fresh "
                    f"pairs; excess gain share over the null {row.excess_gain:+.3f} [{row.excess_gain_lo:+.3f}, "
                    f"{row.excess_gain_hi:+.3f}])")
        return (f"{row.model} − base, luck-free pass@{result['n']} at the frontier ({row.pairs} pairs; "
                f"exact bound on the share that gains {row.d_lf_pass_at_n_gain_bound:.3f})")

    if confirm:  # per draw: the RL models and the controls
        judged = [("the confirmation panel" + (f", draw {d}" if len(draws) > 1 else ""),
                   t[(t["endpoint"] == "confirmation") &
                     ((t["paper_claim"] != "") | t["model"].isin(list(CONTROL_EXPECTED)))])
                  for d, t in by_draw.items()]
    else:
        judged = [(None, r[(r["endpoint"] == "frontier") & (r["paper_claim"] != "")])]
    numbers = [{"what": what(row, panel), "value": row.d_lf_pass_at_n, "ci_low": row.d_lf_pass_at_n_lo,
                "ci_high": row.d_lf_pass_at_n_hi,
                "verdict": row.paper_claim or f"{row.confirmation_claim} (control: must be "
                                               f"{CONTROL_EXPECTED[row.model]})"}
               for panel, t in judged for row in t.itertuples()]
    if confirm:
        overall, reason, _ = replicated_claim(by_draw)
        rule = (" ".join((confirmation_claim.__doc__ or "").split()) +
                f" Margin {CONFIRMATION_MARGIN:.2f} (set by the power simulation before any sample). The RL "
                "algorithms' verdict: contradicted if any is, supported if all are, else inconclusive. "
                f"{DRAW_RULE} {REPLICATION_RULE}")
    else:
        overall = overall_paper_claim(r)
        reason = "; ".join(f"{n['what'].split(' ')[0]}: {n['verdict']}" for n in numbers) or "no RL model listed"
        rule = (" ".join((paper_claim.__doc__ or "").split()) + " " +
                " ".join((overall_paper_claim.__doc__ or "").split()))
    verdict = verdicts.Verdict(claim=verdicts.CLAIMS["organism_reach"], verdict=overall, reason=reason,
                               rule=rule + f" CIs: bootstrap over {len(seeds)} seed(s) and problems (one problem "
                               "draw shared by the seeds that share problems); bounds: exact Clopper-Pearson "
                               "over (seed, problem) pairs.",
                               numbers=numbers)
    headline = shown[["endpoint", "model", "d_lf_pass_at_n", "d_lf_pass_at_n_lo", "d_lf_pass_at_n_hi", "pairs",
                      "d_lf_pass_at_n_gain_bound", "d_lf_pass_at_1", "verdict", "paper_claim"]
                     + [c for c in ("excess_gain", "excess_gain_lo", "excess_gain_hi", "confirmation_claim")
                        if c in shown.columns]].round(3)
    return {**result, "reach": shown, "reach_by_draw": by_draw, "verdict": verdict, "headline": headline,
            "frontier_table": frontier_table(params.organism_preset, seeds)}
