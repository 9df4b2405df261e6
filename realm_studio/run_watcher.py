"""Follow one run through its folder: ``events.jsonl`` in, typed Qt signals out.

The run's event log is the GUI's only live feed (never a pipe), so a window opened after the
run started, or reopened after a crash, sees the same history by reading from offset 0.
``status.json`` is polled beside it: a killed engine leaves "running" on disk, and
``RunFolder.read_status`` reports that as "interrupted". Right after the GUI started an engine
for the run (``follow_launch``) the state is "starting" until that engine takes the run over,
and an engine that exits without doing so (it refused) is reported with its one line.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from engine import events as ev
from engine.events import QT_INT, EventTailer, int_field, tail_events
from engine.runs import RunFolder

from .models.run_state import launch_error, launch_state, shown_state

POLL_MS = 250
POLL_BYTES = 2 * 1024 * 1024  # per tick: a 100k-event history streams in without freezing the window
STATUS_EVERY = 4  # read status.json every 4th poll (once a second): the events carry the rest
# The run's milestones go to the log pane too: a run that is killed without a word still
# shows how far it got (started, checkpoints, stages) in its last log lines.
LOG_TYPES = (ev.LOG, ev.WARNING, ev.ERROR, ev.RUN_STARTED, ev.STAGE_STARTED, ev.CHECKPOINT, ev.STAGE_FINISHED,
             ev.RUN_FINISHED)


def log_text(event: dict) -> str:
    """The one line a log-like event shows in a log pane."""
    kind = event.get("type")
    message = str(event.get("message", ""))
    stage = event.get("stage", "")
    if kind == ev.RUN_STARTED:
        verb = "resumed" if event.get("resumed") else "started"
        return f"run {verb}: recipe {event.get('recipe', '?')} on {event.get('device', '?')}"
    if kind == ev.STAGE_STARTED:
        return f"{stage}: started at step {event.get('start_step', 0)} of {event.get('total_steps', '?')}"
    if kind == ev.CHECKPOINT:
        return f"{stage}: checkpoint saved at step {event.get('step')}"
    if kind == ev.STAGE_FINISHED:
        how = f"stopped ({event['stopped']})" if event.get("stopped") else "done"
        return f"{stage}: {how} at step {event.get('step')}"
    if kind == ev.RUN_FINISHED:
        return f"run {event.get('state', 'ended')}"
    if kind == ev.LOG:
        level = event.get("level", "info")
        return message if level == "info" else f"{level}: {message}"
    if kind == ev.ERROR and event.get("hint"):
        return f"error: {message} ({event['hint']})"
    return f"{kind}: {message}"


def last_log_lines(run: RunFolder, n: int = 20, tail_bytes: int = 256 * 1024) -> list[str]:
    """The last ``n`` log/warning/error lines of a run, read from the end of its log only."""
    return [log_text(e) for e in tail_events(run.events, tail_bytes) if e["type"] in LOG_TYPES][-n:]


def event_stage(event: dict) -> str | None:
    """The event's stage name, or None when it has none (or a damaged log gives it another type)."""
    stage = event.get("stage")
    return stage if isinstance(stage, str) else None


class RunSteps:
    """A stage's step → the run's step: the steps of earlier stages (distill) come first, so a
    multi-stage run plots as one line, and a resumed stage replays the same run steps."""

    def __init__(self):
        self.offsets: dict[str, int] = {}  # stage -> the run step it starts after
        self._steps_so_far = 0

    def run_step(self, event: dict) -> int:
        """Feed every event in order; for a ``metrics`` event the result is its x on a plot (within
        what a Qt int holds, whatever a damaged log says)."""
        stage = event_stage(event)
        if event.get("type") == ev.STAGE_STARTED and stage not in self.offsets:
            self.offsets[stage] = self._steps_so_far
            self._steps_so_far += max(0, int_field(event, "total_steps"))
        return max(-QT_INT + 1, min(self.offsets.get(stage, 0) + int_field(event, "step"), QT_INT - 1))


