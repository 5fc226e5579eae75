"""User-facing errors.

A `UserError` is a mistake the user can fix (bad parameter, missing file,
no network for a hub id). The CLI prints it as one line, with no traceback,
and exits with status 2. Its message says what is wrong and how to fix it.
Anything else that escapes is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A one-line, fixable error: `str(err)` is shown to the user as is."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem} Fix: {fix}")
