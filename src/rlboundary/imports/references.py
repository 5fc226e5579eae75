"""Imported runs named in parameter files: a model entry with `path: "run:<ref>"`.

    models:
      - {name: qwen-base, role: base, path: "run:qwen-base"}          # samples/qwen-base/<benchmark>/*-seed<seed>
      - {name: qwen-rl, role: rl, path: "run:outputs/samples/qwen-rl/math500/0123abcd4567-seed0"}

`<ref>` is a run directory, or a run key relative to the sample store:
`<model>`, `<model>/<benchmark>` or `<model>/<benchmark>/<hash>-seed<s>`
(the benchmark and seed the notebook asks for fill in what is left out).
Such a model is never sampled: notebooks grade its stored samples with the
study's grader, and use the `source` verdicts when the run holds no text
(outcome counts) or when `math_grader: source` is asked for.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

RUN_PREFIX = "run:"
SOURCE_GRADER = "source"


def is_run_ref(path: str) -> bool:
    return isinstance(path, str) and path.startswith(RUN_PREFIX)


def resolve_run(ref: str, model_name: str, benchmark: str, seed: int) -> Path:
    """The run directory a `run:` path names, for this benchmark and seed."""
    from ..paths import samples_dir

    body = ref[len(RUN_PREFIX):].strip().rstrip("/")
    direct = Path(body).expanduser()
    if direct.is_dir() and (direct / "meta.json").exists():
        return direct
    parts = [p for p in body.split("/") if p] if body else [model_name]
    bench_dir = benchmark.replace(":", "-")
    if len(parts) == 1:
        pattern = f"{parts[0]}/{bench_dir}/*-seed{seed}"
    elif len(parts) == 2:
        pattern = f"{parts[0]}/{parts[1]}/*-seed{seed}"
    else:
        pattern = "/".join(parts)
    found = sorted(p for p in samples_dir().glob(pattern) if (p / "meta.json").exists())
    if len(found) == 1:
        return found[0]
    fix = (f"import the run first (rlboundary import FORMAT FILE --model {parts[0]} --benchmark {benchmark} --seed {seed}), "
           f"or name its directory: path: \"run:<run dir>\" (rlboundary status lists runs).")
    if not found:
        raise UserError(f"model '{model_name}': {ref} names no stored run for benchmark {benchmark!r}, seed {seed} "
                        f"(looked for {samples_dir() / pattern}).", fix)
    raise UserError(f"model '{model_name}': {ref} matches {len(found)} runs ({', '.join(p.name for p in found[:3])}).",
                    "name one run directory: path: \"run:<run dir>\".")


def run_verdicts(run_dir: Path, problems, grader, grader_name: str):
    """Verdict rows of an imported run: the study's grader, or `source` (see module doc)."""
    import json

    from ..commands.metrics_cli import load_run_verdicts
    from ..verify.grading import grade_run

    meta = json.loads((run_dir / "meta.json").read_text())
    has_text = meta.get("import", {}).get("has_text", True)
    if grader_name == SOURCE_GRADER or not has_text:
        return load_run_verdicts(run_dir, SOURCE_GRADER)
    return grade_run(run_dir, problems, grader)
