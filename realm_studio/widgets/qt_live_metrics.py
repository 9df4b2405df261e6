"""The training dashboard: one live plot per group of related metrics, on one step axis.

Metrics arrive as ``{name: value}`` per step with TRL's slash names; each name is routed to
the first group whose rule matches it, so a reward function added later (``rewards/x/mean``)
shows up without code changes. Each stage's metric is a series of its own ("rl: loss" beside
"distill: loss"): an RL loss that is always 0 must not read as the continuation of the
distillation loss. Every plot shares the step axis (zoom one, all follow) and the marker where
a stage begins. A toolbar smooths the curves, switches to a log scale and exports the
dashboard as PNG or its points as CSV.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QVBoxLayout, QWidget)

from engine.events import number

from .qt_live_plot import QtLivePlot

# (plot title, y axis label with its unit, rules): a rule is an exact name, or a prefix ending in "/".
# The held-out curve comes first: it is the one that says whether the run teaches.
GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("Held-out accuracy (without / with routes, autonomy gap)", "accuracy", ("eval/",)),
    ("Loss", "loss", ("loss",)),
    ("Reward (total and per function)", "reward", ("reward", "rewards/")),
    ("Reward spread", "std, share", ("reward_std", "frac_reward_zero_std")),
    ("Completion length", "tokens", ("completions/mean_length", "completions/min_length", "completions/max_length")),
    ("KL / entropy", "nats", ("kl", "entropy")),
    ("Fade: p vs hinted fraction", "probability", ("fade/",)),
    ("Learning rate", "learning rate", ("learning_rate",)),
    ("Throughput / gradient", "tokens/s, norm", ("tokens_per_s", "grad_norm")),
]
COLUMNS = 2


@functools.lru_cache(maxsize=1024)
def group_of(name: str) -> str | None:
    """Title of the plot that shows metric ``name`` (None: not plotted); cached: called per point."""
    for title, _label, rules in GROUPS:
        if any(name == rule or (rule.endswith("/") and name.startswith(rule)) for rule in rules):
            return title
    return None


def series_name(stage: str, name: str) -> str:
    """The legend's name of one stage's metric: "rl: loss"."""
    return f"{stage}: {name}" if stage else name


class QtLiveMetrics(QWidget):
    """A toolbar over a grid of ``QtLivePlot``s fed one ``metrics`` event at a time."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plots: dict[str, QtLivePlot] = {}
        self.smoothing = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=95, value=0, maximumWidth=160,
                                 toolTip="Exponential moving average of the drawn curves (the data is kept as logged)")
        self.smoothing.valueChanged.connect(self._on_smoothing)
        self.log_scale = QCheckBox("log scale", toggled=self._on_log_scale)
        export_png = QPushButton("Export PNG…", clicked=lambda: self._ask_path("PNG image (*.png)", self.export_png))
        export_csv = QPushButton("Export CSV…", clicked=lambda: self._ask_path("CSV (*.csv)", self.export_csv))
        toolbar = QHBoxLayout()
        toolbar.addWidget(QLabel("Smoothing"))
        toolbar.addWidget(self.smoothing)
        toolbar.addWidget(self.log_scale)
        toolbar.addStretch(1)
        toolbar.addWidget(QLabel("Hover a plot for its values; click a legend entry to hide its curve."))
        toolbar.addWidget(export_png)
        toolbar.addWidget(export_csv)
        self.grid_widget = QWidget()
        grid = QGridLayout(self.grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, (title, label, _rules) in enumerate(GROUPS):
            plot = self.plots[title] = QtLivePlot(title, y_label=label)
            grid.addWidget(plot, index // COLUMNS, index % COLUMNS)
            if index:
                plot.plot_item.setXLink(self.plots[GROUPS[0][0]].plot_item)  # one step axis for all
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toolbar)
        layout.addWidget(self.grid_widget, 1)

    def add_metrics(self, step: int, stage: str, metrics: dict) -> None:
        for name, value in metrics.items():
            title = group_of(name)
            value = number(value)
            if title is not None and value is not None:
                self.plots[title].append(series_name(stage, name), step, value)

    def mark_stage(self, stage: str, step: int) -> None:
        """Where ``stage`` begins on the step axis (the first stage needs no marker)."""
        if step > 0:
            for plot in self.plots.values():
                plot.mark_stage(stage, step)

    def plot_of(self, name: str) -> QtLivePlot:
        return self.plots[group_of(name)]

    def clear(self) -> None:
        for plot in self.plots.values():
            plot.clear()

    def redraw(self) -> None:
        for plot in self.plots.values():
            plot.redraw()

    # -- toolbar ------------------------------------------------------------------------

    def _on_smoothing(self, percent: int) -> None:
        for plot in self.plots.values():
            plot.set_smoothing(percent / 100)

    def _on_log_scale(self, on: bool) -> None:
        for plot in self.plots.values():
            plot.set_log_y(on)

    def _ask_path(self, kind: str, save) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", "", kind)
        if path:
            save(Path(path))

    def export_png(self, path: Path) -> bool:
        """The whole dashboard, as on screen."""
        self.redraw()
        return self.grid_widget.grab().save(str(path), "PNG")

    def export_csv(self, path: Path) -> None:
        """Every point of every series: plot, series, step, value (as logged, never smoothed)."""
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["plot", "series", "step", "value"])
            for title, plot in self.plots.items():
                for name in plot.series:
                    xs, ys = plot.data(name)
                    writer.writerows((title, name, int(x), y) for x, y in zip(xs, ys))
