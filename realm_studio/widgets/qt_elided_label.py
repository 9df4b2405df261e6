"""A one-line label that shortens a long text at a whole word ("Run: realm-r1 — interrupted (the …")
and shows the full text on hover, so a long state never pushes the widgets beside it away."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

ELLIPSIS = " …"


def elide_words(text: str, fits) -> str:
    """The longest run of ``text``'s leading words (plus " …") for which ``fits(candidate)``."""
    if fits(text):
        return text
    words = text.split(" ")
    for end in range(len(words) - 1, 0, -1):
        candidate = " ".join(words[:end]).rstrip(",;:—-") + ELLIPSIS
        if fits(candidate):
            return candidate
    return ELLIPSIS.strip()


class QtElidedLabel(QLabel):
    """``setText`` keeps the full text; the label shows as many whole words as fit."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens its row
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        """The full text (what the label stands for, not the shortened one on screen)."""
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics, width = self.fontMetrics(), max(self.width(), 1)
        super().setText(elide_words(self._full, lambda candidate: metrics.horizontalAdvance(candidate) <= width))
