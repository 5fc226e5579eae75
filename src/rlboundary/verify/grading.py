"""The grading driver every grader plugs into: dedupe, cache, worker processes.

    from rlboundary.verify.grading import get_grader, grade_run, grade_frame
    verdicts = grade_run(run_dir, benchmark.problems, get_grader("math-verify"))
    verdicts = grade_frame(samples_df, problems, get_grader("math-equal"))

Fast by structure, not by tuning:

1. **Extract** a key from every sample in this process (`grader.extract`,
   cheap and linear-time): for math, the normalised final answer.
2. **Dedupe**: samples of one problem that gave the same key share one
   verdict, so each distinct (problem_id, key) is graded once and the
   verdict is fanned out to every sample that gave it. At large n most
   samples repeat a handful of answers. A key that turns out not to decide
   (the grader answers REFINE) is graded again per sample, by
   `grader.refine_key(text, problem)`.
3. **Cache** (`grade_run`): verdicts are stored beside the samples as
   Parquet parts under `run_dir/verdicts/<grader_id>/`, appended
   atomically (temp file + rename) as grading goes, so a killed run keeps
   what it graded. Only samples without a verdict are graded again; a
   (problem, key) already graded is reused for new samples. grader_id
   carries the grader's name and versions, so a changed grader starts a
   fresh cache; a changed gold answer invalidates its problem's rows
   (each row records a hash of the reference it was graded against).
4. **Worker processes** (`workers.py`), one per core. Every item is
   graded inside a worker under a CPU-time limit (SIGPROF, so it coexists
   with math-verify's SIGALRM timers and never touches the parent's
   signals); the parent also holds a wall-clock deadline per item and
   kills and replaces a worker that overruns it (C code that ignores
   signals, e.g. sympy expanding `10^{10^{10^{10}}}`). One pathological
   answer costs at most its deadline, never the run. Each worker keeps a
   short queue of items in its pipe, so it never idles waiting for the
   parent to be scheduled (that round trip, not sympy, dominated on a
   loaded machine).

The `Grader` protocol (math, code and organism graders implement it):

    grader_id: str            # name + version; part of the cache path
    item_timeout_s: float     # CPU seconds one grade() may take
    extract(text, problem) -> str | None     # dedupe key; None = no answer
    grade(key, problem) -> (verdict, extra)  # verdict in VERDICTS; extra: dict
                                             # of scalar columns (may be {})
    refine_key(text, problem) -> str         # optional: when grade() answers REFINE
                                             # (the key did not decide), each sample of
                                             # that key is graded again by this key
    stored_key(key) -> str                   # optional: what the cache stores as
                                             # `key` (e.g. a digest of a long key)
    shown_answer(key) -> str | None          # optional: the answer readers see
                                             # (`extracted`) when grade() gives none
                                             # as extra["extracted"]; default: stored_key
    grade_fast(key, problem) -> (verdict, extra) | None   # optional: a cheap,
                                             # exact decision made in the calling
                                             # process (None: send to a worker)
    prepare() -> None                        # optional: run once in each worker
                                             # before its first item (heavy
                                             # imports), outside the item budgets

`extract` runs in the calling process and must not raise on any text
(an exception there gives that sample the verdict "error"). `grade` runs in
a worker: it, the grader and the problems must be picklable. Verdict rows:
problem_id, sample_idx, extracted (the answer as readers see it: the
grader's own reading, e.g. math-verify's extracted string, never a digest
where the grader can say better), verdict, correct, key (the dedupe key,
stored: what the cache reuses; parts written before it existed hold the key
in `extracted`), plus any `extra` columns and `detail` (why a verdict is
"error"/"timeout").
"""

from __future__ import annotations

import hashlib
import importlib
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

from ..errors import UserError
from .workers import REFINE, VERDICTS  # noqa: F401  (re-exported: part of the grading contract)

if TYPE_CHECKING:
    import pandas as pd
