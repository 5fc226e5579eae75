"""Build every organism model with one call, deterministically from a seed.

    rlboundary organism build --preset default --seed 0
    from rlboundary.organism.build import ensure_organism
    models = ensure_organism("default", 0)     # {name: path}; builds if absent
    models.manifest                            # the full manifest (roles, steps, times)

Stages, in order (each a module of this package):
1. base: pretrained from scratch on the mixed-writer corpus (pretrain.py);
2. instruct: base fine-tuned on clean systematic traces (sft.py);
3. teacher: a larger model pretrained on clean traces in every order;
4. distilled: base fine-tuned on the teacher's verified samples (distill.py);
5. RL: base trained with each RL algorithm, checkpoints at several steps (rl.py).

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
from .presets import Preset, get_preset

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


class OrganismModels(dict):
    """{model name: path} of a built organism; `.manifest` holds everything else."""

    def __init__(self, manifest: dict, root: Path):
        super().__init__({m["name"]: str(root / m["path"]) for m in manifest["models"]})
        self.manifest = manifest
        self.root = root


def organism_dir(preset: str, seed: int) -> Path:
    return paths.models_dir() / "organism" / f"{preset}-seed{seed}"


def load_organism(preset: str = "default", seed: int = 0) -> OrganismModels | None:
    """The built organism, or None when it has not been built (completely)."""
    root = organism_dir(preset, seed)
    path = root / MANIFEST
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("version") != MANIFEST_VERSION:
        return None
    return OrganismModels(manifest, root)


def ensure_organism(preset: str = "default", seed: int = 0, log=print) -> OrganismModels:
    """The organism's models, building them first when absent."""
    built = load_organism(preset, seed)
    if built is not None:
        return built
    return build_organism(preset, seed, log=log)


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
                   force: bool = False) -> OrganismModels:
    """Run every stage; returns the built models. `out` overrides the directory."""
    from filelock import FileLock

    p = get_preset(preset) if isinstance(preset, str) else preset
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed={seed!r} is not a non-negative integer.", "pass --seed 0 or another integer >= 0.")
    root = Path(out) if out is not None else organism_dir(p.name, seed)
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):
        if (root / MANIFEST).is_file() and not force:
            return OrganismModels(json.loads((root / MANIFEST).read_text()), root)
        partial = root.with_name(root.name + ".partial")
        if force:
            shutil.rmtree(partial, ignore_errors=True)
        # A killed build left its finished stages here: they are reused when
        # their settings match (stage.json), so the build resumes.
        partial.mkdir(parents=True, exist_ok=True)
        manifest = _run_stages(p, seed, partial, log)
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if root.exists():
            shutil.rmtree(root)
        partial.rename(root)
    return OrganismModels(manifest, root)


STAGE_FILE = "stage.json"


def _stage_settings(p: Preset, seed: int, stage: str) -> dict:
    """What a stage's output depends on (a changed value invalidates it)."""
    common = {"seed": seed, "width": p.width, "max_steps": p.max_steps, "device": p.device}
    per_stage = {
        "base": {"shape": p.base_shape, "train": p.base_train},
        "instruct": {"base": p.base_train, "train": p.instruct_train},
        "teacher": {"shape": p.teacher_shape, "train": p.teacher_train, "reach": p.teacher_reach,
                    "base": p.base_train if "extra_layers" in p.teacher_shape else None},
        "distilled": {"base": p.base_train, "teacher": p.teacher_train, "teacher_shape": p.teacher_shape,
                      "reach": p.teacher_reach, "train": p.distill_train,
                      "problems": p.distill_problems, "samples": p.distill_samples},
    }
    value = per_stage.get(stage, {"base": p.base_train, "rl": p.rl})
    return json.loads(json.dumps({**common, "stage": stage, **value}, default=repr))


def _done(root: Path, stage: str, settings: dict) -> dict | None:
    path = root / stage / STAGE_FILE
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if record.get("settings") == settings else None


