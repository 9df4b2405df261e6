"""The event log (``runs/<run>/events.jsonl``): the one live feed between engine and GUI.

One JSON object per line with ``v``, ``ts``, ``type`` and ``run``. The writer appends and
flushes per event; readers take complete lines only and skip anything they cannot parse, so a
line cut by a crash, or an unknown event type from a newer engine, never breaks them.

A run of days writes gigabytes of events, so the log is rotated: once ``events.jsonl`` passes
``PART_BYTES`` it is renamed ``events.000001.jsonl`` and compressed to ``events.000001.jsonl.gz``
(JSON shrinks about tenfold), and a new ``events.jsonl`` starts with a ``log_part`` line saying
which part it is. Readers follow the parts in order, so replaying a run from its first event, or
re-attaching to it, reads the same history whether or not the log was ever rotated.

Plain Python only: the GUI imports this module.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Iterator

from .errors import UserError
from .fsutil import append_line, atomic_open

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
LOG_PART = "log_part"  # the first line of a log started by a rotation; readers consume it, callers never see it

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
PART_BYTES = 64 * 1024 * 1024  # the live log is rotated past this size (about 13,000 RL steps)
READ_BYTES = 64 * 1024 * 1024  # what one poll reads at most, unless the caller says less


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
    """Appends events to one run's log, rotating it past ``part_bytes``; optionally echoes them on
    stdout (``--json``)."""

    def __init__(self, path: str | os.PathLike, run: str, echo: bool = False, part_bytes: int = PART_BYTES):
        self.path = Path(path)
        self.run = run
        self.echo = echo
        self.part_bytes = part_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _end_torn_line(self.path)
        parts = rotated_parts(self.path)
        for part in parts:  # finish a compression a kill cut short
            _compress(self.path, part)
        try:
            self._size = self.path.stat().st_size
        except FileNotFoundError:
            self._size = 0
            if parts:  # killed between renaming the last part and starting the next
                self._start_part(parts[-1] + 1)

    def emit(self, type: str, **fields) -> dict:
        event = {"v": SCHEMA_VERSION, "ts": round(time.time(), 3), "type": type, "run": self.run, **_clean(fields)}
        line = json.dumps(event, ensure_ascii=False)
        if self._size >= self.part_bytes:
            self._rotate()
        append_line(self.path, line, durable=type in DURABLE_TYPES)
        self._size += len(line.encode("utf-8")) + 1
        if self.echo:
            print(line, file=sys.stdout, flush=True)
        return event

    def log(self, message: str, level: str = "info") -> dict:
        return self.emit(LOG, level=level, message=message)

    def sample(self, stage: str, step: int, prompt: str, completion: str, rewards: dict, hinted: bool, **extra) -> dict:
        return self.emit(SAMPLE, stage=stage, step=step, prompt=prompt[-MAX_SAMPLE_CHARS:],
                         completion=completion[:MAX_SAMPLE_CHARS], rewards=rewards, hinted=hinted, **extra)

    def _rotate(self) -> None:
        """The live log becomes the next rotated part (a rename: atomic), a new live log starts,
        then the part is compressed. A kill between any two of these leaves a log readers follow."""
        part = (rotated_parts(self.path) or [0])[-1] + 1
        os.replace(self.path, _plain(rotated_path(self.path, part)))
        self._start_part(part + 1)
        _compress(self.path, part)

    def _start_part(self, part: int) -> None:
        header = json.dumps({"v": SCHEMA_VERSION, "ts": round(time.time(), 3), "type": LOG_PART, "run": self.run,
                             "part": part})
        append_line(self.path, header, durable=True)
        self._size = len(header.encode("utf-8")) + 1


def rotated_path(log: Path, part: int) -> Path:
    """Where part ``part`` of a log lies once rotated and compressed (part 1 is the oldest)."""
    return log.with_name(f"{log.stem}.{part:06d}{log.suffix}.gz")


def _plain(gz: Path) -> Path:
    return gz.with_suffix("")


def rotated_parts(log: Path) -> list[int]:
    """The numbers of a log's rotated parts, oldest first."""
    pattern = re.compile(rf"{re.escape(log.stem)}\.(\d{{6}}){re.escape(log.suffix)}(?:\.gz)?")
    try:
        names = os.listdir(log.parent)
    except FileNotFoundError:
        return []
    return sorted({int(m.group(1)) for name in names if (m := pattern.fullmatch(name))})


