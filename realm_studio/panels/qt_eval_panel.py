"""Evaluate: did training help, and on which problems?

Compares the base model (``eval/base/summary.json``) with a run (``runs/<run>/eval/``):
accuracy without routes (the goal: autonomy), with routes, the gap between them and format
failures, as a table and as bars with their 95 % intervals. The per-problem ledger marks flips
against the base model — wrong→right green, right→wrong red — because an average hides what
was lost; clicking a problem shows the base model's and the run's answers side by side. The
run list is newest first, failed runs marked; "Base model" shows the base's own ledger.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QProgressBar, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from engine import events as ev
from engine.project import EVAL_LEDGER, EVAL_SUMMARY, base_eval_dir
from engine.runs import RunFolder, list_runs

from ..engine_client import EngineClient, EngineJob, command_line
from ..widgets.qt_accuracy_chart import QtAccuracyChart
from ..widgets.qt_completions import QtCompletions
from . import QtPanel

SUMMARY_ROWS = (("accuracy_without_routes", "Accuracy without routes"),
                ("accuracy_with_routes", "Accuracy with routes"),
                ("autonomy_gap", "Autonomy gap (with − without)"),
                ("format_failure_rate", "Format failures"),
                ("n", "Problems"))
LEDGER_COLUMNS = ("problem", "question", "answer", "base", "run", "run answer", "with routes")
FLIP_COLORS = {"fixed": QColor(46, 160, 67, 70), "broken": QColor(218, 54, 51, 70)}
BASE = ""  # the run combo's data for "Base model"


def read_summary(folder: Path) -> dict:
    """The evaluation's summary, empty when there is none or it is damaged."""
    try:
        summary = json.loads((folder / EVAL_SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return summary if isinstance(summary, dict) else {}


def read_ledger(folder: Path) -> list[dict]:
    rows = []
    try:
        with open(folder / EVAL_LEDGER, encoding="utf-8") as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except OSError:
        pass
    return rows


def flip(row: dict) -> str | None:
    """"fixed" (base wrong → run right), "broken" (right → wrong), or None (same / no base)."""
    base, now = row.get("base_correct_without"), row.get("correct_without")
    if base is None or now is None or bool(base) == bool(now):
        return None
    return "fixed" if now else "broken"


def _mark(value) -> str:
    return "" if value is None else ("✓" if value else "✗")


def _number(value) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if isinstance(value, float) else str(value)


class QtEvalPanel(QtPanel):
    """Base-vs-run summary and bars, the per-problem ledger with flips, answers side by side."""

    title = "Evaluate"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.ledger: list[dict] = []
        self.base_ledger: dict[str, dict] = {}
        self.job: EngineJob | None = None
        self.run_combo = QComboBox(minimumWidth=260)
        self.run_combo.currentIndexChanged.connect(lambda _index: self.refresh())
        self.eval_run_button = QPushButton("Evaluate run", clicked=lambda: self.start_eval(base=False))
        self.eval_base_button = QPushButton("Evaluate base model", clicked=lambda: self.start_eval(base=True))
        self.progress = QProgressBar(textVisible=True, visible=False)
        self.command_label = QLabel(styleSheet="font-family: monospace",
                                    textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.flipped_only = QCheckBox("Flipped only", toggled=lambda _on: self._fill_ledger())
        top = QHBoxLayout()
        top.addWidget(QLabel("Run"))
        top.addWidget(self.run_combo, 1)
        top.addWidget(self.eval_run_button)
        top.addWidget(self.eval_base_button)
        self.summary = self._table(("metric", "base", "run", "Δ"))
        self.summary.setMaximumHeight(240)
        self.chart = QtAccuracyChart()
        results = QHBoxLayout()
        results.addWidget(self.summary, 1)
        results.addWidget(self.chart, 1)
        self.ledger_table = self._table(LEDGER_COLUMNS)
        header = self.ledger_table.horizontalHeader()
        for column in range(len(LEDGER_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the question takes the room
        header.setStretchLastSection(False)
        self.ledger_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.ledger_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.ledger_table.itemSelectionChanged.connect(self._on_row_selected)
        self.completions = QtCompletions()
        self.ledger_label = QLabel("")
        ledger_row = QHBoxLayout()
        ledger_row.addWidget(self.ledger_label, 1)
        ledger_row.addWidget(self.flipped_only)
        split = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        split.addWidget(self.ledger_table)
        split.addWidget(self.completions)
        split.setSizes([320, 260])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.command_label)
        layout.addLayout(results)
        layout.addLayout(ledger_row)
        layout.addWidget(split, 1)

    @staticmethod
    def _table(columns) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def set_project(self, project_dir: Path | None) -> None:
        super().set_project(project_dir)
        runs = list_runs(self.project_dir) if project_dir else []  # newest first
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        if project_dir is not None:
            for run in runs:
                failed = run.get("state") == "failed"
                self.run_combo.addItem(f"✗ {run['name']} (failed)" if failed else run["name"], run["name"])
            self.run_combo.addItem("Base model", BASE)
        self.run_combo.blockSignals(False)
        self.refresh()

    def selected_run(self) -> str:
        """The run shown ("": the base model)."""
        return self.run_combo.currentData() or BASE

    def refresh(self) -> None:
        """Re-read both summaries and ledgers."""
        run, has_project = self.selected_run(), self.project_dir is not None
        base = read_summary(base_eval_dir(self.project_dir)) if has_project else {}
        now = read_summary(RunFolder(self.project_dir, run).eval_dir) if has_project and run else {}
        self.base_ledger = {r.get("problem_id"): r for r in read_ledger(base_eval_dir(self.project_dir))} \
            if has_project else {}
        self.ledger = (read_ledger(RunFolder(self.project_dir, run).eval_dir) if run else
                       list(self.base_ledger.values())) if has_project else []
        rows = []
        for key, label in SUMMARY_ROWS:
            a, b = base.get(key), now.get(key)
            delta = b - a if isinstance(a, (int, float)) and isinstance(b, (int, float)) and key != "n" else None
            rows.append((label, _number(a), _number(b), "" if delta is None else f"{delta:+.1%}"))
        self.summary.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.summary.setItem(r, c, QTableWidgetItem(text))
        self.summary.resizeColumnToContents(0)  # the metric names are the table's point: never clipped
        self.chart.set_summaries(base, now)
        self.eval_run_button.setEnabled(bool(run) and self.job is None)
        self.eval_base_button.setEnabled(has_project and self.job is None)
        self._fill_ledger()
        if not has_project:
            self.ledger_label.setText("Create or open a project first.")
        elif not self.ledger:
            self.ledger_label.setText("Not evaluated yet: press Evaluate base model, then Evaluate run once a run "
                                      "has finished a stage.")
        if now:
            self.sig_status.emit(f"{run}: {_number(now.get('accuracy_without_routes'))} alone")
        elif has_project:
            self.sig_status.emit("base evaluated" if base else "not evaluated")

    def visible_ledger(self) -> list[dict]:
        return [row for row in self.ledger if not self.flipped_only.isChecked() or flip(row)]

    def _fill_ledger(self) -> None:
        rows = self.visible_ledger()
        flips = [flip(row) for row in self.ledger]
        self.ledger_label.setText(f"{len(self.ledger)} problems · {flips.count('fixed')} fixed · "
                                  f"{flips.count('broken')} broken · click one to read the answers")
        self.ledger_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (row.get("problem_id"), row.get("question"), row.get("answer"),
                     _mark(row.get("base_correct_without")), _mark(row.get("correct_without")),
                     row.get("answer_without"), _mark(row.get("correct_with")))
            color = FLIP_COLORS.get(flip(row))
            for c, value in enumerate(cells):
                item = QTableWidgetItem("" if value is None else str(value))
                if c == 1:
                    item.setToolTip(f"<p>{item.text()}</p>")
                if color is not None:
                    item.setBackground(color)
                self.ledger_table.setItem(r, c, item)
        self.completions.show_rows({}, {}, "")

    def _on_row_selected(self) -> None:
        selected = self.ledger_table.selectionModel().selectedRows()
        if not selected:
            return
        row = self.visible_ledger()[selected[0].row()]
        run = self.selected_run()
        base = self.base_ledger.get(row.get("problem_id"), {})
        self.completions.show_rows(base, row if run else {}, run)

    def start_eval(self, base: bool) -> EngineJob | None:
        """Run ``eval`` for the base model or the selected run; the tables refresh when it ends."""
        if self.project_dir is None or self.job is not None or (not base and not self.selected_run()):
            return None
        target = ["--base"] if base else ["--run", self.selected_run()]
        args = ["eval", str(self.project_dir), *target]
        self.command_label.setText(command_line(args))
        self.job = self.engine.run(args)
        self.job.sig_event.connect(self._on_event)
        self.job.sig_finished.connect(self._on_eval_finished)
        self.progress.setRange(0, 0)  # busy until the first progress event gives the total
        self.progress.setFormat("evaluating…")
        self.progress.show()
        self.refresh()
        return self.job

    def _on_event(self, event: dict) -> None:
        if event.get("type") == ev.PROGRESS:
            self.progress.setRange(0, max(int(event.get("total") or 0), 1))
            self.progress.setValue(int(event.get("step") or 0))
            self.progress.setFormat("evaluating: %v / %m problems")

    def _on_eval_finished(self, code: int) -> None:
        error = "\n".join(self.job.stderr_lines) if code else ""
        self.job = None
        self.progress.hide()
        self.refresh()
        if error:
            self.ledger_label.setText(f"Evaluation failed: {error}")
        self.sig_changed.emit()
