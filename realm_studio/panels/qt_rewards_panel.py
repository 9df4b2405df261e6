"""Rewards: the reward bench, beside Routes: do the configured rewards rank right routes above wrong ones?

Runs ``realm-engine rewards DIR [--samples N --model M]`` and shows its table
(``routes/reward_bench.json``, re-read whenever the project is opened): per reward function its
AUC, abstentions, errors, outputs TRL would refuse and time per call, a histogram of its scores
on positive, negative and unparsed routes (and on fresh samples), and every warning in red —
before a run is started, not after a flat reward curve.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from engine.project import reward_bench_path

from ..engine_client import EngineClient, EngineJob, command_line
from . import QtPanel
from .qt_playground_panel import model_specs

LABEL_COLORS = {"positive": "#1a7f37", "negative": "#d1242f", "unparsed": "#8c959f"}
COLUMNS = ["reward", "weight", "AUC routes", "AUC samples", "abstained", "errors", "bad output", "ms/call"]


def _cell(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


class QtRewardsPanel(QtPanel):
    """Run the reward bench and show its verdict per reward function."""

    title = "Rewards"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.job: EngineJob | None = None  # the bench running in the engine
        self.result: dict | None = None  # the table shown (reward_bench.json)
        self.samples = QSpinBox(minimum=0, maximum=1024, value=0, toolTip="also score N fresh completions of the model")
        self.model = QComboBox()
        self.run_button = QPushButton("Run the reward bench", clicked=self.run_bench)
        self.command = QLabel(styleSheet="font-family: monospace")
        self.warnings = QLabel(wordWrap=True, styleSheet="color: #d1242f")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setMaximumHeight(160)
        self.plots = pg.GraphicsLayoutWidget()
        row = QHBoxLayout()
        for widget in (QLabel("fresh samples"), self.samples, QLabel("of"), self.model, self.run_button):
            row.addWidget(widget, 1 if widget is self.model else 0)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        for widget in (self.command, self.warnings, self.table, self.plots):
            layout.addWidget(widget, 1 if widget is self.plots else 0)
        self.samples.valueChanged.connect(self._show_command)
        self.model.currentTextChanged.connect(self._show_command)

    def set_project(self, project_dir: Path | None) -> None:
        super().set_project(project_dir)
        self.model.clear()
        if project_dir is not None:
            self.model.addItems(model_specs(self.project_dir))
        path = reward_bench_path(self.project_dir) if project_dir is not None else None
        self.show_result(json.loads(path.read_text(encoding="utf-8")) if path is not None and path.exists() else None)
        self._show_command()

    def args(self) -> list[str]:
        args = ["rewards", str(self.project_dir or "PROJECT")]
        if self.samples.value():
            args += ["--samples", str(self.samples.value()), "--model", self.model.currentText() or "base"]
        return args

    def _show_command(self) -> None:
        self.command.setText(command_line(self.args()))

    def run_bench(self) -> EngineJob | None:
        if self.project_dir is None or self.job is not None:
            return None
        self.run_button.setEnabled(False)
        self.warnings.setText("running …")
        self.job = self.engine.run(self.args())
        self.job.sig_finished.connect(self._on_finished)
        return self.job

    def _on_finished(self, code: int) -> None:
        job, self.job = self.job, None
        self.run_button.setEnabled(True)
        if code != 0:
            self.warnings.setText(job.error_line or f"the reward bench failed (exit {code})")
            return
        self.set_project(self.project_dir)

    def show_result(self, result: dict | None) -> None:
        self.result = result
        self.table.setRowCount(0)
        self.plots.clear()
        if result is None:
            self.warnings.setText("No reward bench yet: run it before training.")
            self.sig_status.emit("")
            return
        self.warnings.setStyleSheet("color: #d1242f" if result["warnings"] else "color: #1a7f37")
        self.warnings.setText("\n".join(f"⚠ {w}" for w in result["warnings"]) or
                              f"Every reward separates what it should ({result['routes']} routes, "
                              f"{result['samples']} samples).")
        edges = np.array(result["bins"])
        for i, entry in enumerate(result["functions"]):
            self.table.insertRow(i)
            parts = [entry[s] for s in ("routes", "samples") if entry[s]["calls"]]
            cells = [entry["name"], entry["weight"], entry["auc"], entry["auc_samples"],
                     sum(p["abstained"] for p in parts), sum(p["errors"] for p in parts),
                     sum(p["bad_outputs"] for p in parts), parts[0]["ms_per_call"] if parts else None]
            for j, value in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(_cell(value)))
            for k, set_name in enumerate(("routes", "samples")):
                if entry[set_name]["calls"]:
                    self._histogram(i, k, f"{entry['name']} on {set_name}", entry[set_name]["hist"], edges)
        self.sig_status.emit(f"{len(result['warnings'])} warnings" if result["warnings"] else "rewards ok")

    def _histogram(self, row: int, col: int, title: str, hist: dict, edges: np.ndarray) -> None:
        """Side-by-side bars per label within each score bin."""
        plot = self.plots.addPlot(row=row, col=col, title=title)
        plot.addLegend(offset=(5, 5))
        width = (edges[1] - edges[0]) / (len(LABEL_COLORS) + 1)
        for k, (label, color) in enumerate(LABEL_COLORS.items()):
            if label in hist:
                x = edges[:-1] + width * (k + 1)
                plot.addItem(pg.BarGraphItem(x=x, height=hist[label], width=width, brush=color, name=label))
        plot.setLabel("bottom", "score")
        plot.setLabel("left", "count")

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.terminate(2000)
