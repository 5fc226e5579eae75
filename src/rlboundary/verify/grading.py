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
   samples repeat a handful of answers.
3. **Cache** (`grade_run`): verdicts are stored beside the samples as
   Parquet parts under `run_dir/verdicts/<grader_id>/`, appended
   atomically (temp file + rename) as grading goes, so a killed run keeps
   what it graded. Only samples without a verdict are graded again; a
   (problem, key) already graded is reused for new samples. grader_id
   carries the grader's name and versions, so a changed grader starts a
   fresh cache; a changed gold answer invalidates its problem's rows
   (each row records a hash of the reference it was graded against).
4. **Worker processes**, one per core. Every item is graded inside a
   worker under a CPU-time limit (SIGPROF, so it coexists with
   math-verify's SIGALRM timers and never touches the parent's signals);
   the parent also holds a wall-clock deadline per item and kills and
   replaces a worker that overruns it (C code that ignores signals, e.g.
   sympy expanding `10^{10^{10^{10}}}`). One pathological answer costs at
   most its deadline, never the run.

The `Grader` protocol (math, code and organism graders implement it):

    grader_id: str            # name + version; part of the cache path
    item_timeout_s: float     # CPU seconds one grade() may take
    extract(text, problem) -> str | None     # dedupe key; None = no answer
    grade(key, problem) -> (verdict, extra)  # verdict in VERDICTS; extra: dict
                                             # of scalar columns (may be {})
    grade_fast(key, problem) -> (verdict, extra) | None   # optional: a cheap,
                                             # exact decision made in the calling
                                             # process (None: send to a worker)

`extract` runs in the calling process and must not raise on any text
(an exception there gives that sample the verdict "error"). `grade` runs in
a worker: it, the grader and the problems must be picklable. Verdict rows:
problem_id, sample_idx, extracted (the key), verdict, correct, plus any
`extra` columns and `detail` (why a verdict is "error"/"timeout").
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import os
import pickle
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for_connections
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, runtime_checkable

import pandas as pd

from ..errors import UserError

VERDICTS = ("correct", "incorrect", "unparseable", "timeout", "error")
VERDICT_COLUMNS = ["problem_id", "sample_idx", "extracted", "verdict", "correct"]


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
_PLUGIN_MODULES = ["rlboundary.verify.math_grader", "rlboundary.verify.code_grader", "rlboundary.organism.task"]


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


# --- worker processes --------------------------------------------------------


class ItemTimeout(BaseException):
    """Raised in a worker when an item exceeds its CPU budget. A
    BaseException so that graders' `except Exception` cannot swallow it."""


def _on_cpu_limit(signum, frame):
    raise ItemTimeout()


