"""Build every organism model with one call, deterministically from a seed.

    rlboundary organism build --preset default --seed 0
    from rlboundary.organism.build import ensure_organism
    models = ensure_organism("default", 0)     # {name: path}; builds if absent
    models.manifest                            # the full manifest (roles, steps, times)

Stages, in order (each a module of this package):
1. base: pretrained from scratch on the mixed-writer corpus, chains of
   1..max_steps turns plus rare longer ones (pretrain.py, `Preset.exposure`);
2. frontier: the base measured on training-split problems of the rare
   levels; the frontier level is chosen by a fixed rule (frontier.py);
3. instruct: base fine-tuned on clean systematic traces (sft.py);
4. rft: base fine-tuned on its own verified samples (rejection sampling);
5. teacher / distilled: a teacher grown from the base and trained on clean
   traces of every level up to the longest pretraining level + 1 (stronger
   than the base at the frontier), saved at checkpoints along the way, and
   the base distilled from it;
6. teacher-matched / distilled-matched: the teacher's checkpoint whose reach
   at the frontier is closest to the base's (frontier.MATCHED_TEACHER_RULE),
   and the base distilled from it;
7. RL: base trained with each RL algorithm until the frontier reward
   plateaus (rl.py).
RL, RFT and both distillations draw their prompts from one distribution
(`frontier.training_problems`): the comparison between them is about the
training signal, not the problems.

Layout: `paths.models_dir()/organism/<preset>-seed<seed>/` holding
`base/ instruct/ teacher/ distilled/ rl-<algo>/step-<k>/` (Hugging Face
format) and `manifest.json`. The build writes into a `.partial` directory
and renames it when every stage is done, under a file lock, so a killed or
concurrent build never leaves a half-built organism that looks complete.
Each finished stage records its settings and results in `<stage>/stage.json`;
a rerun after a kill reuses every stage whose settings are unchanged.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from dataclasses import replace
from pathlib import Path

from .. import paths
from ..errors import UserError
from ..machine import host_record
from .frontier import MATCHED_TEACHER_RULE, REACH_ROUND
from .presets import Preset, get_preset
from .task import PROMPT_FORMAT

MANIFEST = "manifest.json"
MANIFEST_VERSION = 3  # 2: frontier, RFT, matched-reach teacher; 3: bare prompts, reach by rounds


class OrganismModels(dict):
    """{model name: path} of a built organism; `.manifest` holds everything else."""

    def __init__(self, manifest: dict, root: Path):
        super().__init__({m["name"]: str(root / m["path"]) for m in manifest["models"]})
        self.manifest = manifest
        self.root = root


def organism_dir(preset: str, seed: int) -> Path:
    return paths.models_dir() / "organism" / f"{preset}-seed{seed}"


def load_organism(preset: str = "default", seed: int = 0) -> OrganismModels | None:
    """The built organism, or None when it has not been built (completely) or
    was built with settings that are no longer the preset's (a stale stage)."""
    root = organism_dir(preset, seed)
    path = root / MANIFEST
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("version") != MANIFEST_VERSION or stale_stages(get_preset(preset), seed, root):
        return None
    return OrganismModels(manifest, root)


def stale_stages(p: Preset, seed: int, root: Path) -> list[str]:
    """Stages of the build in `root` whose recorded settings differ from what
    the preset asks for now (or that are missing): they must be rebuilt."""
    return [stage for stage in stage_names(p) if _done(root, stage, _stage_settings(p, seed, stage)) is None]


def ensure_organism(preset: str = "default", seed: int = 0, log=print, workers: int | None = None) -> OrganismModels:
    """The organism's models, building them first when absent."""
    built = load_organism(preset, seed)
    if built is not None:
        return built
    return build_organism(preset, seed, log=log, workers=workers)


