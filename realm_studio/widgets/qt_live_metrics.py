"""The training dashboard: one live plot per group of related metrics.

Metrics arrive as ``{name: value}`` per step with TRL's slash names; each name is routed to
the first group whose rule matches it, so a reward function added later (``rewards/x/mean``)
shows up without code changes.
"""

from __future__ import annotations

import functools

from PySide6.QtWidgets import QGridLayout, QWidget

from engine.events import number

from .qt_live_plot import QtLivePlot

# (plot title, rule): a rule is an exact name, or a prefix ending in "/".
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Loss", ("loss",)),
    ("Reward (total and per function)", ("reward", "rewards/")),
    ("Reward spread", ("reward_std", "frac_reward_zero_std")),
    ("Completion length", ("completions/mean_length", "completions/min_length", "completions/max_length")),
    ("KL / entropy", ("kl", "entropy")),
    ("Fade: p vs hinted fraction", ("fade/",)),
    ("Learning rate", ("learning_rate",)),
    ("Throughput / gradient", ("tokens_per_s", "grad_norm")),
]
COLUMNS = 2


@functools.lru_cache(maxsize=1024)
def group_of(name: str) -> str | None:
    """Title of the plot that shows metric ``name`` (None: not plotted); cached: called per point."""
    for title, rules in GROUPS:
        if any(name == rule or (rule.endswith("/") and name.startswith(rule)) for rule in rules):
            return title
    return None


class QtLiveMetrics(QWidget):
    """A grid of ``QtLivePlot``s fed one ``metrics`` event at a time."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plots: dict[str, QtLivePlot] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, (title, _rules) in enumerate(GROUPS):
            plot = self.plots[title] = QtLivePlot(title)
            grid.addWidget(plot, index // COLUMNS, index % COLUMNS)

    def add_metrics(self, step: int, metrics: dict) -> None:
        for name, value in metrics.items():
            title = group_of(name)
            value = number(value)
            if title is not None and value is not None:
                self.plots[title].append(name, step, value)

    def plot_of(self, name: str) -> QtLivePlot:
        return self.plots[group_of(name)]

    def clear(self) -> None:
        for plot in self.plots.values():
            plot.clear()

    def redraw(self) -> None:
        for plot in self.plots.values():
            plot.redraw()
