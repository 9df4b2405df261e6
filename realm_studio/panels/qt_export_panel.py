"""Export: the step page that lists a project's runs and exports, and opens the export dialog.

Only runs with at least one finished stage are offered: that is what ``export`` needs (the
same test as the engine's, ``RunFolder.finished_stages``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.project import exports_dir, run_folder
from engine.runs import list_runs

from ..engine_client import EngineClient
from . import QtPanel
from .qt_export_dialog import QtExportDialog


class QtExportPanel(QtPanel):
    """The Export step: pick a run, open the dialog; lists what was exported so far."""

    title = "Export"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.run_combo = QComboBox()
        self.export_button = QPushButton("Export…", clicked=self.open_dialog)
        self.exports_label = QLabel(wordWrap=True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Run"))
        row.addWidget(self.run_combo, 1)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.exports_label)
        layout.addStretch(1)

    def set_project(self, project_dir: Path | None) -> None:
        super().set_project(project_dir)
        self.run_combo.clear()
        if project_dir is not None:
            self.run_combo.addItems([r["name"] for r in list_runs(self.project_dir)
                                     if run_folder(self.project_dir, r["name"]).finished_stages()])
        folder = exports_dir(self.project_dir) if project_dir is not None else None
        exports = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder is not None and folder.is_dir() else []
        if project_dir is None:
            self.exports_label.setText("Create or open a project first (File › New project… or File › Open project…).")
        elif exports:
            self.exports_label.setText("Exported: " + ", ".join(exports))
        elif not self.run_combo.count():
            self.exports_label.setText("Nothing to export yet: a run must finish a stage first (Train page).")
        else:
            self.exports_label.setText("Nothing exported yet: pick a run, then press Export…")
        self.export_button.setEnabled(self.run_combo.count() > 0)
        self.sig_status.emit(f"{len(exports)} exported" if exports else "")

    def open_dialog(self) -> QtExportDialog:
        dialog = QtExportDialog(self.engine, self.project_dir, self.run_combo.currentText(), self)
        dialog.finished.connect(lambda _result: self.set_project(self.project_dir))
        dialog.open()
        return dialog
