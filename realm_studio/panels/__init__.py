"""The panels of the workflow (Data → Routes → Fade curve → Train → Evaluate → Export).

Every panel is a ``QtPanel``: it gets the shared ``EngineClient`` in ``__init__``, is told
which project is open through ``set_project`` (``None``: no project), and reports back
through two signals — the main window never reaches into a panel's widgets.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from ..engine_client import EngineClient


class QtPanel(QWidget):
    """Base of every workflow panel; subclasses set ``title`` and override ``set_project``."""

    title: str = "Panel"

    sig_status = Signal(str)
    """One-line state for the workflow bar, e.g. "300 problems" or "run-3 running"."""

    sig_changed = Signal()
    """This panel changed project files: the other panels should re-read the disk."""

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.engine = engine
        self.project_dir: Path | None = None

    def set_project(self, project_dir: Path | None) -> None:
        """Show ``project_dir`` (re-read from disk); ``None`` clears the panel."""
        self.project_dir = Path(project_dir) if project_dir is not None else None

    def shutdown(self) -> None:
        """Stop this panel's timers and watchers (the window is closing). Jobs are the client's."""
