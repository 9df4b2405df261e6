"""A read-only table of problems: the import preview (dicts) or the project's problem table.

Cells are formatted on demand (one line, clipped), so a table of many thousands of problems
costs one Python object per problem and nothing per cell until it is painted.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

PROBLEM_COLUMNS = ("id", "question", "answer", "answer_type", "choices", "split")
CELL_CHARS = 160


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " | ".join(str(v) for v in value)
    return str(value)


class ProblemsModel(QAbstractTableModel):
    """Rows are ``Problem`` objects or dicts with the same keys."""

    def __init__(self, columns: tuple[str, ...] = PROBLEM_COLUMNS, parent=None):
        super().__init__(parent)
        self.columns = columns
        self.records: list = []

    def set_records(self, records: list) -> None:
        self.beginResetModel()
        self.records = list(records)
        self.endResetModel()

    def value(self, row: int, column: str):
        record = self.records[row]
        return record.get(column) if isinstance(record, dict) else getattr(record, column, None)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        text = _cell(self.value(index.row(), self.columns[index.column()]))
        if role == Qt.ItemDataRole.DisplayRole:
            return text.replace("\n", " ")[:CELL_CHARS]
        if role == Qt.ItemDataRole.ToolTipRole and len(text) > 40:
            return text[:2000]
        return None
