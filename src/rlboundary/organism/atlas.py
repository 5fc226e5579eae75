"""The boundary atlas (issue #12): under which conditions does RL extend the base's reach?

Each *arm* changes one thing of the organism's default RL stage and tests one
published claim about it; every arm is trained from a base of the same build
seed and evaluated against that base with the organism's own evaluation
(`evaluate.sample_models`, luck-free pass@k, `reach.py`'s bootstrap and rule).

    rlboundary organism atlas --params params/atlas/atlas.yaml --seeds 0,1 [--backend ray --workers 2]
    from rlboundary.organism.atlas import ARMS, run_unit
    run_unit("rl-at", "micro", seed=0, n=8)      # one arm x seed: trains what it needs, evaluates, stores

An arm (`Arm`) is data: its family, the claim with its citation, the
pre-registered expectation that decides "reproduced" (`EXPECTATIONS`), and
what it changes relative to the default RL stage:

| family      | what changes                                                          |
|-------------|-----------------------------------------------------------------------|
| objective   | the RL algorithm (TRL's GRPO / Dr. GRPO / RLOO / REINFORCE++)          |
| reinforced  | the advantages (positive- / negative-sample only, pass@k training), or the reward (valid traces only) |
| difficulty  | the RL prompts' levels: below / at / one beyond the base's frontier   |
| exposure    | the base: its pretraining share of the rare longer chains (0/1/10 %)  |
| prolonged   | 10x the steps, KL weight > 0, periodic reference resets (TRL's sync_ref_model) |
| ood         | RL prompts with '+' turns only; judged on problems with a '-' turn     |
| temperature | base and RL both sampled at T = 1.0 instead of 0.6                    |

One arm x one seed is one *unit* (`run_unit`): it builds what it needs
through the stage cache (`build.run_stage`): the base and frontier in a
directory per base (`bases/<key>/`), the RL run in a directory per RL
setting (`runs/<key>/`), each copied from any directory that already holds
the same finished stage (the organism's own build, another arm's), so arms
with the same base or the same RL run share it, and evaluates base and RL
model with the cached evaluation sampler. It writes `unit.json` and a
per-problem table into `units/<arm>-seed<s>/` and returns the summary.
Units depend on nothing but the outputs directory, so they run anywhere
(`atlas_backends.py`: one after the other, a process pool, or Ray tasks).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .. import paths
from ..errors import UserError

FAMILIES = ("objective", "reinforced", "difficulty", "exposure", "prolonged", "ood", "temperature")
EQUIVALENCE_MARGIN = 0.05  # as reach.EQUIVALENCE_MARGIN: "no change" means within 5 points

# Pre-registered expectations: (metric at the frontier, direction). A direction is
# decided from the CI of the arm's mean difference from its base, with the margin m:
#   up        met: CI low > 0         contradicted: CI high < +m (any gain is below the margin)
#   down      met: CI high < 0        contradicted: CI low > -m
#   no-gain   met: CI high < +m       contradicted: CI low > 0   (the paper's claim, reach.paper_claim)
#   no-loss   met: CI low > -m        contradicted: CI high < 0
# An arm's claim is "reproduced" when every expectation is met, "not reproduced"
# when any is contradicted, "inconclusive" otherwise.
EXPECTATIONS = ("up", "down", "no-gain", "no-loss")
METRICS = ("lf_pass_at_1", "lf_pass_at_n")

YUE = "Yue et al. 2025, arXiv 2504.13837"
ZHU = "Zhu et al. 2025, arXiv 2506.01347"
EDGE = "arXiv 2512.07783 (pre-, mid- and RL-training on synthetic reasoning tasks)"


@dataclass(frozen=True)
class Arm:
    """One condition of the atlas: what it changes in the default RL stage, and the claim it tests."""

    name: str
    family: str
    claim: str
    citation: str
    expect: tuple[tuple[str, str], ...]  # ((metric, direction), ...) at the frontier, see EXPECTATIONS
    algorithm: str = "grpo"
    levels: str = "shared"  # RL prompt levels (rl.PROMPT_LEVELS)
    signs: str = "any"  # RL prompts' turn signs (rl.PROMPT_SIGNS); "+"/"-": judged on the other problems
    exposure_total: float | None = None  # share of ALL pretraining traces on the rare longer chains; None: the preset's
    steps_factor: int = 0  # prolonged: this many times the RL's min_steps, no plateau stop (0: the default stop rule)
    beta: float = 0.0  # KL weight
    ref_resets: int = 0  # reference-model hard resets over the run (TRL sync_ref_model, mixup alpha 1)
    eval_checkpoints: int = 0  # RL checkpoints on the way also evaluated (evenly spaced; 0: the final model only)
    temperature: float = 0.6  # evaluation temperature of base and RL

    def spec(self) -> dict:
        """What the arm's numbers depend on (its unit is redone when this changes)."""
        return {k: v for k, v in asdict(self).items() if k not in ("claim", "citation")}