# pandas is imported inside the functions that use it: grading workers
# unpickle `GradingProblem` from this module and must not pay for pandas.

VERDICT_COLUMNS = ["problem_id", "sample_idx", "extracted", "verdict", "correct"]
# The dedupe key a verdict row was graded by (what the cache reuses). Parts
# written before this column existed hold the key in `extracted`.
KEY = "key"


@runtime_checkable
class Grader(Protocol):
    """What the driver needs from a grader (see the module docstring)."""

    grader_id: str
    item_timeout_s: float

    def extract(self, text: str, problem: Any) -> str | None: ...

    def grade(self, key: str, problem: Any) -> tuple[str, dict]: ...


# --- registry ---------------------------------------------------------------

_GRADERS: dict[str, Callable[..., Grader]] = {}
# Modules that register graders when imported (teammates' graders live
# there); imported only when a name is not found yet.
_PLUGIN_MODULES = ["rlboundary.verify.math_grader", "rlboundary.verify.code_grader", "rlboundary.organism.grader"]


def register_grader(name: str, factory: Callable[..., Grader]) -> None:
    """Make `get_grader(name, **options)` return `factory(**options)`."""
    _GRADERS[name] = factory


def _register_builtin() -> None:
    from .math_grader import MathEqualGrader, MathVerifyGrader

    _GRADERS.setdefault("math-verify", MathVerifyGrader)
    _GRADERS.setdefault("math-equal", MathEqualGrader)


def grader_names() -> list[str]:
    _load_plugins()
    return sorted(_GRADERS)


def _load_plugins() -> None:
    _register_builtin()
    for module in _PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def get_grader(name: str, **options) -> Grader:
    """A grader by name: "math-verify", "math-equal", or a registered one."""
    if name not in _GRADERS:
        _load_plugins()
    if name not in _GRADERS:
        raise UserError(f"unknown grader {name!r}.", f"use one of: {', '.join(sorted(_GRADERS))}.")
    return _GRADERS[name](**options)


# --- worker processes: see workers.py ------------------------------------------
# (re-exported here: callers and teammates' graders import them from grading)
from .workers import (  # noqa: E402, F401
    ItemTimeout,
    WorkerPool,
    close_worker_pools,
    default_workers,
    shared_pool,
    worker_main,
)


# --- the driver ----------------------------------------------------------------


@dataclass(frozen=True)
class GradingProblem:
    """What a grader sees of a problem (a `benchmarks.Problem` has the same
    fields). Graders get this copy so that workers never need to import
    the caller's Problem class."""

    id: str
    prompt: str
    reference: Any
    metadata: dict


def _problems_by_id(problems, benchmark: str | None = None) -> dict[str, GradingProblem]:
    """id -> GradingProblem; metadata["benchmark"] names the benchmark when
    known (the paper's grader keeps units for Minerva)."""
    if hasattr(problems, "problems"):  # a Benchmark
        benchmark = benchmark or getattr(problems, "name", None)
        problems = problems.problems
    items = problems.values() if isinstance(problems, dict) else problems
    out = {}
    for p in items:
        meta = dict(getattr(p, "metadata", None) or {})
        if benchmark:
            meta.setdefault("benchmark", str(benchmark).partition(":")[0])
        out[str(p.id)] = GradingProblem(str(p.id), getattr(p, "prompt", ""), p.reference, meta)
    return out


