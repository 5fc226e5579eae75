"""Verify a sample store run directory and repair what a crash can leave.

    from rlboundary.store_check import check_run, check_all
    result = check_run("outputs/samples/tiny/math500/fbb24f472776-seed0")   # repairs
    result = check_run(run_dir, repair=False)                               # report only
    print(result.report())
    rlboundary check RUN_DIR [RUN_DIR ...] | --all [--dry-run]           # the CLI

What is verified, per run directory (layout: see `store.py`):
- `meta.json` is readable JSON with the run's identity (model, benchmark,
  settings, settings_hash, seed), its settings hash recomputes, and the
  directory name (`store.run_dir_name`) agrees with it;
- every `part-*.parquet` chunk reads in full with exactly the sample schema;
- no (problem_id, sample_idx) is stored twice and no sample_idx is negative;
- every verdict cache (`verdicts/<grader_id>/part-*.parquet`) reads, has the
  verdict columns and valid verdicts, stores each sample once per gold
  reference, and covers only samples that exist.

What is repaired (only while holding the run's lock, so never under a live
writer), and never by deleting data:
- leftover `.tmp-*` files of a killed writer are removed: they were never
  part of the store (a chunk becomes visible only by its final rename) and
  the next run regenerates their rows deterministically;
- a chunk that is unreadable (truncated, garbage) or has a foreign schema,
  and a chunk whose rows all repeat rows stored earlier (a copy under another
  name), is MOVED to `run_dir/quarantine/<time>/`, where readers do not look,
  so nothing is lost; the next `rlboundary sample` regenerates missing rows;
- verdict rows of samples that no longer exist are dropped from their cache
  file, whose original is first copied to the quarantine;
- a stale `.lock.owner` (left by a killed holder; the lock itself is an OS
  lock that died with it) is removed.
What is not repaired, and makes `rlboundary check` exit non-zero: a missing
or inconsistent meta.json, a chunk that partly overlaps another, duplicate
rows inside one file, negative sample_idx, invalid verdict values. Each
finding says what to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError
from .store import run_dir_name

QUARANTINE_DIR = "quarantine"
VERDICTS_DIR = "verdicts"
LOCK_OWNER_FILE = ".lock.owner"
IDENTITY_KEYS = ("model", "benchmark", "settings", "settings_hash", "seed")
VERDICT_REQUIRED = ("problem_id", "sample_idx", "verdict", "correct")


@dataclass
class Finding:
    """One problem found in a run directory, and what was done about it."""

    kind: str  # short tag, e.g. "temp-file", "unreadable-chunk", "orphan-verdicts"
    path: str | None  # relative to the run directory
    problem: str  # what is wrong
    action: str | None = None  # what was done, or what to do when `repaired` is False
    repaired: bool = False
    repairable: bool = True

    def line(self) -> str:
        state = "repaired" if self.repaired else ("repairable" if self.repairable else "NOT REPAIRABLE")
        where = f"{self.path}: " if self.path else ""
        action = f" -> {self.action}" if self.action else ""
        return f"[{state}] {where}{self.problem}{action}"


@dataclass
class RunCheck:
    """The outcome of checking one run directory."""

    run_dir: Path
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts that are not faults (incomplete, ungraded, busy)
    samples: int = 0
    chunks: int = 0
    busy: str | None = None  # who holds the run's lock, when someone does

    @property
    def unrepaired(self) -> list[Finding]:
        return [f for f in self.findings if not f.repaired]

    @property
    def sound(self) -> bool:
        """True when nothing is wrong with the store after this check."""
        return not self.unrepaired

    def status(self) -> str:
        if not self.findings:
            return "ok"
        if self.sound:
            return "repaired"
        if all(f.repairable for f in self.unrepaired):
            return "needs repair"
        return "PROBLEM"

    def report(self) -> str:
        head = f"{self.status():<12} {self.run_dir}  ({self.samples} samples in {self.chunks} chunk files)"
        lines = [head] + [f"  {f.line()}" for f in self.findings] + [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# --- finding run directories -------------------------------------------------


def _looks_like_run_dir(path: Path) -> bool:
    if not path.is_dir():
        return False
    return any(
        p.name == "meta.json" or p.name.startswith(("part-", ".tmp-")) or p.name == VERDICTS_DIR for p in path.iterdir()
    )


def find_run_dirs(root: str | os.PathLike | None = None) -> list[Path]:
    """Run directories under the sample store root: `<model>/<benchmark>/<hash>-seed<s>/`,
    including ones whose meta.json is missing (those are findings, not skips)."""
    from .paths import samples_dir

    if root is not None and not Path(root).is_dir():  # a root asked for by name: a typo is not "no runs"
        raise UserError(f"sample store root {root} is not a directory.", "pass an existing directory to --root.")
    root = Path(root) if root is not None else samples_dir()
    if not root.is_dir():  # the default store before anything was sampled
        return []
    return sorted(p for p in root.glob("*/*/*") if _looks_like_run_dir(p))


# --- locks -------------------------------------------------------------------


def _lock_is_free(lock_path: Path) -> bool:
    """Probe a filelock without keeping it (True if nobody holds it)."""
    from filelock import FileLock, Timeout

    if not lock_path.exists():
        return True
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    lock.release()
    return True


@contextlib.contextmanager
def _try_lock(lock_path: Path):
    """Hold a filelock if it is free; yield whether we got it."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


