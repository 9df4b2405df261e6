"""What every fuzz test shares: the example budget, a verb run in process, and the property a
parser of user input must keep.

The property (issue 15): any input ends in success or in exit code 2 with ONE stderr line that
names the file and position (or the key), never a traceback, and a refused command changes
nothing in the project. A hang is caught by pytest-timeout; how long the slowest case took is a
figure for ``bench/fuzz.py``, not an assertion here.

The budget: the normal test run replays a fixed, derandomized set of examples (the same cases on
every machine, so a red CI is a real regression); ``REALM_FUZZ_SCALE=N`` multiplies every budget
and explores randomly (``bench/fuzz.py`` and the slow tier use it).
"""

from __future__ import annotations

import contextlib
import io
import os

from hypothesis import HealthCheck, settings

from engine.cli import main

SCALE = float(os.environ.get("REALM_FUZZ_SCALE", "1"))


def budget(examples: int) -> settings:
    """Hypothesis settings for ``examples`` cases at the normal scale."""
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None, derandomize=SCALE == 1,
                    database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])


def cli(*argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``realm-engine ARGV`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exit:  # argparse refusing the command line
            rc = exit.code
    return rc, out.getvalue(), err.getvalue()


def refusal(rc: int, stderr: str, *names: str) -> str:
    """The one line of a refused verb; it must name each of ``names`` (a file, a key)."""
    assert rc == 2, f"exit {rc} (1 is an internal error: a crash)\n{stderr[-3000:]}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), f"not one line:\n{stderr[-3000:]}"
    for name in names:
        assert name in lines[0], f"{name!r} not named in: {lines[0]}"
    return lines[0]
