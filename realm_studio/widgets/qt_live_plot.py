"""A live line plot that stays responsive with 100,000+ points per series, and that a user can read.

Appending a point only writes into a growing numpy buffer and marks the series dirty; the
curves are redrawn on the widget's own timer (never once per event), with pyqtgraph's peak
downsampling and clip-to-view so only what is visible is drawn. A buffer holds at most
``MAX_POINTS`` points, so following a run for days keeps the window's memory bounded.

For reading: the legend sits below the plot area (never over a curve) and a click on an entry
hides or shows its curve; the axes are labelled with their units and the step axis has whole
steps only; each series has its own colour *and* dash pattern, so two series with the same
values still show both; hovering shows every series' value at the nearest step; a vertical
marker shows where one training stage ends and the next begins. Smoothing (an exponential
moving average of what is drawn, never of the data) and a log scale are set from outside.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .qt_theme import plot_colours

REDRAW_MS = 200
DASHES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)
SYMBOLS = (None, "t", "s", "d")  # point marks of the 2nd, 3rd… series (a one-point series shows a dot)
MAX_MARKED_POINTS = 300  # longer series are told apart by their dash pattern alone (marks cost per point)
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


def smoothed(y: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average (weight 0: the values as they are; 0.9: heavy smoothing)."""
    if weight <= 0 or len(y) < 2:
        return y
    out = np.empty_like(y)
    out[0] = y[0]
    for i in range(1, len(y)):
        out[i] = weight * out[i - 1] + (1 - weight) * y[i]
    return out


class StepAxis(pg.AxisItem):
    """An x axis of training steps: ticks at whole steps only."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph names)
        levels = [(spacing, [v for v in values if float(v).is_integer()])
                  for spacing, values in super().tickValues(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1, list(range(math.ceil(minVal), math.floor(maxVal) + 1)))]  # zoomed in past one step

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        return [str(int(v)) for v in values]


class QtLivePlot(QWidget):
    """One plot, one ``PlotDataItem`` per named series, redrawn at most every ``REDRAW_MS``."""

    def __init__(self, title: str = "", y_label: str = "", x_label: str = "step", parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.series: dict[str, SeriesBuffer] = {}
        self.smoothing = 0.0
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._dirty: set[str] = set()
        self._markers: dict[str, pg.InfiniteLine] = {}
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(190)
        self.plot_item = self.graphics.addPlot(row=0, col=0, title=title, axisItems={"bottom": StepAxis("bottom")})
        self.plot_item.setLabel("bottom", x_label)
        self.plot_item.setLabel("left", y_label)
        self.plot_item.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" beside a label reads as a unit
        self.plot_item.showGrid(x=True, y=True, alpha=0.2)
        self.legend = pg.LegendItem(colCount=2)  # its own row of the layout: below the plot area
        self.graphics.addItem(self.legend, row=1, col=0)
        self.hover = QLabel(" ", styleSheet="font-size: 11px")
        self.hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.graphics)
        layout.addWidget(self.hover)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self.apply_palette()

    def apply_palette(self) -> None:
        """Background, axes and text in the window's palette colours (light or dark)."""
        colours = plot_colours(self.palette())
        self.graphics.setBackground(colours.background)
        for name in ("bottom", "left"):
            axis = self.plot_item.getAxis(name)
            axis.setPen(colours.foreground)
            axis.setTextPen(colours.foreground)
        self.plot_item.setTitle(self.title, color=colours.foreground)
        self.legend.setLabelTextColor(colours.foreground)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the system switched light / dark
            self.apply_palette()

    # -- data ---------------------------------------------------------------------------

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

    def mark_stage(self, stage: str, x: float) -> None:
        """A vertical line where ``stage`` begins (after step ``x``)."""
        if stage in self._markers:
            return
        line = pg.InfiniteLine(pos=x + 0.5, angle=90, movable=False, label=f"{stage} →",
                               pen=pg.mkPen(plot_colours(self.palette()).marker, width=1, style=Qt.PenStyle.DashLine),
                               labelOpts={"position": 0.92, "color": plot_colours(self.palette()).marker})
        self.plot_item.addItem(line)
        self._markers[stage] = line

    def stage_markers(self) -> dict[str, float]:
        return {stage: line.value() for stage, line in self._markers.items()}

    def clear(self) -> None:
        self._timer.stop()
        for item in [*self._curves.values(), *self._markers.values()]:
            self.plot_item.removeItem(item)
        self.legend.clear()
        self.series.clear()
        self._curves.clear()
        self._markers.clear()
        self._dirty.clear()
        self.hover.setText(" ")

    # -- view ---------------------------------------------------------------------------

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = weight
        self._dirty.update(self.series)
        self.redraw()

    def set_log_y(self, on: bool) -> None:
        self.plot_item.setLogMode(y=on)

    def redraw(self) -> None:
        """Push the dirty buffers to their curves (called by the timer, or directly)."""
        self._timer.stop()
        for name in self._dirty:
            buffer, curve = self.series[name], self._curves[name]
            # a line needs two points: a run of one logged step would otherwise show an empty plot
            mark = SYMBOLS[list(self._curves).index(name) % len(SYMBOLS)] if buffer.size <= MAX_MARKED_POINTS else None
            curve.setSymbol("o" if buffer.size == 1 else mark)
            curve.setData(buffer.x, smoothed(buffer.y, self.smoothing))
        self._dirty.clear()

    def curve_point_count(self, name: str) -> int:
        """How many points the drawn curve holds (tests check the view, not only the buffer)."""
        x, _ = self._curves[name].getOriginalDataset()
        return 0 if x is None else len(x)

    def curve_symbol(self, name: str) -> str | None:
        """The marker drawn at each point of a curve (None: a plain line)."""
        return self._curves[name].opts["symbol"]

    def curve_pen(self, name: str):
        return self._curves[name].opts["pen"]

    def hover_text(self, x: float) -> str:
        """Every series' value at the step nearest ``x``, as the hover line shows it."""
        parts, step = [], None
        for name, buffer in self.series.items():
            if not buffer.size or not self._curves[name].isVisible():
                continue
            i = int(np.clip(np.searchsorted(buffer.x, x), 0, buffer.size - 1))
            if i and abs(buffer.x[i - 1] - x) < abs(buffer.x[i] - x):
                i -= 1
            step = int(buffer.x[i]) if step is None else step
            parts.append(f"{name} {buffer.y[i]:.4g}")
        return f"step {step}: " + " · ".join(parts) if parts else " "

    def _on_mouse_moved(self, position) -> None:
        if self.plot_item.sceneBoundingRect().contains(position):
            self.hover.setText(self.hover_text(self.plot_item.vb.mapSceneToView(position).x()))

    def _add_curve(self, name: str) -> None:
        index = len(self._curves)
        colour = pg.intColor(index, hues=9, values=1, maxValue=220, minValue=150)
        pen = pg.mkPen(colour, width=2, style=DASHES[index % len(DASHES)])
        curve = self.plot_item.plot(name=name, pen=pen, symbolPen=colour, symbolBrush=colour, symbolSize=6)
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        self.legend.addItem(curve, name)  # a click on the entry hides or shows the curve
        self._curves[name] = curve
