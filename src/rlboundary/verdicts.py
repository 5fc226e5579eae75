"""Each notebook's claim, and the rule that decides it from the notebook's own numbers.

Every figure notebook tests one claim of the paper. Its verdict —
supported, contradicted or inconclusive — is computed here from the numbers
the notebook shows and their confidence intervals, by one rule function per
claim. The rule's text is the function's docstring; it is written into the
notebook's headline JSON beside the verdict and the numbers behind it, and
the report's index shows all three beside the claim, so a reader sees why
the verdict is what it is. The rules were written before any result was
looked at; a study whose numbers say otherwise gets the other verdict.

    from rlboundary import verdicts
    v = verdicts.base_ahead_at_large_k(study.comparisons)   # a Verdict
    v.verdict, v.reason, v.rule, v.numbers
    report.record_headlines("fig01_passk_math", study.headline, verdict=v)

Conventions shared by the rules:
- "CI" is the notebook's interval at its `ci_level` (95 % by default):
  percentile bootstrap over problems, paired where two models are compared
  (the same resampled problems for both), or Clopper–Pearson for a share of
  problems.
- A rule applied to several comparisons (several benchmarks, RL models or
  algorithms) gives each its own verdict; the claim's verdict is theirs when
  they all agree, else inconclusive ("mixed").
- A comparison without a CI (bootstrap off, too few problems) is inconclusive.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_RUN = "not run"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_RUN)

# The claim each notebook tests, stated as the proposition its rule decides.
CLAIMS = {
    "fig01_passk_math": "At the largest k sampled, the base model's pass@k is higher than the RL model's.",
    "fig03_passk_code": "On code with executed tests, too, the base model's pass@k at the largest k sampled "
                        "is higher than the RL model's.",
    "fig05_accuracy_and_coverage": "The problems RL solves are (nearly) a subset of the base model's: "
                                   "few of the problems RL solves at n samples go unsolved by the base at the same n.",
    "fig06_perplexity": "RL's responses are ones the base model already finds likely: under the base model they have "
                        "lower perplexity than the base model's own samples.",
    "fig07_distillation": "Distillation, unlike RL, expands the base model's reach: at the largest k the distilled "
                          "model's pass@k is above the base's, the RL model's is not.",
    "fig08_rl_algorithms": "Every RL algorithm raises pass@1 over the base, yet stays below the base model's pass@k "
                           "at the largest k (ΔSE@k = base pass@k − RL pass@1 > 0).",
    "cot_validity": "Correct answers at low pass rates are mostly backed by valid reasoning, not lucky guesses.",
    "horizon": "At the largest k fitted, the base model's 50 % horizon (steps solved half the way from chance to "
               "certainty) is longer than the RL model's: RL does not extend the reach of sampling to longer problems.",
    "organism_reach": "RL does not extend the base model's valid reach: at the frontier level an RL model solves, "
                      "with a fully valid trace, no more problems than its base beyond the rule's equivalence margin "
                      "(luck-free pass@n; 5 points on the frontier endpoint, 30 on a fresh, independently sampled "
                      "confirmation panel, the smallest its power allows), and no more than a resample of the base "
                      "gains there.",
    "atlas": "Under none of the atlas's conditions (RL objective, what is reinforced, difficulty of the RL data, "
             "pretraining exposure, prolonged RL, out-of-distribution RL, temperature) does RL extend the base's "
             "valid reach at the frontier beyond the rule's margin (luck-free pass@n; 5 points on the main set's "
             "frontier problems, 35 on a fresh, independently sampled confirmation panel, the smallest its power "
             "allows with two seeds), and no more than a resample of the base gains there.",
}

# Thresholds the rules use, fixed with the rules (before any result was seen).
SUBSET_MAX_NEW = 0.10  # "nearly a subset": at most 1 in 10 of RL's solved problems new to the base
MOSTLY = 0.5  # "mostly valid": more than half of the correct answers
MIN_BUCKET_PROBLEMS = 5  # fewer problems in the low-pass-rate bucket: no interval worth the name
# Added in session 11 (a review found the organism's pass@256 claims settled by guessing: one-digit
# answers give a uniform guesser pass@256 = 1 - 0.9^256 ~ 1): a pass@k comparison at a k where
# a guesser's pass@k is at least this is inconclusive, whatever its CI (see `guessing_guard`).
GUESSABLE = 0.5


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict, the one-line reason, the rule and the numbers behind it."""

    claim: str
    verdict: str
    reason: str
    rule: str
    numbers: list[dict] = field(default_factory=list)  # one row per comparison: what, value, ci_low, ci_high, verdict

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")

    def as_dict(self) -> dict:
        return {"claim": self.claim, "verdict": self.verdict, "reason": self.reason, "rule": self.rule,
                "numbers": [{k: _plain(v) for k, v in row.items()} for row in self.numbers]}

    def _repr_html_(self) -> str:  # how a notebook shows it
        import html

        rows = "".join(f"<li>{html.escape(number_line(r))}</li>" for r in self.numbers)
        return (f"<p><b>Verdict: {html.escape(self.verdict)}</b> — {html.escape(self.reason)}</p>"
                f"<ul>{rows}</ul><p><i>Rule:</i> {html.escape(self.rule)}</p>")

    def __str__(self) -> str:
        lines = [f"verdict: {self.verdict} — {self.reason}", *("  " + number_line(r) for r in self.numbers),
                 f"rule: {self.rule}"]
        return "\n".join(lines)


