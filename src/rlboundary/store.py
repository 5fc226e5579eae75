"""The Parquet sample store: one directory per run key, resumable and locked.

    store = RunStore.for_key("tiny", "math500", settings.settings_hash(), seed=0)
    with store.lock():
        store.ensure_meta(meta)                 # refuses a run dir sampled differently
        missing = store.missing_units(problem_ids, settings)
        store.write_chunk(rows_df)              # atomic: temp file, fsync, rename
    store.samples()                             # all rows as a DataFrame

Layout: `samples_dir()/<model>/<benchmark>/<settings_hash>-seed<seed>/`
holding `meta.json` (the run's identity: model, benchmark, settings,
settings_hash, seed; and its latest `target`: n and problem ids) and one
`part-*.parquet` file per written chunk. A chunk file appears whole or not
at all (written under a temporary name in the same directory, fsynced, then
`os.replace`d), so a run killed at any moment loses at most the chunk in
flight; leftover `.tmp-*` files are ignored by readers, reported by
`status()` and removed by `remove_temp_files()` (run only under the lock).

Locking: `lock()` takes a file lock on `run_dir/.lock` (waiting at most a
second); a second process sampling the same run key stops with a UserError
naming the holder's pid, instead of waiting (waiting would hide a stuck or
forgotten run). The OS frees the lock when its holder dies, even by SIGKILL.
The one exception: with `RLBOUNDARY_STORE_LOCK_WAIT=<seconds>` (`LOCK_WAIT_ENV`) in the environment,
`lock()` waits that long. The report sets it for notebooks it runs side by side
(`report_jobs`), whose only other writer is a sibling notebook sampling the same run.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .errors import UserError

META_FILE = "meta.json"
LOCK_FILE = ".lock"
LOCK_WAIT_ENV = "RLBOUNDARY_STORE_LOCK_WAIT"
PART_PREFIX = "part-"
TEMP_PREFIX = ".tmp-"
SAMPLE_COLUMNS = ("problem_id", "sample_idx", "text", "num_tokens", "finish_reason")
# Written since the column was added: the generated token ids where the backend
# returns them (null otherwise). Parts written before lack it; readers fill null.
TOKEN_IDS = "token_ids"


def sample_schema(with_token_ids: bool = True):
    """The schema of a part file; `with_token_ids=False` is that of parts written before the column existed."""
    import pyarrow as pa

    fields = [
        ("problem_id", pa.string()),
        ("sample_idx", pa.int32()),
        ("text", pa.string()),
        ("num_tokens", pa.int32()),
        ("finish_reason", pa.string()),
    ]
    if with_token_ids:
        fields.append((TOKEN_IDS, pa.list_(pa.int32())))
    return pa.schema(fields)


def run_dir_name(settings_hash: str, seed: int, weights: str | None = None) -> str:
    """`<settings_hash>-seed<seed>`, or `<settings_hash>-w<weights>-seed<seed>`
    for a model whose weights' hash is part of its identity."""
    return f"{settings_hash}-seed{seed}" if weights is None else f"{settings_hash}-w{weights}-seed{seed}"


def run_dir_for(model: str, benchmark: str, settings_hash: str, seed: int, root: Path | None = None,
                weights: str | None = None) -> Path:
    from .paths import samples_dir

    root = Path(root) if root is not None else samples_dir()
    # A benchmark variant "organism:test" becomes the directory "organism-test".
    return root / model / benchmark.replace(":", "-") / run_dir_name(settings_hash, seed, weights)


def lock_wait_seconds() -> float:
    """How long `lock()` waits for another writer: 1 s, or `LOCK_WAIT_ENV` seconds when set."""
    value = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise UserError(f"{LOCK_WAIT_ENV}={value!r} is not a number of seconds.",
                        f"unset {LOCK_WAIT_ENV} (wait 1 s) or set it to a non-negative number.")
    return seconds