NO_GAIN = (("lf_pass_at_n", "no-gain"),)  # the paper's claim at the frontier


ARMS: dict[str, Arm] = {a.name: a for a in [
    # 1. RL objective (TRL's trainers and options).
    *[Arm(algo, "objective", f"RL with {label} does not extend the base's reach: luck-free pass@k at the largest k "
          "at the frontier at most 5 points above the base (the paper's claim; Fig. 8: every algorithm alike)",
          YUE, NO_GAIN, algorithm=algo)
      for algo, label in (("grpo", "GRPO"), ("dr_grpo", "Dr. GRPO"), ("rloo", "RLOO"),
                          ("reinforce_pp", "REINFORCE++ (global advantage normalisation)"))],
    # 2. What is reinforced (rl_objectives.py).
    Arm("psr", "reinforced", "Positive-sample reinforcement alone raises pass@1 but lowers pass@k at large k",
        ZHU, (("lf_pass_at_1", "up"), ("lf_pass_at_n", "down")), algorithm="psr"),
    Arm("nsr", "reinforced", "Negative-sample reinforcement alone keeps (or raises) pass@k at large k", ZHU,
        (("lf_pass_at_n", "no-loss"),), algorithm="nsr"),
    Arm("passk4", "reinforced", "Pass@k training (k = 4, analytic advantage) raises pass@k at large k",
        "Chen et al. 2025, Pass@k Training for Adaptively Balancing Exploration and Exploitation, arXiv 2508.10751",
        (("lf_pass_at_n", "up"),), algorithm="passk4"),
    # Added in session 11 (a review: the answer-only reward pays lucky guesses, 10 % on one-digit answers).
    Arm("valid-reward", "reinforced", "RL that rewards correct reasoning, not just correct answers, raises "
        "luck-free pass@k (CoT-pass@k) at large k; here the reward is made explicit: 1 only when the answer is "
        "right AND every step checks",
        "Wen et al. 2025, RLVR Implicitly Incentivizes Correct Reasoning in Base LLMs, arXiv 2506.14245 (they argue "
        "the answer reward does so implicitly; this arm pays only valid traces)",
        (("lf_pass_at_n", "up"),), algorithm="grpo_valid"),
    # 3. Difficulty of the RL data, relative to the base's measured frontier.
    Arm("rl-below", "difficulty", "RL on levels the base already masters only sharpens: no gain of reach at the "
        "frontier", EDGE, NO_GAIN, levels="below"),
    Arm("rl-at", "difficulty", "RL at the edge of competence raises pass@k at large k (pass@128 there)", EDGE,
        (("lf_pass_at_n", "up"),), levels="at"),
    Arm("rl-beyond", "difficulty", "RL beyond the edge of competence (rewards almost never fire) gains no reach "
        "(the same paper: gains came at the edge)", EDGE, NO_GAIN, levels="beyond"),
    # 4. Pretraining exposure to the frontier-candidate levels: a base of its own each.
    Arm("exposure-0", "exposure", "Without pretraining exposure to the longer chains, RL gains no reach there",
        EDGE, NO_GAIN, exposure_total=0.0),
    Arm("exposure-1", "exposure", "Minimal (~1 %) pretraining exposure suffices for RL to raise reach at large k",
        EDGE, (("lf_pass_at_n", "up"),), exposure_total=0.01),
    Arm("exposure-10", "exposure", "With ~10 % pretraining exposure RL raises reach at large k", EDGE,
        (("lf_pass_at_n", "up"),), exposure_total=0.10),
    # 5. Prolonged RL (ProRL): 10x the steps, KL penalty, periodic hard reference resets.
    Arm("prolonged", "prolonged", "Prolonged RL with a KL penalty and reference resets extends reach: pass@k at "
        "large k above the base", "Liu et al. 2025, ProRL, arXiv 2505.24864", (("lf_pass_at_n", "up"),),
        steps_factor=10, beta=0.04, ref_resets=6, eval_checkpoints=2),
    # 6. Out of distribution: RL on '+' turns only, judged on problems with a '-' turn.
    Arm("ood-plus", "ood", "Out of the RL data's distribution, too, RL does not extend the base's reach", YUE,
        NO_GAIN, signs="+"),
    # 7. Temperature: base and RL both sampled hotter.
    Arm("temperature-1.0", "temperature", "Sampled at T = 1.0 (more diverse), RL still does not extend the base's "
        "reach", YUE + "; the README's temperature rule", NO_GAIN, temperature=1.0),
]}


