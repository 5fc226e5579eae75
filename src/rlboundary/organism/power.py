"""How often can the reach rule come out each way? A power simulation for the confirmation design.

    rlboundary organism power --seeds 0,1,2 --problems 32
    from rlboundary.organism.power import simulate_power, format_power
    print(format_power(simulate_power(problems=32, seeds=3)))

A verdict means little unless the rule could have said otherwise. Before a
confirmation panel is sampled, this simulates the confirmation rule
(`reach.confirmation_claim`: the bootstrap CI of d and the excess gain share
over the null control, against a margin) on synthetic (seed, problem) pairs
and counts its verdicts under two scenarios:

- "no change": the model's reach is the base's (the paper's claim true).
  P(supported) is the rule's power to support the claim; P(contradicted)
  its false-positive rate.
- "extends": the model reaches with a higher probability (by default the
  stronger teacher's training-split reach at the frontier, the positive
  control). P(contradicted) is the power to contradict.

Per pair the base, the null control and the model each reach the problem
(a valid right answer among n samples) independently, with the scenario's
probability: the confirmation design samples every model with its own
random stream. The worst case is used for choosing a margin: reach 0.5 on
every pair, the largest variance a 0/1 difference can have, so the power
holds whatever the base's real rates (heterogeneous rates with the same mean
have less variance: Jensen). Reaches measured on training-split problems
(the builds' frontier stage) give the less pessimistic second column. No
evaluation-split number enters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .reach import bootstrap_seeds_problems, confirmation_claim, excess_gain_interval

MARGINS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30)
TARGET_POWER = 0.8
WORST_CASE_REACH = 0.5


def _replicate(rng, base_reach: list[float], model_reach: list[float], problems: int, levels: list[int],
               n_boot: int) -> tuple[float, float, float]:
    """One simulated confirmation panel: (d CI low, d CI high, excess-gain CI high)."""
    d, null_d = [], []
    for s, (rb, rm) in enumerate(zip(base_reach, model_reach)):
        ids = [f"L{levels[s]}-{i}" for i in range(problems)]  # seeds at one level share problems (crossed)
        base, null, model = (rng.random(problems) < r for r in (rb, rb, rm))
        d.append(pd.Series(model.astype(float) - base, index=ids))
        null_d.append(pd.Series(null.astype(float) - base, index=ids))
    boot_seed = int(rng.integers(2**31))
    _, lo, hi = bootstrap_seeds_problems(d, n_boot, seed=boot_seed)
    _, _, ex_hi = excess_gain_interval(d, null_d, n_boot, seed=boot_seed + 1)
    return lo, hi, ex_hi


def simulate_power(problems: int = 32, seeds: int = 3, base_reach: list[float] | None = None,
                   model_reach: list[float] | None = None, levels: list[int] | None = None,
                   margins=MARGINS, replicates: int = 200, n_boot: int = 400, seed: int = 0) -> pd.DataFrame:
    """Verdict frequencies of the confirmation rule, per margin, under "no change" and "extends".

    `base_reach` / `model_reach`: per seed, the probability that a pair is reached (default: the
    worst case 0.5, and the model at 0.5 + 0.3). `levels`: each seed's frontier level (seeds at one
    level share problem ids). Returns one row per (scenario, margin) with P(supported),
    P(contradicted), P(inconclusive)."""
    base_reach = list(base_reach) if base_reach is not None else [WORST_CASE_REACH] * seeds
    model_reach = list(model_reach) if model_reach is not None else [min(1.0, r + 0.3) for r in base_reach]
    if len(base_reach) != seeds or len(model_reach) != seeds:
        raise ValueError(f"need one reach per seed ({seeds}); got {len(base_reach)} and {len(model_reach)}")
    levels = list(levels) if levels is not None else [0] * seeds
    rng = np.random.default_rng(seed)
    rows = []
    for scenario, reach in (("no change", base_reach), ("extends", model_reach)):
        cis = [_replicate(rng, base_reach, reach, problems, levels, n_boot) for _ in range(replicates)]
        for margin in margins:
            verdicts = [confirmation_claim(lo, hi, ex_hi, margin=margin) for lo, hi, ex_hi in cis]
            rows.append({"scenario": scenario, "margin": margin, "pairs": problems * seeds,
                         **{f"P({v})": verdicts.count(v) / replicates
                            for v in ("supported", "contradicted", "inconclusive")}})
    return pd.DataFrame(rows)


def smallest_margin(power: pd.DataFrame, target: float = TARGET_POWER) -> float | None:
    """The smallest margin at which a model identical to the base is called supported with
    probability >= target (None when no margin reaches it)."""
    ok = power[(power["scenario"] == "no change") & (power["P(supported)"] >= target)]
    return float(ok["margin"].min()) if len(ok) else None


def training_split_reach(preset: str, seeds) -> tuple[list[float], list[float], list[int]]:
    """Per build seed, from its manifest (training-split problems, the frontier stage): the base's
    luck-free reach at its frontier, the stronger teacher's there, and the frontier level."""
    from ..errors import UserError
    from .build import load_organism

    base, teacher, levels = [], [], []
    for s in seeds:
        # Read only: a power calculation must not start a build (~17 min per seed on 2 cores) on its own.
        built = load_organism(preset, s)
        if built is None:
            raise UserError(f"preset {preset!r} has no finished build for seed {s}: the training-split reaches "
                            "come from its manifest.",
                            f"build it first (rlboundary organism build --preset {preset} --seeds {s}), or pass "
                            "--worst-case, which needs no build.")
        m = built.manifest
        level = m["frontier"]["frontier"]
        levels.append(level)
        base.append(float(m["frontier"]["base_reach"][str(level)]["luck_free_pass_at_n"]))
        t = [e for e in m["models"] if e["name"] == "teacher"]
        got = t[0].get("frontier_reach", {}).get("luck_free_pass_at_n") if t else None
        teacher.append(float(got) if got is not None else min(1.0, base[-1] + 0.3))
    return base, teacher, levels


def format_power(power: pd.DataFrame, title: str = "") -> str:
    """The verdict frequencies as a plain-text table, with the smallest margin that has the target power."""
    wide = power.pivot_table(index="margin", columns="scenario",
                             values=["P(supported)", "P(contradicted)"]).round(3)
    wide.columns = [f"{p} | {s}" for p, s in wide.columns]
    cols = [c for c in ("P(supported) | no change", "P(contradicted) | no change", "P(contradicted) | extends")
            if c in wide.columns]
    m = smallest_margin(power)
    tail = (f"smallest margin with P(supported | no change) >= {TARGET_POWER}: {m:.2f}" if m is not None
            else f"no margin up to {power['margin'].max():.2f} has P(supported | no change) >= {TARGET_POWER}")
    return "\n".join(x for x in (title, wide[cols].to_string(), tail) if x)
