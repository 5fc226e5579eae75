"""`import_run`: read a source file, match its problems, check it, store it as a run.

    from rlboundary.imports.importer import import_run
    summary = import_run("qwen-math", "test_qwen-boxed_-1_seed0_t0.6_s0_e-1.jsonl",
                         model="qwen-base", benchmark="math500", data_dir="data/")
    summary["run_dir"]

The run key is (model, benchmark, settings hash, seed) as for sampled runs;
the "settings" of an import are its format, the source file's sha256 and
the reading options, so importing the same file again finds the same run
(and does nothing) and another file never lands in it. Checks, each a
one-line UserError naming the line and the fix, with nothing stored:
malformed lines and records of another format (the readers), a problem
given twice or two records matching one problem, a repeated
(problem, sample_idx), gaps in explicit sample indices, empty responses
(unless allow_empty), c > n (counts), unmatched or ambiguous problems, and
problems with different sample counts (unless allow_ragged).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..store import run_dir_for
from .records import line_error
from .registry import get_format
from .writer import RunWriter


@dataclass
class _Seen:
    """What the importer remembers of one problem (not its text)."""

    key: str
    line: int
    n: int = 0
    idxs: set | None = None  # explicit sample indices, when the source gives them
    lines: dict = field(default_factory=dict)  # explicit index -> line (for duplicate messages)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def imported_settings_hash(settings: dict) -> str:
    """The run key's settings hash of an import (`store_check` recomputes it)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def _rlboundary_version() -> str:
    try:
        from importlib.metadata import version

        return version("rlboundary")
    except Exception:
        return "unknown"


def import_run(fmt: str, path, model: str, benchmark: str, seed: int = 0, data_dir: str | None = None,
               filter: str | None = None, metric: str | None = None, allow_empty: bool = False,
               allow_ragged: bool = False, store_root: Path | None = None, flush_rows: int = 20_000) -> dict:
    """Import one file as a run; returns a summary dict (run_dir, problems, n, ...)."""
    from ..paths import samples_dir
    from .matching import matcher_for

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} is not a file.", "pass the path of the file the tool wrote.")
    if not re.fullmatch(r"[A-Za-z0-9_.+-]+", model or ""):
        raise UserError(f"--model {model!r} may hold only letters, digits, '_', '.', '+', '-'.",
                        "pick a short label such as qwen-base (it names a directory).")
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"--seed {seed!r} must be a non-negative integer.", "pass e.g. --seed 0.")
    reader = get_format(fmt)
    matcher = matcher_for(benchmark, data_dir)
    sha = file_sha256(path)
    options = {"format": fmt, "filter": filter, "metric": metric, "benchmark": benchmark}
    settings = {"imported": fmt, "source_sha256": sha, "filter": filter, "metric": metric}
    settings_hash = imported_settings_hash(settings)
    root = Path(store_root) if store_root is not None else samples_dir()
    final = run_dir_for(model, benchmark, settings_hash, seed, root)
    if (final / "meta.json").exists():
        meta = json.loads((final / "meta.json").read_text())
        if meta.get("import", {}).get("source_sha256") == sha:
            return {"run_dir": str(final), "already": True, **meta.get("import", {}).get("summary", {})}

    writer = RunWriter(root, flush_rows=flush_rows)
    seen: dict[str, _Seen] = {}
    try:
        for sp in reader.read(path, options):
            pid = matcher.match(sp)
            if pid is None:
                continue
            state = seen.get(pid)
            grouped = reader.GROUPED or sp.metadata.get("grouped")
            if state is not None and (grouped or state.key != sp.key):
                what = f"problem {sp.key!r}" if state.key == sp.key else f"{sp.key!r} and {state.key!r} (line {state.line}) both match problem {pid!r}"
                raise line_error(path, sp.line, f"duplicate: {what} appeared already at line {state.line}.",
                                 "keep one record per problem (concatenated or re-run outputs repeat them).")
            if state is None:
                state = seen[pid] = _Seen(key=sp.key, line=sp.line)
            for sample in sp.samples:
                if reader.HAS_TEXT and (sample.text is None or not sample.text.strip()) and not allow_empty:
                    raise line_error(path, sp.line, f"empty response for problem {sp.key!r}.",
                                     "drop that sample, or pass --allow-empty to keep empty responses (they grade as unparseable).")
                if sample.sample_idx is None:
                    if state.idxs is not None:
                        raise line_error(path, sp.line, "rows with and without sample_idx for one problem.",
                                         "give every row a sample_idx, or none.")
                    idx = state.n
                else:
                    if state.idxs is None:
                        if state.n:
                            raise line_error(path, sp.line, "rows with and without sample_idx for one problem.",
                                             "give every row a sample_idx, or none.")
                        state.idxs = set()
                    idx = sample.sample_idx
                    if idx < 0:
                        raise line_error(path, sp.line, f"sample_idx={idx} is negative.", "number samples 0..n-1.")
                    if idx in state.idxs:
                        raise line_error(path, sp.line, f"duplicate (problem {sp.key!r}, sample {idx}): first at line "
                                                        f"{state.lines.get(idx, state.line)}.",
                                         "keep one row per (problem, sample); drop the repeated rows.")
                    state.idxs.add(idx)
                    if not grouped and len(state.lines) < 4096:
                        state.lines[idx] = sp.line
                state.n += 1
                writer.add(pid, idx, sample)
        if not seen and not getattr(matcher, "n_unmatched", 0):
            raise UserError(f"{path} holds no records.", "pass a non-empty file.")
        matcher.finish(path, len(seen))
        _check_sample_counts(path, seen, allow_ragged)
        problem_ids = list(seen)
        ns = sorted({s.n for s in seen.values()})
        adhoc_file = None
        if matcher.adhoc:
            adhoc_file = _check_adhoc(matcher, reader, writer, benchmark)
        summary = {
            "problems": len(problem_ids), "n": ns[0] if len(ns) == 1 else ns, "samples": sum(s.n for s in seen.values()),
            "source_verdicts": writer.has_source_verdicts,
            "source_accuracy": None,
        }
        provenance = {
            "format": fmt, "source": str(path.resolve()), "source_sha256": sha, "source_bytes": path.stat().st_size,
            "tool_version": reader.tool_version(path), "imported_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "rlboundary_version": _rlboundary_version(), "has_text": reader.HAS_TEXT,
            "source_verdicts": writer.has_source_verdicts, "adhoc_benchmark": matcher.adhoc,
            "filter": options.get("filter_used", filter), "metric": options.get("metric_used", metric),
            "counts_layout": options.get("counts_layout"), "source_verdict_file": options.get("source_verdict_file"),
            "skipped_filters": sorted(map(str, options.get("_skipped_filters", ()))), "summary": summary,
        }
        meta = {
            "model": {"name": model, "path": f"import:{path.resolve()}"}, "benchmark": benchmark,
            "settings": settings, "settings_hash": settings_hash, "seed": seed,
            "target": {"n": min(ns), "problem_ids": problem_ids},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "import": provenance,
        }
        run_dir = writer.commit(meta, final)
    except BaseException:
        writer.abort()
        raise
    if adhoc_file is not None:
        from .adhoc import save_adhoc_benchmark

        try:
            save_adhoc_benchmark(benchmark, adhoc_file)
        except BaseException:
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
            raise
    return {"run_dir": str(run_dir), "already": False, **summary, "provenance": provenance}