def reference_hash(problem: Any) -> str:
    """A short fingerprint of a problem's gold reference (cache validity)."""
    return hashlib.sha256(repr(problem.reference).encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class GradingStats:
    """What one grading call did (printed by `rlboundary verify`)."""

    samples: int = 0  # samples in the result
    cached: int = 0  # samples whose verdict was already on disk
    new: int = 0  # samples verdicted by this call
    distinct: int = 0  # distinct (problem, key) pairs among the new samples
    graded: int = 0  # pairs actually graded (not found in the cache)
    in_workers: int = 0  # of those, pairs sent to worker processes (not decided by grade_fast)
    killed_workers: int = 0
    seconds: float = 0.0
    # (problem, stored key) pairs counted in `distinct` (grade_run grades in
    # chunks: a pair met again in a later chunk is not counted twice).
    seen: set = field(default_factory=set, repr=False, compare=False)


def _extract_keys(samples: pd.DataFrame, problems: dict, grader: Grader) -> tuple[list, list]:
    keys, errors = [], []
    for pid, text in zip(samples["problem_id"].tolist(), samples["text"].tolist()):
        try:
            key = grader.extract(text, problems[pid])
            if key is not None and not isinstance(key, str):
                key = str(key)
            if key is not None:
                key = _storable(key)  # lone surrogates: not storable as Parquet text
            keys.append(key)
            errors.append(None)
        except Exception as err:  # a sample whose text breaks extraction
            keys.append(None)
            errors.append(f"extract failed: {type(err).__name__}: {str(err)[:200]}")
    return keys, errors


def _grade_samples(
    samples: pd.DataFrame,
    problems: dict,
    grader: Grader,
    workers: int | None,
    known: dict | None = None,
    on_batch: Callable[[pd.DataFrame], None] | None = None,
    flush_every_s: float = 30.0,
    stats: GradingStats | None = None,
) -> pd.DataFrame:
    """Verdict rows for `samples`; `known` maps (problem_id, stored key) -> (verdict, extra)
    already decided, and gets every pair this call decides (so that the next
    chunk of the same run reuses them); `on_batch` receives rows as groups
    finish (for the cache)."""
    import pandas as pd

    stats = stats or GradingStats()
    missing = sorted(set(samples["problem_id"].astype(str)) - set(problems))
    if missing:
        raise UserError(
            f"{len(missing)} sampled problem id(s) are not in the given problems (e.g. {missing[0]!r}).",
            "pass the benchmark the run was sampled from.",
        )
    samples = samples.assign(problem_id=samples["problem_id"].astype(str)).reset_index(drop=True)
    keys, extract_errors = _extract_keys(samples, problems, grader)
    # Python lists, not frame cells: a pandas lookup per sample costs more
    # than grading, and pandas would turn None into NaN.
    pids = samples["problem_id"].tolist()
    idxs = samples["sample_idx"].astype("int64").tolist()
    stored = getattr(grader, "stored_key", None) or (lambda key: key)
    shown = getattr(grader, "shown_answer", None) or stored
    decided: dict[tuple, tuple[str, dict]] = known if known is not None else {}
    rows_out: list[dict] = []
    flushed = [0, time.monotonic()]  # rows handed to on_batch, time of the last hand-over

    def flush(force: bool = False) -> None:
        if on_batch is None or len(rows_out) <= flushed[0]:
            return
        if force or time.monotonic() - flushed[1] > flush_every_s:
            on_batch(pd.DataFrame(rows_out[flushed[0]:]))
            flushed[0], flushed[1] = len(rows_out), time.monotonic()

    def grade_groups(groups: dict[tuple[str, str], list[int]]) -> list[tuple[str, str]]:
        """Verdicts for every (problem, key) group, fanned out to its samples;
        returns the groups whose grader answered REFINE (not fanned out)."""
        # Each group's stored key once (a digest for a long key): it is
        # looked up several times below.
        pair = {g: (g[0], stored(g[1])) for g in groups}
        for p in pair.values():
            if p not in stats.seen:
                stats.seen.add(p)
                stats.distinct += 1

        def fan_out(group, verdict, extra, fresh=True):
            pid, key = group
            if fresh:  # within one call every pair is graded once, whatever its verdict
                decided[pair[group]] = (verdict, extra)
            # The answer readers see: the grader's own reading when grade() gave one.
            answer = extra["extracted"] if "extracted" in extra else shown(key)
            # One row built per group, copied per sample (a copy is cheaper
            # than building: this runs once per sample).
            row = _row(pid, 0, pair[group][1], verdict, extra, answer)
            rows_out.extend({**row, "sample_idx": idxs[i]} for i in groups[group])

        todo = [g for g in groups if pair[g] not in decided]
        stats.graded += len(todo)
        for g in groups:
            if pair[g] in decided:
                fan_out(g, *decided[pair[g]], fresh=False)
        # Optional cheap exact decisions (e.g. integer vs integer) in this
        # process: no worker round trip, no sympy.
        fast = getattr(grader, "grade_fast", None)
        slow = []
        for g in todo:
            try:
                quick = fast(g[1], problems[g[0]]) if fast is not None else None
            except Exception:
                quick = None
            if quick is None:
                slow.append(g)
            else:
                fan_out(g, quick[0], dict(quick[1] or {}))
        stats.in_workers += len(slow)
        # Rows decided so far (cache hits, fast path) are stored at once:
        # they must never depend on the worker phase finishing.
        flush(force=True)
        refine = []
        if slow:
            n_workers = max(1, min(workers or default_workers(), len(slow)))
            pool = shared_pool(grader, n_workers)
            killed_before = pool.killed
            for group, verdict, extra in pool.imap(((g, g[1], problems[g[0]]) for g in slow), route=_by_problem):
                if verdict == REFINE:
                    refine.append(group)
                    continue
                fan_out(group, verdict, extra)
                flush()
            stats.killed_workers += pool.killed - killed_before
        return refine

    # Group samples by (problem, key): one grading per group.
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (pid, key, err) in enumerate(zip(pids, keys, extract_errors)):
        if err is not None:
            rows_out.append(_row(pid, idxs[i], None, "error", {"detail": err}, None))
        elif key is None:
            rows_out.append(_row(pid, idxs[i], None, "unparseable", {}, None))
        else:
            groups.setdefault((pid, key), []).append(i)
    refine = grade_groups(groups)
    if refine:
        # Keys that did not decide (e.g. a box math-verify cannot parse, so
        # it reads on): each of their samples by its refined key.
        texts = samples["text"].tolist()
        finer: dict[tuple[str, str], list[int]] = {}
        for group in refine:
            for i in groups[group]:
                finer.setdefault((group[0], grader.refine_key(texts[i], problems[group[0]])), []).append(i)
        for group in grade_groups(finer):  # a refined key must decide
            for i in finer[group]:
                rows_out.append(_row(group[0], idxs[i], stored(group[1]), "error",
                                     {"detail": "grader asked to refine a refined key"}, shown(group[1])))
    flush(force=True)
    out = pd.DataFrame(rows_out)
    stats.new += len(out)
    return out


def _by_problem(item) -> str:
    """A grading item's problem id: one worker grades a problem's answers
    (its parsed gold and caches serve them all)."""
    return item[0][0]


def _storable(value):
    """Text Parquet can hold: lone surrogates (which a grader may echo back
    from model text, e.g. math-verify's reading) become U+FFFD."""
    if isinstance(value, str) and not value.isascii():  # ASCII always encodes
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _row(pid, idx, key, verdict, extra, answer) -> dict:
    row = {"problem_id": pid, "sample_idx": int(idx), "extracted": _storable(answer), "verdict": verdict,
           "correct": verdict == "correct", KEY: key}
    row.update((k, _storable(v)) for k, v in extra.items() if k != "extracted")
    return row


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    if df.empty:
        df = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(VERDICT_COLUMNS, ["object", "int32", "object", "object", "bool"])})
    df = df.astype({"problem_id": str, "sample_idx": "int32", "verdict": str, "correct": "bool"})
    # One dtype whether rows came fresh or from Parquet: object, None = no answer.
    for col in ("extracted", KEY) if KEY in df else ("extracted",):
        # (a plain str, the common case, is kept without asking pandas)
        df[col] = pd.Series([x if type(x) is str else None if pd.isna(x) else str(x) for x in df[col]], index=df.index, dtype=object)
    cols = VERDICT_COLUMNS + [c for c in df.columns if c not in VERDICT_COLUMNS]
    return df[cols].sort_values(["problem_id", "sample_idx"], kind="stable").reset_index(drop=True)


