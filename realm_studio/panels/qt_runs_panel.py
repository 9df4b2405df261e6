"""Runs: every run of the project with its state, compared side by side.

Everything here is read from the run folders (``list_runs``, ``config.toml``,
``events.jsonl``), so the list is right even for runs started from the CLI or on a server; it
is read again every few seconds while a run is live, and whenever the Train page sees a state
change. States read as everywhere else (``run_state``). An interrupted run shows its last log
lines and can be resumed (the Train page starts it: ``sig_resume``); a live one can be
followed again there (``sig_attach``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGroupBox, QHBoxLayout, QLabel,
                               QPlainTextEdit, QPushButton, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from engine.events import METRICS, STAGE_STARTED, iter_events, number
from engine.runs import RunFolder, list_runs

from ..engine_client import EngineClient
from ..models.run_state import RESUMABLE_STATES, is_live, shown_state
from ..run_watcher import RunSteps, last_log_lines
from ..widgets.qt_live_plot import QtLivePlot
from . import QtPanel

RUN_COLUMNS = ("name", "state", "step", "recipe", "checkpoints")
REFRESH_MS = 2000  # while a run is live
OVERLAY_METRICS = ("eval/accuracy_without_routes", "eval/accuracy_with_routes", "eval/autonomy_gap", "reward", "loss", "rewards/correctness/mean", "fade/p", "fade/hinted_fraction",
                   "completions/mean_length", "frac_reward_zero_std", "kl", "learning_rate")


def flatten(table: dict, prefix: str = "") -> dict[str, object]:
    """``{"rl": {"max_steps": 5}}`` → ``{"rl.max_steps": 5}``."""
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def flat_run_config(run: RunFolder) -> dict[str, object]:
    """The run's frozen config as ``section.key`` pairs, unvalidated (an unreadable file reads as
    empty: comparing two configs must never fail on one of them)."""
    try:
        return flatten(run.config_table())
    except (OSError, ValueError):  # not TOML, not UTF-8, or a number past 4300 digits
        return {}


def config_diff(a: dict[str, object], b: dict[str, object]) -> list[tuple[str, object, object]]:
    """``(key, value in a, value in b)`` for every key whose values differ (missing: None)."""
    return [(key, a.get(key), b.get(key)) for key in sorted(a.keys() | b.keys()) if a.get(key) != b.get(key)]


def metric_series(run: RunFolder, name: str) -> tuple[list[int], list[float]]:
    """(run steps, values) of one metric, counted like the Train panel's plots (``RunSteps``)."""
    steps, values, run_steps = [], [], RunSteps()
    for event in iter_events(run.events, {METRICS, STAGE_STARTED}):
        step = run_steps.run_step(event)
        metrics = event.get("metrics")
        value = number(metrics.get(name)) if isinstance(metrics, dict) else None
        if value is not None:
            steps.append(step)
            values.append(value)
    return steps, values


def _table(columns) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[tuple]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))


