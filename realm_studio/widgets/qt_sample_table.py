"""The table of recent rollouts (``sample`` events): what the model actually wrote.

A bounded model (the newest ``MAX_ROWS``) so a long run never grows the view without end;
hinted ones are marked, full text in tooltips. The step is the run's step, as on the plots.
Best rollouts are tinted green and worst red only when their rewards differ: a step whose
completions all scored alike has no best and no worst.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

from engine.events import int_field, number

MAX_ROWS = 2000
PREVIEW_CHARS = 200
COLUMNS = ("step", "rank", "hinted", "rewards", "prompt", "completion")
RANK_COLORS = {"best": QColor(46, 160, 67, 60), "worst": QColor(218, 54, 51, 60)}


def rewards_text(rewards: dict) -> str:
    parts = []
    for name, value in (rewards.items() if isinstance(rewards, dict) else ()):
        parts.append(f"{name}={value:.3g}" if isinstance(value, (int, float)) else f"{name}={value}")
    return " ".join(parts)


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= PREVIEW_CHARS else "…" + flat[-PREVIEW_CHARS:]


def _step_key(sample: dict) -> tuple:
    """(stage, step) of a sample, hashable whatever a damaged log holds in those fields."""
    stage = sample.get("stage")
    return (stage if isinstance(stage, str) else None), int_field(sample, "step")


def _total(sample: dict) -> float:
    rewards = sample.get("rewards")
    values = (number(v) for v in rewards.values()) if isinstance(rewards, dict) else ()
    return round(sum(v for v in values if v is not None), 9)


class SampleTableModel(QAbstractTableModel):
    """The newest samples, oldest first."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.samples: deque[dict] = deque(maxlen=MAX_ROWS)
        self._scores: dict[tuple, set[float]] = {}  # (stage, step) -> the distinct reward totals seen

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() else len(self.samples)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        sample = self.samples[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell_text(sample, column)
        if role == Qt.ItemDataRole.ToolTipRole and column in ("prompt", "completion"):
            return str(sample.get(column, ""))
        if role == Qt.ItemDataRole.BackgroundRole and self.rewards_differ(sample):
            return RANK_COLORS.get(sample.get("rank"))
        return None

    def rewards_differ(self, sample: dict) -> bool:
        """Whether the samples of this sample's step scored differently (best and worst mean something)."""
        return len(self._scores.get(_step_key(sample), ())) > 1

    @staticmethod
    def cell_text(sample: dict, column: str) -> str:
        if column == "hinted":
            return "hinted" if sample.get("hinted") else ""
        if column == "rewards":
            return rewards_text(sample.get("rewards"))
        if column in ("prompt", "completion"):
            return _one_line(sample.get(column, ""))
        value = sample.get("run_step", sample.get("step")) if column == "step" else sample.get(column)
        return "" if value is None else str(value)

    def add(self, sample: dict) -> None:
        if len(self.samples) == MAX_ROWS:  # the oldest row falls off the top
            self.beginRemoveRows(QModelIndex(), 0, 0)
            self.samples.popleft()
            self.endRemoveRows()
        row = len(self.samples)
        self.beginInsertRows(QModelIndex(), row, row)
        self.samples.append(sample)
        self.endInsertRows()
        scores = self._scores.setdefault(_step_key(sample), set())
        if _total(sample) not in scores and scores:  # the step's earlier rows get their tint now
            self.dataChanged.emit(self.index(max(0, row - 8), 0), self.index(row, len(COLUMNS) - 1))
        scores.add(_total(sample))

    def clear(self) -> None:
        self.beginResetModel()
        self.samples.clear()
        self._scores.clear()
        self.endResetModel()


class QtSampleTable(QWidget):
    """A read-only view of ``SampleTableModel`` that follows the newest row."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = SampleTableModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        header = self.view.horizontalHeader()
        for column, width in enumerate((50, 50, 55, 220)):  # fixed: sizing to contents is O(rows)
            header.resizeSection(column, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def add_sample(self, sample: dict) -> None:
        self.model.add(sample)
        self.view.scrollToBottom()

    def clear(self) -> None:
        self.model.clear()

    def row_texts(self) -> list[list[str]]:
        """What the table shows, row by row (tests compare it with what was written)."""
        return [[SampleTableModel.cell_text(s, c) for c in COLUMNS] for s in self.model.samples]
