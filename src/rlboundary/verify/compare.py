"""One run's verdicts under several graders, and where the graders disagree.

    from rlboundary.verify.compare import run_verdicts, disagreements
    mv = run_verdicts(run_dir, "math-verify")   # stored, or graded now (project graders)
    src = run_verdicts(run_dir, "source")        # an imported run's own verdicts
    table = disagreements({"math-verify": mv, "source": src}, answers)

`run_verdicts` is the one place that reads a grader's verdicts by name:
- a project grader (`math-verify`, `math-equal`, `code-exec`, `organism`):
  its cache `RUN/verdicts/<grader_id>/` (the id carries the version); when
  absent or incomplete it grades the run now (`grading.grade_run`, only
  what is missing), which needs the run's benchmark;
- any other name (`source`: the verdicts an imported file came with, written
  by `rlboundary import`): a directory `RUN/verdicts/<name>` or
  `RUN/verdicts/<name>-*` with the same row schema; absent, a one-line
  error (`source` exists only for imported runs);
- a full grader id (a directory name under `verdicts/`) is read as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from ..errors import UserError


def _parts(grader_dir: Path) -> list[Path]:
    return sorted(p for p in grader_dir.glob("*.parquet") if not p.name.startswith("."))


def read_verdict_dir(grader_dir: Path) -> pd.DataFrame:
    """Every row stored in one verdicts/<id> directory (the newest wins)."""
    frames = [pd.read_parquet(p) for p in _parts(grader_dir)]
    if not frames:
        return pd.DataFrame(columns=["problem_id", "sample_idx", "extracted", "verdict", "correct"])
    rows = pd.concat(frames, ignore_index=True)
    missing = {"problem_id", "sample_idx", "correct"} - set(rows.columns)
    if missing:
        raise UserError(f"verdict files in {grader_dir} lack column(s) {sorted(missing)}.",
                        "re-grade the run (or re-import it) with the current rlboundary.")
    rows["problem_id"] = rows["problem_id"].astype(str)
    if "verdict" not in rows:  # a verdict set that records only correct / not
        rows["verdict"] = rows["correct"].map(lambda ok: "correct" if ok else "incorrect")
    if "extracted" not in rows:
        rows["extracted"] = None
    rows = rows.drop_duplicates(["problem_id", "sample_idx"], keep="last")
    return rows.sort_values(["problem_id", "sample_idx"], kind="stable").reset_index(drop=True)


def _project_graders() -> list[str]:
    from .grading import grader_names

    return grader_names()


def run_verdicts(run_dir: str | Path, name: str, problems=None, data_dir: str | None = None,
                 grade_missing: bool = True) -> pd.DataFrame:
    """Verdict rows (problem_id, sample_idx, extracted, verdict, correct, ...)
    of one run under the grader called `name` (module docstring)."""
    run_dir = Path(run_dir)
    root = run_dir / "verdicts"
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist.", "pass a run directory under outputs/samples/.")
    if (root / name).is_dir() and _parts(root / name):
        return read_verdict_dir(root / name)
    if name in _project_graders():
        from ..store import RunStore
        from .grading import get_grader, grade_run, verdict_dir

        grader = get_grader(name)
        stored = read_verdict_dir(verdict_dir(run_dir, grader)) if verdict_dir(run_dir, grader).is_dir() else None
        if stored is not None and len(stored):
            sampled = RunStore(run_dir).samples(columns=["problem_id", "sample_idx"])
            if len(stored) >= len(sampled):  # every sample has its verdict: no benchmark needed
                return stored
        if not grade_missing:
            raise UserError(f"{run_dir} has no complete {name} verdicts.", f"grade it: rlboundary verify {run_dir} --grader {name}")
        if problems is None:
            problems = _run_problems(run_dir, data_dir)
        return grade_run(run_dir, problems, grader)
    found = sorted(p for p in root.glob(f"{name}-*") if p.is_dir() and _parts(p)) if root.is_dir() else []
    if found:
        return read_verdict_dir(found[-1])
    if name == "source":
        raise UserError(f"{run_dir} has no `source` verdicts: `source` exists only for imported runs (the verdicts the "
                        "imported file came with).", "drop `source` from --graders, or import the run with `rlboundary import`.")
    have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    raise UserError(f"unknown grader {name!r} for {run_dir} (stored: {', '.join(have) or 'none'}).",
                    f"use a project grader ({', '.join(_project_graders())}), `source`, or a stored grader id.")


def run_benchmark_name(run_dir: Path) -> str:
    import json

    try:
        meta = json.loads((run_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return run_dir.parent.name
    value = meta.get("benchmark")
    if isinstance(value, dict):
        value = value.get("name")
    return str(value or run_dir.parent.name)


def _run_problems(run_dir: Path, data_dir: str | None):
    from ..benchmarks import get_benchmark

    return get_benchmark(run_benchmark_name(run_dir), data_dir=data_dir)


def benchmark_kind(name: str) -> str:
    """"math" | "code" | "organism" for a benchmark name (unknown names: math,
    the kind imported ad-hoc benchmarks have)."""
    from ..benchmarks import _ensure_registered

    try:
        return _ensure_registered(name.partition(":")[0]).kind
    except UserError:
        return "math"


def disagreements(verdicts: Mapping[str, pd.DataFrame], answers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where graders disagree: one row per (problem, answer, verdict of each
    grader) with how many samples gave it, most samples first.

    `verdicts`: grader name -> verdict rows of one run. `answers`:
    problem_id, sample_idx, answer (e.g. `majority.vote_labels`); without it
    the first grader's `extracted` is the answer shown. Only samples graded
    by every grader take part."""
    names = list(verdicts)
    if len(names) < 2:
        raise UserError("a disagreement table needs two graders or more.", "pass several graders, e.g. --graders math-verify,math-equal.")
    merged = None
    for name in names:
        v = verdicts[name][["problem_id", "sample_idx", "verdict", "correct"]].rename(
            columns={"verdict": f"{name}", "correct": f"_{name}_ok"})
        if merged is None:
            first = verdicts[name]
            merged = v.assign(_extracted=first["extracted"].to_numpy() if "extracted" in first else None)
        else:
            merged = merged.merge(v, on=["problem_id", "sample_idx"], how="inner")
    if answers is not None:
        merged = merged.merge(answers[["problem_id", "sample_idx", "answer"]], on=["problem_id", "sample_idx"], how="left")
    else:
        merged["answer"] = merged["_extracted"]
    ok = merged[[f"_{n}_ok" for n in names]].astype(bool)
    differ = merged[ok.nunique(axis=1) > 1].copy()
    differ["answer"] = differ["answer"].map(lambda a: "(no answer)" if a is None or (isinstance(a, float) and pd.isna(a)) else str(a))
    table = (differ.groupby(["problem_id", "answer", *names], dropna=False).size().rename("samples").reset_index()
             .sort_values(["samples", "problem_id"], ascending=[False, True]).reset_index(drop=True))
    table.attrs["samples_compared"] = len(merged)
    table.attrs["samples_disagreeing"] = len(differ)
    return table


def pairwise_agreement(verdicts: Mapping[str, pd.DataFrame], names: Sequence[str]) -> list[tuple[str, str, int, int]]:
    """(grader a, grader b, samples where their `correct` differs, samples compared)."""
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            m = verdicts[a][["problem_id", "sample_idx", "correct"]].merge(
                verdicts[b][["problem_id", "sample_idx", "correct"]], on=["problem_id", "sample_idx"])
            out.append((a, b, int((m["correct_x"].astype(bool) != m["correct_y"].astype(bool)).sum()), len(m)))
    return out