def get_arm(name: str) -> Arm:
    if name not in ARMS:
        raise UserError(f"unknown atlas arm {name!r}.", f"use one of: {', '.join(ARMS)}.")
    return ARMS[name]


# --- what an arm changes ---------------------------------------------------------

def arm_preset(arm: Arm, p):
    """The preset `arm` trains with: the default RL stage of `p` with the arm's changes."""
    from .rl import check_algorithm

    check_algorithm(arm.algorithm)
    changes: dict = {}
    if arm.exposure_total is not None:
        # Rare chains join after the curriculum (half of pretraining): a share of all
        # traces is twice that share of the later batches; the levels keep their ratios.
        later = 2 * arm.exposure_total
        total = sum(s for _, s in p.exposure)
        if not p.exposure or total <= 0:
            raise UserError(f"preset {p.name} has no exposure levels to scale.", "use a preset with exposure.")
        changes["exposure"] = tuple((level, share * later / total) for level, share in p.exposure)
    rl = p.rl
    if arm.steps_factor:
        steps = arm.steps_factor * rl.min_steps
        # No plateau stop (min_steps = steps); checkpoints every tenth of the run.
        rl = replace(rl, steps=steps, min_steps=steps, save_every=max(1, steps // 10))
    if arm.beta:
        rl = replace(rl, beta=arm.beta)
    if arm.ref_resets:
        if not arm.beta:
            raise UserError(f"arm {arm.name}: reference resets need a KL weight.", "set beta > 0.")
        rl = replace(rl, extra={**rl.extra, "sync_ref_model": True, "ref_model_mixup_alpha": 1.0,
                                "ref_model_sync_steps": max(1, rl.steps // arm.ref_resets)})
    if rl is not p.rl:
        changes["rl"] = rl
    prompts = tuple((k, v) for k, v in (("levels", arm.levels), ("signs", arm.signs))
                    if v != {"levels": "shared", "signs": "any"}[k])
    if prompts:
        changes["rl_prompts"] = prompts
    return replace(p, rl_algorithms=(arm.algorithm,), **changes)


def in_rl_part(arm: Arm, lock_problem) -> bool:
    """Whether an evaluation problem lies in the part of the task the arm's RL prompts cover."""
    return arm.signs == "any" or all(t[0] == arm.signs for t in lock_problem.turns)


# --- where a unit's pieces live ------------------------------------------------------

def atlas_dir(preset: str) -> Path:
    return paths.outputs_dir() / "atlas" / preset


def _key(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def unit_dir(preset: str, arm: str, seed: int) -> Path:
    return atlas_dir(preset) / "units" / f"{arm}-seed{seed}"


def unit_key(arm: Arm, preset: str, seed: int, n: int, eval_seed: int) -> dict:
    """Everything a unit's stored result depends on: the arm, the evaluation, and (as a digest)
    the settings of every stage it trains (a rebuilt organism preset redoes the unit)."""
    from .build import _stage_settings
    from .presets import get_preset

    stages = _stage_settings(arm_preset(arm, get_preset(preset)), seed, f"rl-{arm.algorithm}")
    key = {"arm": arm.spec(), "preset": preset, "seed": seed, "n": n, "eval_seed": eval_seed,
           "stages": _key(stages), "version": 1}
    return json.loads(json.dumps(key))  # as unit.json stores it (tuples become lists), so the two compare


def stage_dirs(arm: Arm, preset: str, seed: int) -> tuple[Path, Path]:
    """(the base's directory, the RL run's directory) of one arm and seed, keyed by stage settings:
    arms with the same base (or the same RL run) get the same directory."""
    from .build import _stage_settings
    from .presets import get_preset

    p = arm_preset(arm, get_preset(preset))
    root = atlas_dir(preset) / f"seed{seed}"
    return (root / "bases" / _key(_stage_settings(p, seed, "frontier")),
            root / "runs" / _key(_stage_settings(p, seed, f"rl-{arm.algorithm}")))


def load_unit(preset: str, arm: str, seed: int, n: int, eval_seed: int = 0) -> dict | None:
    """A finished unit's record, or None when absent or made with other settings."""
    path = unit_dir(preset, arm, seed) / "unit.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if record.get("key") == unit_key(get_arm(arm), preset, seed, n, eval_seed) else None


# --- one unit ---------------------------------------------------------------------------

def checkpoints_along(rl_record: dict, count: int) -> list[int]:
    """The steps of `count` evenly spaced RL checkpoints before the final model (an arm's `eval_checkpoints`)."""
    final = next(e for e in rl_record["entries"] if e.get("final"))
    steps = sorted(e["step"] for e in rl_record["entries"] if not e.get("final") and e["step"] != final["step"])
    along = [steps[round((i + 1) * len(steps) / (count + 1)) - 1] for i in range(count)] if steps and count else []
    return list(dict.fromkeys(along))


def checkpoint_models(arm: Arm, run_root: Path, along: list[int]) -> dict[str, str]:
    """{evaluation name: directory} of the RL checkpoints at steps `along`."""
    return {f"rl-{arm.algorithm}-step{k}": str(run_root / f"rl-{arm.algorithm}" / f"step-{k}") for k in along}


def set_threads(threads: int | None) -> None:
    """Torch threads of this process's training (build._torch_setup reads the variable) and of its
    in-process vLLM sampling alike (the backends pass usable cores // workers; None: leave as is)."""
    if threads:
        # Only the first call in a process counts: once an in-process vLLM CPU engine has started, vLLM
        # replaces torch.set_num_threads with a no-op that logs a warning (vllm/v1/worker/cpu_worker.py).
        # Every unit of a run asks for the same count, so that is harmless here.
        import torch

        os.environ["RLBOUNDARY_TORCH_THREADS"] = str(threads)
        torch.set_num_threads(threads)


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def train_arm(a: Arm, preset: str, seed: int, log=print) -> dict:
    """The arm's base, frontier and RL run for one seed, through the stage cache (stages already
    finished here, in the organism's own build or another arm's directory are copied, not retrained).

    Returns {"base_root", "run_root", "rl" (the RL stage record), "final" (its final entry),
    "frontier" (the frontier stage's entry), "seconds" per phase}."""
    from .build import MANIFEST, organism_dir, run_stage
    from .presets import get_preset

    p = arm_preset(a, get_preset(preset))
    base_root, run_root = stage_dirs(a, preset, seed)
    organism = organism_dir(preset, seed)
    # A complete build of the organism holds the default base and RL runs: copied, not retrained.
    shared = (organism,) if (organism / MANIFEST).is_file() else ()
    seconds: dict[str, float] = {}
    for stage in ("base", "frontier"):
        t = time.perf_counter()
        run_stage(stage, p, seed, base_root, log, adopt_from=shared)
        run_stage(stage, p, seed, run_root, log, adopt_from=(base_root,))
        seconds[stage] = time.perf_counter() - t
    t = time.perf_counter()
    rl = run_stage(f"rl-{a.algorithm}", p, seed, run_root, log, adopt_from=shared)
    seconds["rl"] = time.perf_counter() - t
    final = next(e for e in rl["entries"] if e.get("final"))
    frontier = json.loads((run_root / "frontier" / "stage.json").read_text())["entries"][0]
    return {"base_root": base_root, "run_root": run_root, "rl": rl, "final": final, "frontier": frontier,
            "seconds": seconds}


def run_unit(arm: str, preset: str, seed: int, n: int, eval_seed: int = 0, threads: int | None = None,
             log=print) -> dict:
    """Train (through the stage cache) and evaluate one arm x seed; returns its record (`unit.json`).

    `threads`: torch threads of this unit's training (the backends pass usable cores // workers)."""
    import pandas as pd

    from .benchmark import load_problems, lock_problem
    from ..models import weights_digest
    from .evaluate import cache_name, eval_cache, sample_models
    from .presets import get_preset
    from .reach import per_problem

    a = get_arm(arm)
    key = unit_key(a, preset, seed, n, eval_seed)
    done = load_unit(preset, arm, seed, n, eval_seed)
    if done is not None:
        log(f"[atlas] {arm} seed {seed}: reusing {unit_dir(preset, arm, seed)}")
        return done
    set_threads(threads)
    p0 = get_preset(preset)
    t_unit = time.perf_counter()
    trained = train_arm(a, preset, seed, log)
    base_root, run_root, rl, final, frontier = (trained[k] for k in ("base_root", "run_root", "rl", "final",
                                                                     "frontier"))
    seconds: dict[str, float] = dict(trained["seconds"])

    # Evaluate the base and the arm's model(s) on the evaluation split, at the arm's temperature.
    problems = load_problems("eval", preset=preset, seed=eval_seed)
    models = {"base": str(base_root / "base"), f"rl-{a.algorithm}": str(run_root / final["path"])}
    along = checkpoints_along(rl, a.eval_checkpoints)
    models.update(checkpoint_models(a, run_root, along))
    cache = eval_cache(preset, seed)
    # Models whose samples are not cached yet (the base is usually shared with other arms).
    sampled = sum(not (cache / cache_name(name, weights_digest(path), n, eval_seed, a.temperature)).is_file()
                  for name, path in models.items())
    t = time.perf_counter()
    rows, _ = sample_models(models, problems, cache, n=n, max_tokens=p0.max_completion_tokens(),
                            eval_seed=eval_seed, temperature=a.temperature, log=log)
    seconds["eval"] = time.perf_counter() - t
    labels = {f"rl-{a.algorithm}": arm, **{f"rl-{a.algorithm}-step{k}": f"{arm}@{k}" for k in along}}
    table = per_problem(rows.assign(seed=seed, model=rows["model"].replace(labels)), n)
    part = {q.id: in_rl_part(a, lock_problem(q)) for q in problems}
    table["in_rl_part"] = table["problem_id"].map(part)

    out = unit_dir(preset, arm, seed)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "per_problem.parquet.tmp"
    table.to_parquet(tmp)
    tmp.rename(out / "per_problem.parquet")
    seconds["unit"] = time.perf_counter() - t_unit
    record = {
        "key": key, "arm": arm, "family": a.family, "seed": seed, "n": n, "preset": preset,
        "frontier": frontier["frontier"], "frontier_in_range": frontier["in_range"], "unseen": p0.unseen_level,
        "models": {labels.get(k, k): str(Path(v).relative_to(paths.outputs_dir())) for k, v in models.items()},
        "checkpoints": {f"{arm}@{k}": k for k in along},
        "rl": {"algorithm": a.algorithm, "steps": final["step"], "stopped": final.get("stopped"),
               "beta": final.get("beta"), "seconds": rl["seconds"], "reward_curve": final.get("reward_curve", []),
               "settings": rl["settings"]},
        "base_dir": str(base_root.relative_to(paths.outputs_dir())),
        "run_dir": str(run_root.relative_to(paths.outputs_dir())),
        # Wall seconds of this call per phase (near 0 where a stage or sample file was reused),
        # and what was newly sampled: the plan's measured inputs.
        "seconds": seconds, "eval_models": len(models), "eval_models_sampled": sampled,
        "eval_samples_sampled": sampled * len(problems) * n, "problems": len(problems),
        "temperature": a.temperature, "threads": _torch_threads(),
    }
    tmp = out / "unit.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.rename(out / "unit.json")
    log(f"[atlas] {arm} seed {seed}: done in {seconds['unit']:.0f} s")
    return record
