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
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        manifest = _run_stages(p, seed, partial, log)
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if root.exists():
            shutil.rmtree(root)
        partial.rename(root)
    return OrganismModels(manifest, root)


def _run_stages(p: Preset, seed: int, root: Path, log) -> dict:
    import torch

    from ..tinymodel import build_char_tokenizer, save_model
    from .corpus import BASE_MIX
    from .distill import teacher_solutions
    from .pretrain import CLEAN_MIX, pretrain
    from .rl import train_rl
    from .sft import clean_batches, finetune, pair_batches

    device = _torch_setup(p.device)
    t_start = time.perf_counter()
    load_start = list(os.getloadavg())
    stages: dict[str, float] = {}
    models: list[dict] = []
    tok = build_char_tokenizer()

    def stage_log(name):
        return lambda row: log(f"[{name}] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                        for k, v in row.items()))

    def add(name, role, rel, model=None, seconds=None, **extra):
        models.append({"name": name, "role": role, "path": rel, "params": _param_count(model) if model else None,
                       "train_seconds": seconds, **extra})

    # 1. base
    t = time.perf_counter()
    log(f"[base] pretraining {p.base_shape} for {p.base_train.steps} steps on {device}")
    torch.manual_seed(seed)
    model, base_log = pretrain(tok, p.base_shape, p.base_train, seed, p.width, p.max_steps, BASE_MIX,
                               on_log=stage_log("base"), device=device)
    save_model(model.cpu(), tok, root / "base")
    stages["base"] = time.perf_counter() - t
    add("base", "base", "base", model, stages["base"], algorithm=None, step=p.base_train.steps,
        final_loss=base_log[-1]["loss"])
    base_params = _param_count(model)
    del model

    # 2. instruct
    t = time.perf_counter()
    log(f"[instruct] SFT on clean systematic traces for {p.instruct_train.steps} steps")
    model, tok_i, _ = finetune(root / "base", clean_batches(seed, p.width, p.max_steps, p.instruct_train.batch_size),
                               p.instruct_train, seed, device)
    save_model(model, tok_i, root / "instruct")
    stages["instruct"] = time.perf_counter() - t
    add("instruct", "instruct", "instruct", model, stages["instruct"], algorithm="sft", step=p.instruct_train.steps)
    del model

    # 3. teacher
    t = time.perf_counter()
    log(f"[teacher] pretraining {p.teacher_shape} on clean traces for {p.teacher_train.steps} steps")
    model, _ = pretrain(tok, p.teacher_shape, p.teacher_train, seed + 1, p.width, p.max_steps, CLEAN_MIX,
                        on_log=stage_log("teacher"), device=device)
    save_model(model.cpu(), tok, root / "teacher")
    stages["teacher"] = time.perf_counter() - t
    add("teacher", "teacher", "teacher", model, stages["teacher"], algorithm=None, step=p.teacher_train.steps)
    del model

    # 4. distilled
    t = time.perf_counter()
    pairs, dstats = teacher_solutions(root / "teacher", p.distill_problems, p.distill_samples, seed, p.width,
                                      p.max_steps, p.max_completion_tokens())
    log(f"[distilled] teacher kept {dstats['kept']}/{dstats['teacher_samples']} verified samples; SFT "
        f"for {p.distill_train.steps} steps")
    distill_cfg = p.distill_train
    if not pairs:  # nothing verified to learn from: record it, keep the base weights (0 SFT steps)
        log("[distilled] WARNING: the teacher solved none of its problems; distilled = base (0 steps)")
        distill_cfg = replace(distill_cfg, steps=0)
        dstats["warning"] = "teacher solved nothing; distilled is the base model"
    model, tok_d, _ = finetune(root / "base", pair_batches(pairs, seed, distill_cfg.batch_size),
                               distill_cfg, seed, device)
    save_model(model, tok_d, root / "distilled")
    stages["distilled"] = time.perf_counter() - t
    add("distilled", "distilled", "distilled", model, stages["distilled"], algorithm="distillation",
        step=distill_cfg.steps, **dstats)
    del model

    # 5. RL, one run per algorithm from the same base
    for algo in p.rl_algorithms:
        t = time.perf_counter()
        log(f"[rl-{algo}] {p.rl.steps} steps, {p.rl.prompts_per_step} prompts x {p.rl.num_generations} samples")
        result = train_rl(algo, root / "base", root / f"rl-{algo}", p.rl, seed, p.width, p.max_steps, device)
        shutil.rmtree(root / f"rl-{algo}" / "_trl", ignore_errors=True)
        stages[f"rl-{algo}"] = time.perf_counter() - t
        rewards = [r["reward"] for r in result["log"] if "reward" in r]
        for step in sorted(result["checkpoints"]):
            extra = dict(algorithm=algo, step=step, params=base_params, train_seconds=stages[f"rl-{algo}"])
            models.append({"name": f"rl-{algo}-step{step}", "role": "rl", "path": f"rl-{algo}/step-{step}", **extra})
        final = max(result["checkpoints"])
        models.append({"name": f"rl-{algo}", "role": "rl", "path": f"rl-{algo}/step-{final}", "algorithm": algo,
                       "step": final, "params": base_params, "train_seconds": stages[f"rl-{algo}"],
                       "final": True, "train_reward_log": rewards})

    total = time.perf_counter() - t_start
    log(f"[done] organism {p.name} seed {seed} built in {total:.0f} s")
    import torch as _torch

    return {
        "version": MANIFEST_VERSION,
        "preset": p.name,
        "seed": seed,
        "width": p.width,
        "max_steps": p.max_steps,
        "device": device,
        "build_seconds": total,
        "stage_seconds": stages,
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": _torch.get_num_threads(),
            "loadavg_start": load_start,
            "loadavg_end": list(os.getloadavg()),
            "platform": platform.platform(),
        },
        "models": models,
    }
