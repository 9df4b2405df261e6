"""Train: pick a recipe and a few settings, start a run, and watch it live.

A run is started ``--detach``-ed, so it outlives the window; once its engine runs (a signal: the
window never waits for it) the panel follows the run folder with a ``RunWatcher`` exactly as it
would after an app restart. Until that engine has taken the run over the run reads "starting";
an engine that refuses (a run that is already running, …) is reported under the buttons in
words that name what to press. A failed run and a run that learns nothing show a banner over
the plots. Every start and resume of a run goes through this page (the Runs page asks it to).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea,
                               QTabWidget, QVBoxLayout, QWidget)

from engine.config import load_config
from engine.errors import UserError
from engine.events import ERROR, int_field, number
from engine.runs import RunFolder, list_runs

from ..engine_client import DetachedStart, EngineClient
from ..models.learning_signal import LearningSignal
from ..models.run_estimate import format_duration
from ..models.run_state import RESUMABLE_STATES, STARTING, is_live, shown_state, state_text
from ..run_watcher import RunWatcher
from ..widgets.qt_elided_label import QtElidedLabel
from ..widgets.qt_live_metrics import QtLiveMetrics
from ..widgets.qt_run_form import QtRunForm, train_args
from ..widgets.qt_preflight import QtPreflight
from ..widgets.qt_tracker_choice import QtTrackerChoice
from ..widgets.qt_sample_table import QtSampleTable
from ..widgets.qt_theme import ERROR_BANNER, ERROR_STYLE, WARNING_BANNER
from . import QtPanel

MAX_LOG_LINES = 5000
REFUSALS = (  # an engine's refusal → what to press here
    ("already running in engine process", "Run {run} is already running: press Stop (save) first, or follow it "
                                          "from Runs › Follow in Train."),
    ("has already finished", "Run {run} has finished: nothing to resume. Start a new run instead."),
    ("already exists", "A run named {run} exists: type another Run name, or select it in Runs and press Resume."),
)


def refusal_text(message: str, run: str) -> str:
    """The engine's refusal in the words of this page (the engine's own line when none fits)."""
    for needle, text in REFUSALS:
        if needle in message:
            return text.format(run=repr(run))
    return f"The engine did not start {run!r}: {message}"


class QtTrainPanel(QtPanel):
    """Start / stop / resume training runs and show one run live (plots, samples, log)."""

    title = "Train"

    sig_run_state = Signal(str, str)
    """(run name, state as shown) of the run this page follows, on every change."""

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.run_name: str | None = None
        self.watcher: RunWatcher | None = None
        self.starting: DetachedStart | None = None  # an engine being started for a run (train or resume)
        self.signal = LearningSignal()
        self._last_error = ""
        self._last_progress: dict = {}
        self._build()

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.form = QtRunForm()
        self.form.sig_edited.connect(lambda: self._update_buttons(self.state))
        # the experiment tracker of the run, and the pre-flight check before Start (issue 14)
        self.tracker = QtTrackerChoice(self.engine)
        self.form.add_setting("Tracker", self.tracker, self.tracker.overrides, self.tracker.combo.currentTextChanged)
        self.preflight = QtPreflight(self.engine, lambda: None if self.project_dir is None else [
            "preflight", str(self.project_dir), "--recipe", self.form.recipe.currentText(),
            *(arg for override in self.overrides() for arg in ("--set", override))])
        self.start_button = QPushButton("Start", clicked=self._on_start_clicked)
        self.stop_button = QPushButton("Stop (save)", clicked=self.stop_run,
                                       toolTip="Finish the step, save a checkpoint, exit")
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel_run,
                                         toolTip="Exit now, keep the last checkpoint")
        self.resume_button = QPushButton("Resume", clicked=lambda: self.resume_run())
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.cancel_button, self.resume_button):
            button.setMinimumWidth(96)  # the row never shifts when a label changes
            buttons.addWidget(button)
        self.refusal_label = QLabel(wordWrap=True, styleSheet=ERROR_STYLE)
        side = QVBoxLayout()
        side.addWidget(self.form)
        side.addWidget(self.preflight)
        side.addLayout(buttons)
        side.addWidget(self.refusal_label)
        side.addStretch(1)

        self.run_label = QtElidedLabel("No run attached")
        self.eta_label = QLabel("", minimumWidth=190, alignment=Qt.AlignmentFlag.AlignRight)
        self.progress = QProgressBar(textVisible=True)
        self.failure_banner = QLabel(wordWrap=True, styleSheet=ERROR_BANNER, visible=False)
        self.signal_banner = QLabel(wordWrap=True, styleSheet=WARNING_BANNER, visible=False)
        self.metrics = QtLiveMetrics()
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.metrics)
        plots = QWidget()
        plots_layout = QVBoxLayout(plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addWidget(self.failure_banner)
        plots_layout.addWidget(self.signal_banner)
        plots_layout.addWidget(scroll, 1)
        self.samples = QtSampleTable()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.tabs = QTabWidget()
        self.tabs.addTab(plots, "Plots")
        self.tabs.addTab(self.samples, "Samples")
        self.tabs.addTab(self.log, "Log")
        top = QHBoxLayout()
        top.addWidget(self.run_label, 1)
        top.addWidget(self.eta_label)
        live = QVBoxLayout()
        live.addLayout(top)
        live.addWidget(self.progress)
        live.addWidget(self.tabs, 1)

        layout = QHBoxLayout(self)
        layout.addLayout(side)
        layout.addLayout(live, 1)
        self._update_buttons("")

    @property
    def state(self) -> str:
        return self.watcher.state if self.watcher is not None else ""

    # -- project ------------------------------------------------------------------------

    def set_project(self, project_dir: Path | None) -> None:
        same = project_dir is not None and self.project_dir == Path(project_dir)
        super().set_project(project_dir)
        if not same:
            self.detach()
            self.refusal_label.setText("")
        cfg, error = None, ""
        if project_dir is not None:
            try:
                cfg = load_config(self.project_dir)
            except UserError as err:
                error = str(err).splitlines()[0]
        self.form.set_config(self.project_dir, cfg, error)
        self.tracker.set_project(self.project_dir, cfg)
        if same and self.watcher is not None:
            return
        runs = list_runs(self.project_dir) if project_dir else []
        live = [r for r in runs if is_live(r.get("state", ""))]
        if runs:  # reopened while a run goes on: follow it again; else show the newest run
            self.attach((live or runs)[0]["name"])
        else:
            self.sig_status.emit("no run yet" if project_dir else "")

    def overrides(self) -> list[str]:
        """``--set`` items of the New-run form (its tracker choice included) that differ from realm.toml."""
        return self.form.overrides()

    # -- actions ------------------------------------------------------------------------

    def _on_start_clicked(self) -> None:
        self.start_run(self.form.recipe.currentText(), self.overrides(), self.form.run_name())

    def start_run(self, recipe: str, overrides: list[str], run_name: str | None = None) -> str | None:
        """Validate and launch ``train … --detach``; return the run's name at once. The page
        follows the run once its engine runs, or says why the engine refused."""
        if self.form.validate() is None or self.starting is not None:
            return None
        name = run_name or f"{recipe}-{time.strftime('%Y%m%d-%H%M%S')}"
        self._start_detached(train_args(self.project_dir, recipe, overrides, name), name)
        return name

    def stop_run(self) -> None:
        if self.run_name:
            RunFolder(self.project_dir, self.run_name).request("stop")
            self.log.appendPlainText("stop requested: the engine saves a checkpoint, then exits")

    def cancel_run(self) -> None:
        if self.run_name:
            RunFolder(self.project_dir, self.run_name).request("cancel")
            self.log.appendPlainText("cancel requested: the engine exits now, keeping its last checkpoint")

    def resume_run(self, name: str | None = None) -> None:
        """Resume ``name`` (default: the run shown), following it here."""
        name = name or self.run_name
        if not name or self.starting is not None or self.project_dir is None:
            return
        state = shown_state(RunFolder(self.project_dir, name).read_status().get("state", ""))
        if is_live(state):
            self.refusal_label.setText(refusal_text("already running in engine process", name))
            return
        self._start_detached(["resume", str(self.project_dir), "--run", name], name)

    def _start_detached(self, args: list[str], name: str) -> None:
        run = RunFolder(self.project_dir, name)
        offset = run.engine_log.stat().st_size if run.engine_log.exists() else 0
        self.starting = self.engine.start_detached(args)
        project = self.project_dir
        self.starting.sig_started.connect(lambda pid: self._on_engine_started(project, name, pid, offset))
        self.starting.sig_failed.connect(lambda message: self._on_engine_refused(message, name))
        self.refusal_label.setText("")
        self.run_label.setText(f"Run: {name} — {state_text(STARTING)}")
        self._update_buttons(STARTING)

    def _on_engine_started(self, project: Path, name: str, pid: int, log_offset: int) -> None:
        self.starting = None
        if project != self.project_dir:  # another project was opened meanwhile: its run goes on unwatched
            self._update_buttons(self.state)
            return
        if self.run_name != name:
            self.attach(name)
        self.watcher.follow_launch(pid, log_offset)
        self.sig_changed.emit()

    def _on_engine_refused(self, message: str, name: str) -> None:
        self.starting = None
        self.refusal_label.setText(refusal_text(message.splitlines()[0] if message else "it exited", name))
        self.run_label.setText(f"Run: {self.run_name} — {state_text(self.state)}" if self.run_name
                               else "No run attached")
        self._update_buttons(self.state)

    # -- following a run ----------------------------------------------------------------

    def attach(self, run_name: str) -> RunWatcher:
        """Show ``run_name`` from its first event on, then follow it live."""
        self.detach()
        self.run_name = run_name
        self.run_label.setText(f"Run: {run_name}")
        watcher = self.watcher = RunWatcher(RunFolder(self.project_dir, run_name), parent=self)
        watcher.sig_metrics.connect(self._on_metrics)
        watcher.sig_stage.connect(self.metrics.mark_stage)
        watcher.sig_sample.connect(self.samples.add_sample)
        watcher.sig_log.connect(self.log.appendPlainText)
        watcher.sig_progress.connect(self._on_progress)
        watcher.sig_state.connect(self._on_state)
        watcher.sig_event.connect(self._on_event)
        watcher.sig_refused.connect(lambda message: self.refusal_label.setText(refusal_text(message, run_name)))
        watcher.start()
        return watcher

    def detach(self) -> None:
        """Follow no run: every view of the last one is cleared."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.deleteLater()
            self.watcher = None
        self.run_name = None
        self._last_error = ""
        self._last_progress = {}
        self.signal.clear()
        self.metrics.clear()
        self.samples.clear()
        self.log.clear()
        self.progress.reset()
        self.eta_label.setText("")
        self.failure_banner.hide()
        self.signal_banner.hide()
        self.run_label.setText("No run attached" if self.project_dir else "Create or open a project first")
        self._update_buttons("")

    def shutdown(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.metrics.redraw()
        self.tracker.shutdown()  # issue 14
        self.preflight.shutdown()

    def _on_metrics(self, step: int, stage: str, metrics: dict) -> None:
        self.metrics.add_metrics(step, stage, metrics)
        if stage == "rl":
            warning = self.signal.add(metrics)
            self.signal_banner.setText(warning)
            self.signal_banner.setVisible(bool(warning))

    def _on_event(self, event: dict) -> None:
        if event.get("type") == ERROR:
            hint = f" ({event['hint']})" if event.get("hint") else ""
            self._last_error = f"{event.get('message', '')}{hint}"

    def _on_progress(self, event: dict) -> None:
        total, step = max(int_field(event, "total"), 1), max(int_field(event, "step"), 0)
        self.progress.setRange(0, total)
        self.progress.setValue(min(step, total))
        self.progress.setFormat(f"{event.get('stage', '')} %v / %m")
        self._last_progress = event
        self._show_eta()

    def _show_eta(self) -> None:
        """The time left, while an engine works on the run (a paused or finished run has none)."""
        event = self._last_progress
        if not is_live(self.state) or not event:
            self.eta_label.setText("")
            return
        text = f"ETA {format_duration(number(event.get('eta_s')))}"
        if number(event.get("throughput")):
            text += f" · {number(event['throughput']):.3g} steps/s"
        self.eta_label.setText(text)

    def _on_state(self, state: str) -> None:
        self.run_label.setText(f"Run: {self.run_name} — {state_text(state)}")
        self._show_eta()
        failed = state == "failed"
        self.failure_banner.setVisible(failed)
        if failed:
            self.failure_banner.setText(f"The run failed: {self._last_error or 'see the Log tab'}. Fix what it names "
                                        "(the settings on the left, or realm.toml on the Settings page), then press "
                                        "Resume — or start a new run. The Log tab has the whole log.")
        self._update_buttons(state)
        self.sig_status.emit(f"{self.run_name}: {state}")
        self.sig_run_state.emit(self.run_name or "", state)

    def _update_buttons(self, state: str) -> None:
        live, starting = is_live(state), self.starting is not None or state == STARTING
        self.stop_button.setEnabled(live and not starting)
        self.cancel_button.setEnabled(live and not starting)
        self.resume_button.setEnabled(state in RESUMABLE_STATES and not starting)
        self.start_button.setEnabled(not live and not starting and not self.form.error_label.text()
                                     and self.form.config is not None)
