"""Ad-hoc benchmarks: problems and gold answers taken from an imported file.

An import under a benchmark name that is not registered saves the file's
own problems as `outputs/benchmarks/<name>.jsonl` (one row per problem:
id, question, answer, metadata; kind math). `benchmarks.get_benchmark`
finds it there, so `rlboundary verify`, `passk` and the notebooks treat it
like any benchmark, and a later import under the same name is matched
against it. A second import whose problems disagree with the saved ones
(same id, other gold answer) is refused rather than silently mixed.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from ..store import atomic_write_bytes


def adhoc_path(name: str) -> Path:
    from ..paths import imported_benchmarks_dir

    return imported_benchmarks_dir() / f"{name}.jsonl"


def load_adhoc_rows(name: str) -> list[dict] | None:
    path = adhoc_path(name)
    if not path.exists():
        return None
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def save_adhoc_benchmark(name: str, rows: list[dict]) -> Path:
    path = adhoc_path(name)
    old = load_adhoc_rows(name)
    if old is not None:
        known = {r["id"]: r for r in old}
        clash = [r for r in rows if r["id"] in known and known[r["id"]]["answer"] not in (None, r["answer"])]
        if clash:
            raise UserError(f"ad-hoc benchmark {name!r} already has problem {clash[0]['id']!r} with gold answer "
                            f"{known[clash[0]['id']]['answer']!r}, this file says {clash[0]['answer']!r}.",
                            "import under another --benchmark name.")
        rows = old + [r for r in rows if r["id"] not in known]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    return path


def load_adhoc_problems(name: str):
    """The saved ad-hoc benchmark as benchmarks.Problem objects (None: no such benchmark)."""
    from ..benchmarks import Problem

    rows = load_adhoc_rows(name)
    if rows is None:
        return None
    return [Problem(str(r["id"]), r.get("question") or "", r.get("answer"), dict(r.get("metadata") or {})) for r in rows]