def _rotated_file(log: Path, part: int) -> Path | None:
    """Rotated part ``part`` as it is on disk: compressed, or plain while the writer compresses it."""
    gz = rotated_path(log, part)
    return next((path for path in (gz, _plain(gz)) if path.exists()), None)


def _compress(log: Path, part: int) -> None:
    """gzip a rotated part (written whole, then renamed into place) and remove the plain one; a
    full disk leaves it plain, which readers take as well, and the next writer tries again."""
    gz = rotated_path(log, part)
    plain = _plain(gz)
    if not plain.exists():
        return
    try:
        if not gz.exists():
            with atomic_open(gz, "wb", encoding=None) as out:
                with open(plain, "rb") as source, gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as zipped:
                    shutil.copyfileobj(source, zipped, 1024 * 1024)
        plain.unlink()
    except (OSError, UserError):
        pass


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
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the stack
        return None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None
    return event


QT_INT = 2**31  # a Qt signal's int is 32 bits: a larger value from a damaged log would raise in the GUI


def number(value) -> float | None:
    """A JSON number from a log as a finite float, else None (a wrong type, or an integer too large
    for a float: the log is written by other versions and read back from disks that fail)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def int_field(event: dict, key: str) -> int:
    """An integer field of an event (step, total, …), 0 when it is absent or not an integer a Qt
    signal can carry."""
    value = event.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and -QT_INT < value < QT_INT else 0


def iter_events(path: str | os.PathLike, types: set[str] | None = None, batch_bytes: int = 4 * 1024 * 1024
                ) -> Iterator[dict]:
    """Every complete, well-formed event of a log, rotated parts first (a missing log is an empty
    one), read ``batch_bytes`` at a time: a long run's history is never all in memory at once."""
    return (event for event in EventTailer(path).drain(batch_bytes) if types is None or event["type"] in types)


def read_events(path: str | os.PathLike, types: set[str] | None = None) -> list[dict]:
    """All complete, well-formed events of a log (see ``iter_events``)."""
    return list(iter_events(path, types))