def _read_frame(stream) -> Any:
    """One length-prefixed pickle frame from a binary stream (EOFError at end)."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    size = int.from_bytes(head, "little")
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return pickle.loads(body)


def _write_frame(stream, obj: Any) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(body).to_bytes(8, "little") + body)
    stream.flush()


def _grade_one(grader: Grader, key: str, problem: Any, limit: float) -> tuple[str, dict]:
    try:
        try:
            # Fires after `limit` CPU seconds, then every 0.5 s in case a
            # bare `except:` in library code swallowed the first one.
            signal.setitimer(signal.ITIMER_PROF, limit, 0.5)
            verdict, extra = grader.grade(key, problem)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        if verdict not in VERDICTS:
            return "error", {"detail": f"grader returned unknown verdict {verdict!r}"}
        return verdict, dict(extra or {})
    except ItemTimeout:
        return "timeout", {"detail": f"over {limit:g} s of CPU"}
    except RecursionError:
        return "unparseable", {"detail": "recursion limit"}
    except Exception as err:  # a grader bug or a parser failure: the item's verdict
        return "error", {"detail": f"{type(err).__name__}: {str(err)[:200]!r}"}


def worker_main() -> None:
    """A grading worker: reads the grader, then (item_id, key, problem)
    frames on stdin, writes (item_id, verdict, extra) frames on stdout,
    until a None frame or EOF. Started by `WorkerPool` as its own process."""
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGPROF, _on_cpu_limit)
    try:
        grader = _read_frame(inp)
    except EOFError:
        return
    limit = float(grader.item_timeout_s)
    while True:
        try:
            msg = _read_frame(inp)
        except EOFError:
            return
        if msg is None:
            return
        item_id, payload = msg
        try:
            key, problem = pickle.loads(payload)
        except Exception as err:  # e.g. a class the worker cannot import
            verdict, extra = "error", {"detail": f"cannot unpickle item: {type(err).__name__}: {str(err)[:200]}"}
        else:
            verdict, extra = _grade_one(grader, key, problem, limit)
        _write_frame(out, (item_id, verdict, extra))


@dataclass
class _Worker:
    process: Any
    item: tuple | None = None
    deadline: float = 0.0


@dataclass
class WorkerPool:
    """Processes that grade items, each bounded in CPU and wall-clock time.

    Workers are fresh interpreters (`python -c ...`), not forks or
    multiprocessing spawns: nothing of the caller (threads, a notebook, a
    script without a main guard) is inherited or re-imported.
    `wall_timeout_s` defaults to 3x the grader's CPU budget + 10 s (the
    machine may be shared); a worker past it is killed and replaced.
    """

    grader: Grader
    workers: int
    wall_timeout_s: float | None = None
    killed: int = 0
    _pool: list = field(default_factory=list)

    def __post_init__(self):
        if self.wall_timeout_s is None:
            self.wall_timeout_s = 3 * float(self.grader.item_timeout_s) + 10.0
        self._grader_frame = self.grader  # pickled once per worker start

    def _start(self) -> _Worker:
        env = dict(os.environ)
        # The worker must import what the parent imported the grader from.
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")])
        proc = subprocess.Popen(
            [sys.executable, "-c", "from rlboundary.verify.grading import worker_main; worker_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        _write_frame(proc.stdin, self.grader)
        return _Worker(proc)

    def _kill(self, w: _Worker) -> None:
        try:
            w.process.kill()
        except OSError:
            pass
        w.process.wait(timeout=10)
        for stream in (w.process.stdin, w.process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        for w in self._pool:
            try:
                _write_frame(w.process.stdin, None)
                w.process.stdin.close()
            except OSError:
                pass
        for w in self._pool:
            try:
                w.process.wait(timeout=5)
                w.process.stdout.close()
            except subprocess.TimeoutExpired:
                self._kill(w)
        self._pool = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _send(self, i: int, item: tuple) -> None:
        w = self._pool[i]
        w.item, w.deadline = item, time.monotonic() + self.wall_timeout_s
        item_id, key, problem = item
        try:
            # (key, problem) pickled on their own, so that a worker that
            # cannot unpickle them still knows which item failed.
            _write_frame(w.process.stdin, (item_id, pickle.dumps((key, problem), protocol=pickle.HIGHEST_PROTOCOL)))
        except OSError:  # died before we could send: its read will hit EOF
            pass

    def imap(self, items: Iterable[tuple[Any, str, Any]]) -> Iterator[tuple[Any, str, dict]]:
        """Yield (item_id, verdict, extra) for every (item_id, key, problem), in completion order."""
        todo = iter(items)
        exhausted = False
        # A worker still busy from an abandoned earlier call would answer
        # with a stale result: replace it.
        for i, w in enumerate(self._pool):
            if w.item is not None:
                self._kill(w)
                self._pool[i] = self._start()
        while len(self._pool) < self.workers:
            self._pool.append(self._start())
        while True:
            for i, w in enumerate(self._pool[: self.workers]):
                if w.item is None and not exhausted:
                    nxt = next(todo, None)
                    if nxt is None:
                        exhausted = True
                    else:
                        self._send(i, nxt)
            busy = [w for w in self._pool if w.item is not None]
            if not busy:
                return
            wait_s = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = set(wait_for_connections([w.process.stdout for w in busy], timeout=wait_s))
            for i, w in enumerate(self._pool):
                if w.item is None:
                    continue
                item_id = w.item[0]
                if w.process.stdout in ready:
                    try:
                        got_id, verdict, extra = _read_frame(w.process.stdout)
                    except (EOFError, OSError, pickle.UnpicklingError):  # the worker died (memory, a crash in C)
                        self._kill(w)
                        code = w.process.returncode
                        self._pool[i] = self._start()
                        yield item_id, "error", {"detail": f"worker died (exit code {code})"}
                        continue
                    w.item = None
                    yield got_id, verdict, extra
                elif time.monotonic() >= w.deadline:
                    self._kill(w)
                    self.killed += 1
                    self._pool[i] = self._start()
                    yield item_id, "timeout", {"detail": f"killed after {self.wall_timeout_s:g} s wall time"}


_SHARED_POOLS: dict[bytes, WorkerPool] = {}


def shared_pool(grader: Grader, workers: int) -> WorkerPool:
    """A pool for `grader` kept alive between calls in this process: a
    worker costs seconds to start (it imports sympy), grading an item
    milliseconds. Idle workers wait on a pipe and use no CPU; they exit
    with this process (or `close_worker_pools()`)."""
    ident = pickle.dumps(grader, protocol=pickle.HIGHEST_PROTOCOL)
    pool = _SHARED_POOLS.get(ident)
    if pool is None:
        if not _SHARED_POOLS:
            atexit.register(close_worker_pools)
        pool = _SHARED_POOLS[ident] = WorkerPool(grader, workers)
    pool.workers = workers
    return pool


def close_worker_pools() -> None:
    """Stop every shared grading worker of this process."""
    while _SHARED_POOLS:
        _, pool = _SHARED_POOLS.popitem()
        pool.close()


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


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
    graded: int = 0  # pairs actually sent to graders (not found in the cache)
    killed_workers: int = 0
    seconds: float = 0.0


def _extract_keys(samples: pd.DataFrame, problems: dict, grader: Grader) -> tuple[list, list]:
    keys, errors = [], []
    for pid, text in zip(samples["problem_id"].tolist(), samples["text"].tolist()):
        try:
            key = grader.extract(text, problems[pid])
            if key is not None and not isinstance(key, str):
                key = str(key)
            if key is not None:
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:  # lone surrogates: not storable as Parquet text
                    key = key.encode("utf-8", "replace").decode("utf-8")
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
    """Verdict rows for `samples`; `known` maps (problem_id, key) -> (verdict, extra)
    already decided; `on_batch` receives rows as groups finish (for the cache)."""
    stats = stats or GradingStats()
    missing = sorted(set(samples["problem_id"].astype(str)) - set(problems))
    if missing:
        raise UserError(
            f"{len(missing)} sampled problem id(s) are not in the given problems (e.g. {missing[0]!r}).",
            "pass the benchmark the run was sampled from.",
        )
    samples = samples.assign(problem_id=samples["problem_id"].astype(str)).reset_index(drop=True)
    keys, extract_errors = _extract_keys(samples, problems, grader)
    frame = pd.DataFrame(
        {
            "problem_id": samples["problem_id"],
            "sample_idx": samples["sample_idx"].astype("int32"),
        }
    )
    # Group samples by (problem, key): one grading per group.
    groups: dict[tuple[str, str], list[int]] = {}
    decided: dict[tuple, tuple[str, dict]] = dict(known or {})
    rows_out: list[dict] = []
    # Python lists, not frame columns: pandas would turn None into NaN.
    for i, (pid, key, err) in enumerate(zip(frame["problem_id"].tolist(), keys, extract_errors)):
        if err is not None:
            rows_out.append(_row(pid, frame.at[i, "sample_idx"], None, "error", {"detail": err}))
        elif key is None:
            rows_out.append(_row(pid, frame.at[i, "sample_idx"], None, "unparseable", {}))
        else:
            groups.setdefault((pid, key), []).append(i)
    stats.distinct += len(groups)
    todo = [g for g in groups if g not in decided]
    stats.graded += len(todo)
    # Optional cheap exact decisions (e.g. integer vs integer) in this
    # process: no worker round trip, no sympy.
    fast = getattr(grader, "grade_fast", None)
    if fast is not None:
        slow = []
        for g in todo:
            try:
                quick = fast(g[1], problems[g[0]])
            except Exception:
                quick = None
            if quick is None:
                slow.append(g)
            else:
                decided[g] = (quick[0], dict(quick[1] or {}))
        todo = slow

    def fan_out(group, verdict, extra):
        pid, key = group
        for i in groups[group]:
            rows_out.append(_row(pid, frame.at[i, "sample_idx"], key, verdict, extra))

    for group in groups:
        if group in decided:
            fan_out(group, *decided[group])

    pending_flush = len(rows_out)
    if todo:
        n_workers = max(1, min(workers or default_workers(), len(todo)))
        items = ((g, g[1], problems[g[0]]) for g in todo)
        last_flush = time.monotonic()
        pool = shared_pool(grader, n_workers)
        killed_before = pool.killed
        for group, verdict, extra in pool.imap(items):
            fan_out(group, verdict, extra)
            if on_batch is not None and time.monotonic() - last_flush > flush_every_s:
                on_batch(pd.DataFrame(rows_out[pending_flush:]))
                pending_flush, last_flush = len(rows_out), time.monotonic()
        stats.killed_workers += pool.killed - killed_before
    if on_batch is not None and len(rows_out) > pending_flush:
        on_batch(pd.DataFrame(rows_out[pending_flush:]))
    out = pd.DataFrame(rows_out)
    stats.new += len(out)
    return out


def _row(pid, idx, key, verdict, extra) -> dict:
    row = {"problem_id": pid, "sample_idx": int(idx), "extracted": key, "verdict": verdict, "correct": verdict == "correct"}
    row.update(extra)
    return row


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        df = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(VERDICT_COLUMNS, ["object", "int32", "object", "object", "bool"])})
    df = df.astype({"problem_id": str, "sample_idx": "int32", "verdict": str, "correct": "bool"})
    # One dtype whether rows came fresh or from Parquet: object, None = no answer.
    df["extracted"] = pd.Series([None if pd.isna(x) else str(x) for x in df["extracted"]], index=df.index, dtype=object)
    cols = VERDICT_COLUMNS + [c for c in df.columns if c not in VERDICT_COLUMNS]
    return df[cols].sort_values(["problem_id", "sample_idx"], kind="stable").reset_index(drop=True)


def grade_frame(samples: pd.DataFrame, problems, grader: Grader | str, workers: int | None = None) -> pd.DataFrame:
    """Verdict rows for a frame of samples (problem_id, sample_idx, text); no cache.

    `problems`: a Benchmark, a list of Problems, or a dict id -> Problem.
    `df.attrs["stats"]` holds a `GradingStats`.
    """
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
    import pyarrow.parquet as pq

    vdir = verdict_dir(run_dir, grader)
    parts = sorted(p for p in vdir.glob("part-*.parquet")) if vdir.is_dir() else []
    if not parts:
        return pd.DataFrame(columns=VERDICT_COLUMNS + ["ref_hash"])
    df = pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)
    return df.drop_duplicates(["problem_id", "sample_idx"], keep="last")


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


def grade_run(run_dir: str | Path, problems, grader: Grader | str, workers: int | None = None) -> pd.DataFrame:
    """Verdicts for every sample stored in `run_dir`, grading only what is new.

    Returns one row per sample (see the module docstring); `df.attrs["stats"]`
    holds a `GradingStats` (cached vs new, distinct answers, ...).
    """
    from filelock import FileLock

    grader = get_grader(grader) if isinstance(grader, str) else grader
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist.", "pass a run directory under outputs/samples (see `rlboundary status`).")
    start = time.monotonic()
    problems = _problems_by_id(problems, _meta_benchmark(run_dir))
    samples = read_samples(run_dir)
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
            stored = stored.loc[pd.Series(valid, index=stored.index, dtype=bool)]
        done = set(zip(stored["problem_id"], stored["sample_idx"].astype(int)))
        sample_keys = list(zip(samples["problem_id"].astype(str), samples["sample_idx"].astype(int)))
        new_mask = [k not in done for k in sample_keys]
        todo = samples.loc[pd.Series(new_mask, index=samples.index, dtype=bool)]
        # Answers graded before (same problem, same key) need no new grading.
        extra_cols = [c for c in stored.columns if c not in VERDICT_COLUMNS + ["ref_hash"]]
        known = {}
        reusable = stored[stored["verdict"].isin(["correct", "incorrect", "unparseable"]) & stored["extracted"].notna()]
        for rec in reusable.to_dict("records"):
            extra = {c: rec[c] for c in extra_cols if c != "detail" and pd.notna(rec[c])}
            known.setdefault((rec["problem_id"], rec["extracted"]), (rec["verdict"], extra))

        def store(rows: pd.DataFrame) -> None:
            rows = rows.assign(ref_hash=[reference_hash(problems[p]) for p in rows["problem_id"]])
            _write_part(vdir, rows)

        new = _grade_samples(todo, problems, grader, workers, known=known, on_batch=store, stats=stats) if len(todo) else pd.DataFrame()
    keep = set(sample_keys)
    in_run = [k in keep for k in zip(stored["problem_id"], stored["sample_idx"].astype(int))]
    old = stored.loc[pd.Series(in_run, index=stored.index, dtype=bool)].drop(columns=["ref_hash"])
    stats.cached = len(old)
    out = _finish(pd.concat([old, new], ignore_index=True) if len(new) else old)
    stats.samples, stats.seconds = len(out), time.monotonic() - start
    out.attrs["stats"] = stats
    return out
