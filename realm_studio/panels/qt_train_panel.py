"""Train: pick a recipe and a few settings, start a run, and watch it live.

A run is started ``--detach``-ed, so it outlives the window; once its engine runs (a signal: the
window never waits for it) the panel follows the run folder with a ``RunWatcher`` exactly as it
would after an app restart. Settings are checked
with the engine's own validator (``apply_overrides``) before anything is launched, and the
equivalent CLI command is always shown.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QTabWidget,
                               QVBoxLayout, QWidget)

from engine.config import RECIPES, Config, apply_overrides, describe_fields, load_config
from engine.errors import UserError
from engine.runs import LIVE_STATES, RunFolder, list_runs

from ..engine_client import DetachedStart, EngineClient, command_line
from ..run_watcher import RunWatcher
from ..widgets.qt_live_metrics import QtLiveMetrics
from ..widgets.qt_preflight import QtPreflight
from ..widgets.qt_tracker_choice import QtTrackerChoice
from ..widgets.qt_sample_table import QtSampleTable
from . import QtPanel

KEY_SETTINGS = ("model.name", "rl.max_steps", "rl.learning_rate", "rl.num_generations",
                "rl.prompts_per_step", "rl.max_completion_length", "rl.beta")
RESUMABLE_STATES = ("interrupted", "failed", "cancelled", "paused")
MAX_LOG_LINES = 5000
STATE_HINTS = {  # what a state means for the user, when it is not obvious
    "interrupted": "the engine process is gone: killed or crashed; Resume continues from the last checkpoint",
    "paused": "stopped with a checkpoint; Resume continues from it",
}


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def config_value(cfg: Config, key: str):
    section, _, name = key.partition(".")
    return getattr(getattr(cfg, section), name)


def override_literal(key: str, text: str, current) -> str:
    """``key=value`` as the CLI's ``--set`` reads it (strings quoted as TOML strings)."""
    return f"{key}={json.dumps(text) if isinstance(current, str) else text.strip()}"


def train_args(project: Path, recipe: str, overrides: list[str], run_name: str | None) -> list[str]:
    args = ["train", str(project), "--recipe", recipe]
    if run_name:
        args += ["--run", run_name]
    for override in overrides:
        args += ["--set", override]
    return args


