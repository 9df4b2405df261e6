"""A positive and a negative route of one problem, side by side, step against step.

The steps are aligned by ``engine.method.route_diff`` (the same function the tests check): by
what they say and the values they compute, so a paraphrase still lines up. The step where the
negative route goes wrong is painted amber; pairs that disagree are bold. The step that states
each route's extracted final answer is painted green (positive) or red (negative), so a wrong
answer reached by a right-looking path stands out. Picking a negative picks the positive worded
most like it (the user can pick another). When the routes file said which step a generator
corrupted (the bundled domains do), the summary says so beside what the diff found.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from engine.method.prompts import split_steps
from engine.method.route_diff import closest_route, diff_routes

from ..models.routes_model import Route

DIVERGENCE_COLOUR = QColor("#ffd27f")
ANSWER_COLOURS = (QColor("#b9ecb9"), QColor("#f5b8b8"))  # positive side, negative side
INK = QColor("#1f2328")  # text on the light highlight colours, in a dark palette too


def answer_step(steps: list[str], final_answer: str) -> int | None:
    """Index of the last step that mentions the extracted final answer (None if none does)."""
    needle = final_answer.strip().casefold()
    if not needle:
        return None
    hits = [i for i, step in enumerate(steps) if needle in step.casefold()]
    return hits[-1] if hits else None


def generator_note(route: Route) -> str:
    """What a routes file said about how a negative was made, e.g. "arithmetic slip at step 6"."""
    step, kind = route.meta.get("corrupted_step"), route.meta.get("kind")
    if not isinstance(step, int):
        return ""
    return f"{str(kind or 'an error').replace('_', ' ')} at step {step}"


class QtRouteDiff(QWidget):
    """The problem's question, two combos to pick the routes, and their aligned steps."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._routes: tuple[list[Route], list[Route]] = ([], [])
        self.divergence_row: int | None = None
        self.wrong_step: int | None = None  # index of the negative route's step flagged
        self.question = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.combos = (QComboBox(), QComboBox())
        pickers = QHBoxLayout()
        for title, combo in zip(("Positive", "Negative"), self.combos):
            pickers.addWidget(QLabel(title))
            pickers.addWidget(combo, 1)
        self.combos[0].currentIndexChanged.connect(self._refresh)
        self.combos[1].currentIndexChanged.connect(self._on_negative_picked)
        self.summary = QLabel(wordWrap=True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Positive route", "Negative route"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.question)
        layout.addLayout(pickers)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self.table.resizeRowsToContents()

    def set_routes(self, positives: list[Route], negatives: list[Route], question: str = "") -> None:
        """Show one problem's routes: the first negative, against the positive worded most like it."""
        self.question.setText(f"<b>Question:</b> {html.escape(question)}" if question else "")
        self.question.setVisible(bool(question))
        self._routes = (positives, negatives)
        for combo, routes in zip(self.combos, self._routes):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([self._item_text(i, r, len(routes)) for i, r in enumerate(routes)])
            combo.setEnabled(bool(routes))
            combo.blockSignals(False)
        self._on_negative_picked()

    @staticmethod
    def _item_text(index: int, route: Route, count: int) -> str:
        note = generator_note(route)
        return f"{index + 1}/{count} · answer {route.final_answer or '—'}" + (f" · {note}" if note else "")

    def shown_routes(self) -> tuple[Route | None, Route | None]:
        """The positive and the negative route on screen."""
        return tuple(routes[c.currentIndex()] if routes and c.currentIndex() >= 0 else None
                     for c, routes in zip(self.combos, self._routes))

    def _on_negative_picked(self) -> None:
        positives, _ = self._routes
        negative = self.shown_routes()[1]
        if negative is not None and positives:
            closest = closest_route(split_steps(negative.text), [split_steps(p.text) for p in positives])
            self.combos[0].blockSignals(True)
            self.combos[0].setCurrentIndex(closest)
            self.combos[0].blockSignals(False)
        self._refresh()

    def _refresh(self) -> None:
        positive, negative = self.shown_routes()
        steps = tuple(split_steps(r.text) if r else [] for r in (positive, negative))
        diff = diff_routes(*steps)
        both = positive is not None and negative is not None
        self.divergence_row = diff.divergence if both else None
        self.wrong_step = diff.wrong_step if both else None
        answers = tuple(answer_step(s, r.final_answer) if r else None for s, r in zip(steps, (positive, negative)))
        self.table.setRowCount(len(diff.pairs))
        for row, (pair, differs) in enumerate(zip(diff.pairs, diff.differs)):
            for side, index in enumerate(pair):
                self.table.setItem(row, side, self._cell(steps[side], index, side, answers[side],
                                                         row == self.divergence_row, differs and both))
        self.summary.setText(self._summary_text(positive, negative, len(steps[1])))
        self.table.resizeRowsToContents()  # whole steps, wrapped at the columns' widths of now
        if self.divergence_row is not None:
            self.table.scrollToItem(self.table.item(self.divergence_row, 0))

    @staticmethod
    def _cell(steps: list[str], index: int | None, side: int, answer: int | None, flagged: bool,
              differs: bool) -> QTableWidgetItem:
        item = QTableWidgetItem(steps[index] if index is not None else "")
        colour, tip = None, ""
        if index is not None and index == answer:
            colour, tip = ANSWER_COLOURS[side], "states the extracted final answer"
        elif flagged:
            colour, tip = DIVERGENCE_COLOUR, "where the negative route goes wrong"
        if colour is not None:
            item.setBackground(QBrush(colour))
            item.setForeground(QBrush(INK))
            item.setToolTip(tip)
        if differs:
            font = QFont()
            font.setBold(True)
            item.setFont(font)
        return item

    def _summary_text(self, positive: Route | None, negative: Route | None, negative_steps: int) -> str:
        if positive is None or negative is None:
            return "This problem needs a positive and a negative route for a diff."
        if self.wrong_step is None:
            return "The two routes agree step by step."
        where = (f"its step {self.wrong_step + 1}" if self.wrong_step < negative_steps
                 else "its end (a step is missing)")
        note = generator_note(negative)
        generator = f" The routes file says: {note}." if note else ""
        return f"The negative route goes wrong at {where} (amber); final answers in green / red.{generator}"
