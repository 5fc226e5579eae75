"""The 50 % horizon: how many reasoning steps a model still gets right half the time.

Given per-problem success probabilities (pass@1, pass@8, ...) and each
problem's number of steps, fit a decreasing logistic curve above a chance
floor

    p(s) = floor + (1 - floor) / (1 + exp((s - h50) / scale))

by maximum likelihood (the per-problem probability is a fractional Bernoulli
target), and report h50: the step count where the fitted success rate is
halfway between the floor and 1 (50 % when floor = 0). The floor is what a
pure guesser scores: with chance g of guessing the answer in one try, its
pass@k is 1 - (1 - g)^k (`chance_floor`). Without it a guess-friendly task
has no horizon at large k: pass@8 of a 1-in-10 guesser is already 0.57, so
"success above 50 %" would say nothing about reasoning. A bootstrap over
problems gives the horizon's confidence interval (the replicates are kept,
so two fits on the same problems can be compared pairwise). When the fitted
h50 lies outside the observed step range it is flagged as extrapolated
rather than clipped: "beyond the longest problems" is a finding.

    from rlboundary.horizon import horizon_fit, chance_floor
    fit = horizon_fit(steps=[1, 2, 3, ...], success=[0.9, 0.7, ...], floor=chance_floor(0.1, k=1))
    fit.h50, fit.ci_low, fit.ci_high, fit.extrapolated
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import UserError

# Probabilities are clipped away from 0 and 1 inside the log-likelihood so a
# problem solved always (or never) does not give an infinite loss.
_EPS = 1e-6


@dataclass(frozen=True)
class HorizonFit:
    h50: float  # steps at which the fitted success rate is 50 %
    scale: float  # steps over which the rate falls from 73 % to 50 % (1/slope)
    ci_low: float
    ci_high: float
    min_steps: float
    max_steps: float
    n_problems: int
    extrapolated: bool  # h50 outside [min_steps, max_steps]
    floor: float = 0.0  # the chance floor the curve decays to (a pure guesser's success)
    boot: tuple = ()  # bootstrap replicates of h50 (same problems resampled for every fit with the same seed)

    @property
    def status(self) -> str:
        """inside | beyond (above 50 % up to the longest problems) | below
        (under 50 % already at the shortest ones)."""
        if not self.extrapolated:
            return "inside"
        return "beyond" if self.h50 > self.max_steps else "below"

    def describe(self) -> str:
        """The horizon as a reader should see it: a number only inside the range tried."""
        if self.status == "inside":
            return f"{self.h50:.2f} [{self.ci_low:.2f}, {self.ci_high:.2f}]"
        level = "50 %" if self.floor == 0 else f"{(1 + self.floor) / 2:.0%} (halfway from chance to 1)"
        if self.status == "beyond":
            return f"> {self.max_steps:g} (above {level} at every length tried)"
        return f"< {self.min_steps:g} (below {level} at every length tried)"

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("boot")
        return {**d, "status": self.status, "horizon": self.describe()}

    def predict(self, steps) -> np.ndarray:
        return with_floor(logistic(np.asarray(steps, dtype=float), self.h50, self.scale), self.floor)


def logistic(steps: np.ndarray, h50: float, scale: float) -> np.ndarray:
    """Decreasing logistic in the number of steps; 0.5 at `h50`."""
    return 1.0 / (1.0 + np.exp(np.clip((steps - h50) / scale, -50, 50)))


def chance_floor(chance: float, k: int) -> float:
    """pass@k of a pure guesser that is right with probability `chance` per try: 1 - (1 - chance)^k."""
    if not 0 <= chance < 1:
        raise UserError(f"chance={chance} is not a guessing probability.", "use 0 <= chance < 1 (one digit: 0.1).")
    return 1.0 - (1.0 - chance) ** k


def with_floor(p: np.ndarray, floor: float) -> np.ndarray:
    """A success curve lifted onto a chance floor: floor + (1 - floor) p."""
    return floor + (1.0 - floor) * p


def _fit_once(steps: np.ndarray, success: np.ndarray, floor: float = 0.0) -> tuple[float, float]:
    from scipy.optimize import minimize

    y = np.clip(success, _EPS, 1 - _EPS)

    def loss(theta):
        h50, log_scale = theta
        p = np.clip(with_floor(logistic(steps, h50, np.exp(log_scale)), floor), _EPS, 1 - _EPS)
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    # Start at the middle of the observed range with a scale of one step.
    start = np.array([float(np.median(steps)), 0.0])
    res = minimize(loss, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-9, "maxiter": 2000})
    return float(res.x[0]), float(np.exp(res.x[1]))


def horizon_fit(steps, success, n_boot: int = 200, ci: float = 0.95, seed: int = 0, floor: float = 0.0) -> HorizonFit:
    """Fit the logistic horizon above `floor` to per-problem (steps, success probability) pairs."""
    steps = np.asarray(steps, dtype=float)
    success = np.asarray(success, dtype=float)
    if steps.shape != success.shape or steps.ndim != 1:
        raise UserError("steps and success must be 1-d and of equal length.", "pass one value of each per problem.")
    if steps.size < 3 or np.unique(steps).size < 2:
        raise UserError(f"a horizon needs problems at two or more step counts (got {np.unique(steps).tolist()}).",
                        "include problems of several difficulties.")
    if np.any((success < 0) | (success > 1)) or np.any(~np.isfinite(success)):
        raise UserError("success values must be probabilities in [0, 1].", "pass pass@k values per problem.")
    if not 0 <= floor < 1:
        raise UserError(f"floor={floor} is not a success rate below 1.", "pass chance_floor(chance, k).")
    h50, scale = _fit_once(steps, success, floor)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):  # resample problems; a few hundred small fits take well under a second
        idx = rng.integers(0, steps.size, steps.size)
        # A replicate with a single step count has no slope: NaN keeps replicate i paired across fits.
        boots.append(_fit_once(steps[idx], success[idx], floor)[0] if np.unique(steps[idx]).size >= 2 else np.nan)
    alpha = (1 - ci) / 2
    finite = np.asarray(boots)[np.isfinite(boots)]
    low, high = (np.quantile(finite, [alpha, 1 - alpha]) if finite.size else (np.nan, np.nan))
    return HorizonFit(h50=h50, scale=scale, ci_low=float(low), ci_high=float(high),
                      min_steps=float(steps.min()), max_steps=float(steps.max()), n_problems=int(steps.size),
                      extrapolated=not (steps.min() <= h50 <= steps.max()), floor=float(floor), boot=tuple(boots))
