"""File › New project: a folder, the model to train and the answer type, then ``realm-engine init``.

The model is the bundled default (Gemma 3 270M, converted on first use), a local folder (it must
exist) or a Hugging Face hub id (``org/name``, fetched when first loaded). The dialog shows the
command it stands for and is accepted only when every field is usable.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QVBoxLayout, QWidget)

from engine.config import ANSWER_TYPES, DEFAULT_MODEL
from engine.project import is_project

from ..engine_client import command_line
from ..widgets.qt_theme import ERROR_STYLE

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


class QtNewProjectDialog(QDialog):
    """Folder, model (bundled / local folder / hub id) and answer type; ``init_args()`` is the verb."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.folder = QLineEdit(placeholderText="a new or empty folder")
        self.bundled = QRadioButton(f"Bundled default ({DEFAULT_MODEL}: Gemma 3 270M, runs on a CPU)", checked=True)
        self.local = QRadioButton("A model folder on this computer")
        self.hub = QRadioButton("A Hugging Face hub id")
        self.kinds = QButtonGroup(self)
        for button in (self.bundled, self.local, self.hub):
            self.kinds.addButton(button)
            button.toggled.connect(self._update)
        self.local_path = QLineEdit(placeholderText="/path/to/model")
        self.hub_id = QLineEdit(placeholderText="Qwen/Qwen2.5-0.5B-Instruct")
        self.answer_type = QComboBox()
        self.answer_type.addItems(ANSWER_TYPES)
        self.answer_type.setCurrentText("number")
        self.error = QLabel(wordWrap=True, styleSheet=ERROR_STYLE)
        self.command = QLabel(wordWrap=True, styleSheet="font-family: monospace")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Folder", self._with_browse(self.folder, self._on_browse_folder))
        form.addRow("Model", self.bundled)
        form.addRow("", self.local)
        form.addRow("", self._with_browse(self.local_path, self._on_browse_model))
        form.addRow("", self.hub)
        form.addRow("", self.hub_id)
        form.addRow("Answer type", self.answer_type)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.command)
        layout.addWidget(self.buttons)
        for edit in (self.folder, self.local_path, self.hub_id):
            edit.textChanged.connect(self._update)
        self.answer_type.currentTextChanged.connect(self._update)
        self._update()

    @staticmethod
    def _with_browse(edit: QLineEdit, slot) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(QPushButton("Browse…", clicked=slot))
        return row

    def model(self) -> str:
        if self.local.isChecked():
            return self.local_path.text().strip()
        return self.hub_id.text().strip() if self.hub.isChecked() else DEFAULT_MODEL

    def init_args(self) -> list[str]:
        args = ["init", self.folder.text().strip() or "DIR"]
        if self.model() != DEFAULT_MODEL:
            args += ["--model", self.model()]
        return args + ["--answer-type", self.answer_type.currentText()]

    def problem(self) -> str:
        folder = self.folder.text().strip()
        if not folder:
            return "Give the project's folder."
        if is_project(folder):
            return f"{folder} is a project already: open it with File › Open project…"
        if self.local.isChecked() and not Path(self.model()).expanduser().is_dir():
            return f"No model folder {self.model() or '(none given)'}: pick one with Browse…"
        if self.hub.isChecked() and not HUB_ID.fullmatch(self.model()):
            return "A hub id looks like org/name, e.g. Qwen/Qwen2.5-0.5B-Instruct."
        return ""

    def _update(self) -> None:
        self.local_path.setEnabled(self.local.isChecked())
        self.hub_id.setEnabled(self.hub.isChecked())
        problem = self.problem()
        self.error.setText(problem)
        self.command.setText(command_line(self.init_args()))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)

    def _on_browse_folder(self) -> None:
        folder, _filter = QFileDialog.getSaveFileName(self, "New project folder")
        if folder:
            self.folder.setText(folder)

    def _on_browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder")
        if folder:
            self.local_path.setText(folder)
