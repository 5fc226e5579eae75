"""The "organism" grader: exact final answer, plus the validity of every step.

Implements the `Grader` protocol of `verify/grading.py`:

    from rlboundary.verify.grading import get_grader
    grader = get_grader("organism")
    key = grader.extract(text, problem)      # the trace up to its last \\boxed{...}
    verdict, extra = grader.grade(key, problem)
    # extra: answer, trace_valid, n_steps_checked, first_invalid_step

The dedupe key is the trace itself (up to the end of the last `\\boxed{}`),
not only the answer, because validity depends on every step: two samples
share a verdict only when they wrote the same steps. Grading is exact and
takes microseconds, so `grade_fast` decides in the calling process.
"""

from __future__ import annotations

from .task import BOXED_RE
from .validity import trace_verdict

GRADER_VERSION = 1


class OrganismGrader:
    grader_id = f"organism-v{GRADER_VERSION}"
    item_timeout_s = 5.0

    def extract(self, text: str, problem) -> str | None:
        """The text up to the end of its last `\\boxed{...}`; None without one."""
        if not isinstance(text, str):
            return None
        last = None
        for m in BOXED_RE.finditer(text):
            last = m
        return None if last is None else text[: last.end()]

    def grade(self, key: str, problem) -> tuple[str, dict]:
        from .benchmark import lock_problem

        v = trace_verdict(lock_problem(problem), key)
        extra = {k: v[k] for k in ("answer", "trace_valid", "n_steps_checked", "first_invalid_step")}
        return ("correct" if v["correct"] else "incorrect"), extra

    def grade_fast(self, key: str, problem) -> tuple[str, dict]:
        return self.grade(key, problem)


def _register() -> None:
    from ..verify.grading import register_grader

    register_grader("organism", OrganismGrader)


try:  # registering is the point of importing this module from the grading registry
    _register()
except ImportError:  # verify/ not installed: the grader still works standalone
    pass