def _plain(value):
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(x) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.3f}"


def number_line(row: dict) -> str:
    ci = f" [{_fmt(row.get('ci_low'))}, {_fmt(row.get('ci_high'))}]" if "ci_low" in row else ""
    value = row.get("value")
    shown = _fmt(value) if isinstance(value, (int, float)) else str(value)
    extra = f" ({row['note']})" if row.get("note") else ""
    return f"{row['what']}: {shown}{ci} → {row.get('verdict', '')}{extra}"


def rule_text(rule: Callable) -> str:
    """A rule function's docstring, on one line: what the report shows as the rule."""
    return " ".join(inspect.getdoc(rule).split())


def _finite(*xs) -> bool:
    return all(x is not None and isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def interval_sign(low, high) -> str:
    """supported if the CI lies above 0, contradicted if below 0, inconclusive if it holds 0 (or is missing)."""
    if not _finite(low, high):
        return INCONCLUSIVE
    if low > 0:
        return SUPPORTED
    if high < 0:
        return CONTRADICTED
    return INCONCLUSIVE


def guessing_guard(verdict: str, chance, k) -> tuple[str, str]:
    """(verdict, note): INCONCLUSIVE when a uniform guesser's pass@k (`chance`, known only where
    problems state their answer space) is at least GUESSABLE: there pass@k cannot tell reasoning
    from guessing (the organism's luck-free reach, which counts only validly reasoned answers,
    can). Unchanged otherwise."""
    if _finite(chance) and chance >= GUESSABLE:
        return INCONCLUSIVE, f"answers guessable at k={k}: a uniform guesser's pass@{k} is {chance:.3f}"
    return verdict, ""


def combine(verdicts: Sequence[str]) -> str:
    """The claim's verdict from its comparisons': theirs when all agree, else inconclusive."""
    found = set(verdicts)
    return found.pop() if len(found) == 1 else INCONCLUSIVE


def _decide(notebook: str, rule: Callable, numbers: list[dict], empty_reason: str) -> Verdict:
    if not numbers:
        return Verdict(CLAIMS[notebook], INCONCLUSIVE, empty_reason, rule_text(rule), [])
    verdict = combine([r["verdict"] for r in numbers])
    counts = {v: sum(r["verdict"] == v for r in numbers) for v in (SUPPORTED, CONTRADICTED, INCONCLUSIVE)}
    if len(numbers) == 1:
        reason = number_line(numbers[0])
    elif verdict == INCONCLUSIVE and len({r["verdict"] for r in numbers}) > 1:
        reason = "mixed: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + f" of {len(numbers)} comparisons"
    else:
        reason = f"all {len(numbers)} comparisons {verdict}"
    return Verdict(CLAIMS[notebook], verdict, reason, rule_text(rule), numbers)


def not_run(notebook: str, reason: str) -> Verdict:
    """A claim this parameter set cannot test (e.g. code without a code model): no verdict, and why."""
    return Verdict(CLAIMS[notebook], NOT_RUN, reason, "not applicable: the study did not run", [])


# --- the rules, one per claim ----------------------------------------------------

def base_ahead_at_large_k(comparisons, notebook: str = "fig01_passk_math") -> Verdict:
    """For each RL model and benchmark: the paired difference base − RL pass@k at the largest k
    (the headline k, clipped to n) with its paired-bootstrap CI over problems. Supported if the CI
    lies above 0, contradicted if it lies below 0, inconclusive if it holds 0, or if a uniform
    guesser's pass@k there is at least 0.5 (answers guessable: `guessing_guard`). The claim's
    verdict is the comparisons' when they all agree, else inconclusive."""
    numbers = []
    for r in _records(comparisons):
        if r["role"] != "rl":
            continue
        verdict, guess = guessing_guard(interval_sign(r["diff_ci_low"], r["diff_ci_high"]), r.get("chance_at_k"),
                                        r["k_max"])
        numbers.append({"what": f"base − {r['model']} pass@{r['k_max']} on {r['benchmark']}",
                        "value": r["diff_at_k"], "ci_low": r["diff_ci_low"], "ci_high": r["diff_ci_high"],
                        "verdict": verdict,
                        "note": "; ".join(x for x in (guess, f"base ahead at k={r['base_ahead_k']}; "
                                                            f"RL ahead at k={r['rl_ahead_k']}") if x)})
    return _decide(notebook, base_ahead_at_large_k, numbers, "no RL model compared with a base model")


def base_ahead_at_large_k_on_code(comparisons, not_run_reason: str = "") -> Verdict:
    """The rule of Figures 1-2 on code benchmarks (executed tests): for each RL model and code
    benchmark, the paired difference base − RL pass@k at the largest k with its paired-bootstrap
    CI; supported if above 0, contradicted if below 0, inconclusive if it holds 0; the claim's
    verdict is the comparisons' when they all agree, else inconclusive. Not run (no verdict)
    when the parameters hold no code benchmark."""
    if not_run_reason:
        return not_run("fig03_passk_code", not_run_reason)
    v = base_ahead_at_large_k(comparisons, notebook="fig03_passk_code")
    return Verdict(v.claim, v.verdict, v.reason, rule_text(base_ahead_at_large_k_on_code), v.numbers)


def rl_solves_nearly_a_subset(coverage, ci: float = 0.95) -> Verdict:
    """For each benchmark, at equal n: of the problems RL solves (at least one correct sample),
    the share the base never solves, rl_only / (both + rl_only), with a Clopper–Pearson CI.
    Supported if the CI lies below 0.10 (at most one in ten of RL's solved problems is new),
    contradicted if it lies above 0.10, inconclusive otherwise (or if RL solves nothing, or if a
    uniform guesser's pass@n is at least 0.5: answers guessable, `guessing_guard`)."""
    numbers = []
    for bench, g in _group(coverage, "benchmark"):
        sizes = {r["set"]: r["n_problems"] for r in g}
        new, solved = sizes["rl_only"], sizes["both"] + sizes["rl_only"]
        low, high = clopper_pearson(new, solved, ci)
        if not _finite(low, high):
            verdict = INCONCLUSIVE
        elif high < SUBSET_MAX_NEW:
            verdict = SUPPORTED
        elif low > SUBSET_MAX_NEW:
            verdict = CONTRADICTED
        else:
            verdict = INCONCLUSIVE
        verdict, guess = guessing_guard(verdict, g[0].get("chance_at_n"), "n")
        numbers.append({"what": f"share of RL-solved problems the base never solves on {bench}",
                        "value": new / solved if solved else float("nan"), "ci_low": low, "ci_high": high,
                        "verdict": verdict,
                        "note": "; ".join(x for x in (guess, f"RL only {new} of {solved}; base only "
                                                             f"{sizes['base_only']}; neither {sizes['neither']}") if x)})
    return _decide("fig05_accuracy_and_coverage", rl_solves_nearly_a_subset, numbers, "no coverage table")


def rl_responses_likely_under_base(gaps) -> Verdict:
    """For each scoring (base) model and benchmark: the mean over problems of
    [mean log-perplexity of the RL model's responses − mean log-perplexity of the base model's own
    responses], both scored by the base model (all response tokens), with a paired-bootstrap CI
    over problems. Supported if the CI lies below 0 (RL's responses are more likely under the
    base), contradicted if it lies above 0, inconclusive if it holds 0."""
    numbers = []
    for r in _records(gaps):
        numbers.append({"what": f"log PPL_{r['scorer']}(RL) − log PPL_{r['scorer']}(base) on {r['benchmark']}",
                        "value": r["diff"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                        "verdict": interval_sign(-r["ci_high"], -r["ci_low"]),
                        "note": f"{r['problems']} problems; without prompt copies {_fmt(r['diff_excl_copied'])}"})
    return _decide("fig06_perplexity", rl_responses_likely_under_base, numbers,
                   "no problem with responses of both the base and the RL model")


def distillation_expands_unlike_rl(comparisons, distilled_models: Sequence[str] | None = None) -> Verdict:
    """For each benchmark, with D = distilled − base and R = RL − base pass@k at the largest k
    (paired-bootstrap CIs): supported if every distilled model's D lies above 0 and no RL model's
    R does (R's lower bound <= 0); contradicted if some RL model's R lies above 0 (RL expands
    reach too) or some distilled model's D lies below 0; inconclusive otherwise. The distilled
    models judged are those of `distilled_models` (the stronger teacher's students); other
    models, controls included, are shown in the notebook but not judged. Inconclusive, too, where
    a uniform guesser's pass@k is at least 0.5 (answers guessable: `guessing_guard`)."""
    numbers = []
    for bench, g in _group(comparisons, "benchmark"):
        dist = [r for r in g if r["role"] == "distilled"
                and (distilled_models is None or r["model"] in distilled_models)]
        rl = [r for r in g if r["role"] == "rl"]
        if not dist or not rl:
            continue
        # comparisons hold base − model; D and R are model − base.
        d = [(r, -r["diff_at_k"], -r["diff_ci_high"], -r["diff_ci_low"]) for r in dist]
        rr = [(r, -r["diff_at_k"], -r["diff_ci_high"], -r["diff_ci_low"]) for r in rl]
        if not all(_finite(lo, hi) for _, _, lo, hi in d + rr):
            verdict = INCONCLUSIVE
        elif any(lo > 0 for _, _, lo, _ in rr) or any(hi < 0 for _, _, _, hi in d):
            verdict = CONTRADICTED
        elif all(lo > 0 for _, _, lo, _ in d) and all(lo <= 0 for _, _, lo, _ in rr):
            verdict = SUPPORTED
        else:
            verdict = INCONCLUSIVE
        verdict, guess = guessing_guard(verdict, max((r.get("chance_at_k") or 0.0) for r in dist + rl),
                                        max(r["k_max"] for r in dist + rl))
        for r, value, lo, hi in d + rr:
            numbers.append({"what": f"{r['model']} − base pass@{r['k_max']} on {bench}", "value": value,
                            "ci_low": lo, "ci_high": hi, "verdict": verdict,
                            "note": "; ".join(x for x in (r["role"], guess) if x)})
    v = _decide("fig07_distillation", distillation_expands_unlike_rl, numbers,
                "needs a distilled and an RL model compared with the same base")
    if numbers:  # one verdict per benchmark, repeated on its rows: count benchmarks, not rows
        by_bench = {n["what"].rsplit(" on ", 1)[1]: n["verdict"] for n in numbers}
        verdict = combine(list(by_bench.values()))
        reason = v.reason if len(by_bench) == 1 and len(numbers) == 1 else (
            f"{len(by_bench)} benchmark(s): " + ", ".join(f"{b} {x}" for b, x in by_bench.items()))
        v = Verdict(v.claim, verdict, reason, v.rule, v.numbers)
    return v


def rl_algorithms_below_base_reach(summary, k: int) -> Verdict:
    """For each RL algorithm (its last checkpoint), two paired-bootstrap CIs over problems:
    RL − base pass@1, and ΔSE@k = base pass@k − RL pass@1 at the largest k. Supported if both
    lie above 0 (pass@1 raised, still below the base's pass@k); contradicted if either lies
    below 0 (pass@1 lowered, or RL's pass@1 above the base's pass@k); inconclusive otherwise.
    ΔSE@k is inconclusive where a uniform guesser's pass@k is at least 0.5 (answers guessable:
    `guessing_guard`). The claim's verdict is the algorithms' when they all agree, else inconclusive."""
    from .metrics import delta_se_label

    numbers = []
    for r in _records(summary):
        raised = interval_sign(r["pass1_gain_low"], r["pass1_gain_high"])
        gap, guess = guessing_guard(interval_sign(r["delta_se_low"], r["delta_se_high"]), r.get("chance_at_k"), k)
        verdict = (CONTRADICTED if CONTRADICTED in (raised, gap)
                   else SUPPORTED if raised == gap == SUPPORTED else INCONCLUSIVE)
        numbers.append({"what": f"{r['algorithm']} ({r['model']}): RL − base pass@1", "value": r["pass1_gain"],
                        "ci_low": r["pass1_gain_low"], "ci_high": r["pass1_gain_high"], "verdict": raised})
        numbers.append({"what": f"{r['algorithm']} ({r['model']}): {delta_se_label(k)}", "value": r["delta_se"],
                        "ci_low": r["delta_se_low"], "ci_high": r["delta_se_high"], "verdict": gap,
                        "note": f"algorithm verdict: {verdict}" + (f"; {guess}" if guess else "")})
    v = _decide("fig08_rl_algorithms", rl_algorithms_below_base_reach, numbers, "no RL algorithm")
    if numbers:
        per_algorithm = [n["note"].split(": ", 1)[1].split(";")[0] for n in numbers if n.get("note", "").startswith("algorithm verdict")]
        verdict = combine(per_algorithm)
        reason = (f"all {len(per_algorithm)} algorithms {verdict}" if len(set(per_algorithm)) == 1 else
                  "mixed: " + ", ".join(f"{per_algorithm.count(x)} {x}" for x in dict.fromkeys(per_algorithm)))
        v = Verdict(v.claim, verdict, reason, v.rule, v.numbers)
    return v


def low_pass_rate_answers_valid(by_bucket, base_models: Iterable[str], lowest_bucket: str) -> Verdict:
    """For each base model: in the lowest per-problem pass-rate bucket (the first of
    pass_rate_bins), the share of correct answers whose every step is valid, with a bootstrap CI
    over problems. Supported if the CI lies above 0.5 (mostly valid), contradicted if it lies below
    0.5 (mostly lucky), inconclusive if it holds 0.5, if the bucket holds fewer than 5 problems,
    or if no correct answer falls in it."""
    numbers = []
    for model in base_models:
        rows = [r for r in _records(by_bucket) if r["model"] == model and r["bucket"] == lowest_bucket]
        if not rows:
            numbers.append({"what": f"{model}: valid share of correct answers in pass-rate bucket {lowest_bucket}",
                            "value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                            "verdict": INCONCLUSIVE, "note": "no correct answer in this bucket"})
            continue
        r = rows[0]
        if r["problems"] < MIN_BUCKET_PROBLEMS:
            verdict = INCONCLUSIVE
        else:
            verdict = interval_sign(r["ci_low"] - MOSTLY, r["ci_high"] - MOSTLY)
        numbers.append({"what": f"{model}: valid share of correct answers in pass-rate bucket {lowest_bucket}",
                        "value": r["valid_fraction"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                        "verdict": verdict, "note": f"{r['n_correct']} correct answers on {r['problems']} problems"})
    return _decide("cot_validity", low_pass_rate_answers_valid, numbers, "no base model")


def base_horizon_longer(comparisons) -> Verdict:
    """For each RL model at the largest k fitted: the difference of 50 % horizons (above the
    chance floor), base − RL, with a paired bootstrap CI over problems (the same resampled problems
    for both fits). Supported if the CI lies above 0, contradicted if it lies below 0,
    inconclusive if it holds 0 or if either horizon lies outside the step counts tried (then it
    is a bound, not a number)."""
    numbers = []
    records = _records(comparisons)
    largest = max((r["k"] for r in records), default=None)
    for r in (r for r in records if r["k"] == largest):
        verdict = INCONCLUSIVE if r["extrapolated"] else interval_sign(r["ci_low"], r["ci_high"])
        numbers.append({"what": f"horizon(base) − horizon({r['model']}) at pass@{r['k']}", "value": r["diff"],
                        "ci_low": r["ci_low"], "ci_high": r["ci_high"], "verdict": verdict,
                        "note": f"base {r['base_horizon']}; {r['model']} {r['horizon']}"})
    return _decide("horizon", base_horizon_longer, numbers, "no RL model compared with a base model")


# --- helpers -----------------------------------------------------------------------

def clopper_pearson(successes: int, trials: int, ci: float = 0.95) -> tuple[float, float]:
    """Exact binomial CI for a share; (nan, nan) with no trials."""
    from scipy.stats import beta

    if trials <= 0:
        return float("nan"), float("nan")
    a = (1 - ci) / 2
    low = 0.0 if successes == 0 else float(beta.ppf(a, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1 - a, successes + 1, trials - successes))
    return low, high


def _records(frame) -> list[dict]:
    return [] if frame is None or len(frame) == 0 else frame.to_dict(orient="records")


def _group(frame, key: str):
    groups: dict = {}
    for r in _records(frame):
        groups.setdefault(r[key], []).append(r)
    return groups.items()
