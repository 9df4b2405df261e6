"""First start: offer a newcomer the bundled demo project (Northwind Parcel's shipping fees).

A demo project that already exists at the CLI's default places (``realm-engine demo`` makes
``./realm-demo``) is simply opened, a finished run first: there is something to look at.
Otherwise the demo is set up through the engine, as a user could type it — ``init``, then
``import`` of the shipped problems, then ``routes`` from the shipped routes file — which takes
seconds and trains nothing (Train → Start does that when the user wants).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from engine.project import DEMO_DIR, is_project
from engine.runs import list_runs

from .engine_client import EngineClient, command_line

DEMO_FOLDER = "realm-demo"
DEMO_NAME = "northwind-parcel-demo"


def demo_locations() -> list[Path]:
    """Where a demo project is looked for, and (the last one) where a new one is made."""
    return [Path.cwd() / DEMO_FOLDER, Path.home() / DEMO_FOLDER]


def existing_demo() -> Path | None:
    """The demo project to open: one with a finished run first, else any existing one."""
    projects = [p for p in demo_locations() if is_project(p)]
    finished = [p for p in projects if any(r.get("state") == "finished" for r in list_runs(p))]
    return (finished or projects or [None])[0]


def demo_setup_commands(folder: Path) -> list[list[str]]:
    """The engine verbs that make the demo project (problems and routes, no training)."""
    return [["init", str(folder), "--name", DEMO_NAME, "--answer-type", "number"],
            ["import", str(folder), str(DEMO_DIR / "problems.jsonl")],
            ["routes", str(folder), "--source", f"file:{DEMO_DIR / 'routes.jsonl'}"]]


class DemoSetup(QObject):
    """Runs the demo's setup commands one after the other; stops at the first failure."""

    sig_step = Signal(str)
    """The command now running (shown to the user)."""
    sig_done = Signal(Path)
    sig_failed = Signal(str)
    """The engine's one-line error."""

    def __init__(self, engine: EngineClient, folder: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.engine, self.folder = engine, Path(folder)
        self._commands = demo_setup_commands(self.folder)

    def start(self) -> None:
        self._run_next()

    def _run_next(self) -> None:
        if not self._commands:
            self.sig_done.emit(self.folder)
            return
        args = self._commands.pop(0)
        self.sig_step.emit(command_line(args))
        job = self.engine.run(args)
        job.sig_finished.connect(lambda code: self._run_next() if code == 0 else self.sig_failed.emit(
            job.error_line or f"{command_line(args)}: the engine exited with code {code}"))


class QtFirstStartBanner(QFrame):
    """"New here?" with one button; the main window shows it while no project was ever opened."""

    sig_open_demo = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel("New here? The demo project (a shipping-fee policy the base model does not know) "
                            "has problems and reasoning routes ready to browse and train on.", wordWrap=True)
        self.button = QPushButton("Open the demo project", clicked=self._on_clicked)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)

    def _on_clicked(self) -> None:
        self.button.setEnabled(False)
        self.sig_open_demo.emit()

    def show_progress(self, text: str) -> None:
        self.label.setText(f"Setting up the demo project: {text}")

    def show_failure(self, text: str) -> None:
        self.label.setText(f"The demo project could not be set up: {text}")
        self.button.setEnabled(True)
