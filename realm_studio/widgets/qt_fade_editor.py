"""The EAAI fade curve p(t), drawn from ``engine.method.fade.curve``, with draggable points.

The curve on screen is always recomputed by the engine's own function from a
``FadeSection``: what the user sees is exactly what training will run. For the custom
schedule the control points can be edited with the mouse — drag a point (kept inside
[0, 1] on both axes and between its neighbours, so progress stays strictly increasing),
double-click empty space to add one, right-click a point to remove it (two always stay).
The editor never changes the section itself; it reports edited points through
``sig_points_edited`` and the owner sets them (one source of truth).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from engine.config import FadeSection
from engine.method.fade import curve

from .qt_theme import plot_colours

MIN_GAP = 0.001  # smallest progress step between two control points
CURVE_SAMPLES = 401
TAIL_BRUSH = (120, 170, 255, 60)

Points = list[list[float]]


def clamp_point(points: Points, index: int, x: float, y: float) -> list[float]:
    """Where point ``index`` lands when dragged to (x, y): inside [0, 1]² and between neighbours."""
    lo = points[index - 1][0] + MIN_GAP if index > 0 else 0.0
    hi = points[index + 1][0] - MIN_GAP if index + 1 < len(points) else 1.0
    return [round(min(max(x, lo), hi), 4), round(min(max(y, 0.0), 1.0), 4)]


def autonomous_tail(xs: list[float], ys: list[float]) -> float | None:
    """Progress from which p stays 0 to the end (no routes at all), or None if p ends above 0."""
    start = None
    for x, y in zip(reversed(xs), reversed(ys)):
        if y > 0.0:
            break
        start = x
    return start


class _ControlPoints(pg.ScatterPlotItem):
    """Scatter of the custom curve's points that reports drags and right-clicks by index."""

    sig_dragged = Signal(int, float, float)
    sig_removed = Signal(int)

    def __init__(self):
        super().__init__(size=14, brush=pg.mkBrush(255, 140, 0), hoverable=True,
                         hoverSize=18)
        self.setZValue(10)
        self._dragged: int | None = None

    def mouseDragEvent(self, ev):
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            hits = self.pointsAt(ev.buttonDownPos())
            if len(hits) == 0:
                ev.ignore()
                return
            self._dragged = hits[0].index()
        elif self._dragged is None:
            ev.ignore()
            return
        ev.accept()
        self.sig_dragged.emit(self._dragged, ev.pos().x(), ev.pos().y())
        if ev.isFinish():
            self._dragged = None

    def mouseClickEvent(self, ev):
        hits = self.pointsAt(ev.pos())
        if ev.button() == Qt.MouseButton.RightButton and len(hits):
            ev.accept()
            self.sig_removed.emit(hits[0].index())
        else:
            ev.ignore()


class QtFadeEditor(QWidget):
    """Plot of p(t) over training progress; control points editable for the custom schedule."""

    sig_points_edited = Signal(list)
    """New custom control points ([[progress, p], …], progress strictly increasing)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.fade = FadeSection()
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.04)
        self.plot.setLabel("bottom", "training progress")
        self.plot.setLabel("left", "p(hinted)")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.tail = pg.LinearRegionItem((0.8, 1.0), movable=False, brush=pg.mkBrush(*TAIL_BRUSH),
                                        pen=pg.mkPen(None))
        self.tail_label = pg.TextItem("autonomous tail", anchor=(0.5, 0))
        self.curve_item = self.plot.plot()
        self.points_item = _ControlPoints()
        for item in (self.tail, self.tail_label, self.points_item):
            self.plot.addItem(item)
        self.points_item.sig_dragged.connect(self._on_point_dragged)
        self.points_item.sig_removed.connect(self._on_point_removed)
        self.plot.viewport().installEventFilter(self)  # double-click on empty space adds a point
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.apply_palette()

    def apply_palette(self) -> None:
        """Background, axes, curve and labels in the window's palette (light or dark)."""
        colours = plot_colours(self.palette())
        self.plot.setBackground(colours.background)
        for name in ("bottom", "left"):
            self.plot.getAxis(name).setPen(colours.foreground)
            self.plot.getAxis(name).setTextPen(colours.foreground)
        self.curve_item.setPen(pg.mkPen(colours.foreground, width=2))
        self.tail_label.setColor(colours.marker)
        self.points_item.setPen(pg.mkPen(colours.foreground))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the system switched light / dark
            self.apply_palette()

    @property
    def view_box(self) -> pg.ViewBox:
        return self.plot.getPlotItem().getViewBox()

    def set_fade(self, fade: FadeSection) -> None:
        """Show ``fade``: the curve from the engine, its tail, and its points if custom."""
        self.fade = fade
        xs, ys = curve(fade, CURVE_SAMPLES)
        self.curve_item.setData(xs, ys)
        tail = autonomous_tail(xs, ys)
        self.tail.setVisible(tail is not None and tail < 1.0)
        self.tail_label.setVisible(self.tail.isVisible())
        if tail is not None:
            self.tail.setRegion((tail, 1.0))
            self.tail_label.setPos((tail + 1.0) / 2, 1.0)
        custom = fade.schedule == "custom"
        self.points_item.setVisible(custom)
        self.points_item.setData(pos=[tuple(p) for p in fade.points] if custom else [])

    def plotted_curve(self) -> tuple[list[float], list[float]]:
        xs, ys = self.curve_item.getData()
        return list(xs), list(ys)

    # -- edits -----------------------------------------------------------------------------

    def _points(self) -> Points:
        return [[float(x), float(y)] for x, y in self.fade.points]

    def _on_point_dragged(self, index: int, x: float, y: float) -> None:
        points = self._points()
        points[index] = clamp_point(points, index, x, y)
        self.sig_points_edited.emit(points)

    def _on_point_removed(self, index: int) -> None:
        points = self._points()
        if len(points) > 2:
            del points[index]
            self.sig_points_edited.emit(points)

    def eventFilter(self, watched, event) -> bool:
        if (watched is self.plot.viewport() and event.type() == QEvent.Type.MouseButtonDblClick
                and event.button() == Qt.MouseButton.LeftButton):
            self._add_point(self.view_box.mapSceneToView(self.plot.mapToScene(event.position().toPoint())))
        return False

    def _add_point(self, pos: QPointF) -> None:
        x, y = pos.x(), pos.y()
        points = self._points()
        if self.fade.schedule != "custom" or not (0.0 <= x <= 1.0) or any(abs(px - x) < MIN_GAP for px, _ in points):
            return
        index = sum(px < x for px, _ in points)
        points.insert(index, [round(x, 4), round(min(max(y, 0.0), 1.0), 4)])
        self.sig_points_edited.emit(points)