def grade_frame(samples: pd.DataFrame, problems, grader: Grader | str, workers: int | None = None) -> pd.DataFrame:
    """Verdict rows for a frame of samples (problem_id, sample_idx, text); no cache.

    `problems`: a Benchmark, a list of Problems, or a dict id -> Problem.
    `df.attrs["stats"]` holds a `GradingStats`.
    """
    import pandas as pd

    grader = get_grader(grader) if isinstance(grader, str) else grader
    for col in ("problem_id", "sample_idx", "text"):
        if col not in samples.columns:
            raise UserError(f"samples have no {col!r} column.", "pass rows with problem_id, sample_idx, text.")
    start = time.monotonic()
    stats = GradingStats()
    out = _finish(_grade_samples(samples, _problems_by_id(problems), grader, workers, stats=stats))
    stats.samples, stats.seconds = len(out), time.monotonic() - start
    out.attrs["stats"] = stats
    return out


# --- the on-disk cache ---------------------------------------------------------


def _safe_dirname(grader_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in grader_id)


def verdict_dir(run_dir: str | Path, grader: Grader) -> Path:
    return Path(run_dir) / "verdicts" / _safe_dirname(grader.grader_id)


def read_samples(run_dir: str | Path) -> pd.DataFrame:
    """The run's samples (problem_id, sample_idx, text), via the sample store."""
    import pandas as pd

    run_dir = Path(run_dir)
    try:
        from ..store import RunStore
    except ImportError:
        RunStore = None
    if RunStore is not None:
        return RunStore(run_dir).samples(columns=["problem_id", "sample_idx", "text"])
    import pyarrow.parquet as pq  # until the store lands: its files directly

    parts = sorted(p for p in run_dir.glob("*.parquet") if not p.name.startswith("."))
    if not parts:
        return pd.DataFrame({"problem_id": [], "sample_idx": [], "text": []})
    frames = [pq.read_table(p, columns=["problem_id", "sample_idx", "text"]).to_pandas() for p in parts]
    return pd.concat(frames, ignore_index=True).drop_duplicates(["problem_id", "sample_idx"])


