"""One held-out problem's answers side by side: the base model and the run, without and with routes.

The completions come from the evaluations' ledgers (``completion_without``, ``completion_with``);
an evaluation that did not record one says so instead of showing nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

CELLS = (("base", "without"), ("run", "without"), ("base", "with"), ("run", "with"))
MISSING = "(not recorded by this evaluation)"


def _mark(row: dict, how: str) -> str:
    value = row.get(f"correct_{how}")
    return "" if value is None else (" ✓" if value else " ✗")


class QtCompletions(QWidget):
    """A 2 × 2 grid: rows without / with routes, columns base model / run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.question = QLabel("Click a problem above to read its answers.", wordWrap=True)
        self.boxes: dict[tuple[str, str], QGroupBox] = {}
        self.texts: dict[tuple[str, str], QPlainTextEdit] = {}
        grid = QGridLayout()
        for index, key in enumerate(CELLS):
            box = self.boxes[key] = QGroupBox()
            text = self.texts[key] = QPlainTextEdit(readOnly=True)
            QVBoxLayout(box).addWidget(text)
            grid.addWidget(box, index // 2, index % 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.question)
        layout.addLayout(grid, 1)
        self.show_rows({}, {}, "")

    def show_rows(self, base: dict, run: dict, run_name: str) -> None:
        """Show a ledger row of the base model and of the run (either may be empty)."""
        row = run or base
        gold = f" — gold answer {row['answer']}" if row.get("answer") is not None else ""
        self.question.setText(f"<b>{row.get('problem_id', '')}</b>: {row.get('question', '')}{gold}" if row
                              else "Click a problem above to read its answers.")
        for side, how in CELLS:
            source = base if side == "base" else run
            name = "Base model" if side == "base" else (run_name or "Run")
            routes = "without routes" if how == "without" else "with routes"
            self.boxes[(side, how)].setTitle(f"{name} — {routes}{_mark(source, how)}")
            text = source.get(f"completion_{how}") if source else None
            self.texts[(side, how)].setPlainText(text if text else MISSING if source else "")
