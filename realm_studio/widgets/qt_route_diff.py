"""A positive and a negative route of one problem, side by side, step against step.

The steps are aligned by ``engine.method.route_diff`` (the same function the tests check),
the first aligned pair that differs is painted amber: that is where the wrong route left
the right one. The step that states each route's extracted final answer is painted green
(positive) or red (negative), so a wrong answer reached by a right-looking path stands out.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from engine.method.prompts import split_steps
from engine.method.route_diff import align_steps, first_divergence, pair_differs

from ..models.routes_model import Route

DIVERGENCE_COLOUR = QColor("#ffd27f")
ANSWER_COLOURS = (QColor("#b9ecb9"), QColor("#f5b8b8"))  # positive side, negative side


def answer_step(steps: list[str], final_answer: str) -> int | None:
    """Index of the last step that mentions the extracted final answer (None if none does)."""
    needle = final_answer.strip().casefold()
    if not needle:
        return None
    hits = [i for i, step in enumerate(steps) if needle in step.casefold()]
    return hits[-1] if hits else None


class QtRouteDiff(QWidget):
    """Two combos pick the routes; a two-column table shows their aligned steps."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._routes: tuple[list[Route], list[Route]] = ([], [])
        self.divergence_row: int | None = None
        self.combos = (QComboBox(), QComboBox())
        pickers = QHBoxLayout()
        for title, combo in zip(("Positive", "Negative"), self.combos):
            pickers.addWidget(QLabel(title))
            pickers.addWidget(combo, 1)
            combo.currentIndexChanged.connect(self._refresh)
        self.summary = QLabel()
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Positive route", "Negative route"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(pickers)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def set_routes(self, positives: list[Route], negatives: list[Route]) -> None:
        """Show one problem's routes; the first positive and the first negative are picked."""
        self._routes = (positives, negatives)
        for combo, routes in zip(self.combos, self._routes):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"{i + 1}/{len(routes)} · answer {r.final_answer or '—'}" for i, r in enumerate(routes)])
            combo.setEnabled(bool(routes))
            combo.blockSignals(False)
        self._refresh()

    def shown_routes(self) -> tuple[Route | None, Route | None]:
        """The positive and the negative route on screen."""
        return tuple(routes[c.currentIndex()] if routes and c.currentIndex() >= 0 else None
                     for c, routes in zip(self.combos, self._routes))

    def _refresh(self) -> None:
        positive, negative = self.shown_routes()
        steps = tuple(split_steps(r.text) if r else [] for r in (positive, negative))
        pairs = align_steps(*steps)
        self.divergence_row = first_divergence(*steps) if positive and negative else None
        answers = tuple(answer_step(s, r.final_answer) if r else None for s, r in zip(steps, (positive, negative)))
        self.table.setRowCount(len(pairs))
        for row, pair in enumerate(pairs):
            differs = pair_differs(*steps, pair)
            for side, index in enumerate(pair):
                item = QTableWidgetItem(steps[side][index] if index is not None else "")
                if index is not None and index == answers[side]:
                    item.setBackground(QBrush(ANSWER_COLOURS[side]))
                    item.setToolTip("states the extracted final answer")
                elif row == self.divergence_row:
                    item.setBackground(QBrush(DIVERGENCE_COLOUR))
                    item.setToolTip("first divergence")
                if differs:
                    font = QFont()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, side, item)
        if positive is None or negative is None:
            self.summary.setText("This problem needs a positive and a negative route for a diff.")
        elif self.divergence_row is None:
            self.summary.setText("The two routes have the same steps.")
        else:
            self.summary.setText(f"First divergence at aligned step {self.divergence_row + 1} of {len(pairs)} "
                                 f"(amber); final answers in green / red.")
        if self.divergence_row is not None:
            self.table.scrollToItem(self.table.item(self.divergence_row, 0))
