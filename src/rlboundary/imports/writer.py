"""Write an imported run atomically into the sample store.

Everything is written into a private directory `samples/.import-tmp/<id>/`
(below the store root, so on the same file system, and two levels deep,
so `store.find_runs` never lists it): sample parts through
`store.RunStore.write_chunk`, the source's verdicts as parts of grader
`source` (`verdicts/source/`, the verdict-row schema of
`verify/grading.py`), then meta.json; `commit` renames the directory to
its run key in one `os.rename`. A failed import (bad line, interrupt, full
disk) removes the private directory: the store never holds half a run; one
left by a killed (SIGKILL) import is removed by the next import once its
process is gone.
Rows are flushed every `flush_rows` samples, so memory does not grow with
the file.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from ..errors import UserError
from ..store import META_FILE, RunStore, atomic_write_bytes
from .records import SourceSample

SOURCE_GRADER = "source"
TEMP_ROOT = ".import-tmp"


def remove_stale(temp_root: Path) -> None:
    """Delete private directories of imports killed outright (SIGKILL), whose process is gone."""
    if not temp_root.is_dir():
        return
    for d in temp_root.iterdir():
        pid = d.name.rpartition("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


class RunWriter:
    def __init__(self, store_root: Path, flush_rows: int = 20_000):
        remove_stale(store_root / TEMP_ROOT)
        self.tmp = store_root / TEMP_ROOT / f"{uuid.uuid4().hex}-{os.getpid()}"
        self.tmp.mkdir(parents=True)
        self.store = RunStore(self.tmp)
        self._lock = self.store.lock()
        self._lock.__enter__()
        self.flush_rows = flush_rows
        self.samples: list[dict] = []
        self.verdicts: list[dict] = []
        self.with_verdict = self.without_verdict = 0

    def add(self, problem_id: str, sample_idx: int, sample: SourceSample) -> None:
        self.samples.append({"problem_id": problem_id, "sample_idx": sample_idx, "text": sample.text,
                             "num_tokens": None, "finish_reason": sample.finish_reason or "imported"})
        if sample.correct is None:
            self.without_verdict += 1
        else:
            self.with_verdict += 1
            self.verdicts.append({"problem_id": problem_id, "sample_idx": sample_idx, "extracted": sample.extracted,
                                  "verdict": "correct" if sample.correct else "incorrect", "correct": bool(sample.correct)})
        if len(self.samples) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        import pandas as pd

        from ..verify.grading import _write_part

        if self.samples:
            frame = pd.DataFrame(self.samples)
            frame["num_tokens"] = frame["num_tokens"].astype("Int32")
            self.store.write_chunk(frame)
            self.samples = []
        if self.verdicts:
            _write_part(self.tmp / "verdicts" / SOURCE_GRADER, pd.DataFrame(self.verdicts))
            self.verdicts = []

    @property
    def has_source_verdicts(self) -> bool:
        """Source verdicts are kept only when every sample has one."""
        return self.with_verdict > 0 and self.without_verdict == 0

    def commit(self, meta: dict, final: Path) -> Path:
        self.flush()
        if not self.has_source_verdicts:
            shutil.rmtree(self.tmp / "verdicts", ignore_errors=True)
        atomic_write_bytes(self.tmp / META_FILE, json.dumps(meta, indent=1, sort_keys=True, default=str).encode())
        self._lock.__exit__(None, None, None)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(self.tmp, final)
        except OSError as err:
            raise UserError(f"run directory {final} already exists and holds another run ({err.strerror}).",
                            "move it away, or import under another --model name or --seed.") from None
        try:
            self.tmp.parent.rmdir()  # only when no other import is in flight
        except OSError:
            pass
        return final

    def abort(self) -> None:
        try:
            self._lock.__exit__(None, None, None)
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        try:
            self.tmp.parent.rmdir()  # only when no other import is in flight
        except OSError:
            pass