def _torch_setup(device: str) -> str:
    import torch

    threads = os.environ.get("RLBOUNDARY_TORCH_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    if device == "cuda" and not torch.cuda.is_available():
        return "cpu"
    return device


def _param_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def build_organism(preset: str | Preset = "default", seed: int = 0, out: str | Path | None = None, log=print,
                   force: bool = False, workers: int | None = None) -> OrganismModels:
    """Run every stage; returns the built models. `out` overrides the directory;
    `workers` stages run side by side after the base (default: `schedule.default_workers`)."""
    from filelock import FileLock

    from .schedule import default_workers

    p = get_preset(preset) if isinstance(preset, str) else preset
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed={seed!r} is not a non-negative integer.", "pass --seed 0 or another integer >= 0.")
    root = (Path(out) if out is not None else organism_dir(p.name, seed)).resolve()  # "." has no name to extend
    refuse_foreign_directory(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):
        partial = root.with_name(root.name + ".partial")
        if (root / MANIFEST).is_file() and not force:
            stale = stale_stages(p, seed, root)
            if not stale:
                return OrganismModels(json.loads((root / MANIFEST).read_text()), root)
            # The preset changed since this build: rebuild the stages it
            # changed, reusing every stage whose settings still match.
            log(f"[build] {root.name}: stages built with other settings: {', '.join(stale)}; rebuilding them")
            if partial.exists():  # an interrupted rebuild is newer than the complete build
                shutil.rmtree(root)
            else:
                root.rename(partial)
        if force:
            shutil.rmtree(partial, ignore_errors=True)
        # A killed build left its finished stages here: they are reused when
        # their settings match (stage.json), so the build resumes.
        partial.mkdir(parents=True, exist_ok=True)
        manifest = _run_stages(p, seed, partial, log, workers or default_workers())
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if root.exists():
            refuse_foreign_directory(root)  # checked again: something may have been written there meanwhile
            shutil.rmtree(root)
        partial.rename(root)
    return OrganismModels(manifest, root)


def refuse_foreign_directory(root: Path) -> None:
    """A build replaces its directory when it finishes: refuse one that holds anything but an
    organism build (a manifest), so that `--out outputs` cannot delete stored samples or verdicts."""
    if root.is_dir() and any(root.iterdir()) and not (root / MANIFEST).is_file():
        raise UserError(f"{root} exists, is not empty and holds no organism build ({MANIFEST}); a build replaces "
                        f"its directory when it finishes, so it will not build there.",
                        "pass a new directory (or an earlier build's) to --out.")
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} is a file, not a directory.", "pass a directory path to --out.")


STAGE_FILE = "stage.json"


def _stage_settings(p: Preset, seed: int, stage: str) -> dict:
    """What a stage's output depends on (a changed value invalidates it)."""
    from .rl import stop_rule

    common = {"seed": seed, "width": p.width, "max_steps": p.max_steps, "device": p.device, "prompt": PROMPT_FORMAT,
              "base": {"train": p.base_train, "shape": p.base_shape, "exposure": p.exposure,
                       # rare chains join when the curriculum completes (pretrain.py)
                       "exposure_from": "curriculum_end"}}
    frontier = {"range": p.frontier_range, "problems": p.frontier_problems, "n": p.frontier_n,
                "share": p.frontier_share, "candidates": p.frontier_candidates(),
                "sampling": {"round": REACH_ROUND, "problems": "drawn per level"}}
    teacher = {"shape": p.teacher_shape, "train": p.teacher_train, "reach": p.teacher_reach,
               "checkpoints": _candidate_steps(p)}
    # Not part of the settings: the bounded order of measuring the candidates, which keeps the
    # same checkpoint as measuring all of them (frontier.select_matched_checkpoint, tested).
    select = {"rule": MATCHED_TEACHER_RULE, "round": REACH_ROUND}
    per_stage = {
        "base": {},
        "frontier": {"frontier": frontier},
        "instruct": {"train": p.instruct_train},
        "rft": {"frontier": frontier, "train": p.distill_train, "problems": p.distill_problems,
                "samples": p.rft_samples},
        # The matched teacher is chosen among the stronger teacher's checkpoints.
        "teacher": {"frontier": frontier, "shape": p.teacher_shape, "train": p.teacher_train,
                    "reach": p.teacher_reach, "checkpoints": _candidate_steps(p)},
        "teacher-matched": {"frontier": frontier, "teacher": teacher, "select": select},
        "distilled-matched": {"frontier": frontier, "teacher_select": {"teacher": teacher, "select": select},
                              "train": p.distill_train, "problems": p.distill_problems,
                              "samples": p.distill_samples},
        "distilled": {"frontier": frontier, "teacher": p.teacher_train, "teacher_shape": p.teacher_shape,
                      "reach": p.teacher_reach, "train": p.distill_train,
                      "problems": p.distill_problems, "samples": p.distill_samples},
    }
    # stop_rule: when RL stops (rl.should_stop); a new rule retrains the RL stages.
    value = per_stage.get(stage, {"frontier": frontier, "rl": p.rl, "stop_rule": stop_rule(dict(p.rl_prompts)),
                                  # only an atlas arm's own RL prompts add a key (the default's settings stay)
                                  **({"prompts": dict(p.rl_prompts)} if p.rl_prompts else {})})
    return json.loads(json.dumps({**common, "stage": stage, **value}, default=repr))