class QtRunsPanel(QtPanel):
    """The run list, a metric overlay across selected runs, and a config diff of two runs."""

    title = "Runs"

    sig_attach = Signal(str)
    """Follow this run live in the Train panel."""
    sig_resume = Signal(str)
    """Resume this run (the Train panel starts it and follows it)."""

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.runs: list[dict] = []
        self._refresh_timer = QTimer(self, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self.run_table = _table(RUN_COLUMNS)
        self.run_table.itemSelectionChanged.connect(self._on_selection)
        refresh = QPushButton("Refresh", clicked=self.refresh)
        self.attach_button = QPushButton("Follow in Train", clicked=self._on_attach_clicked)
        self.resume_button = QPushButton("Resume", clicked=self.resume_selected)
        buttons = QHBoxLayout()
        for widget in (refresh, self.attach_button, self.resume_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)

        self.details = QLabel("Select a run")
        self.last_log = QPlainTextEdit(readOnly=True, maximumHeight=140)
        self.metric_combo = QComboBox(editable=True)
        self.metric_combo.addItems(OVERLAY_METRICS)
        self.metric_combo.currentTextChanged.connect(lambda _text: self._update_overlay())
        self.overlay = QtLivePlot("Selected runs")
        self.diff_table = _table(("key", "run A", "run B"))
        self.diff_label = QLabel("Select two runs to compare their configs")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.run_table, 1)
        left_layout.addWidget(self.details)
        left_layout.addWidget(self.last_log)
        compare = QGroupBox("Compare")
        compare_layout = QVBoxLayout(compare)
        metric_row = QHBoxLayout()
        metric_row.addWidget(QLabel("Metric"))
        metric_row.addWidget(self.metric_combo, 1)
        compare_layout.addLayout(metric_row)
        compare_layout.addWidget(self.overlay, 2)
        compare_layout.addWidget(self.diff_label)
        compare_layout.addWidget(self.diff_table, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(compare)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._on_selection()

    # -- data ---------------------------------------------------------------------------

    def set_project(self, project_dir: Path | None) -> None:
        super().set_project(project_dir)
        self.refresh()

    def refresh(self) -> None:
        """Re-read every run folder (states change on disk, not through us); the selection stays."""
        chosen = [r["name"] for r in self.selected()]
        self.runs = list_runs(self.project_dir) if self.project_dir else []
        for run in self.runs:
            run["state"] = shown_state(run.get("state", ""))
        self.run_table.blockSignals(True)
        _fill(self.run_table, [(r["name"], r.get("state"), r.get("step"), r.get("recipe"),
                                len(r.get("checkpoints") or [])) for r in self.runs])
        self.select(chosen)
        self.run_table.blockSignals(False)
        live = sum(is_live(r["state"]) for r in self.runs)
        if live and not self._refresh_timer.isActive():
            self._refresh_timer.start()
        elif not live:
            self._refresh_timer.stop()
        count = f"{len(self.runs)} run" + ("" if len(self.runs) == 1 else "s")
        self.sig_status.emit(count + (f", {live} live" if live else "") if self.project_dir else "")
        self._on_selection()

    def shutdown(self) -> None:
        self._refresh_timer.stop()

    def select(self, names: list[str]) -> None:
        """Select runs by name (the overlay and the diff follow the selection)."""
        self.run_table.clearSelection()
        mode = self.run_table.selectionMode()
        self.run_table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row, run in enumerate(self.runs):
            if run["name"] in names:
                self.run_table.selectRow(row)
        self.run_table.setSelectionMode(mode)

    def selected(self) -> list[dict]:
        rows = sorted({index.row() for index in self.run_table.selectionModel().selectedRows()})
        return [self.runs[row] for row in rows]

    # -- views --------------------------------------------------------------------------

    def _on_selection(self) -> None:
        runs = self.selected()
        current = runs[0] if len(runs) == 1 else None
        state = current.get("state") if current else None
        self.attach_button.setEnabled(is_live(state or ""))
        self.resume_button.setEnabled(state in RESUMABLE_STATES)
        if current is None:
            self.details.setText(f"{len(runs)} runs selected" if runs else "Select a run" if self.runs else
                                 "No runs yet: start one on the Train page" if self.project_dir else
                                 "Create or open a project first")
            self.last_log.setPlainText("")
        else:
            self.details.setText(f"{current['name']}: {state}, step {current.get('step', 0)}")
            lines = last_log_lines(RunFolder(self.project_dir, current["name"]))
            self.last_log.setPlainText("\n".join(lines))
        self._update_overlay()
        self._update_diff(runs)

    def _update_overlay(self) -> None:
        self.overlay.clear()
        metric = self.metric_combo.currentText().strip()
        for run in self.selected():
            steps, values = metric_series(RunFolder(self.project_dir, run["name"]), metric)
            for step, value in zip(steps, values):
                self.overlay.append(run["name"], step, value)
        self.overlay.redraw()

    def _update_diff(self, runs: list[dict]) -> None:
        if len(runs) != 2:
            self.diff_label.setText("Select two runs to compare their configs")
            _fill(self.diff_table, [])
            return
        a, b = (RunFolder(self.project_dir, r["name"]) for r in runs)
        rows = config_diff(flat_run_config(a), flat_run_config(b))
        self.diff_table.setHorizontalHeaderLabels(["key", a.name, b.name])
        self.diff_label.setText(f"{len(rows)} settings differ" if rows else "Same config")
        _fill(self.diff_table, rows)

    # -- actions ------------------------------------------------------------------------

    def _on_attach_clicked(self) -> None:
        runs = self.selected()
        if len(runs) == 1:
            self.sig_attach.emit(runs[0]["name"])

    def resume_selected(self) -> None:
        runs = self.selected()
        if len(runs) == 1:
            self.sig_resume.emit(runs[0]["name"])
