"""The Train panel's experiment tracker (``train.report_to``) and its "Open in TensorBoard" action.

TensorBoard is served by ``realm-engine tensorboard DIR`` (a child process that ends with the
window); the button is offered where tensorboard is installed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QWidget

from engine.config import TRACKERS, Config
from engine.events import SERVING

from ..engine_client import EngineClient, EngineJob


class QtTrackerChoice(QWidget):
    """Which tracker a new run logs to, and TensorBoard on the project's runs."""

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.engine = engine
        self.project_dir: Path | None = None
        self.job: EngineJob | None = None
        self.url: str | None = None
        self.combo = QComboBox(toolTip="train.report_to: every metric (ours too) and the run's evaluation, "
                                       "logged locally to this tracker as well")
        self.combo.addItems(TRACKERS)
        self.open_button = QPushButton("Open in TensorBoard", clicked=self.open_tensorboard,
                                       visible=importlib.util.find_spec("tensorboard") is not None)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.open_button)

    def set_project(self, project_dir: Path | None, cfg: Config | None) -> None:
        if project_dir != self.project_dir:
            self.shutdown()
        self.project_dir = project_dir
        self.combo.setCurrentText(cfg.train.report_to if cfg is not None else "none")

    def overrides(self, cfg: Config | None) -> list[str]:
        """``train.report_to=…`` when the choice differs from realm.toml."""
        chosen = self.combo.currentText()
        return [] if cfg is None or chosen == cfg.train.report_to else [f"train.report_to={json.dumps(chosen)}"]

    def open_tensorboard(self) -> EngineJob | None:
        """Start TensorBoard on the project's runs (once) and open it in the browser."""
        if self.url is not None:
            QDesktopServices.openUrl(QUrl(self.url))
            return None
        if self.project_dir is None or self.job is not None:
            return None
        self.job = self.engine.run(["tensorboard", str(self.project_dir), "--exit-with-parent"])
        self.job.sig_event.connect(self._on_event)
        self.job.sig_finished.connect(lambda _code: self._forget())
        return self.job

    def _on_event(self, event: dict) -> None:
        if event.get("type") == SERVING:
            self.url = event["url"]
            QDesktopServices.openUrl(QUrl(self.url))

    def _forget(self) -> None:
        self.job = self.url = None

    def shutdown(self) -> None:
        if self.job is not None:
            job = self.job
            job.terminate(2000)
            job.wait(4000)