def read_verdicts(run_dir: str | Path, grader: Grader) -> pd.DataFrame:
    """Every verdict stored for `grader` (the newest wins for a repeated sample)."""
    import pandas as pd

    import pyarrow.parquet as pq

    vdir = verdict_dir(run_dir, grader)
    parts = sorted(p for p in vdir.glob("part-*.parquet")) if vdir.is_dir() else []
    if not parts:
        return pd.DataFrame(columns=VERDICT_COLUMNS + ["ref_hash"])
    df = pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)
    return df.drop_duplicates(["problem_id", "sample_idx"], keep="last")


def verdicts_by_grader(run_dir: str | Path, problems, exclude: str | None = None) -> dict[str, pd.DataFrame]:
    """Every grader's stored verdicts for a run, {grader id: verdict rows}
    (but `exclude`'s), without grading anything: rows graded against another
    gold reference than the problem's current one are left out (as `grade_run` does)."""
    current = {pid: reference_hash(p) for pid, p in _problems_by_id(problems).items()}
    root = Path(run_dir) / "verdicts"
    out = {}
    for vdir in sorted(root.iterdir()) if root.is_dir() else []:
        if not vdir.is_dir() or (exclude is not None and vdir.name == _safe_dirname(exclude)):
            continue
        rows = read_verdicts(run_dir, _StoredGrader(vdir.name))
        if len(rows):
            rows["problem_id"] = rows["problem_id"].astype(str)
            rows = rows[[current.get(pid) == h for pid, h in zip(rows["problem_id"], rows["ref_hash"])]]
            out[vdir.name] = _finish(rows.drop(columns=["ref_hash"]))
    return out