def tail_events(path: str | os.PathLike, tail_bytes: int) -> list[dict]:
    """The events in about the last ``tail_bytes`` of a log (the last lines of a run, without
    reading all of it); just after a rotation the end of the previous part counts too."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            part = _part_of(handle)
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - tail_bytes))
            data = handle.read()
    except FileNotFoundError:
        part, data = (rotated_parts(path) or [0])[-1] + 1, b""
    previous = _rotated_file(path, part - 1) if len(data) < tail_bytes else None
    if previous is not None:
        opener = gzip.open if previous.suffix == ".gz" else open
        try:
            with opener(previous, "rb") as handle:
                older = b"".join(iter(lambda: handle.read(1024 * 1024), b""))  # gzip cannot seek from the end
            data = older[-(tail_bytes - len(data)):] + data
        except (OSError, EOFError):
            pass
    events = (parse_line(line) for line in data.split(b"\n"))  # the first line may be cut: it is skipped
    return [e for e in events if e is not None and e["type"] != LOG_PART]


def _part_of(handle) -> int:
    """Which part of its log an open live log is: its ``log_part`` line says, else it is the first.
    Leaves the handle at the start."""
    handle.seek(0)
    first = parse_line(handle.readline(4096))
    handle.seek(0)
    part = first.get("part") if first is not None and first["type"] == LOG_PART else 1
    return part if isinstance(part, int) and not isinstance(part, bool) and part >= 1 else 1


class EventTailer:
    """Follows a growing log by (part, byte offset) across rotations; returns only complete,
    well-formed new events, oldest first, each once."""

    def __init__(self, path: str | os.PathLike, offset: int = 0):
        self.path = Path(path)
        self.part = 1  # which part of the log ``offset`` is in: 1 the first, n + 1 after n rotations
        self.offset = offset
        self.skipped = 0  # malformed lines seen (shown as a warning, never raised)
        self._skip_line = False  # inside a line longer than a whole read: drop the rest of it
        self._rotated: tuple[int, object] | None = None  # (part, open handle) of the rotated part being read

    @classmethod
    def at_end(cls, path: str | os.PathLike) -> EventTailer:
        """A tailer that returns only events written from now on."""
        tailer = cls(path)
        try:
            with open(tailer.path, "rb") as handle:
                tailer.part, tailer.offset = _part_of(handle), os.fstat(handle.fileno()).st_size
        except FileNotFoundError:
            tailer.part = (rotated_parts(tailer.path) or [0])[-1] + 1
        return tailer

    @property
    def position(self) -> tuple[int, int]:
        return self.part, self.offset

    def drain(self, batch_bytes: int = 4 * 1024 * 1024) -> Iterator[dict]:
        """Every event from here to the end of the log, read ``batch_bytes`` at a time."""
        while True:
            position = self.position
            yield from self.poll(batch_bytes)
            if self.position == position:
                return

    def poll(self, max_bytes: int = READ_BYTES) -> list[dict]:
        """The events completed since the last poll, reading about ``max_bytes`` at most; a line
        longer than ``max_bytes`` is skipped."""
        events: list[dict] = []
        budget = max_bytes
        while budget > 0 and (rotated := _rotated_file(self.path, self.part)) is not None:
            chunk = self._read_rotated(rotated, budget, max_bytes)
            if not chunk:  # this part is done: on to the next
                self._close_rotated()
                self.part, self.offset, self._skip_line = self.part + 1, 0, False
                continue
            budget -= len(chunk)
            events += self._take(chunk, "skip", max_bytes)  # a rotated part is never written again
        if budget <= 0:
            return events
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return events
        with handle:
            part, size = _part_of(handle), os.fstat(handle.fileno()).st_size
            if part > self.part and _rotated_file(self.path, self.part) is not None:
                return events + self.poll(budget)  # rotated since we looked: read that part first
            if part > self.part:  # the parts between were deleted: go on from this one
                self.part, self.offset, self._skip_line = part, 0, False
            elif part < self.part or size < self.offset:  # a new log in its place: start over
                self._close_rotated()
                self.part, self.offset, self._skip_line = 1, 0, False
                return events + self.poll(budget)
            handle.seek(self.offset)
            chunk = handle.read(budget)
        too_long = len(chunk) == max_bytes and b"\n" not in chunk
        return events + self._take(chunk, "skip" if too_long else "wait", max_bytes)

    def _read_rotated(self, path: Path, budget: int, max_line: int) -> bytes:
        """The next lines of a rotated part, ending on a line unless one is longer than ``max_line``.
        One handle per part, read forward only: a gzip file cannot seek back cheaply."""
        if self._rotated is None or self._rotated[0] != self.part:
            self._close_rotated()
            handle = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
            self._rotated = (self.part, handle)
            try:
                handle.seek(self.offset)  # a tailer that was reading this part while it was live
            except (OSError, EOFError):
                return b""
        handle = self._rotated[1]
        try:
            chunk = handle.read(budget)
            if chunk and not chunk.endswith(b"\n"):
                chunk += handle.readline(max_line)
        except (OSError, EOFError):  # a damaged compressed part: the rest of it is lost, not the log
            self.skipped += 1
            return b""
        return chunk

    def _close_rotated(self) -> None:
        if self._rotated is not None:
            self._rotated[1].close()
            self._rotated = None

    def _take(self, chunk: bytes, tail: str, max_line: int) -> list[dict]:
        """Events of the lines in ``chunk`` (read at ``offset``), moving ``offset`` past what was used.

        ``tail`` says what to do with the text after the last newline: "wait" (a live log: the line
        is being written, read it again next time) or "skip" (a line longer than a whole read, or
        the torn end of a rotated part: dropped up to its end, never waited on). A line of
        ``max_line`` bytes or more is skipped wherever it is, so every reader skips the same lines.
        """
        if self._skip_line:
            cut = chunk.find(b"\n")
            if cut < 0:
                self.offset += len(chunk)
                return []
            self.offset += cut + 1
            chunk, self._skip_line = chunk[cut + 1:], False
        end = chunk.rfind(b"\n") + 1
        if tail == "skip" and end < len(chunk):
            self.skipped += 1
            self._skip_line = True
            self.offset += len(chunk)
        else:
            self.offset += end
        events = []
        for line in chunk[:end].split(b"\n"):
            if not line.strip():
                continue
            event = parse_line(line) if len(line) < max_line else None
            if event is None:
                self.skipped += 1
            elif event["type"] != LOG_PART:
                events.append(event)
        return events