@dataclass(frozen=True)
class Unit:
    """A work unit still (partly) missing: its chunk and the sample_idx values to add."""

    problem_id: str
    chunk: int
    missing: tuple[int, ...]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class RunStore:
    """One run key's samples on disk."""

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self._lock = None

    @classmethod
    def for_key(cls, model: str, benchmark: str, settings_hash: str, seed: int, root: Path | None = None) -> "RunStore":
        return cls(run_dir_for(model, benchmark, settings_hash, seed, root))

    def __repr__(self) -> str:
        return f"RunStore({str(self.run_dir)!r})"

    # -- lock ---------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator["RunStore"]:
        """Hold the run's write lock; a second holder gets a UserError at once."""
        from filelock import FileLock, Timeout

        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.run_dir / LOCK_FILE))
        owner_file = self.run_dir / ".lock.owner"
        try:
            # A second of patience covers `status` peeking at the lock, not a real writer.
            lock.acquire(timeout=lock_wait_seconds())
        except Timeout:
            owner = owner_file.read_text().strip() if owner_file.exists() else "unknown"
            raise UserError(
                f"another process ({owner}) is writing run {self.run_dir}.",
                "wait for it to finish (rlboundary status shows progress) or stop that process, then run again.",
            ) from None
        try:
            owner_file.write_text(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            self._lock = lock
            yield self
        finally:
            self._lock = None
            with contextlib.suppress(OSError):
                owner_file.unlink()
            lock.release()

    def _require_lock(self) -> None:
        if self._lock is None:
            raise RuntimeError("write to a RunStore only inside `with store.lock():`")

    # -- meta ---------------------------------------------------------------

    def read_meta(self) -> dict | None:
        path = self.run_dir / META_FILE
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserError(f"{path} is damaged ({type(err).__name__}: {err}); the run's samples are untouched.",
                            f"run `rlboundary check {self.run_dir}` (it says how to restore it).") from None

    def ensure_meta(self, identity: dict, target: dict | None = None) -> dict:
        """Record the run's identity, or refuse if the directory holds another run.

        Every key of `identity` (model, benchmark, settings, seed) must equal
        what is stored; `target` (requested n, problem ids) is overwritten.
        """
        self._require_lock()
        identity = _jsonable(identity)
        old = self.read_meta()
        if old is not None:
            stored = {k: old.get(k) for k in identity}
            if stored != identity:
                diff = _describe_diff(stored, identity)
                raise UserError(
                    f"run directory {self.run_dir} was sampled with different settings ({diff}).",
                    "use another --name for this model, or the same settings as the stored run.",
                )
        # Identity keys sit at the top level (model, benchmark, settings,
        # settings_hash, seed) so that readers need no knowledge of this module.
        meta = {
            **identity,
            "target": _jsonable(target or {}),
            "created": (old or {}).get("created", time.strftime("%Y-%m-%dT%H:%M:%S")),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        atomic_write_bytes(self.run_dir / META_FILE, json.dumps(meta, indent=1, sort_keys=True).encode())
        return meta

    # -- reading ------------------------------------------------------------

    def part_files(self) -> list[Path]:
        if not self.run_dir.is_dir():
            return []
        return sorted(p for p in self.run_dir.iterdir() if p.name.startswith(PART_PREFIX) and p.suffix == ".parquet")

    def temp_files(self) -> list[Path]:
        if not self.run_dir.is_dir():
            return []
        return sorted(p for p in self.run_dir.iterdir() if p.name.startswith(TEMP_PREFIX))

    def remove_temp_files(self) -> int:
        """Delete leftovers of killed writers (only safe under the lock)."""
        self._require_lock()
        files = self.temp_files()
        for p in files:
            with contextlib.suppress(OSError):
                p.unlink()
        return len(files)

    def samples(self, columns: Iterable[str] | None = None, max_n: int | None = None):
        """Stored rows as a DataFrame sorted by (problem_id, sample_idx).

        `max_n` keeps sample_idx < max_n (a run may hold more than you ask for).
        """
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = list(columns) if columns is not None else list(SAMPLE_COLUMNS)
        if "text" in cols:
            self.require_text()
        read_cols = list(dict.fromkeys(cols + ["problem_id", "sample_idx"]))
        tables = [self._read_part(p, read_cols) for p in self.part_files()]
        if not tables:
            schema = sample_schema()
            return pd.DataFrame({c: pd.Series(dtype=schema.field(c).type.to_pandas_dtype()) for c in cols})
        table = pa.concat_tables(tables)
        if max_n is not None:
            import pyarrow.compute as pc

            table = table.filter(pc.less(table["sample_idx"], max_n))
        df = table.to_pandas()
        df = df.sort_values(["problem_id", "sample_idx"], kind="stable").reset_index(drop=True)
        return df[cols]

    def iter_batches(self, columns: Iterable[str], batch_rows: int = 4096) -> Iterator:
        """Stored rows as pyarrow RecordBatches of at most `batch_rows` rows,
        part by part, in storage order (not sorted): reading a large run's
        text this way holds one batch (and one row group) at a time."""
        import pyarrow.parquet as pq

        cols = list(columns)
        if "text" in cols:
            self.require_text()
        for part in self.part_files():
            with pq.ParquetFile(part) as f:
                yield from f.iter_batches(batch_size=batch_rows, columns=cols)

    def has_text(self) -> bool:
        """False for runs imported from outcome counts (no response text)."""
        return (self.read_meta() or {}).get("import", {}).get("has_text") is not False

    def require_text(self) -> None:
        """Runs imported from outcome counts hold no response text: say so in one line."""
        meta = self.read_meta() or {}
        if meta.get("import", {}).get("has_text") is False:
            raise UserError(
                f"run {self.run_dir} was imported from outcome counts ({meta['import'].get('format')}) and holds no "
                f"response text: only the count-based figures (pass@k, crossover, coverage, histograms) run on it.",
                "use `rlboundary passk RUN --grader source`, or import the generations themselves to regrade or score them.",
            )

    @staticmethod
    def _read_part(path: Path, columns: list[str]):
        """One part's columns; token_ids as nulls in a part written before that column existed."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            if TOKEN_IDS in columns and TOKEN_IDS not in pq.read_schema(path).names:
                table = pq.read_table(path, columns=[c for c in columns if c != TOKEN_IDS])
                nulls = pa.nulls(table.num_rows, type=sample_schema().field(TOKEN_IDS).type)
                return table.append_column(TOKEN_IDS, nulls).select(columns)
            return pq.read_table(path, columns=columns)
        except (pa.ArrowException, OSError) as err:  # truncated, zeroed, not Parquet at all
            raise UserError(f"sample file {path} is unreadable ({type(err).__name__}: {str(err)[:120]}).",
                            f"run `rlboundary check {path.parent}` to move it to quarantine/, then rerun "
                            f"`rlboundary sample` to redraw its samples.") from None

    def texts(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The texts of the given (problem_id, sample_idx) pairs only.

        Reads the id columns of every chunk file but the text column only of
        chunks that hold a wanted sample, so showing a few samples of a large
        run (1024 long responses per problem) never loads all its text."""
        import pyarrow.parquet as pq

        wanted = {(str(p), int(i)) for p, i in keys}
        out: dict[tuple[str, int], str] = {}
        for part in self.part_files():
            ids = pq.read_table(part, columns=["problem_id", "sample_idx"])
            pairs = list(zip(ids.column(0).to_pylist(), ids.column(1).to_pylist()))
            hits = [j for j, key in enumerate(pairs) if key in wanted]
            if hits:
                text = pq.read_table(part, columns=["text"]).column(0)
                for j in hits:
                    out[pairs[j]] = text[j].as_py()
        return out

    def stored_index(self):
        """(problem_id, sample_idx) of every stored row: only those two columns are read."""
        return self.samples(columns=["problem_id", "sample_idx"])

    def stored_counts(self) -> dict[str, set[int]]:
        """problem_id -> set of stored sample_idx."""
        idx = self.stored_index()
        out: dict[str, set[int]] = {}
        for pid, group in idx.groupby("problem_id", sort=False)["sample_idx"]:
            out[str(pid)] = set(int(i) for i in group)
        return out

    def stored_units(self, chunk_size: int) -> set[tuple[str, int]]:
        """(problem_id, chunk) pairs with at least one stored sample."""
        return {(pid, i // chunk_size) for pid, idxs in self.stored_counts().items() for i in idxs}

    def missing_units(self, problem_ids: Iterable[str], settings) -> list[Unit]:
        """Work units with samples still missing for n = settings.n, chunk-major
        order (every problem's chunk 0, then chunk 1, ...), so that a run cut
        short leaves every problem with a similar number of samples."""
        stored = self.stored_counts()
        problem_ids = list(problem_ids)
        units = []
        for c in range(settings.n_chunks()):
            want = settings.chunk_range(c)
            for pid in problem_ids:
                have = stored.get(pid, ())
                missing = tuple(i for i in want if i not in have)
                if missing:
                    units.append(Unit(pid, c, missing))
        return units

    # -- writing ------------------------------------------------------------

    def write_chunk(self, rows) -> Path | None:
        """Write rows (a DataFrame or list of dicts with SAMPLE_COLUMNS, optionally token_ids) as one part file, atomically."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._require_lock()
        df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        if len(df) == 0:
            return None
        missing_cols = [c for c in SAMPLE_COLUMNS if c not in df.columns]
        if missing_cols:
            raise ValueError(f"sample rows lack columns {missing_cols}")
        if TOKEN_IDS not in df.columns:
            df = df.assign(**{TOKEN_IDS: None})
        df = df.assign(**{TOKEN_IDS: [None if ids is None else [int(t) for t in ids] for ids in df[TOKEN_IDS]]})
        table = pa.Table.from_pandas(df[[*SAMPLE_COLUMNS, TOKEN_IDS]], schema=sample_schema(), preserve_index=False)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Time-ordered, unique names: sorting part files gives write order.
        name = f"{PART_PREFIX}{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        final = self.run_dir / name
        tmp = self.run_dir / f"{TEMP_PREFIX}{name}"
        try:
            with open(tmp, "wb") as f:
                pq.write_table(table, f, compression="zstd")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            # A full disk or an interrupt mid-write: leave no partial temp file behind.
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.run_dir)
        return final

    # -- summary ------------------------------------------------------------

    def status(self) -> dict:
        """Stored vs missing against the target recorded in meta.json."""
        meta = self.read_meta() or {}
        target = meta.get("target", {})
        identity = meta
        idx = self.stored_index()
        n = target.get("n")
        problem_ids = target.get("problem_ids") or sorted(idx["problem_id"].unique().tolist())
        duplicates = int(idx.duplicated().sum())
        if n is not None:
            in_target = idx[(idx["sample_idx"] < n) & idx["problem_id"].isin(problem_ids)].drop_duplicates()
            expected = n * len(problem_ids)
            missing = expected - len(in_target)
        else:
            expected, missing = None, None
        return {
            "run_dir": str(self.run_dir),
            "model": identity.get("model", {}).get("name") or self.run_dir.parent.parent.name,
            "benchmark": identity.get("benchmark") or self.run_dir.parent.name,
            "settings_hash": identity.get("settings_hash"),
            "seed": identity.get("seed"),
            "problems": len(problem_ids),
            "n": n,
            "stored": int(len(idx)),
            "expected": expected,
            "missing": missing,
            "duplicates": duplicates,
            "complete": missing == 0 and duplicates == 0 if n is not None else False,
            "part_files": len(self.part_files()),
            "temp_files": len(self.temp_files()),
            "locked_by": _lock_owner(self.run_dir),
        }


def _lock_owner(run_dir: Path) -> str | None:
    """Who holds the run's lock right now (None if nobody)."""
    from filelock import FileLock, Timeout

    if not (run_dir / LOCK_FILE).exists():
        return None
    lock = FileLock(str(run_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        owner = run_dir / ".lock.owner"
        return owner.read_text().strip() if owner.exists() else "unknown process"
    lock.release()
    return None


def find_runs(root: Path | None = None) -> list[RunStore]:
    """Every run directory (one with a meta.json) under the sample store root."""
    from .paths import samples_dir

    if root is not None and not Path(root).is_dir():  # a root asked for by name: a typo is not "no runs"
        raise UserError(f"sample store root {root} is not a directory.", "pass an existing directory to --root.")
    root = Path(root) if root is not None else samples_dir()
    if not root.is_dir():  # the default store before anything was sampled
        return []
    return [RunStore(p.parent) for p in sorted(root.glob(f"*/*/*/{META_FILE}"))]


def _jsonable(obj):
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _describe_diff(old: dict, new: dict, prefix: str = "") -> str:
    parts = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            parts.append(_describe_diff(a, b, f"{prefix}{k}."))
        else:
            parts.append(f"{prefix}{k}: stored {a!r}, asked {b!r}")
    return "; ".join(p for p in parts if p)