# --- the checker -------------------------------------------------------------


class _Checker:
    def __init__(self, run_dir: Path, repair: bool):
        self.run_dir = run_dir
        self.repair = repair
        self.result = RunCheck(run_dir)
        self._quarantine: Path | None = None

    # helpers

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.run_dir))

    def add(self, kind, path, problem, action=None, repaired=False, repairable=True) -> Finding:
        f = Finding(kind, self.rel(path) if isinstance(path, Path) else path, problem, action, repaired, repairable)
        self.result.findings.append(f)
        return f

    def quarantine_dir(self) -> Path:
        if self._quarantine is None:
            stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{uuid.uuid4().hex[:6]}"
            self._quarantine = self.run_dir / QUARANTINE_DIR / stamp
        return self._quarantine

    def quarantine(self, path: Path, kind: str, problem: str, copy: bool = False) -> None:
        """Move (or copy) `path` into the quarantine, keeping its relative path."""
        target = self.quarantine_dir() / self.rel(path)
        if not self.repair:
            self.add(kind, path, problem, f"would move to {QUARANTINE_DIR}/")
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if copy:
            shutil.copy2(path, target)
        else:
            os.replace(path, target)  # same file system: atomic, nothing is lost
        self.add(kind, path, problem, f"{'copied' if copy else 'moved'} to {self.rel(target)}", repaired=True)

    # steps

    def run(self) -> RunCheck:
        if not self.run_dir.is_dir():
            raise UserError(f"run directory {self.run_dir} does not exist.", "pass a directory listed by `rlboundary status`.")
        if not _looks_like_run_dir(self.run_dir):
            raise UserError(
                f"{self.run_dir} is not a sample store run directory (no meta.json, chunk or verdict files).",
                "pass a directory like outputs/samples/<model>/<benchmark>/<hash>-seed<seed>, or use --all.",
            )
        from .store import RunStore

        owner_file = self.run_dir / LOCK_OWNER_FILE
        stale_owner = owner_file.read_text().strip() if owner_file.exists() else None
        if not _lock_is_free(self.run_dir / ".lock"):
            self.result.busy = stale_owner or "another process"
            self.result.notes.append(
                f"the run is being written by {self.result.busy}: checked read-only, nothing repaired, temp files not counted"
            )
            self.repair = False
            return self._check_all(stale_owner=None, busy=True)
        if not self.repair:
            return self._check_all(stale_owner=stale_owner, busy=False)
        store = RunStore(self.run_dir)
        try:
            with store.lock():
                return self._check_all(stale_owner=stale_owner, busy=False)
        except UserError as err:  # someone took the lock between the probe and now
            self.result.busy = str(err)
            self.repair = False
            self.result.notes.append("the run's lock was taken meanwhile: checked read-only, nothing repaired")
            return self._check_all(stale_owner=None, busy=True)

    def _check_all(self, stale_owner: str | None, busy: bool) -> RunCheck:
        if stale_owner is not None:
            # The lock was free, so the process named in .lock.owner is gone:
            # it was killed before it could remove its note. Holding the lock
            # overwrote the note; releasing it removes it.
            self.add(
                "stale-lock",
                LOCK_OWNER_FILE,
                f"stale lock owner note ({stale_owner}) left by a killed run; the OS lock itself was already free",
                "removed" if self.repair else "would remove",
                repaired=self.repair,
            )
        meta = self.check_meta()
        if not busy:
            self.check_temp_files(self.run_dir)
        keys = self.check_chunks(meta)
        self.check_target(meta, keys)
        self.check_verdicts(keys, busy)
        return self.result

    def check_meta(self) -> dict | None:
        path = self.run_dir / "meta.json"
        # Not rewritten from a later command's arguments: the directory key does not hold every field that
        # changes a sample (the model's path, template), so the samples could be attributed to the wrong ones.
        fix = ("restore meta.json from a copy if you have one; otherwise move the directory away and rerun "
               "`rlboundary sample` (it redraws the run): without its meta the samples cannot be attributed")
        if not path.exists():
            self.add("meta", path, "meta.json is missing: the run's identity (model, settings, seed) is unknown", fix, repairable=False)
            return None
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            self.add("meta", path, f"meta.json is not valid JSON ({err})", fix, repairable=False)
            return None
        if not isinstance(meta, dict):
            self.add("meta", path, "meta.json does not hold a JSON object", fix, repairable=False)
            return None
        missing = [k for k in IDENTITY_KEYS if k not in meta]
        if missing:
            self.add("meta", path, f"meta.json lacks {', '.join(missing)}", fix, repairable=False)
            return meta
        problems = []
        try:
            from .sampling import SamplingSettings

            if "import" in meta:  # an imported run: its "settings" are the source file and format
                from .imports.importer import imported_settings_hash

                recomputed = imported_settings_hash(meta["settings"])
            else:
                recomputed = SamplingSettings(n=1, **meta["settings"]).settings_hash()
            if recomputed != meta["settings_hash"]:
                problems.append(f"settings hash {meta['settings_hash']!r} does not match its settings (they hash to {recomputed!r})")
        except (TypeError, UserError) as err:
            problems.append(f"its settings are not valid sampling settings ({err})")
        weights = meta["model"].get("weights") if isinstance(meta["model"], dict) else None
        expected_name = run_dir_name(meta["settings_hash"], meta["seed"], weights)
        if self.run_dir.name != expected_name:
            problems.append(f"directory name {self.run_dir.name!r} should be {expected_name!r} for this meta.json")
        model = meta["model"].get("name") if isinstance(meta["model"], dict) else meta["model"]
        if model != self.run_dir.parent.parent.name or str(meta["benchmark"]).replace(":", "-") != self.run_dir.parent.name:
            problems.append(
                f"meta.json names model {model!r} / benchmark {meta['benchmark']!r} but the directory sits under "
                f"{self.run_dir.parent.parent.name}/{self.run_dir.parent.name}"
            )
        n = (meta.get("target") or {}).get("n")
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            problems.append(f"target n={n!r} is not a positive integer")
        for p in problems:
            self.add("meta", path, f"meta.json is inconsistent: {p}", "move the run directory to where its meta.json says, or away", repairable=False)
        return meta

    def check_temp_files(self, directory: Path) -> None:
        """Leftover temp files in `directory` (call only while holding its writers' lock)."""
        from .store import TEMP_PREFIX

        for tmp in sorted(p for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX)):
            # A writer renames its temp file into place as its last step:
            # one that is still here was never part of the store.
            if self.repair:
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        tmp.unlink()
            self.add(
                "temp-file", tmp, "leftover temporary file of a killed or failed writer (never part of the store)",
                "removed" if self.repair else "would remove", repaired=self.repair,
            )

    def check_chunks(self, meta: dict | None) -> dict:
        """Read every chunk; return {(problem_id, sample_idx): text} of the sound ones."""
        import pyarrow.parquet as pq

        from .store import RunStore, sample_schema

        expected = sample_schema()
        legacy = sample_schema(with_token_ids=False)  # parts written before token_ids was stored
        seen: dict[tuple[str, int], tuple[str, str]] = {}  # key -> (file, text)
        chunks = RunStore(self.run_dir).part_files()
        for path in chunks:
            try:
                table = pq.read_table(path)
            except Exception as err:  # pyarrow raises several types for a damaged file
                self.quarantine(path, "unreadable-chunk", f"not a readable Parquet file ({_why(err, path)})")
                continue
            if not (table.schema.remove_metadata().equals(expected) or table.schema.remove_metadata().equals(legacy)):
                self.quarantine(path, "wrong-schema", f"schema {_schema_str(table.schema)} is not the sample schema {_schema_str(expected)}")
                continue
            pids = table.column("problem_id").to_pylist()
            idxs = table.column("sample_idx").to_pylist()
            texts = table.column("text").to_pylist()
            if any(p is None for p in pids) or any(i is None for i in idxs):
                self.add("null-key", path, "rows with a null problem_id or sample_idx", "move the file away and resample", repairable=False)
                continue
            keys = list(zip(pids, idxs))
            if len(set(keys)) != len(keys):
                self.add("duplicate-rows", path, f"{len(keys) - len(set(keys))} (problem_id, sample_idx) repeated inside the file",
                         "move the file away and resample", repairable=False)
            negative = sum(1 for i in idxs if i < 0)
            if negative:
                self.add("bad-sample-idx", path, f"{negative} rows with a negative sample_idx", "move the file away and resample", repairable=False)
            overlap = [k for k in keys if k in seen]
            if overlap and len(set(overlap)) == len(set(keys)):
                # Every row was stored before: a copy of earlier chunks. The
                # first-written copy stays (chunk names sort by write time).
                first = seen[overlap[0]][0]
                same = all(seen[k][1] == t for k, t in zip(keys, texts))
                self.quarantine(
                    path, "duplicate-chunk",
                    f"all {len(keys)} rows are already stored (first in {first}; texts {'identical' if same else 'DIFFER'})",
                )
                continue
            if overlap:
                self.add(
                    "overlapping-chunk", path,
                    f"{len(set(overlap))} of its {len(set(keys))} rows are also stored in {seen[overlap[0]][0]}",
                    "keep one copy of each sample: move one of the files away and resample what is missing", repairable=False,
                )
            for k, t in zip(keys, texts):
                seen.setdefault(k, (path.name, t))
            self.result.chunks += 1
        self.result.samples = len(seen)
        return {k: v[1] for k, v in seen.items()}

    def check_target(self, meta: dict | None, keys: dict) -> None:
        target = (meta or {}).get("target") or {}
        n, problem_ids = target.get("n"), target.get("problem_ids")
        if not isinstance(n, int) or n < 1:
            return
        beyond = sum(1 for _, i in keys if i >= n)
        if beyond:
            self.result.notes.append(
                f"{beyond} samples have sample_idx >= n={n} (kept from an earlier run with a larger n; readers use max_n)"
            )
        if problem_ids:
            wanted = set(problem_ids)
            have = {k for k in keys if k[1] < n and k[0] in wanted}
            missing = n * len(wanted) - len(have)
            if missing:
                self.result.notes.append(
                    f"incomplete: {missing} of {n * len(wanted)} samples missing (rerun `rlboundary sample` with the same arguments to resume)"
                )
            extra = {k[0] for k in keys} - wanted
            if extra:
                self.result.notes.append(f"{len(extra)} stored problems are outside the latest target (e.g. {sorted(extra)[0]!r})")

    def check_verdicts(self, sample_keys: dict, busy: bool) -> None:
        root = self.run_dir / VERDICTS_DIR
        if not root.is_dir():
            return
        for vdir in sorted(p for p in root.iterdir() if p.is_dir()):
            if busy:
                self._check_verdict_dir(vdir, sample_keys)
                continue
            with _try_lock(vdir / ".lock") as got:
                if not got:
                    self.result.notes.append(f"{self.rel(vdir)} is being graded right now: checked read-only")
                    saved, self.repair = self.repair, False
                    try:
                        self._check_verdict_dir(vdir, sample_keys)
                    finally:
                        self.repair = saved
                else:
                    self.check_temp_files(vdir)
                    self._check_verdict_dir(vdir, sample_keys)

    def _check_verdict_dir(self, vdir: Path, sample_keys: dict) -> None:
        import pyarrow.parquet as pq

        from .verify.grading import VERDICTS

        seen: dict[tuple, str] = {}
        graded: set[tuple[str, int]] = set()
        for path in sorted(vdir.glob("part-*.parquet")):
            try:
                table = pq.read_table(path)
            except Exception as err:
                self.quarantine(path, "unreadable-verdicts", f"not a readable Parquet file ({_why(err, path)})")
                continue
            lacking = [c for c in VERDICT_REQUIRED if c not in table.column_names]
            if lacking:
                self.quarantine(path, "wrong-schema", f"verdict file lacks column(s) {', '.join(lacking)}")
                continue
            pids = [str(p) for p in table.column("problem_id").to_pylist()]
            idxs = table.column("sample_idx").to_pylist()
            verdicts = table.column("verdict").to_pylist()
            correct = table.column("correct").to_pylist()
            refs = table.column("ref_hash").to_pylist() if "ref_hash" in table.column_names else [None] * len(pids)
            bad = sum(1 for v, c in zip(verdicts, correct) if v not in VERDICTS or c != (v == "correct"))
            if bad:
                self.add("bad-verdicts", path, f"{bad} rows with an unknown verdict or `correct` disagreeing with it",
                         "move the file away and grade again (rlboundary verify)", repairable=False)
            keys = list(zip(pids, idxs, refs))
            overlap = [k for k in keys if k in seen]
            if overlap and len(set(overlap)) == len(set(keys)):
                self.quarantine(path, "duplicate-verdicts", f"all {len(keys)} verdicts are already stored (first in {seen[overlap[0]]})")
                continue
            if overlap:
                self.add("overlapping-verdicts", path, f"{len(set(overlap))} verdicts are also stored in {seen[overlap[0]]}",
                         "move the file away and grade again (rlboundary verify)", repairable=False)
            orphans = [i for i, (p, s) in enumerate(zip(pids, idxs)) if (p, s) not in sample_keys]
            if orphans:
                self._drop_orphans(path, table, orphans)
                keep = set(range(len(keys))) - set(orphans)
                keys = [keys[i] for i in sorted(keep)]
            for k in keys:
                seen.setdefault(k, path.name)
                graded.add((k[0], k[1]))
        if sample_keys or graded:
            self.result.notes.append(f"{self.rel(vdir)}: {len(graded & set(sample_keys))} of {len(sample_keys)} samples graded")

    def _drop_orphans(self, path: Path, table, orphans: list[int]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        problem = f"{len(orphans)} of {table.num_rows} verdicts are for samples that are not stored (pass@k would count them)"
        if not self.repair:
            self.add("orphan-verdicts", path, problem, "would drop them (original copied to quarantine/)")
            return
        target = self.quarantine_dir() / self.rel(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        drop = set(orphans)
        mask = pa.array([i not in drop for i in range(table.num_rows)])
        kept = table.filter(mask)
        tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
        pq.write_table(kept, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # same name: keeps the write order readers rely on
        self.add("orphan-verdicts", path, problem, f"dropped them; original copied to {self.rel(target)}", repaired=True)


def _why(err: Exception, path: Path) -> str:
    """A short reason from a reader's exception, without the file's full path."""
    text = str(err).replace(f"'{path}'", "").replace(str(path), path.name).splitlines()
    return f"{type(err).__name__}: {(text[0] if text else '')[:120]}"


def _schema_str(schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"


def check_run(run_dir: str | os.PathLike, repair: bool = True) -> RunCheck:
    """Verify one run directory; with `repair`, fix what a crash can leave (see module docstring)."""
    return _Checker(Path(run_dir).resolve(), repair).run()


def check_all(root: str | os.PathLike | None = None, repair: bool = True) -> list[RunCheck]:
    """`check_run` for every run directory under the sample store root."""
    return [check_run(p, repair) for p in find_run_dirs(root)]