def _check_sample_counts(path: Path, seen: dict[str, _Seen], allow_ragged: bool) -> None:
    states = sorted(seen.values(), key=lambda s: s.line)
    for s in states:
        if s.idxs is not None and max(s.idxs) != len(s.idxs) - 1:
            gap = min(set(range(len(s.idxs))) - s.idxs)
            raise line_error(path, s.line, f"problem {s.key!r} has samples numbered up to {max(s.idxs)} but lacks "
                                           f"sample_idx {gap}.", "number each problem's samples 0..n-1 without gaps.")
    if allow_ragged or not states:
        return
    first = states[0]
    for s in states[1:]:
        if s.n != first.n:
            raise line_error(path, s.line, f"inconsistent n: problem {s.key!r} has {s.n} samples but problem "
                                           f"{first.key!r} (line {first.line}) has {first.n}.",
                             "give every problem the same number of samples, or pass --allow-ragged "
                             "(pass@k is then reported only up to the smallest n).")


def _check_adhoc(matcher, reader, writer, benchmark: str) -> list[dict]:
    """The ad-hoc benchmark's rows; refuse when nothing could grade the samples."""
    rows = list(matcher.problems.values())
    if reader.HAS_TEXT and not writer.has_source_verdicts and any(r["answer"] is None for r in rows):
        missing = next(r for r in rows if r["answer"] is None)
        raise UserError(f"{benchmark!r} is not a registered benchmark, and problem {missing['id']!r} has no gold "
                        f"answer and the file no verdicts: nothing could grade it.",
                        "pass --benchmark with a registered benchmark (rlboundary sample --help lists them), "
                        "or add gold answers (the 'gold' column) or verdicts ('correct').")
    return rows
