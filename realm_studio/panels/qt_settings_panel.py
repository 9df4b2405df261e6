"""Settings: every key of ``realm.toml``, edited with the schema's own help, choices and ranges.

The form is built from ``engine.config.describe_fields`` (nothing is listed twice): a check box
for a yes/no key, a list for a key with choices, a line for the rest, each with its help text
and range under it. Every edit is checked with the loader's own rules (``check_config``), so
what appears beside a field is exactly what loading the file would say (a learning rate of 1e9
is refused here as in the engine), and Save waits until there is nothing to say. Save writes
through ``save_config`` (atomic, validated); Revert reads the file again.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

from engine.config import Config, check_config, describe_fields, load_config, save_config
from engine.errors import UserError

from ..engine_client import EngineClient
from ..widgets.qt_theme import ERROR_STYLE
from . import QtPanel


def range_text(field: dict) -> str:
    """The constraint a field's value must meet, e.g. "in (0.0, 1.0]" or "one of auto, cpu, cuda"."""
    if field.get("choices"):
        return "one of " + ", ".join(field["choices"])
    lo, hi = field.get("lo"), field.get("hi")
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f"{'>' if field.get('lo_open') else '>='} {lo}"
    return f"in {'(' if field.get('lo_open') else '['}{lo}, {hi}]"


def parse_value(field: dict, text: str):
    """The value a line stands for: text for a string key, else a TOML literal (kept as text when
    it is none, so the check names the problem)."""
    if field["type"] == "str":
        return text
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text


class QtSettingsPanel(QtPanel):
    title = "Settings"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.fields = {f["key"]: f for f in describe_fields()}
        self.editors: dict[str, QWidget] = {}
        self.problem_labels: dict[str, QLabel] = {}
        self.problems: dict[str, str] = {}
        self.config = Config()
        self.empty = QLabel("Create or open a project first (File › New project… or File › Open project…).")
        self.save_button = QPushButton("Save to realm.toml", clicked=self.save)
        self.revert_button = QPushButton("Revert", clicked=lambda: self.set_project(self.project_dir))
        self.status = QLabel(wordWrap=True)
        content = QWidget()
        sections = QVBoxLayout(content)
        boxes: dict[str, QFormLayout] = {}
        for key, field in self.fields.items():
            section = key.split(".")[0]
            if section not in boxes:
                box = QGroupBox(f"[{section}]")
                boxes[section] = QFormLayout(box)
                sections.addWidget(box)
            boxes[section].addRow(key.split(".")[1], self._field_row(key, field))
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(content)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.set_project(None)

    def _field_row(self, key: str, field: dict) -> QWidget:
        if field["type"] == "bool":
            editor = QCheckBox()
            editor.toggled.connect(self._on_edited)
        elif field.get("choices"):
            editor = QComboBox()
            editor.addItems(field["choices"])
            editor.currentTextChanged.connect(self._on_edited)
        else:
            editor = QLineEdit()
            editor.textChanged.connect(self._on_edited)
        editor.setToolTip(field["help"])
        self.editors[key] = editor
        problem = self.problem_labels[key] = QLabel(wordWrap=True, styleSheet=ERROR_STYLE)
        limits = range_text(field)
        help_label = QLabel(field["help"] + (f" ({limits})" if limits else ""), wordWrap=True,
                            styleSheet="font-size: 11px")
        row = QWidget()
        layout = QVBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(1)
        layout.addWidget(editor)
        layout.addWidget(help_label)
        layout.addWidget(problem)
        return row

    # -- model → view -------------------------------------------------------------------

    def set_project(self, project_dir: Path | None) -> None:
        super().set_project(project_dir)
        self.empty.setVisible(project_dir is None)
        self.status.setText("")
        if project_dir is not None:
            try:
                self.config = load_config(self.project_dir)
            except UserError as err:
                self.status.setText(f"realm.toml cannot be loaded: {str(err).splitlines()[0]} (edit the file, "
                                    "then Revert)")
                self.config = Config()
        self._show(self.config)

    def _show(self, cfg: Config) -> None:
        values = {f"{section}.{name}": value for section, table in cfg.to_dict().items() for name, value in table.items()}
        for key, editor in self.editors.items():
            editor.blockSignals(True)
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(values[key]))
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(values[key]))
            else:
                value = values[key]
                editor.setText(value if isinstance(value, str) else str(value).replace("'", '"'))
            editor.setEnabled(self.project_dir is not None)
            editor.blockSignals(False)
        self._on_edited()

    # -- view → model -------------------------------------------------------------------

    def edited_config(self) -> Config:
        """The form as a Config (unchecked: ``check_config`` says what is wrong with it)."""
        raw: dict[str, dict] = {}
        for key, editor in self.editors.items():
            section, name = key.split(".")
            if isinstance(editor, QCheckBox):
                value = editor.isChecked()
            elif isinstance(editor, QComboBox):
                value = editor.currentText()
            else:
                value = parse_value(self.fields[key], editor.text())
            raw.setdefault(section, {})[name] = value
        return Config(**{section: dataclasses.replace(getattr(self.config, section), **values)
                         for section, values in raw.items()})

    def _on_edited(self) -> None:
        self.problems = check_config(self.edited_config())
        for key, label in self.problem_labels.items():
            label.setText(self.problems.get(key, ""))
        loose = [f"{k}: {v}" for k, v in self.problems.items() if k not in self.problem_labels]
        if loose:
            self.status.setText("; ".join(loose))
        self.save_button.setEnabled(self.project_dir is not None and not self.problems)
        self.revert_button.setEnabled(self.project_dir is not None)

    def save(self) -> None:
        if self.project_dir is None or self.problems:
            return
        try:
            save_config(self.project_dir, self.edited_config())
        except UserError as err:
            self.status.setText(f"not saved: {str(err).splitlines()[0]}")
            return
        self.config = load_config(self.project_dir)
        self.status.setText("Saved to realm.toml: the next run uses it (runs so far keep their frozen config).")
        self.sig_status.emit("saved")
        self.sig_changed.emit()

