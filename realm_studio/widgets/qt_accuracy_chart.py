"""Accuracy without and with routes, base model beside the run, as bars with 95 % intervals.

The interval is the summary's own (``without_routes.interval``: Wilson, ``engine.method.stats``)
and, for a summary written before intervals were recorded, computed the same way from its
accuracy and count: on 60 problems one problem is 1.7 points, and the bars show it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from engine.events import number
from engine.method.stats import wilson_interval

from .qt_theme import plot_colours

MEASURES = (("without_routes", "accuracy_without_routes", "without routes"),
            ("with_routes", "accuracy_with_routes", "with routes"))
SIDES = (("base", (150, 150, 150)), ("run", (60, 120, 216)))
WIDTH = 0.35


def accuracy_and_interval(summary: dict, block: str, key: str) -> tuple[float, float, float] | None:
    """(accuracy, low, high) of one measure of a summary, or None when it has none."""
    accuracy = number(summary.get(key))  # a summary from another version, or a damaged one, may hold anything
    if accuracy is None:
        return None
    detail = summary.get(block) if isinstance(summary.get(block), dict) else {}
    interval = detail.get("interval")
    if isinstance(interval, list) and len(interval) == 2 and None not in (bounds := [number(x) for x in interval]):
        return accuracy, bounds[0], bounds[1]
    n = number(detail.get("n")) or number(summary.get("n")) or 0
    n = int(n) if 0 < n < 2**31 else 0
    low, high = wilson_interval(round(min(max(accuracy, 0.0), 1.0) * n), n) if n else (accuracy, accuracy)
    return accuracy, low, high


class QtAccuracyChart(QWidget):
    """Two groups of bars (without / with routes), base and run side by side, with intervals."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.bars: dict[tuple[str, str], tuple[float, float, float]] = {}  # (side, measure) -> (acc, low, high)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setYRange(0, 1.3, padding=0.02)  # headroom above 100 %: the legend never covers a bar
        self.plot.setLabel("left", "accuracy (share of problems)")
        self.plot.getAxis("bottom").setTicks([[(i, label) for i, (_b, _k, label) in enumerate(MEASURES)]])
        self.legend = self.plot.addLegend(offset=(-5, 5))
        self.setMinimumSize(300, 180)
        self.setMaximumHeight(240)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def set_summaries(self, base: dict, run: dict) -> None:
        colours = plot_colours(self.palette())  # the palette of now: light or dark
        self.plot.setBackground(colours.background)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setTextPen(colours.foreground)
            self.plot.getAxis(axis).setPen(colours.foreground)
        self.plot.clear()
        self.legend.clear()
        self.bars = {}
        for offset, (side, colour), summary in zip((-WIDTH / 2, WIDTH / 2), SIDES, (base, run)):
            xs, heights, lows, highs = [], [], [], []
            for index, (block, key, label) in enumerate(MEASURES):
                value = accuracy_and_interval(summary, block, key)
                if value is None:
                    continue
                self.bars[(side, label)] = value
                xs.append(index + offset)
                heights.append(value[0])
                lows.append(value[0] - value[1])
                highs.append(value[2] - value[0])
            if not xs:
                continue
            self.plot.addItem(pg.BarGraphItem(x=xs, height=heights, width=WIDTH * 0.9, brush=pg.mkBrush(*colour),
                                              name=side))  # named: the legend lists it
            self.plot.addItem(pg.ErrorBarItem(x=np.array(xs), y=np.array(heights), top=np.array(highs),
                                              bottom=np.array(lows), beam=WIDTH / 3,
                                              pen=pg.mkPen(colours.foreground, width=1.5)))