def _record(root: Path, stage: str, settings: dict, entries: list[dict], seconds: float) -> dict:
    record = {"settings": settings, "entries": entries, "seconds": seconds}
    tmp = root / stage / (STAGE_FILE + ".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.rename(root / stage / STAGE_FILE)
    return record


def _log_fn(log, name):
    return lambda row: log(f"[{name}] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                    for k, v in row.items()))


def stage_base(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    import torch

    from ..tinymodel import build_char_tokenizer, save_model
    from .corpus import BASE_MIX
    from .pretrain import pretrain

    log(f"[base] pretraining {p.base_shape} for {p.base_train.steps} steps on {device}")
    torch.manual_seed(seed)
    tok = build_char_tokenizer()
    model, hist = pretrain(tok, p.base_shape, p.base_train, seed, p.width, p.max_steps, BASE_MIX,
                           on_log=_log_fn(log, "base"), device=device)
    save_model(model.cpu(), tok, root / "base")
    return [{"name": "base", "role": "base", "path": "base", "params": _param_count(model), "algorithm": None,
             "step": p.base_train.steps, "final_loss": hist[-1]["loss"] if hist else None}]


def stage_instruct(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    from ..tinymodel import save_model
    from .sft import clean_batches, finetune

    log(f"[instruct] SFT on clean systematic traces for {p.instruct_train.steps} steps")
    model, tok, _ = finetune(root / "base", clean_batches(seed, p.width, p.max_steps, p.instruct_train.batch_size),
                             p.instruct_train, seed, device)
    save_model(model, tok, root / "instruct")
    return [{"name": "instruct", "role": "instruct", "path": "instruct", "params": _param_count(model),
             "algorithm": "sft", "step": p.instruct_train.steps}]


def stage_teacher(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    from ..tinymodel import build_char_tokenizer, save_model
    from .pretrain import CLEAN_MIX, grow_deeper, make_batch_fn, pretrain
    from .sft import finetune

    reach = p.teacher_reach
    if "extra_layers" in p.teacher_shape:
        extra = p.teacher_shape["extra_layers"]
        log(f"[teacher] the base grown by {extra} layers, trained on clean traces "
            f"of 1-{reach} turns for {p.teacher_train.steps} steps")
        # No curriculum: the base already solves short chains.
        batches = make_batch_fn(seed + 1, p.width, reach, p.teacher_train.batch_size, p.teacher_train.steps,
                                CLEAN_MIX, curriculum=0.0)
        model, tok, hist = finetune(root / "base", batches, p.teacher_train, seed + 1, device,
                                    transform=lambda base: grow_deeper(base, extra, seed + 1),
                                    on_log=_log_fn(log, "teacher"))
    else:
        log(f"[teacher] pretraining {p.teacher_shape} on clean traces of 1-{reach} turns "
            f"for {p.teacher_train.steps} steps")
        tok = build_char_tokenizer()
        model, hist = pretrain(tok, p.teacher_shape, p.teacher_train, seed + 1, p.width, reach, CLEAN_MIX,
                               on_log=_log_fn(log, "teacher"), device=device)
    save_model(model.cpu(), tok, root / "teacher")
    return [{"name": "teacher", "role": "teacher", "path": "teacher", "params": _param_count(model),
             "algorithm": None, "step": p.teacher_train.steps, "final_loss": hist[-1]["loss"] if hist else None,
             "max_turns_trained": reach}]


def stage_distilled(p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    from ..tinymodel import save_model
    from .distill import teacher_solutions
    from .sft import finetune, pair_batches

    pairs, stats = teacher_solutions(root / "teacher", p.distill_problems, p.distill_samples, seed, p.width,
                                     p.teacher_reach, p.max_completion_tokens())
    cfg = p.distill_train
    if not pairs:  # nothing verified to learn from: record it, keep the base weights (0 SFT steps)
        log("[distilled] WARNING: the teacher solved none of its problems; distilled = base (0 steps)")
        cfg = replace(cfg, steps=0)
        stats["warning"] = "teacher solved nothing; distilled is the base model"
    log(f"[distilled] teacher kept {stats['kept']}/{stats['teacher_samples']} verified samples; "
        f"SFT for {cfg.steps} steps")
    model, tok, _ = finetune(root / "base", pair_batches(pairs, seed, cfg.batch_size), cfg, seed, device)
    save_model(model, tok, root / "distilled")
    return [{"name": "distilled", "role": "distilled", "path": "distilled", "params": _param_count(model),
             "algorithm": "distillation", "step": cfg.steps, **stats}]


def stage_rl(algo: str, p: Preset, seed: int, root: Path, device: str, log) -> list[dict]:
    from .rl import train_rl

    log(f"[rl-{algo}] {p.rl.steps} steps, {p.rl.prompts_per_step} prompts x {p.rl.num_generations} samples")
    result = train_rl(algo, root / "base", root / f"rl-{algo}", p.rl, seed, p.width, p.max_steps, device)
    shutil.rmtree(root / f"rl-{algo}" / "_trl", ignore_errors=True)
    params = next(m["params"] for m in json.loads((root / "base" / STAGE_FILE).read_text())["entries"])
    rewards = [r["reward"] for r in result["log"] if "reward" in r]
    entries = [{"name": f"rl-{algo}-step{k}", "role": "rl", "path": f"rl-{algo}/step-{k}", "algorithm": algo,
                "step": k, "params": params} for k in sorted(result["checkpoints"])]
    final = max(result["checkpoints"])
    entries.append({"name": f"rl-{algo}", "role": "rl", "path": f"rl-{algo}/step-{final}", "algorithm": algo,
                    "step": final, "params": params, "final": True, "train_reward_log": rewards})
    return entries


def run_stage(stage: str, p: Preset, seed: int, root: Path, log, device: str | None = None) -> dict:
    """Run one stage into `root` unless a matching finished run is there; returns its record.

    A per-stage file lock lets two processes share a build directory: one
    may run an independent stage (the teacher) while the other runs the
    base; whoever comes second waits, then reuses the finished stage.
    """
    from filelock import FileLock

    settings = _stage_settings(p, seed, stage)
    with FileLock(str(root / f".{stage}.lock")):
        done = _done(root, stage, settings)
        if done is not None:
            log(f"[{stage}] reusing the finished stage in {root / stage}")
            return done
        return _run_stage_unlocked(stage, p, seed, root, log, device, settings)


def _run_stage_unlocked(stage, p, seed, root, log, device, settings) -> dict:
    device = device or _torch_setup(p.device)
    t = time.perf_counter()
    if stage.startswith("rl-"):
        entries = stage_rl(stage[3:], p, seed, root, device, log)
    else:
        entries = {"base": stage_base, "instruct": stage_instruct, "teacher": stage_teacher,
                   "distilled": stage_distilled}[stage](p, seed, root, device, log)
    seconds = time.perf_counter() - t
    for e in entries:
        e["train_seconds"] = seconds
    return _record(root, stage, settings, entries, seconds)


def stage_names(p: Preset) -> list[str]:
    return ["base", "instruct", "teacher", "distilled"] + [f"rl-{a}" for a in p.rl_algorithms]


def _run_stages(p: Preset, seed: int, root: Path, log) -> dict:
    import torch

    device = _torch_setup(p.device)
    t_start = time.perf_counter()
    load_start = list(os.getloadavg())
    records = {stage: run_stage(stage, p, seed, root, log, device) for stage in stage_names(p)}
    elapsed = time.perf_counter() - t_start
    total = sum(r["seconds"] for r in records.values())
    log(f"[done] organism {p.name} seed {seed}: {total:.0f} s of stage time ({elapsed:.0f} s in this run)")
    return {
        "version": MANIFEST_VERSION,
        "preset": p.name,
        "seed": seed,
        "width": p.width,
        "max_steps": p.max_steps,
        "eval_max_steps": max(p.eval_steps),
        "device": device,
        # Sum of the stages' own times: equals the wall time of an uninterrupted
        # build; for a resumed build it still counts every stage once.
        "build_seconds": total,
        "stage_seconds": {stage: r["seconds"] for stage, r in records.items()},
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "loadavg_start": load_start,
            "loadavg_end": list(os.getloadavg()),
            "platform": platform.platform(),
        },
        "models": [e for r in records.values() for e in r["entries"]],
    }
