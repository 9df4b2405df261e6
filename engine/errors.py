"""The two kinds of failure the CLI distinguishes.

A ``UserError`` is something the user can fix (bad file, bad key, missing path): the CLI
prints its one-line message and exits 2, never a traceback. Anything else is our bug: the
CLI saves the traceback under the project and exits 1.
"""

import json


class UserError(Exception):
    """A problem the user can fix; ``str(err)`` is the one line shown to them."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class DiskFull(UserError):
    """Not enough free space for what comes next, or the disk filled up under a write. A run that
    meets it is paused, not failed: it resumes from its last checkpoint once there is room."""


def first_line(err: BaseException) -> str:
    """An error's first line (at most 300 characters, its type when it has no text): what a
    one-line refusal quotes of a library's own message."""
    lines = str(err).strip().splitlines()
    return lines[0][:300] if lines else type(err).__name__


def shown(text: str) -> str:
    """Text from a user's file or command line inside a one-line message: as written, or
    JSON-quoted when it is empty or holds a line break or a control character, so the message
    stays one line and still shows exactly what to look for."""
    return text if text and text.isprintable() else json.dumps(text)
