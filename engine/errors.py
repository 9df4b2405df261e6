"""The two kinds of failure the CLI distinguishes.

A ``UserError`` is something the user can fix (bad file, bad key, missing path): the CLI
prints its one-line message and exits 2, never a traceback. Anything else is our bug: the
CLI saves the traceback under the project and exits 1.
"""


class UserError(Exception):
    """A problem the user can fix; ``str(err)`` is the one line shown to them."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base