class QtTrainPanel(QtPanel):
    """Start / stop / resume training runs and show one run live (plots, samples, log)."""

    title = "Train"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.config: Config | None = None
        self._config_error = "Open a project first"
        self.run_name: str | None = None
        self.watcher: RunWatcher | None = None
        self.starting: DetachedStart | None = None  # an engine being started for a run (train or resume)
        self._build()

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        helps = {f["key"]: f["help"] for f in describe_fields()}
        self.recipe = QComboBox()
        self.recipe.addItems(RECIPES)
        self.run_edit = QLineEdit(placeholderText="automatic (recipe-date-time)")
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        form.addRow("Recipe", self.recipe)
        form.addRow("Run name", self.run_edit)
        for key in KEY_SETTINGS:
            edit = self.fields[key] = QLineEdit()
            edit.setToolTip(helps.get(key, ""))
            edit.textChanged.connect(self._on_settings_edited)
            form.addRow(key, edit)
        # issue 14: the experiment tracker of the run, and the pre-flight check before Start
        self.tracker = QtTrackerChoice(self.engine)
        self.tracker.combo.currentTextChanged.connect(self._on_settings_edited)
        form.addRow("Tracker", self.tracker)
        self.preflight = QtPreflight(self.engine, lambda: None if self.project_dir is None else [
            "preflight", str(self.project_dir), "--recipe", self.recipe.currentText(),
            *(arg for override in self.overrides() for arg in ("--set", override))])
        self.recipe.currentTextChanged.connect(self._on_settings_edited)
        self.run_edit.textChanged.connect(self._on_settings_edited)
        self.error_label = QLabel(wordWrap=True, styleSheet="color: #d1242f")
        self.command_label = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command_label.setStyleSheet("font-family: monospace")
        self.start_button = QPushButton("Start", clicked=self._on_start_clicked)
        self.stop_button = QPushButton("Stop (save)", clicked=self.stop_run,
                                       toolTip="Finish the step, save a checkpoint, exit")
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel_run,
                                         toolTip="Exit now, keep the last checkpoint")
        self.resume_button = QPushButton("Resume", clicked=self.resume_run)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.cancel_button, self.resume_button):
            buttons.addWidget(button)
        settings = QGroupBox("New run")
        settings_layout = QVBoxLayout(settings)
        settings_layout.addLayout(form)
        settings_layout.addWidget(self.error_label)
        settings_layout.addWidget(self.preflight)  # issue 14
        settings_layout.addWidget(QLabel("Command:"))
        settings_layout.addWidget(self.command_label)
        settings_layout.addLayout(buttons)
        settings_layout.addStretch(1)
        settings.setMaximumWidth(420)

        self.run_label = QLabel("No run attached")
        self.progress = QProgressBar(textVisible=True)
        self.eta_label = QLabel("")
        self.metrics = QtLiveMetrics()
        plots = QScrollArea(widgetResizable=True)
        plots.setWidget(self.metrics)
        self.samples = QtSampleTable()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.tabs = QTabWidget()
        self.tabs.addTab(plots, "Plots")
        self.tabs.addTab(self.samples, "Samples")
        self.tabs.addTab(self.log, "Log")
        live = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.run_label, 1)
        top.addWidget(self.eta_label)
        live.addLayout(top)
        live.addWidget(self.progress)
        live.addWidget(self.tabs, 1)

        layout = QHBoxLayout(self)
        layout.addWidget(settings)
        layout.addLayout(live, 1)
        self._update_buttons("")

    # -- project ------------------------------------------------------------------------

    def set_project(self, project_dir: Path | None) -> None:
        same = project_dir is not None and self.project_dir == Path(project_dir)
        super().set_project(project_dir)
        if not same:
            self.detach()
        self.config, self._config_error = None, "Open a project first"
        if project_dir is not None:
            try:
                self.config = load_config(self.project_dir)
            except UserError as err:
                self._config_error = str(err).splitlines()[0]
        for key, edit in self.fields.items():
            edit.blockSignals(True)
            edit.setText("" if self.config is None else str(config_value(self.config, key)))
            edit.blockSignals(False)
        self.tracker.set_project(self.project_dir, self.config)  # issue 14
        self._on_settings_edited()
        if same and self.watcher is not None:
            return
        runs = list_runs(self.project_dir) if project_dir else []
        live = [r for r in runs if r.get("state") in LIVE_STATES]
        if runs:  # reopened while a run goes on: follow it again; else show the newest run
            self.attach((live or runs)[0]["name"])
        else:
            self.sig_status.emit("no run yet" if project_dir else "")

    # -- settings -> overrides -----------------------------------------------------------

    def overrides(self) -> list[str]:
        """``--set`` items for the settings that differ from realm.toml."""
        if self.config is None:
            return []
        out = []
        for key, edit in self.fields.items():
            current = config_value(self.config, key)
            if edit.text().strip() != str(current):
                out.append(override_literal(key, edit.text().strip(), current))
        return out + self.tracker.overrides(self.config)  # issue 14

    def validate(self, overrides: list[str]) -> Config | None:
        """The run's config, or None with the one-line reason shown under the form."""
        if self.config is None:
            self.error_label.setText(self._config_error)
            return None
        try:
            cfg = apply_overrides(self.config, overrides)
        except UserError as err:
            self.error_label.setText(str(err).splitlines()[0])
            return None
        self.error_label.setText("")
        return cfg

    def _on_settings_edited(self) -> None:
        overrides = self.overrides()
        ok = self.validate(overrides) is not None
        name = self.run_edit.text().strip() or None
        project = self.project_dir or Path("PROJECT")
        self.command_label.setText(command_line(train_args(project, self.recipe.currentText(), overrides, name)))
        self.start_button.setEnabled(ok and not self._attached_is_live() and self.starting is None)

    # -- actions ------------------------------------------------------------------------

    def _on_start_clicked(self) -> None:
        self.start_run(self.recipe.currentText(), self.overrides(), self.run_edit.text().strip() or None)

    def start_run(self, recipe: str, overrides: list[str], run_name: str | None = None) -> str | None:
        """Validate and launch ``train … --detach``; return the run's name at once. The panel
        follows the run once its engine runs, or shows the engine's one line if it refuses."""
        if self.validate(overrides) is None or self.starting is not None:
            return None
        name = run_name or f"{recipe}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            RunFolder(self.project_dir, name)  # checks the name before the engine is started
        except UserError as err:
            self.error_label.setText(str(err).splitlines()[0])
            return None
        self._start_detached(train_args(self.project_dir, recipe, overrides, name), name, new_run=True)
        return name

    def stop_run(self) -> None:
        if self.run_name:
            RunFolder(self.project_dir, self.run_name).request("stop")
            self.log.appendPlainText("stop requested: the engine saves a checkpoint, then exits")

    def cancel_run(self) -> None:
        if self.run_name:
            RunFolder(self.project_dir, self.run_name).request("cancel")
            self.log.appendPlainText("cancel requested: the engine exits now, keeping its last checkpoint")

    def resume_run(self) -> None:
        if self.run_name and self.starting is None:
            self._start_detached(["resume", str(self.project_dir), "--run", self.run_name], self.run_name)

    def _start_detached(self, args: list[str], name: str, new_run: bool = False) -> None:
        self.starting = self.engine.start_detached(args)
        project = self.project_dir
        self.starting.sig_started.connect(lambda _pid: self._on_engine_started(project, name, new_run))
        self.starting.sig_failed.connect(self._on_engine_refused)
        self.error_label.setText("")
        self.run_label.setText(f"Starting {name} …")
        self._update_buttons("")

    def _on_engine_started(self, project: Path, name: str, new_run: bool) -> None:
        self.starting = None
        if project != self.project_dir:  # another project was opened meanwhile: its run goes on unwatched
            self._update_buttons(self.watcher.state if self.watcher is not None else "")
            return
        self.attach(name)
        if new_run:
            self.sig_changed.emit()

    def _on_engine_refused(self, message: str) -> None:
        self.starting = None
        self.error_label.setText(message.splitlines()[0] if message else "the engine did not start")
        state = self.watcher.state if self.watcher is not None else ""
        self.run_label.setText(f"Run: {self.run_name} — {state}" if self.run_name else "No run attached")
        self._update_buttons(state)

    # -- following a run ----------------------------------------------------------------

    def attach(self, run_name: str) -> RunWatcher:
        """Show ``run_name`` from its first event on, then follow it live."""
        self.detach()
        self.run_name = run_name
        self.metrics.clear()
        self.samples.clear()
        self.log.clear()
        self.progress.reset()
        self.eta_label.setText("")
        self.run_label.setText(f"Run: {run_name}")
        watcher = self.watcher = RunWatcher(RunFolder(self.project_dir, run_name), parent=self)
        watcher.sig_metrics.connect(self.metrics.add_metrics)
        watcher.sig_sample.connect(self.samples.add_sample)
        watcher.sig_log.connect(self.log.appendPlainText)
        watcher.sig_progress.connect(self._on_progress)
        watcher.sig_state.connect(self._on_state)
        watcher.start()
        return watcher

    def detach(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.deleteLater()
            self.watcher = None
        self.run_name = None
        self.run_label.setText("No run attached")
        self._update_buttons("")

    def shutdown(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.metrics.redraw()
        self.tracker.shutdown()  # issue 14
        self.preflight.shutdown()

    def _on_progress(self, event: dict) -> None:
        total, step = int(event.get("total") or 0), int(event.get("step") or 0)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(step, max(total, 1)))
        self.progress.setFormat(f"{event.get('stage', '')} %v / %m")
        text = f"ETA {format_duration(event.get('eta_s'))}"
        if event.get("throughput"):
            text += f" · {float(event['throughput']):.3g} steps/s"
        self.eta_label.setText(text)

    def _on_state(self, state: str) -> None:
        hint = STATE_HINTS.get(state, "")
        self.run_label.setText(f"Run: {self.run_name} — {state}" + (f" ({hint})" if hint else ""))
        self._update_buttons(state)
        self.sig_status.emit(f"{self.run_name}: {state}")

    def _attached_is_live(self) -> bool:
        return self.watcher is not None and self.watcher.state in LIVE_STATES

    def _update_buttons(self, state: str) -> None:
        live, starting = state in LIVE_STATES, self.starting is not None
        self.stop_button.setEnabled(live)
        self.cancel_button.setEnabled(live)
        self.resume_button.setEnabled(state in RESUMABLE_STATES and not starting)
        self.start_button.setEnabled(not live and not starting and self.config is not None
                                     and not self.error_label.text())