@dataclass(frozen=True)
class _StoredGrader:
    """Stands for a grader known only by its cache directory (read-only use)."""

    grader_id: str


def _write_part(vdir: Path, rows: pd.DataFrame) -> Path:
    """Write one verdict part atomically: a reader sees all of it or none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    vdir.mkdir(parents=True, exist_ok=True)
    name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = vdir / f".tmp-{name}"
    rows = rows.astype({"sample_idx": "int32", "correct": "bool"})
    table = pa.Table.from_pandas(rows, preserve_index=False)
    pq.write_table(table, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, vdir / name)
    return vdir / name


def _meta_benchmark(run_dir: Path) -> str | None:
    import json

    try:
        name = json.loads((run_dir / "meta.json").read_text()).get("benchmark")
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(name, dict):
        name = name.get("name")
    return str(name) if name else None


# `grade_run` reads and grades a run's new samples in chunks of at most
# this many samples or this much response text (whichever comes first), so
# its memory follows the chunk, not the run: 500 problems x 1,024 samples of
# ~2k characters is ~1 GB of text. Large enough that the worker pool stays
# busy (each chunk ends by waiting for its slowest item).
CHUNK_SAMPLES = 16_384
CHUNK_TEXT_BYTES = 32 * 2**20


def _pair_codes(problem_ids, sample_idxs, code_of: dict[str, int]):
    """(problem_id, sample_idx) pairs as int64 codes: sets of a million
    samples as numpy arrays instead of Python tuples."""
    import numpy as np

    codes = np.fromiter((code_of.get(str(p), -1) for p in problem_ids), dtype=np.int64, count=len(problem_ids))
    return codes * (1 << 32) + np.asarray(sample_idxs, dtype=np.int64)


def _chunks_to_grade(store, done, code_of: dict[str, int], max_samples: int, max_text_bytes: int):
    """The run's samples whose pair code is not in `done` (sorted int64
    codes), as DataFrames (problem_id, sample_idx, text) of bounded size."""
    import numpy as np
    import pyarrow as pa

    pending, rows, text_bytes = [], 0, 0
    for batch in store.iter_batches(["problem_id", "sample_idx", "text"]):
        codes = _pair_codes(batch.column(0).to_pylist(), batch.column(1).to_numpy(), code_of)
        todo = ~np.isin(codes, done)
        if not todo.any():
            continue
        batch = batch.filter(pa.array(todo))  # a copy: the row group read can be freed
        while batch.num_rows:
            part, batch = batch.slice(0, max_samples - rows), batch.slice(max_samples - rows)
            pending.append(part)
            rows += part.num_rows
            text_bytes += part.column(2).nbytes
            if rows >= max_samples or text_bytes >= max_text_bytes:
                yield pa.Table.from_batches(pending).to_pandas()
                pending, rows, text_bytes = [], 0, 0
    if pending:
        yield pa.Table.from_batches(pending).to_pandas()


def grade_run(run_dir: str | Path, problems, grader: Grader | str, workers: int | None = None) -> pd.DataFrame:
    """Verdicts for every sample stored in `run_dir`, grading only what is new.

    Returns one row per sample (see the module docstring); `df.attrs["stats"]`
    holds a `GradingStats` (cached vs new, distinct answers, ...). The new
    samples' text is read and graded chunk by chunk (`CHUNK_SAMPLES`,
    `CHUNK_TEXT_BYTES`); only the verdict rows (no text) of the whole run
    are held, and returned.
    """
    import numpy as np
    import pandas as pd

    from filelock import FileLock

    from ..store import RunStore

    grader = get_grader(grader) if isinstance(grader, str) else grader
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist.", "pass a run directory under outputs/samples (see `rlboundary status`).")
    start = time.monotonic()
    problems = _problems_by_id(problems, _meta_benchmark(run_dir))
    store = RunStore(run_dir)
    store.require_text()  # a run imported from counts: one line, before anything is written
    ids = store.samples(columns=["problem_id", "sample_idx"])  # the run's pairs, no text
    missing = sorted(set(ids["problem_id"].astype(str).unique()) - set(problems))
    if missing:
        raise UserError(
            f"{len(missing)} sampled problem id(s) are not in the given problems (e.g. {missing[0]!r}).",
            "pass the benchmark the run was sampled from.",
        )
    code_of = {pid: i for i, pid in enumerate(sorted(problems))}
    in_run = np.unique(_pair_codes(ids["problem_id"].tolist(), ids["sample_idx"].to_numpy(), code_of))
    del ids
    vdir = verdict_dir(run_dir, grader)
    vdir.mkdir(parents=True, exist_ok=True)
    stats = GradingStats()
    # One grader per run dir at a time: a second waits instead of grading twice.
    with FileLock(str(vdir / ".lock")):
        stored = read_verdicts(run_dir, grader)
        if len(stored):
            stored["problem_id"] = stored["problem_id"].astype(str)
            current = {pid: reference_hash(p) for pid, p in problems.items()}
            valid = [current.get(pid) == h for pid, h in zip(stored["problem_id"], stored["ref_hash"])]
            stored = stored.loc[pd.Series(valid, index=stored.index, dtype=bool)].reset_index(drop=True)
        stored_codes = _pair_codes(stored["problem_id"].tolist(), stored["sample_idx"].to_numpy(), code_of)
        # Answers graded before (same problem, same key) need no new grading.
        # Rows of older parts hold their key in `extracted` (and show the
        # grader's `shown_answer` of it when reused).
        has_key = stored[KEY].notna() if KEY in stored else pd.Series(False, index=stored.index)
        stored[KEY] = stored[KEY].where(has_key, stored["extracted"]).astype(object) if KEY in stored else stored["extracted"]
        stored["_has_key"] = has_key
        extra_cols = [c for c in stored.columns if c not in VERDICT_COLUMNS + ["ref_hash", KEY, "_has_key"]]
        known = {}
        reusable = stored[stored["verdict"].isin(["correct", "incorrect", "unparseable"]) & stored[KEY].notna()]
        reusable = reusable.drop_duplicates(["problem_id", KEY])  # the first one wins
        for rec in reusable.to_dict("records"):
            extra = {c: rec[c] for c in extra_cols if c != "detail" and pd.notna(rec[c])}
            if rec["_has_key"]:
                extra["extracted"] = None if pd.isna(rec["extracted"]) else rec["extracted"]  # shown as stored
            known[(rec["problem_id"], rec[KEY])] = (rec["verdict"], extra)
        del reusable

        def store_rows(rows: pd.DataFrame) -> None:
            rows = rows.assign(ref_hash=[reference_hash(problems[p]) for p in rows["problem_id"]])
            _write_part(vdir, rows)

        new = [
            _grade_samples(chunk, problems, grader, workers, known=known, on_batch=store_rows, stats=stats)
            for chunk in _chunks_to_grade(store, np.unique(stored_codes), code_of, CHUNK_SAMPLES, CHUNK_TEXT_BYTES)
        ]
    old = stored.loc[np.isin(stored_codes, in_run)].drop(columns=["ref_hash", "_has_key"])
    stats.cached = len(old)
    frames = [f for f in (old, *new) if len(f)]  # an empty frame would turn int extras into floats
    out = _finish(pd.concat(frames, ignore_index=True) if frames else old)
    stats.samples, stats.seconds = len(out), time.monotonic() - start
    stats.seen.clear()
    out.attrs["stats"] = stats
    return out
