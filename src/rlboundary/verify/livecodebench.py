"""LiveCodeBench problems graded in the sandbox: code extraction and the test harness.

    from rlboundary.verify.livecodebench import extract_code, harness_files
    code = extract_code(response_text)                  # the program a response gives
    program, files = harness_files(code, reference, per_test_timeout_s=6.0)
    sandbox.run(program, limits, files=files)          # passes <=> exit 0 and the marker printed

`verify.code_grader.CodeExecGrader` calls these for any problem whose
reference has `lcb_tests` (benchmarks' `livecodebench` loader). What the
harness does, written from LiveCodeBench's documented test semantics:

- Every test runs the program in its own Python process (a child of the
  sandboxed harness, so inside the same sandbox and limits), stopping at the
  first failing test, as LiveCodeBench does.
- stdin tests: the program reads the test input on its real stdin; its stdout
  is compared line by line with the expected output after stripping each
  line; lines that differ as text still match when they split into the same
  number of tokens that are equal as decimals (`1.50` vs `1.5`).
- functional tests (LeetCode): the input is one JSON value per line, the
  arguments; the program's `Solution().<func_name>` (or a top-level function
  of that name) is called on them and its result, round-tripped through JSON
  (tuples become lists), must equal the expected JSON value.
- Every program gets an import header of standard-library modules first, as
  LiveCodeBench prepends one (`from typing import *`, `collections`, `heapq`,
  ...; `from builtins import *` last so that no star import shadows a builtin).

Each test has `per_test_timeout_s` of wall clock (LiveCodeBench: 6 s). Not
reproduced: LiveCodeBench's in-process execution with patched `input`, and
its special handling of a few malformed tests.
"""

from __future__ import annotations

import json
import re

# The code between the last two fence lines, as LiveCodeBench extracts it;
# an odd number of fence lines means the prompt already opened the block
# (the paper appends ```python to the assistant turn), so one is implied.
_FENCE_LINE = re.compile(r"^\s*```.*$", re.MULTILINE)

IMPORT_HEADER = """\
import sys, os, math, re, heapq, bisect, itertools, functools, collections, string, random, statistics, operator, copy, json, datetime
from typing import *
from collections import *
from itertools import *
from functools import *
from heapq import *
from bisect import *
from math import *
from string import *
from copy import *
from operator import *
from builtins import *
"""

# Runs in the sandbox. Plain names prefixed _rlb so a test cannot collide.
_HARNESS = r'''
import json as _rlb_json, subprocess as _rlb_sp, sys as _rlb_sys
from decimal import Decimal as _rlb_D, InvalidOperation as _rlb_IO

_rlb_spec = _rlb_json.load(open("tests.json"))

def _rlb_lines_equal(got, exp):
    g, e = got.strip().split("\n"), exp.strip().split("\n")
    if len(g) != len(e):
        return False
    for a, b in zip(g, e):
        a, b = a.strip(), b.strip()
        if a == b:
            continue
        ta, tb = a.split(), b.split()
        if len(ta) != len(tb):
            return False
        try:
            if all(_rlb_D(x) == _rlb_D(y) for x, y in zip(ta, tb)):
                continue
        except (_rlb_IO, ValueError):
            pass
        return False
    return True

for _rlb_i, _rlb_t in enumerate(_rlb_spec["tests"]):
    _rlb_script = "stdin_main.py" if _rlb_t["testtype"] == "stdin" else "call_main.py"
    try:
        _rlb_r = _rlb_sp.run([_rlb_sys.executable, _rlb_script], input=_rlb_t["input"], capture_output=True,
                             text=True, timeout=_rlb_spec["timeout"])
    except _rlb_sp.TimeoutExpired:
        print(f"test {_rlb_i}: timeout"); _rlb_sys.exit(1)
    if _rlb_r.returncode != 0:
        print(f"test {_rlb_i}: exit {_rlb_r.returncode}: {_rlb_r.stderr[-500:]}"); _rlb_sys.exit(1)
    if _rlb_t["testtype"] == "stdin":
        _rlb_ok = _rlb_lines_equal(_rlb_r.stdout, _rlb_t["output"])
    else:
        _rlb_out = _rlb_r.stdout.rpartition("\n@@rlb-result@@")[2]
        try:
            _rlb_ok = _rlb_json.loads(_rlb_out) == _rlb_json.loads(_rlb_t["output"])
        except ValueError:
            _rlb_ok = False
    if not _rlb_ok:
        print(f"test {_rlb_i}: wrong answer"); _rlb_sys.exit(1)
print(MARKER)
'''

# Calls the solution on one functional test (arguments on stdin, one JSON per line).
_CALL_MAIN = r'''
import json as _rlb_json, sys as _rlb_sys
_rlb_ns = {"__name__": "solution"}
exec(compile(open("solution.py").read(), "solution.py", "exec"), _rlb_ns)
_rlb_args = [_rlb_json.loads(line) for line in _rlb_sys.stdin.read().split("\n") if line.strip()]
_rlb_fn = getattr(_rlb_ns["Solution"](), FUNC) if "Solution" in _rlb_ns else _rlb_ns[FUNC]
_rlb_result = _rlb_fn(*_rlb_args)
_rlb_sys.stdout.write("\n@@rlb-result@@" + _rlb_json.dumps(_rlb_result))
'''


def extract_code(text: str) -> str:
    """The program in a response: the code between its last two fence lines
    (an opening fence implied when the count is odd), else the whole text."""
    if not isinstance(text, str):
        return ""
    fences = list(_FENCE_LINE.finditer(text))
    if not fences:
        return text
    if len(fences) % 2 == 1:
        # The prompt opened the block: the text up to the first fence is code
        # unless later blocks follow, in which case the last block wins.
        if len(fences) == 1:
            return text[: fences[0].start()]
        fences = fences[1:]
    return text[fences[-2].end() + 1 : fences[-1].start()] if fences[-2].end() < fences[-1].start() else ""


def harness_files(code: str, reference: dict, per_test_timeout_s: float, marker: str) -> tuple[str, dict[str, str]]:
    """(harness program, files beside it) that run `code` on every test of `reference`."""
    func = reference.get("entry_point")
    spec = {"tests": reference["lcb_tests"], "timeout": per_test_timeout_s}
    files = {
        "solution.py": IMPORT_HEADER + code,
        "stdin_main.py": IMPORT_HEADER + code,
        "call_main.py": _CALL_MAIN.replace("FUNC", repr(func)),
        "tests.json": json.dumps(spec),
    }
    return _HARNESS.replace("MARKER", repr(marker)), files


def run_timeout_s(reference: dict, per_test_timeout_s: float, cap_s: float = 120.0) -> float:
    """Wall clock for the whole harness: every test at its limit plus start-up, capped
    below the grading driver's deadline (verify.code_grader.CodeExecGrader.item_timeout_s)."""
    return min(cap_s, per_test_timeout_s * len(reference["lcb_tests"]) + 5.0)
