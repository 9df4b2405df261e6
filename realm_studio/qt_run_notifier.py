"""A desktop notification when a run of the open project ends: its final state and headline metric.

Runs train in their own process, often for hours, so the app watches the run folders (their
``status.json``, as every reader does) and says when one leaves the live states — in the system
tray's notification area where the platform has one, and in the window's status bar always.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon

from engine.events import METRICS, int_field, iter_events, number
from engine.project import EVAL_SUMMARY, run_folder
from engine.runs import LIVE_STATES, list_runs

POLL_MS = 3000
HEADLINES = ("reward", "loss")  # the last logged value of the first one a run has


def headline(project: Path, run_name: str) -> str:
    """The run's evaluation if it has one, else its last reward (rl) or loss (distill)."""
    run = run_folder(project, run_name)
    summary = run.eval_dir / EVAL_SUMMARY
    if summary.exists():
        s = json.loads(summary.read_text(encoding="utf-8"))
        return f"held-out accuracy {s['accuracy_without_routes']:.1%} (autonomy gap {s['autonomy_gap']:+.1%})"
    last: dict = {}
    for event in iter_events(run.events, {METRICS}):  # a part at a time: a long run's log is never all in memory
        metrics = event.get("metrics") if isinstance(event.get("metrics"), dict) else {}
        last.update({name: (event.get("stage"), int_field(event, "step"), number(metrics[name]))
                     for name in HEADLINES if name in metrics})
    for name in HEADLINES:
        if last.get(name) and last[name][2] is not None:
            stage, step, value = last[name]
            return f"{name} {value:.3g} at {stage} step {step}"
    return "no metrics logged"


class QtRunNotifier(QObject):
    """Polls the open project's runs; notifies once per run that ends."""

    sig_notified = Signal(str, str)
    """(title, message) of a notification just shown."""

    def __init__(self, parent: QObject | None = None, poll_ms: int = POLL_MS):
        super().__init__(parent)
        self.project_dir: Path | None = None
        self.states: dict[str, str] = {}
        self.timer = QTimer(self, interval=poll_ms)
        self.timer.timeout.connect(self.poll)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(QApplication.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon), self)
            self.tray.setToolTip("ReaLM Studio")

    def set_project(self, project_dir: Path | None) -> None:
        """Watch ``project_dir`` from now on (runs already ended are not announced)."""
        self.project_dir = project_dir
        self.states = {r["name"]: r.get("state", "") for r in list_runs(project_dir)} if project_dir else {}
        if project_dir is None:
            self.timer.stop()
        else:
            self.timer.start()

    def poll(self) -> None:
        if self.project_dir is None:
            return
        for run in list_runs(self.project_dir):
            before, now = self.states.get(run["name"]), run.get("state", "")
            self.states[run["name"]] = now
            if before in LIVE_STATES and now not in LIVE_STATES:
                self.notify(run["name"], now, run.get("error"))

    def notify(self, run_name: str, state: str, error: str | None = None) -> None:
        title = f"Run {run_name} {state}"
        message = error.splitlines()[0] if error and state == "failed" else headline(self.project_dir, run_name)
        if self.tray is not None:
            self.tray.show()
            self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 10000)
        self.sig_notified.emit(title, message)

    def stop(self) -> None:
        self.timer.stop()
        if self.tray is not None:
            self.tray.hide()
