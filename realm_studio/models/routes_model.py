"""The Routes browser's data: ``routes/routes.parquet`` grouped by problem, shown lazily.

A project can hold hundreds of thousands of routes. They are read once with pyarrow and
grouped with numpy (one stable argsort of the problem codes): no Python object per route is
ever built. The problem table asks for a cell only when the view paints it, and a route's
text is pulled out of the Arrow column only when the diff shows it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from engine.config import ROUTE_LABELS
from engine.data.problems import decode_meta
from engine.project import problems_path, routes_path

LABELS = ROUTE_LABELS  # label codes 0, 1, 2 (anything else counts as unparsed)


@dataclass(frozen=True)
class Route:
    """One route as the diff shows it."""

    id: str
    text: str
    final_answer: str
    label: str
    meta: dict = field(default_factory=dict)  # what the routes file said besides the text (a generator's kind, …)


class RouteStore:
    """All routes of a project, grouped by problem (index arrays, not Python lists)."""

    def __init__(self, table, questions: dict[str, str] | None = None):
        import pyarrow.compute as pc

        self._table = table
        encoded = pc.dictionary_encode(table.column("problem_id")).combine_chunks()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.problem_ids: list[str] = encoded.dictionary.to_pylist()
        n = len(self.problem_ids)
        self._order = np.argsort(codes, kind="stable")  # route rows, grouped by problem, file order kept
        self._starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n))])
        labels = table.column("label")
        self._label_codes = np.full(len(table), 2, dtype=np.int8)
        for code, name in enumerate(LABELS[:2]):
            self._label_codes[pc.equal(labels, name).to_numpy(zero_copy_only=False)] = code
        self.counts = np.stack([np.bincount(codes[self._label_codes == c], minlength=n) for c in range(3)], axis=1)
        self.questions = questions or {}
        self._search_text: np.ndarray | None = None

    @classmethod
    def load(cls, project_dir: Path) -> RouteStore | None:
        """The project's routes, or ``None`` when there are none yet."""
        import pyarrow.parquet as pq

        path = routes_path(project_dir)
        if not path.exists():
            return None
        columns = ["id", "problem_id", "text", "final_answer", "label"]
        columns += ["meta"] if "meta" in pq.read_schema(path).names else []  # older tables have none
        table = pq.read_table(path, columns=columns)
        questions: dict[str, str] = {}
        problems = problems_path(project_dir)
        if problems.exists():
            cols = pq.read_table(problems, columns=["id", "question"]).to_pydict()
            questions = dict(zip(cols["id"], cols["question"]))
        return cls(table, questions)

    @property
    def n_routes(self) -> int:
        return len(self._table)

    def search_text(self) -> np.ndarray:
        """Casefolded "id, newline, question" of every problem, built on the first search."""
        if self._search_text is None:
            self._search_text = np.array([f"{pid}\n{self.questions.get(pid, '')}".casefold()
                                          for pid in self.problem_ids])
        return self._search_text

    def is_contrastive(self, problem: int) -> bool:
        """At least one positive and one negative route: MRPV can contrast them."""
        return bool(self.counts[problem, 0] > 0 and self.counts[problem, 1] > 0)

    def route_rows(self, problem: int, label: str) -> np.ndarray:
        """Table rows of one problem's routes with ``label``, in file order."""
        rows = self._order[self._starts[problem]:self._starts[problem + 1]]
        return rows[self._label_codes[rows] == LABELS.index(label)]

    def route(self, row: int) -> Route:
        cells = {name: self._table.column(name)[int(row)].as_py() for name in ("id", "text", "final_answer", "label")}
        meta = self._table.column("meta")[int(row)].as_py() if "meta" in self._table.column_names else None
        return Route(id=str(cells["id"]), text=cells["text"] or "", final_answer=cells["final_answer"] or "",
                     label=cells["label"] or "unparsed", meta=decode_meta(meta))


def routes_of_source(project_dir: Path, source: str) -> int:
    """How many stored routes came from ``source`` (a file imported again replaces them)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = routes_path(project_dir)
    if not path.exists():
        return 0
    return int(pc.sum(pc.equal(pq.read_table(path, columns=["source"]).column("source"), source)).as_py() or 0)


class ProblemRoutesModel(QAbstractTableModel):
    """One row per problem that has routes: id, question, route counts, contrastive flag."""

    HEADERS = ("ID", "Question", "+", "−", "?", "Contrastive")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.store: RouteStore | None = None

    def set_store(self, store: RouteStore | None) -> None:
        self.beginResetModel()
        self.store = store
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        if parent.isValid() or self.store is None:
            return 0
        return len(self.store.problem_ids)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if self.store is None or not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return self.store.problem_ids[row]
            if col == 1:
                return self.question(row).replace("\n", " ")[:200]
            if col in (2, 3, 4):
                return int(self.store.counts[row, col - 2])
            return "yes" if self.store.is_contrastive(row) else ""
        if role == Qt.ItemDataRole.ToolTipRole and col in (0, 1):  # rich text: a long question wraps
            return f"<p>{html.escape(self.question(row))}</p>"
        return None

    def question(self, row: int) -> str:
        return self.store.questions.get(self.store.problem_ids[row], "") if self.store else ""


class ProblemFilterProxy(QSortFilterProxyModel):
    """Filters the problem table: contrastive only, has positives, text in id or question.

    The accepted rows are computed as one numpy mask per filter change, so the per-row
    callback Qt makes is an array lookup even with tens of thousands of problems.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._accept: np.ndarray | None = None

    def set_filters(self, contrastive_only: bool, has_positives: bool, text: str) -> None:
        self.beginFilterChange()
        store = self.sourceModel().store
        self._accept = None
        if store is not None:
            accept = np.ones(len(store.problem_ids), dtype=bool)
            if contrastive_only:
                accept &= (store.counts[:, 0] > 0) & (store.counts[:, 1] > 0)
            if has_positives:
                accept &= store.counts[:, 0] > 0
            if text:
                accept &= np.char.find(store.search_text(), text.casefold()) >= 0
            self._accept = accept
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        return self._accept is None or bool(self._accept[source_row])