def _done(root: Path, stage: str, settings: dict) -> dict | None:
    path = root / stage / STAGE_FILE
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if record.get("settings") == settings else None


def _record(root: Path, stage: str, settings: dict, entries: list[dict], seconds: float,
            threads: int | None = None) -> dict:
    # `threads`: torch's thread count the stage ran at; its seconds are priced by it (atlas_plan).
    record = {"settings": settings, "entries": entries, "seconds": seconds,
              **({"threads": threads} if threads else {})}
    (root / stage).mkdir(parents=True, exist_ok=True)
    tmp = root / stage / (STAGE_FILE + ".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.rename(root / stage / STAGE_FILE)
    return record


def _log_fn(log, name):
    return lambda row: log(f"[{name}] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                    for k, v in row.items()))


def frontier_of(root: Path) -> dict:
    """The frontier stage's record (level, rule, measured reach) of a build directory."""
    return json.loads((root / "frontier" / STAGE_FILE).read_text())["entries"][0]


def _post_training_problems(p: Preset, seed: int, root: Path, tag: str):
    from .frontier import training_problems

    return training_problems(tag, seed, p.distill_problems, p.width, frontier_of(root)["frontier"],
                             p.frontier_share)


def stage_base(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    import torch

    from ..tinymodel import build_char_tokenizer, save_model
    from .corpus import BASE_MIX
    from .pretrain import pretrain

    log(f"[base] pretraining {p.base_shape} for {p.base_train.steps} steps on {device}, chains of 1-{p.max_steps} "
        f"turns, rare longer chains {dict(p.exposure)}")
    torch.manual_seed(seed)
    tok = build_char_tokenizer()
    model, hist = pretrain(tok, p.base_shape, p.base_train, seed, p.width, p.max_steps, BASE_MIX,
                           on_log=_log_fn(log, "base"), device=device, exposure=dict(p.exposure))
    save_model(model.cpu(), tok, root / "base")
    return [{"name": "base", "role": "base", "path": "base", "params": _param_count(model), "algorithm": None,
             "step": p.base_train.steps, "final_loss": hist[-1]["loss"] if hist else None,
             "exposure": {str(k): v for k, v in p.exposure}}]


def stage_frontier(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    from .frontier import REACH_ROUND, choose_frontier
    from .stage_parts import measure_frontier_levels, parts_of, stored_part

    candidates = p.frontier_candidates()
    log(f"[frontier] base on {p.frontier_problems} training problems x n={p.frontier_n} at levels {candidates} "
        f"(rounds of {REACH_ROUND}, a problem stops at its first valid right answer)")
    # Levels measured ahead by the build's other worker (stage_parts) are read, not measured again.
    settings = _stage_settings(p, seed, "frontier")
    ahead = {int(level): row for key in parts_of("frontier", p)
             if (part := stored_part(root, "frontier", key, settings)) is not None
             for level, row in part["result"].items()}
    missing = [level for level in candidates if level not in ahead]
    if ahead:
        log(f"[frontier] levels {sorted(ahead)} measured ahead side by side; measuring {missing or 'none'} here")
    measured = measure_frontier_levels(p, seed, root, missing) if missing else {}
    reach = {level: ahead[level] if level in ahead else measured[level] for level in candidates}
    choice = choose_frontier(reach, candidates, p.frontier_range)
    for level, r in reach.items():
        log(f"[frontier] level {level}: luck-free pass@{p.frontier_n} {r['luck_free_pass_at_n']:.3f}, "
            f"pass@{p.frontier_n} {r['pass_at_n']:.3f}, pass@1 {r['pass_at_1']:.3f}")
    log(f"[frontier] frontier = level {choice['frontier']} (in range: {choice['in_range']})")
    (root / "frontier").mkdir(parents=True, exist_ok=True)
    return [{**choice, "base_reach": {str(k): v for k, v in reach.items()}, "unseen_level": p.unseen_level,
             "measured_ahead": sorted(ahead)}]


def stage_instruct(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    from ..tinymodel import save_model
    from .sft import clean_batches, finetune

    log(f"[instruct] SFT on clean systematic traces for {p.instruct_train.steps} steps")
    model, tok, _ = finetune(root / "base", clean_batches(seed, p.width, p.max_steps, p.instruct_train.batch_size),
                             p.instruct_train, seed, device)
    save_model(model, tok, root / "instruct")
    return [{"name": "instruct", "role": "instruct", "path": "instruct", "params": _param_count(model),
             "algorithm": "sft", "step": p.instruct_train.steps}]


TEACHER_CHECKPOINTS = "checkpoints"  # teacher/checkpoints/step-<k>: the matched teacher's candidates


def stage_teacher(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    """The stronger teacher: the base grown by identity layers, trained on clean
    traces (any order) of every level up to `Preset.teacher_reach`.

    Saved at each of `Preset.matched_teacher_checkpoints` on the way (under
    teacher/checkpoints/): the candidates of the matched teacher, chosen by
    `stage_teacher_matched`. Its own reach at the frontier is measured exactly
    as the base's was (same problems, n, seed, rounds); it is also the last
    candidate's measurement."""
    import copy

    from transformers import AutoTokenizer

    from ..tinymodel import save_model
    from .frontier import measure_luck_free_reach
    from .pretrain import CLEAN_MIX, grow_deeper, make_batch_fn
    from .sft import finetune

    cfg, extra, salt = p.teacher_train, p.teacher_shape["extra_layers"], 1
    log(f"[teacher] the base grown by {extra} layers, trained on clean traces of 1-{p.teacher_reach} turns for "
        f"{cfg.steps} steps (checkpoints at {_candidate_steps(p)})")
    # No curriculum: the base already solves short chains.
    batches = make_batch_fn(seed + salt, p.width, p.teacher_reach, cfg.batch_size, cfg.steps, CLEAN_MIX,
                            curriculum=0.0)
    tok = AutoTokenizer.from_pretrained(str(root / "base"))
    checkpoints = tuple(k for k in _candidate_steps(p) if k < cfg.steps)  # the last step is the teacher itself

    def save_checkpoint(step: int, model) -> None:
        save_model(copy.deepcopy(model).cpu(), tok, root / "teacher" / TEACHER_CHECKPOINTS / f"step-{step}")

    model, tok, hist = finetune(root / "base", batches, cfg, seed + salt, device,
                                transform=lambda base: grow_deeper(base, extra, seed + salt),
                                on_log=_log_fn(log, "teacher"), on_checkpoint=save_checkpoint,
                                checkpoint_steps=checkpoints)
    save_model(model.cpu(), tok, root / "teacher")
    front = frontier_of(root)["frontier"]
    reach = measure_luck_free_reach(root / "teacher", front, p.frontier_problems, p.frontier_n, seed, p.width,
                                    p.max_completion_tokens())
    log(f"[teacher] luck-free pass@{p.frontier_n} at the frontier (level {front}): {reach['luck_free_pass_at_n']:.3f}")
    return [{"name": "teacher", "role": "teacher", "path": "teacher", "params": _param_count(model),
             "algorithm": None, "step": cfg.steps, "final_loss": hist[-1]["loss"] if hist else None,
             "max_turns_trained": p.teacher_reach, "frontier_reach": reach}]


def _candidate_steps(p: Preset) -> tuple[int, ...]:
    """The matched teacher's candidate steps (the teacher's final step included)."""
    steps = p.teacher_train.steps
    return tuple(sorted({k for k in p.matched_teacher_checkpoints if 0 < k <= steps} | {steps}))


def stage_teacher_matched(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    """The matched-reach teacher: the stronger teacher's checkpoint whose reach at
    the frontier is closest to the base's (`frontier.MATCHED_TEACHER_RULE`).

    Matched and stronger teacher then differ only in how far the same training
    went. Each candidate's luck-free reach is measured on the base's frontier
    problems in rounds with early stopping (`frontier.measure_luck_free_reach`)."""
    from .frontier import measure_luck_free_reach, select_matched_checkpoint

    front_record = frontier_of(root)
    front, base_reach = front_record["frontier"], front_record["base_reach"][str(front_record["frontier"])]
    last = p.teacher_train.steps

    def candidate_dir(step: int) -> Path:
        return root / "teacher" if step == last else root / "teacher" / TEACHER_CHECKPOINTS / f"step-{step}"

    # The final step is the stronger teacher, already measured the same way by its stage.
    teacher = json.loads((root / "teacher" / STAGE_FILE).read_text())["entries"][0]

    def measure(step: int, give_up) -> dict:
        if step == last:
            row = teacher["frontier_reach"]
        else:
            row = measure_luck_free_reach(candidate_dir(step), front, p.frontier_problems, p.frontier_n, seed,
                                          p.width, p.max_completion_tokens(), give_up=give_up)
        reach = (f"{row['luck_free_pass_at_n']:.3f}" if not row.get("stopped_early") else
                 "in [{:.3f}, {:.3f}]: cannot come closer than a later step, stopped".format(*row["luck_free_bounds"]))
        log(f"[teacher-matched] teacher step {step}: luck-free pass@{p.frontier_n} at the frontier {reach} "
            f"({row['samples']} samples; base {base_reach['luck_free_pass_at_n']:.3f})")
        return row

    step, measured = select_matched_checkpoint(base_reach, _candidate_steps(p), measure)
    log(f"[teacher-matched] kept teacher step {step}")
    (root / "teacher-matched").mkdir(parents=True, exist_ok=True)
    for f in candidate_dir(step).iterdir():
        if f.is_file() and f.name != STAGE_FILE:
            shutil.copy2(f, root / "teacher-matched" / f.name)
    return [{"name": "teacher-matched", "role": "teacher", "path": "teacher-matched", "params": teacher["params"],
             "algorithm": None, "step": step, "max_turns_trained": p.teacher_reach, "frontier_reach": measured[step],
             "selection": {"rule": MATCHED_TEACHER_RULE, "base": base_reach,
                           "candidates": {str(k): r for k, r in measured.items()}, "chosen_step": step}}]


def _fine_tune_on_verified(p: Preset, seed: int, root: Path, device: str, log, name: str, source: str,
                           samples: int, role: str, algorithm: str) -> list[dict]:
    """The base fine-tuned on `source`'s verified samples of the shared prompts."""
    from ..tinymodel import save_model
    from .distill import verified_solutions
    from .sft import finetune, pair_batches

    problems = _post_training_problems(p, seed, root, "posttrain")
    pairs, stats = verified_solutions(root / source, problems, samples, seed, p.max_completion_tokens())
    cfg = p.distill_train
    if not pairs:  # nothing verified to learn from: record it, keep the base weights (0 SFT steps)
        log(f"[{name}] WARNING: {source} solved none of its problems; {name} = base (0 steps)")
        cfg = replace(cfg, steps=0)
        stats["warning"] = f"{source} solved nothing; {name} is the base model"
    log(f"[{name}] {source} kept {stats['kept']}/{stats['samples']} verified samples "
        f"({stats['kept_with_valid_trace']} with valid traces); SFT for {cfg.steps} steps")
    model, tok, _ = finetune(root / "base", pair_batches(pairs, seed, cfg.batch_size), cfg, seed, device)
    save_model(model, tok, root / name)
    return [{"name": name, "role": role, "path": name, "params": _param_count(model), "algorithm": algorithm,
             "step": cfg.steps, "source": source, **stats}]


def stage_rft(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    return _fine_tune_on_verified(p, seed, root, device, log, "rft", "base", p.rft_samples, "rft", "rft")


def stage_distilled_matched(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    return _fine_tune_on_verified(p, seed, root, device, log, "distilled-matched", "teacher-matched",
                                  p.distill_samples, "distilled", "distillation")


def stage_distilled(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    return _fine_tune_on_verified(p, seed, root, device, log, "distilled", "teacher", p.distill_samples,
                                  "distilled", "distillation")


def stage_rl(algo: str, p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    from .rl import prompt_problems, stop_rule, train_rl

    front = frontier_of(root)["frontier"]
    s = p.rl
    prompts = f"prompts {dict(p.rl_prompts)}" if p.rl_prompts else f"({p.frontier_share:.0%} at the frontier)"
    log(f"[rl-{algo}] up to {s.steps} steps (plateau rule after {s.min_steps}), {s.prompts_per_step} prompts x "
        f"{s.num_generations} samples, levels 1-{front} {prompts}")
    problems = prompt_problems(seed, s.n_train_problems, p.width, front, p.frontier_share, dict(p.rl_prompts))
    result = train_rl(algo, root / "base", root / f"rl-{algo}", s, seed, problems, front, device,
                      rule=stop_rule(dict(p.rl_prompts)))
    shutil.rmtree(root / f"rl-{algo}" / "_trl", ignore_errors=True)
    (root / f"rl-{algo}" / "reward_curve.json").write_text(json.dumps(result["curve"], indent=1))
    params = next(m["params"] for m in json.loads((root / "base" / STAGE_FILE).read_text())["entries"])
    final = max(result["checkpoints"])
    log(f"[rl-{algo}] stopped at step {final} ({result['stopped']})")
    entries = [{"name": f"rl-{algo}-step{k}", "role": "rl", "path": f"rl-{algo}/step-{k}", "algorithm": algo,
                "step": k, "params": params} for k in sorted(result["checkpoints"])]
    entries.append({"name": f"rl-{algo}", "role": "rl", "path": f"rl-{algo}/step-{final}", "algorithm": algo,
                    "step": final, "params": params, "final": True, "stopped": result["stopped"],
                    "beta": result["beta"], "reward_curve": result["curve"]})
    return entries


def run_stage(stage: str, p: Preset, seed: int, root: Path, log, device: str | None = None,
              adopt_from: tuple[Path, ...] = ()) -> dict:
    """Run one stage into `root` unless a matching finished run is there; returns its record.

    A per-stage file lock lets two processes share a build directory: one
    may run an independent stage (the teacher) while the other runs the
    base; whoever comes second waits, then reuses the finished stage.
    `adopt_from`: other build directories whose finished stage, when its
    recorded settings are the same, is copied instead of trained again (the
    atlas's arms share bases and RL runs this way).
    """
    from filelock import FileLock

    settings = _stage_settings(p, seed, stage)
    Path(root).mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f".{stage}.lock")):
        done = _done(root, stage, settings)
        if done is not None:
            log(f"[{stage}] reusing the finished stage in {root / stage}")
            return done
        for source in adopt_from:
            if Path(source).resolve() != Path(root).resolve() and _done(Path(source), stage, settings) is not None:
                log(f"[{stage}] copying the finished stage with the same settings from {source}")
                shutil.rmtree(root / stage, ignore_errors=True)
                shutil.rmtree(root / (stage + ".copy"), ignore_errors=True)  # a copy cut short by a kill
                shutil.copytree(Path(source) / stage, root / (stage + ".copy"))
                (root / (stage + ".copy")).rename(root / stage)  # whole or absent, never half copied
                return _done(root, stage, settings)
        return _run_stage_unlocked(stage, p, seed, root, log, device, settings)


def _run_stage_unlocked(stage, p, seed, root, log, device, settings) -> dict:
    from .stage_parts import clear_parts, parts_of, parts_seconds

    device = device or _torch_setup(p.device)
    # A stage rebuilt with new settings starts empty: no checkpoint of the
    # old run (e.g. an RL step the new run never reaches) may survive.
    shutil.rmtree(root / stage, ignore_errors=True)
    t = time.perf_counter()
    if stage.startswith("rl-"):
        entries = stage_rl(stage[3:], p, seed, root, device, log)
    else:
        entries = STAGES[stage](p, seed, root, device, log)
    # Parts measured ahead in other processes count as this stage's time (core seconds).
    seconds = time.perf_counter() - t + parts_seconds(root, stage, settings, parts_of(stage, p))
    for e in entries:
        e["train_seconds"] = seconds
    import torch

    record = _record(root, stage, settings, entries, seconds, threads=torch.get_num_threads())
    clear_parts(root, stage)
    return record


STAGES = {"base": stage_base, "frontier": stage_frontier, "instruct": stage_instruct, "rft": stage_rft,
          "teacher": stage_teacher, "teacher-matched": stage_teacher_matched,
          "distilled-matched": stage_distilled_matched, "distilled": stage_distilled}


def stage_names(p: Preset) -> list[str]:
    return list(STAGES) + [f"rl-{a}" for a in p.rl_algorithms]


def _run_stages(p: Preset, seed: int, root: Path, log, workers: int) -> dict:
    import torch

    from .schedule import run_stage_graph

    device = _torch_setup(p.device)
    t_start = time.perf_counter()
    load_start = list(os.getloadavg())
    records = run_stage_graph(p, seed, root, log, device, workers)
    elapsed = time.perf_counter() - t_start
    total = sum(r["seconds"] for r in records.values())
    log(f"[done] organism {p.name} seed {seed}: {total:.0f} s of stage time ({elapsed:.0f} s in this run)")
    return {
        "version": MANIFEST_VERSION,
        "preset": p.name,
        "seed": seed,
        "width": p.width,
        "max_steps": p.max_steps,
        "exposure": {str(k): v for k, v in p.exposure},
        "frontier": records["frontier"]["entries"][0],
        "unseen_level": p.unseen_level,
        "eval_max_steps": max(p.eval_steps),
        "device": device,
        # Sum of the stages' own times: equals the wall time of an uninterrupted
        # build; for a resumed build it still counts every stage once.
        "build_seconds": total,
        # Wall time of this run: below build_seconds when stages ran side by side
        # (or when stages were reused from an interrupted run).
        "wall_seconds": elapsed,
        "stage_seconds": {stage: r["seconds"] for stage, r in records.items()},
        "machine": {
            "cpu_count": os.cpu_count(),
            "build_workers": workers,
            "torch_threads": torch.get_num_threads(),
            "loadavg_start": load_start,
            "loadavg_end": list(os.getloadavg()),
            "platform": platform.platform(),
            **host_record(),
        },
        "models": [e for r in records.values() for e in r["entries"] if "name" in e],
    }
