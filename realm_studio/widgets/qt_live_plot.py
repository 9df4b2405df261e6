"""A live line plot that stays responsive with 100,000+ points per series.

Appending a point only writes into a growing numpy buffer and marks the series dirty; the
curves are redrawn on the widget's own timer (never once per event), with pyqtgraph's peak
downsampling and clip-to-view so only what is visible is drawn. A buffer holds at most
``MAX_POINTS`` points, so following a run for days keeps the window's memory bounded.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

REDRAW_MS = 200
MAX_POINTS = 2**17  # per series (2 MB): a 100,000-step history is kept whole, a longer one at half resolution


class SeriesBuffer:
    """x/y values in numpy arrays that double their capacity when full (amortised O(1) append) up
    to ``max_points``; past that the series is halved, each run of four points kept as its lowest
    and its highest, so a plot's memory stays bounded however long the run and no spike is lost."""

    def __init__(self, capacity: int = 1024, max_points: int = MAX_POINTS):
        self._x = np.empty(min(capacity, max_points))
        self._y = np.empty(min(capacity, max_points))
        self.max_points = max_points
        self.size = 0

    def append(self, x: float, y: float) -> None:
        if self.size == len(self._x):
            if self.size >= self.max_points:
                self._halve()
            else:
                self._x = np.resize(self._x, min(2 * self.size, self.max_points))
                self._y = np.resize(self._y, min(2 * self.size, self.max_points))
        self._x[self.size] = x
        self._y[self.size] = y
        self.size += 1

    def _halve(self) -> None:
        whole = self.size - self.size % 4
        x, y = self._x[:whole].reshape(-1, 4), self._y[:whole].reshape(-1, 4)
        low, high = y.argmin(axis=1), y.argmax(axis=1)
        flat = low == high  # four equal values: keep the first and the last
        first = np.where(flat, 0, np.minimum(low, high))
        second = np.where(flat, 3, np.maximum(low, high))
        rows = np.arange(len(x))
        kept_x = np.stack([x[rows, first], x[rows, second]], axis=1).ravel()
        kept_y = np.stack([y[rows, first], y[rows, second]], axis=1).ravel()
        tail_x, tail_y = self._x[whole:self.size].copy(), self._y[whole:self.size].copy()
        self.size = len(kept_x) + len(tail_x)
        self._x[: self.size] = np.concatenate([kept_x, tail_x])
        self._y[: self.size] = np.concatenate([kept_y, tail_y])

    def truncate_before(self, x: float) -> None:
        """Drop the points at ``x`` and after (x grows: a binary search finds the cut)."""
        self.size = int(np.searchsorted(self.x, x, side="left"))

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]


class QtLivePlot(QWidget):
    """One plot, one ``PlotDataItem`` per named series, redrawn at most every ``REDRAW_MS``."""

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.series: dict[str, SeriesBuffer] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._dirty: set[str] = set()
        self.plot_widget = pg.PlotWidget(title=title)
        self.plot_widget.setBackground(None)  # follow the palette (light or dark)
        self.plot_widget.showGrid(x=True, y=True, alpha=0.2)
        self.plot_widget.setMinimumHeight(140)
        # a filled legend stays readable over the curves it sits on
        backdrop = self.palette().color(self.backgroundRole())
        backdrop.setAlpha(210)
        self._legend = self.plot_widget.addLegend(offset=(5, 5), brush=pg.mkBrush(backdrop))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)

    def append(self, name: str, x: float, y: float | None) -> None:
        """Add one point (a missing value, None, is skipped: JSON has no NaN).

        A point at or before the series' last x replaces the points from there on: a resumed
        run replays the steps after its checkpoint, and the replay is what the model became.
        """
        if y is None:
            return
        buffer = self.series.get(name)
        if buffer is None:
            buffer = self.series[name] = SeriesBuffer()
            self._add_curve(name)
        if buffer.size and x <= buffer.x[-1]:
            buffer.truncate_before(x)
        buffer.append(float(x), float(y))
        self._dirty.add(name)
        if not self._timer.isActive():
            self._timer.start()

    def data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The points of one series so far (copies: the buffers keep growing)."""
        buffer = self.series[name]
        return buffer.x.copy(), buffer.y.copy()

    def clear(self) -> None:
        self._timer.stop()
        for curve in self._curves.values():
            self.plot_widget.removeItem(curve)
        self._legend.clear()
        self.series.clear()
        self._curves.clear()
        self._dirty.clear()

    def redraw(self) -> None:
        """Push the dirty buffers to their curves (called by the timer, or directly)."""
        self._timer.stop()
        for name in self._dirty:
            buffer = self.series[name]
            # a line needs two points: a run of one logged step would otherwise show an empty plot
            self._curves[name].setSymbol("o" if len(buffer.x) == 1 else None)
            self._curves[name].setData(buffer.x, buffer.y)
        self._dirty.clear()

    def curve_point_count(self, name: str) -> int:
        """How many points the drawn curve holds (tests check the view, not only the buffer)."""
        x, _ = self._curves[name].getOriginalDataset()
        return 0 if x is None else len(x)

    def curve_symbol(self, name: str) -> str | None:
        """The marker drawn at each point of a curve (None: a plain line)."""
        return self._curves[name].opts["symbol"]

    def _add_curve(self, name: str) -> None:
        pen = pg.mkPen(pg.intColor(len(self._curves), hues=9), width=1.5)
        curve = self.plot_widget.plot(name=name, pen=pen, symbolPen=pen, symbolBrush=pen.color(), symbolSize=7)
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        self._curves[name] = curve