class RunWatcher(QObject):
    """Tails one run's event log on a timer and re-emits each event as a typed signal.

    Events travel as Python objects (``Signal(object)``), never converted to Qt types: a value Qt
    cannot hold (an integer past 64 bits in a damaged log) would raise inside ``emit``.
    """

    sig_metrics = Signal(int, str, object)
    """(run step, stage, {metric name: value}) from a ``metrics`` event; the run step counts on
    across stages (distill's steps, then RL's), so a multi-stage run plots on one step axis."""
    sig_stage = Signal(str, int)
    """(stage, run step it starts after): where one stage ends and the next begins."""
    sig_progress = Signal(object)
    """The newest ``progress`` event of what was read (stage, step, total, eta_s, throughput): a
    re-attached window reads thousands at once, and each would repaint a progress bar."""
    sig_sample = Signal(object)
    """A ``sample`` event (prompt, completion, rewards, hinted, rank) with its ``run_step``."""
    sig_refused = Signal(str)
    """The engine the GUI started for this run exited without taking it over: its one line."""
    sig_log = Signal(str)
    """One line for the log pane (log, warning and error events)."""
    sig_state = Signal(str)
    """The run state (status.json with liveness, or a ``run_finished`` event), on change only."""
    sig_event = Signal(object)
    """Every event, for views that need the rarer types (checkpoint, run_started, …)."""

    def __init__(self, run: RunFolder, interval_ms: int = POLL_MS, parent: QObject | None = None):
        super().__init__(parent)
        self.run = run
        self.state = ""
        self.tailer = EventTailer(run.events)
        self._polls = 0
        self._run_steps = RunSteps()
        self._launch: tuple[int, int] | None = None  # (pid, engine.log offset) of an engine the GUI started
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    @property
    def skipped_lines(self) -> int:
        """Malformed lines met so far (a crash mid-write leaves one)."""
        return self.tailer.skipped

    def start(self) -> None:
        """Read everything written so far, then follow the log."""
        self.poll()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def is_active(self) -> bool:
        return self._timer.isActive()

    def follow_launch(self, pid: int, log_offset: int) -> None:
        """The GUI started engine ``pid`` for this run (its engine.log was ``log_offset`` bytes long)."""
        self._launch = (pid, log_offset)
        self._poll_status()

    def poll(self) -> int:
        """Read new complete lines, emit their signals; return how many events were read."""
        events = self.tailer.poll(max_bytes=POLL_BYTES)
        progress = [e for e in events if e["type"] == ev.PROGRESS]
        for event in events:
            self._dispatch(event)
        if progress:
            self.sig_progress.emit(progress[-1])
        if self._polls % STATUS_EVERY == 0 or self._launch is not None:
            self._poll_status()
        self._polls += 1
        return len(events)

    def _poll_status(self) -> None:
        if self._launch is None:
            self._set_state(shown_state(self.run.read_status().get("state", "missing")))
            return
        pid, offset = self._launch
        state, took_over = launch_state(self.run, pid)
        if took_over is not None:
            self._launch = None
        if took_over is False:
            self.sig_refused.emit(launch_error(self.run, offset) or "the engine exited before it started the run")
        self._set_state(state)

    def _dispatch(self, event: dict) -> None:
        kind = event["type"]
        stage = event_stage(event)
        new_stage = kind == ev.STAGE_STARTED and stage not in self._run_steps.offsets
        run_step = self._run_steps.run_step(event)
        if new_stage:
            self.sig_stage.emit(str(stage), self._run_steps.offsets[stage])
        if kind == ev.METRICS and isinstance(event.get("metrics"), dict):
            self.sig_metrics.emit(run_step, stage or "", event["metrics"])
        elif kind == ev.SAMPLE:
            self.sig_sample.emit({**event, "run_step": run_step})
        elif kind in LOG_TYPES:
            self.sig_log.emit(log_text(event))
        if kind == ev.RUN_FINISHED and event.get("state"):  # a milestone for the log pane *and* the state
            self._set_state(str(event["state"]))
        self.sig_event.emit(event)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.sig_state.emit(state)
