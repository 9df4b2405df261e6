"""The event log (``runs/<run>/events.jsonl``): the one live feed between engine and GUI.

One JSON object per line with ``v``, ``ts``, ``type`` and ``run``. The writer appends and
flushes per event; readers take complete lines only and skip anything they cannot parse, so a
line cut by a crash, or an unknown event type from a newer engine, never breaks them.

Plain Python only: the GUI imports this module.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

from .fsutil import append_line

SCHEMA_VERSION = 1

# Known event types (readers must still ignore types they do not know).
RUN_STARTED = "run_started"
STAGE_STARTED = "stage_started"
STAGE_FINISHED = "stage_finished"
PROGRESS = "progress"
METRICS = "metrics"
SAMPLE = "sample"
CHECKPOINT = "checkpoint"
LOG = "log"
WARNING = "warning"
ERROR = "error"
RUN_FINISHED = "run_finished"
ROLLOUT_PLAN = "rollout_plan"  # rl: which prompt groups of a step were hinted, and with how many routes

# Results of the short CLI verbs, printed with --json on stdout (never written to a run's log).
INIT_DONE = "init_done"
IMPORT_PREVIEW = "import_preview"
IMPORT_DONE = "import_done"
ROUTES_DONE = "routes_done"
DETACHED = "detached"  # a train/resume --detach left its engine running: the pid
CONTROL_SENT = "control_sent"
EVAL_DONE = "eval_done"
EXPORT_DONE = "export_done"
RUNS = "runs"
DEMO_DONE = "demo_done"
SERVING = "serving"  # `serve`: the model is loaded and the server answers at `url`
PREFLIGHT_DONE = "preflight_done"  # `preflight`: seconds per step, peak memory and ETA per stage
REWARDS_DONE = "rewards_done"  # `rewards`: the reward bench's table (as routes/reward_bench.json)
CHAT_REPLY = "chat_reply"  # `chat`: one finished reply, with the verifier's verdict when a problem was asked

DURABLE_TYPES = {CHECKPOINT, ERROR, RUN_FINISHED}  # fsynced: the milestones a power loss must not erase
MAX_SAMPLE_CHARS = 4000  # bounded `sample` events: a runaway completion never bloats the log


def _clean(value):
    """JSON-safe copy: NaN/inf become null (JSON has no NaN), numpy/torch scalars become floats."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):
        return _clean(value.item())
    return str(value)


class EventWriter:
    """Appends events to one run's log; optionally echoes them on stdout (``--json``)."""

    def __init__(self, path: str | os.PathLike, run: str, echo: bool = False):
        self.path = Path(path)
        self.run = run
        self.echo = echo
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _end_torn_line(self.path)

    def emit(self, type: str, **fields) -> dict:
        event = {"v": SCHEMA_VERSION, "ts": round(time.time(), 3), "type": type, "run": self.run, **_clean(fields)}
        line = json.dumps(event, ensure_ascii=False)
        append_line(self.path, line, durable=type in DURABLE_TYPES)
        if self.echo:
            print(line, file=sys.stdout, flush=True)
        return event

    def log(self, message: str, level: str = "info") -> dict:
        return self.emit(LOG, level=level, message=message)

    def sample(self, stage: str, step: int, prompt: str, completion: str, rewards: dict, hinted: bool, **extra) -> dict:
        return self.emit(SAMPLE, stage=stage, step=step, prompt=prompt[-MAX_SAMPLE_CHARS:],
                         completion=completion[:MAX_SAMPLE_CHARS], rewards=rewards, hinted=hinted, **extra)


def _end_torn_line(path: Path) -> None:
    """Close a partial last line left by a kill mid-write, so the next event starts a line of
    its own instead of being glued to the torn one (and lost with it)."""
    try:
        with open(path, "rb+") as handle:
            if handle.seek(0, os.SEEK_END) == 0:
                return
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
    except FileNotFoundError:
        pass


def parse_line(line: bytes | str) -> dict | None:
    """One event from one line, or None for a malformed line (never raises)."""
    try:
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        event = json.loads(line)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None
    return event


def read_events(path: str | os.PathLike, types: set[str] | None = None) -> list[dict]:
    """All complete, well-formed events of a log (a missing log is an empty one)."""
    tailer = EventTailer(path)
    events = tailer.poll()
    return [e for e in events if types is None or e["type"] in types]


class EventTailer:
    """Follows a growing log by byte offset; returns only complete, well-formed new events."""

    def __init__(self, path: str | os.PathLike, offset: int = 0):
        self.path = Path(path)
        self.offset = offset
        self.skipped = 0  # malformed lines seen (shown as a warning, never raised)

    def poll(self, max_bytes: int = 64 * 1024 * 1024) -> list[dict]:
        try:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < self.offset:  # log replaced (new run of the same name): start over
                    self.offset = 0
                handle.seek(self.offset)
                chunk = handle.read(max_bytes)
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            if len(chunk) == max_bytes:  # one line longer than a whole read: skip it, never stall on it
                self.offset += len(chunk)
                self.skipped += 1
            return []
        self.offset += end + 1
        events = []
        for line in chunk[: end + 1].splitlines():
            if not line.strip():
                continue
            event = parse_line(line)
            if event is None:
                self.skipped += 1
            else:
                events.append(event)
        return events
