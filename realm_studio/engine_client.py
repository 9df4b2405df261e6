"""The GUI's only way to act: run ``realm-engine <verb>`` as a child process.

Every button maps to one CLI call (``command_line`` shows it to the user), so whatever the
GUI does can be repeated headless. Short verbs (import, routes, eval, export) run as an
``EngineJob`` whose ``--json`` stdout lines become ``sig_event`` dicts; training runs start
``--detach``-ed (``DetachedStart``) so they outlive the window, and the GUI follows them through
their ``events.jsonl`` (see ``run_watcher``), never through a pipe. Nothing here waits for a
process: every result arrives as a signal, so the window keeps painting while an engine starts.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

import engine
from engine.events import DETACHED, parse_line

# Where the `engine` package lives: put on the child's PYTHONPATH so a source checkout works
# exactly like an installed one.
_ENGINE_ROOT = str(Path(engine.__file__).resolve().parent.parent)
STDERR_LINES = 50  # the end of a job's stderr kept to show (its error is the last lines)


def engine_argv(args: list[str]) -> list[str]:
    """The argv that runs one engine verb with this interpreter."""
    return [sys.executable, "-m", "engine", *args]


def command_line(args: list[str]) -> str:
    """The command a user would type for the same action (shown next to every action)."""
    return "realm-engine " + shlex.join(str(a) for a in args)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _ENGINE_ROOT not in paths:
        env["PYTHONPATH"] = os.pathsep.join([_ENGINE_ROOT, *paths])
    return env


class EngineJob(QObject):
    """One engine CLI call run with ``QProcess``; its ``--json`` stdout becomes events."""

    sig_event = Signal(dict)
    """One well-formed JSON event printed by the engine (progress, import_done, …)."""
    sig_output = Signal(str)
    """One human line (stdout that is not JSON, or stderr): for the log pane."""
    sig_finished = Signal(int)
    """The exit code: 0 ok, 2 user error (see ``error_line``), 1 internal error, -1 crashed."""

    def __init__(self, args: list[str], parent: QObject | None = None):
        super().__init__(parent)
        self.args = [str(a) for a in args]
        self.error_line = ""  # last stderr line: the engine's one-line user error
        self.stderr_lines: deque[str] = deque(maxlen=STDERR_LINES)  # an error that spans lines is shown whole
        self.exit_code: int | None = None
        self._stdout = b""
        self._process = QProcess(self)
        env = QProcessEnvironment()
        for key, value in _child_env().items():
            env.insert(key, value)
        self._process.setProcessEnvironment(env)
        self._process.readyReadStandardOutput.connect(self._on_stdout)
        self._process.readyReadStandardError.connect(self._on_stderr)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._process.kill)

    @property
    def verb(self) -> str:
        return self.args[0] if self.args else ""

    def start(self) -> None:
        argv = engine_argv(self.args)
        self._process.start(argv[0], argv[1:])

    def terminate(self, grace_ms: int = 10000) -> None:
        """SIGTERM (the engine keeps finished work), then kill after ``grace_ms``."""
        if self.is_running():
            self._process.terminate()
            self._kill_timer.start(grace_ms)

    def kill(self) -> None:
        self._process.kill()

    def is_running(self) -> bool:
        return self._process.state() != QProcess.ProcessState.NotRunning

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the process ends (tests and shutdown only)."""
        return self._process.waitForFinished(msecs)

    # -- process callbacks ---------------------------------------------------------------

    def _on_stdout(self) -> None:
        self._stdout += bytes(self._process.readAllStandardOutput().data())
        *lines, self._stdout = self._stdout.split(b"\n")
        for line in lines:
            self._emit_line(line)

    def _emit_line(self, line: bytes) -> None:
        if not line.strip():
            return
        event = parse_line(line)
        if event is not None:
            self.sig_event.emit(event)
        else:
            self.sig_output.emit(line.decode("utf-8", "replace").rstrip())

    def _on_stderr(self) -> None:
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self.error_line = line.strip()
                self.stderr_lines.append(line.rstrip())
                self.sig_output.emit(line.rstrip())

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        if self._stdout:
            self._emit_line(self._stdout)
            self._stdout = b""
        self._finish(code if status == QProcess.ExitStatus.NormalExit else -1)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.error_line = f"cannot start the engine ({self._process.errorString()})"
            self._finish(-1)

    def _finish(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
            self.sig_finished.emit(code)


class DetachedStart(EngineJob):
    """``realm-engine <args> --detach --json``: the launcher of an engine that outlives the window.

    The launcher prints ``{"type": "detached", "pid": …}`` once the run's own engine is running
    (in a session of its own, writing to the run's engine.log, never to this job's pipes) and
    exits. Starting takes seconds, minutes on a loaded machine: the caller gets the outcome as a
    signal, never by waiting.
    """

    sig_started = Signal(int)
    """The pid of the engine now running on its own."""
    sig_failed = Signal(str)
    """The engine refused to start (a run of that name exists, a bad setting, …): its one line."""

    def __init__(self, args: list[str], parent: QObject | None = None):
        super().__init__([*args, "--detach", "--json"], parent)
        self.pid: int | None = None
        self._command = command_line(args)
        self.sig_event.connect(self._on_event)
        self.sig_finished.connect(self._on_exit)

    def _on_event(self, event: dict) -> None:
        if event.get("type") == DETACHED and self.pid is None:
            self.pid = int(event["pid"])
            self.sig_started.emit(self.pid)

    def _on_exit(self, code: int) -> None:
        if self.pid is None:
            self.sig_failed.emit(self.error_line or f"{self._command}: the engine exited with code {code}")


class EngineClient(QObject):
    """Starts engine jobs and says whether any is running (shown in the status bar)."""

    sig_state = Signal(str)
    """"idle" or "busy: <verb>" (the newest running job)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.jobs: list[EngineJob] = []

    @property
    def state(self) -> str:
        return f"busy: {self.jobs[-1].verb}" if self.jobs else "idle"

    def run(self, args: list[str]) -> EngineJob:
        """Start ``realm-engine <args> --json``; connect to the job's signals right away."""
        return self._start(EngineJob([*args, "--json"], self))

    def start_detached(self, args: list[str]) -> DetachedStart:
        """Start ``realm-engine <args> --detach`` and return at once; the job's ``sig_started(pid)``
        or ``sig_failed(message)`` tells how it went."""
        return self._start(DetachedStart(args, self))

    def _start(self, job: EngineJob) -> EngineJob:
        job.sig_finished.connect(lambda _code, job=job: self._on_job_finished(job))
        self.jobs.append(job)
        job.start()
        self.sig_state.emit(self.state)
        return job

    def terminate_all(self, grace_ms: int = 3000) -> None:
        """Stop every job (closing the window): SIGTERM, wait, then kill what is left."""
        for job in list(self.jobs):
            job.terminate(grace_ms)
            if not job.wait(grace_ms + 1000):
                job.kill()
                job.wait(1000)

    def _on_job_finished(self, job: EngineJob) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        self.sig_state.emit(self.state)
