"""The `verify` command: grade stored runs, cache the verdicts beside them.

    rlboundary verify RUN_DIR [RUN_DIR ...] [--grader math-equal]
    rlboundary verify --model qwen-base --benchmark math500   # every matching run
    rlboundary verify                                          # every stored run

A run directory is one sample-store run (`samples/<model>/<benchmark>/<hash>-seed<s>/`);
its benchmark is read from `meta.json` and loaded from the source the run
recorded when it was sampled (a local file's path, or the hub dataset), so
no `--data-dir` is needed; `--data-dir` overrides it. Verdicts go to `run_dir/verdicts/<grader_id>/`; grading again
only grades samples added since. One summary line per run: samples,
cached vs new, distinct answers graded, accuracy and verdict counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError

# The grader a benchmark kind gets when --grader is not given.
DEFAULT_GRADER = {"math": "math-verify", "code": "code-exec", "organism": "organism"}


def _meta_name(value) -> str | None:
    if isinstance(value, dict):  # a serialized spec
        value = value.get("name")
    return str(value) if value else None


def _run_benchmark(run_dir: Path) -> tuple[str, dict]:
    """The run's benchmark name and where its problems came from (meta.json)."""
    import json

    meta_path = run_dir / "meta.json"
    name, meta = None, {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"{meta_path} is not valid JSON ({err.msg}).", "restore the run's meta.json.")
        name = _meta_name(meta.get("benchmark"))
    if name is None:
        raise UserError(f"{run_dir} has no meta.json naming its benchmark.", "pass a run directory written by `rlboundary sample`.")
    return name, (meta.get("target") or {}).get("data_source") or {}


def _select_runs(runs: list[Path] | None, model: str | None, benchmark: str | None, root: str | None) -> list[Path]:
    if runs:
        for r in runs:
            if not r.is_dir():
                raise UserError(f"run directory {r} does not exist.", "pass a run directory under outputs/samples/ (see `rlboundary status`).")
        return list(runs)
    from ..store import find_runs

    found = [s.run_dir for s in find_runs(Path(root) if root else None)]
    # Layout: <root>/<model>/<benchmark>/<hash>-seed<s>
    chosen = [p for p in found if (model is None or p.parent.parent.name == model) and (benchmark is None or p.parent.name == benchmark)]
    if not chosen:
        what = " ".join(f"{k}={v}" for k, v in (("model", model), ("benchmark", benchmark)) if v) or "any"
        raise UserError(f"no stored runs match {what}.", "sample first (`rlboundary sample`) or check `rlboundary status`.")
    return chosen


def summary_line(label: str, verdicts, stats) -> str:
    counts = verdicts["verdict"].value_counts()
    acc = float(verdicts["correct"].mean()) if len(verdicts) else float("nan")
    parts = ", ".join(f"{v} {int(counts.get(v, 0))}" for v in ("correct", "incorrect", "unparseable", "timeout", "error"))
    return (
        f"{label}: {stats.samples} samples ({stats.cached} cached, {stats.new} new); "
        f"{stats.distinct} distinct answers, {stats.graded} graded; accuracy {acc:.4f} [{parts}]; "
        f"{stats.seconds:.1f} s"
    )


def verify(
    runs: Optional[List[Path]] = typer.Argument(None, help="Run directories (default: every run matching --model/--benchmark)."),
    model: Optional[str] = typer.Option(None, "--model", help="Only runs of this model name."),
    benchmark: Optional[str] = typer.Option(None, "--benchmark", help="Only runs of this benchmark."),
    grader: Optional[str] = typer.Option(None, "--grader", help="math-verify (default for math) | math-equal (the paper's) | code-exec (default for code: runs the tests in a sandbox) | organism."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Directory of local benchmark jsonl files (default: where the run was sampled from)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Grading processes (default: all cores)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="CPU seconds one distinct answer may take to grade (math default 10)."),
    root: Optional[str] = typer.Option(None, "--root", help="Sample store root (default: outputs/samples)."),
) -> None:
    """Grade stored samples: each distinct answer once, verdicts cached beside the samples."""
    from ..benchmarks import get_benchmark, recorded_data_dir
    from ..verify.grading import get_grader, grade_run

    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers} must be at least 1.", "pass --workers 1 or more, or leave it out for all cores.")
    if timeout is not None and timeout <= 0:
        raise UserError(f"--timeout {timeout} must be positive.", "pass --timeout in seconds, e.g. 10.")
    for run_dir in _select_runs(runs, model, benchmark, root):
        name, source = _run_benchmark(run_dir)
        # Without --data-dir, the data the run was sampled from (recorded in meta.json).
        bench = get_benchmark(name, data_dir=data_dir if data_dir is not None else recorded_data_dir(name, source))
        name = grader or DEFAULT_GRADER.get(bench.kind)
        if name is None:
            raise UserError(f"no default grader for benchmark kind {bench.kind!r}.", "pass --grader.")
        g = get_grader(name, **({} if timeout is None else {"item_timeout_s": timeout}))
        verdicts = grade_run(run_dir, bench, g, workers=workers)
        typer.echo(summary_line(f"{run_dir} [{g.grader_id}]", verdicts, verdicts.attrs["stats"]))


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
