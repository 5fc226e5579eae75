"""Verifiers: turn stored samples into verdicts.

- `grading`: the driver every grader plugs into (dedupe by answer, on-disk
  verdict cache, worker processes with per-item timeouts): `grade_run`,
  `grade_frame`, `get_grader`, the `Grader` protocol.
- `math_answer`: final-answer extraction and normalisation for math.
- `workers`: the grading worker processes (per-item CPU and wall limits,
  kill-and-replace, items queued per worker).
- `math_grader`: the `math-verify` and `math-equal` graders;
  `math_verify_key`: math-verify's dedupe key (exact: its verdict is plain
  math-verify's on the whole response); `math_verify_shortcuts`: exact
  shortcuts in front of math-verify.
- `compare`: a run's verdicts by grader name (`source` for imported runs)
  and where graders disagree.
- `sandbox` / `code_grader`: executing model-written programs against tests.

Importing this package imports nothing heavy; modules load sympy and
math-verify only when grading starts.
"""
