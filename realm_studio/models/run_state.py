"""What a run's state means to the user: one wording, the same in every view (the Train page,
the workflow bar, the status bar, the Runs table).

The state comes from the run folder (``RunFolder.read_status``: status.json with liveness)
with one addition only the GUI can make: right after the GUI started an engine for a run, and
until that engine has taken the run over (its pid in status.json), the run is ``starting`` —
not "interrupted" (status.json not written yet) nor "queued" (the engine is loading torch).
"""

from __future__ import annotations

from engine.events import ERROR, parse_line
from engine.runs import LIVE_STATES, RunFolder, pid_alive

STARTING = "starting"
RESUMABLE_STATES = ("interrupted", "failed", "cancelled", "paused")
HINTS = {  # what a state means for the user, when it is not obvious
    STARTING: "the engine is loading; the first step follows",
    "interrupted": "the engine process is gone: killed or crashed; Resume continues from the last checkpoint",
    "paused": "stopped with a checkpoint; Resume continues from it",
    "failed": "see the message above the plots; Resume retries from the last checkpoint",
}


def shown_state(state: str) -> str:
    """The state as every view shows it: "queued" is an engine loading (there is no queue)."""
    return STARTING if state == "queued" else state


def is_live(state: str) -> bool:
    """A state in which an engine works on the run (Stop and Cancel apply; Start and Resume do not)."""
    return state in LIVE_STATES or state == STARTING


def state_text(state: str) -> str:
    """The state with what it means, e.g. "paused (stopped with a checkpoint; …)"."""
    hint = HINTS.get(state)
    return f"{state} ({hint})" if hint else state


def launch_state(run: RunFolder, pid: int) -> tuple[str, bool | None]:
    """(state to show, outcome) for a run the GUI started engine ``pid`` for. The outcome is None
    while the engine loads, True once it took the run over (its pid in status.json, past
    "queued"), False when it is gone without doing so: it refused (``launch_error`` says why)."""
    status = run.read_status()
    if status.get("pid") == pid and status["state"] != "queued":
        return shown_state(status["state"]), True
    if pid_alive(pid):
        return STARTING, None
    return shown_state(status["state"]), False


def launch_error(run: RunFolder, offset: int) -> str:
    """The engine's one-line refusal written to the run's engine.log after ``offset``, or ""."""
    try:
        with open(run.engine_log, "rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("error: "):
            return line.removeprefix("error: ").strip()
        event = parse_line(line)
        if event is not None and event["type"] == ERROR:
            return str(event.get("message", ""))
    return ""
