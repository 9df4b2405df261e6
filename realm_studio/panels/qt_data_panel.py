"""Data: import problems from a file (a small wizard) and show the project's problem table.

Every change in the wizard (file, format, column mapping, answer type, test fraction) re-runs
``realm-engine import … --dry-run --skip-bad`` after a short pause: the preview and the
refused rows shown are the engine's own parse, not a GUI imitation of it. Import runs the
same command without ``--dry-run``; into a project that has problems it first asks whether to
replace or append them, with the preview's counts, and the replaced table stays recoverable
(``data/history/``): Undo import runs ``import --undo``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QMessageBox, QPushButton,
                               QSplitter, QTableView, QVBoxLayout, QWidget)

from engine import events as ev
from engine.config import ANSWER_TYPES, IMPORT_FORMATS, load_config
from engine.data.history import kept_at, snapshots
from engine.data.problems import read_problems
from engine.errors import UserError
from engine.project import PROBLEMS_FILE, data_history_dir, problems_path

from ..engine_client import EngineClient, EngineJob, command_line
from ..models.problems_model import ProblemsModel
from . import QtPanel

FORMATS = ("auto", *IMPORT_FORMATS)
MAPPED_FIELDS = ("question", "answer", "choices", "rules", "id")
AUTO = "(auto)"
DEFAULT_TYPE = "(project default)"
PREVIEW_DELAY_MS = 400
SNIFF_LINES = 50


def sniff_columns(path: str) -> list[str]:
    """Column names of a jsonl / csv / parquet file, read from its first lines only (for the combos)."""
    file = Path(path)
    try:
        suffix = file.suffix.lower()
        if suffix in (".jsonl", ".ndjson"):
            names: dict[str, None] = {}
            with file.open(encoding="utf-8", errors="replace") as handle:
                for _, line in zip(range(SNIFF_LINES), handle):
                    record = json.loads(line) if line.strip() else {}
                    names.update(dict.fromkeys(record if isinstance(record, dict) else []))
            return list(names)
        if suffix in (".csv", ".tsv"):
            with file.open(encoding="utf-8", errors="replace", newline="") as handle:
                return next(csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ","), [])
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(file).names)
    except (OSError, ValueError, StopIteration, RecursionError, csv.Error):
        pass  # the dry run reports what is wrong with the file
    return []


class QtDataPanel(QtPanel):
    title = "Data"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.preview_job: EngineJob | None = None
        self.import_job: EngineJob | None = None
        self.counts: dict = {}  # the last preview's: ok, rejected, existing, clashes
        self.preview_model = ProblemsModel(parent=self)
        self.problems_model = ProblemsModel(parent=self)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self._run_preview)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self._build_wizard())
        splitter.addWidget(self._build_problem_table())
        QVBoxLayout(self).addWidget(splitter)

    # -- layout ----------------------------------------------------------------------------

    def _build_wizard(self) -> QGroupBox:
        box = QGroupBox("Import problems")
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("jsonl, csv, parquet, BIG-bench task.json, HF datasets folder or hub id")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        self.format_combo = QComboBox()
        self.format_combo.addItems(FORMATS)
        self.detected = QLabel()
        self.map_combos = {name: self._column_combo() for name in MAPPED_FIELDS}
        self.answer_type = QComboBox()
        self.answer_type.addItems([DEFAULT_TYPE, *ANSWER_TYPES])
        self.test_fraction = QDoubleSpinBox(minimum=0.0, maximum=0.9, singleStep=0.05, value=0.2, decimals=2)
        self.skip_bad = QCheckBox("import the good rows and skip refused ones")
        self.skip_bad.setChecked(True)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        self.preview_table = self._table(self.preview_model)
        self.refused = QListWidget()
        self.command = QLabel()
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command.setWordWrap(True)
        self.import_button = QPushButton("Import")
        self.import_button.clicked.connect(self._on_import)
        self.undo_button = QPushButton("Undo import")
        self.undo_button.clicked.connect(self.undo_import)

        source = QHBoxLayout()
        source.addWidget(self.file_edit, 1)
        source.addWidget(browse)
        source.addWidget(self.format_combo)
        mapping = QHBoxLayout()
        for name, combo in self.map_combos.items():
            mapping.addWidget(QLabel(name))
            mapping.addWidget(combo, 1)
        options = QHBoxLayout()
        for label, widget in (("answer type", self.answer_type), ("test fraction", self.test_fraction)):
            options.addWidget(QLabel(label))
            options.addWidget(widget)
        options.addWidget(self.skip_bad)
        options.addStretch(1)
        results = QSplitter(Qt.Orientation.Horizontal)
        results.addWidget(self.preview_table)
        refused_box = QGroupBox("Refused rows (file:row: reason)")
        QVBoxLayout(refused_box).addWidget(self.refused)
        results.addWidget(refused_box)
        results.setStretchFactor(0, 3)
        form = QFormLayout(box)
        form.addRow("Source", source)
        form.addRow("Columns", mapping)
        form.addRow("Options", options)
        form.addRow(self.detected)
        form.addRow(self.error)
        form.addRow(results)
        form.addRow("Command", self.command)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        form.addRow(buttons)

        self.file_edit.textChanged.connect(self._on_file_changed)
        for signal in (self.format_combo.currentIndexChanged, self.answer_type.currentIndexChanged,
                       self.test_fraction.valueChanged, self.skip_bad.toggled,
                       *(combo.currentTextChanged for combo in self.map_combos.values())):
            signal.connect(self._on_wizard_changed)
        return box

    def _column_combo(self) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)  # hf / bigbench columns cannot be sniffed: let the user type one
        combo.addItem(AUTO)
        return combo

    def _table(self, model: ProblemsModel) -> QTableView:
        table = QTableView()
        table.setModel(model)
        table.verticalHeader().setDefaultSectionSize(22)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the question
        return table

    def _build_problem_table(self) -> QWidget:
        self.split_counts = QLabel()
        widget = QWidget()
        layout = QVBoxLayout(widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.split_counts)
        layout.addWidget(self._table(self.problems_model), 1)
        return widget

    # -- project ---------------------------------------------------------------------------

    def set_project(self, project_dir: Path | None) -> None:
        if project_dir is None or Path(project_dir) != self.project_dir:  # another project: a fresh wizard
            self.file_edit.blockSignals(True)
            self.file_edit.clear()
            self.file_edit.blockSignals(False)
            self.preview_model.set_records([])
            self.refused.clear()
            self.detected.setText("")
            self.error.setText("")
            self.counts = {}
        super().set_project(project_dir)
        self.import_button.setEnabled(False)
        if project_dir is not None:
            try:
                self.test_fraction.setValue(load_config(project_dir).data.test_fraction)
            except UserError as err:
                self.error.setText(str(err).splitlines()[0])
        self.reload_problems()
        self._on_wizard_changed()

    def reload_problems(self) -> None:
        problems = []
        if self.project_dir is not None and problems_path(self.project_dir).exists():
            problems = read_problems(problems_path(self.project_dir))
        self.problems_model.set_records(problems)
        test = sum(p.split == "test" for p in problems)
        text = f"{len(problems)} problems ({len(problems) - test} train / {test} test)"
        self.split_counts.setText(text if problems else "No problems yet: import a file above (jsonl, csv, parquet, "
                                  "BIG-bench or a Hugging Face dataset)." if self.project_dir else
                                  "Create or open a project first (File › New project… or File › Open project…).")
        kept = snapshots(data_history_dir(self.project_dir), PROBLEMS_FILE.name) if self.project_dir else []
        self.undo_button.setEnabled(bool(kept) and self.import_job is None)
        self.undo_button.setToolTip(f"Put back the problem table kept at {kept_at(kept[-1])} (data/history/); the "
                                    "current one is kept too" if kept else "No earlier problem table to go back to")
        if self.project_dir is not None:
            self.sig_status.emit(text if problems else "no problems yet")

    # -- wizard ----------------------------------------------------------------------------

    def import_args(self, dry_run: bool) -> list[str]:
        """The ``realm-engine import`` arguments the wizard stands for (without ``--json``)."""
        args = ["import", str(self.project_dir or "DIR"), self.file_edit.text().strip() or "FILE"]
        if self.format_combo.currentText() != "auto":
            args += ["--format", self.format_combo.currentText()]
        mapping = [f"{name}={combo.currentText().strip()}" for name, combo in self.map_combos.items()
                   if combo.currentText().strip() not in ("", AUTO)]
        if mapping:
            args += ["--map", ",".join(mapping)]
        if self.answer_type.currentText() != DEFAULT_TYPE:
            args += ["--answer-type", self.answer_type.currentText()]
        args += ["--test-fraction", f"{self.test_fraction.value():g}"]
        if dry_run or self.skip_bad.isChecked():
            args.append("--skip-bad")
        return args + (["--dry-run"] if dry_run else [])

    def _on_browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Problems file", str(self.project_dir or ""),
                                              "Data (*.jsonl *.ndjson *.csv *.tsv *.parquet *.pq *.json);;All (*)")
        if path:
            self.file_edit.setText(path)

    def _on_file_changed(self, path: str) -> None:
        columns = sniff_columns(path.strip())
        for combo in self.map_combos.values():
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([AUTO, *columns])
            combo.blockSignals(False)
        self._on_wizard_changed()

    def _on_wizard_changed(self) -> None:
        self.command.setText(command_line(self.import_args(dry_run=False)))
        self.import_button.setEnabled(False)  # until a fresh preview says there is something to import
        if self.project_dir is not None and self.file_edit.text().strip():
            self._preview_timer.start()  # restarts: one dry run once the user pauses
        else:
            self._preview_timer.stop()

    def _run_preview(self) -> None:
        if self.preview_job is not None:  # an older preview is stale: drop it
            self.preview_job.sig_event.disconnect(self.on_engine_event)
            self.preview_job.sig_finished.disconnect(self._on_preview_finished)
            self.preview_job.terminate()
        self.detected.setText("reading…")
        self.preview_job = self.engine.run(self.import_args(dry_run=True))
        self.preview_job.sig_event.connect(self.on_engine_event)
        self.preview_job.sig_finished.connect(self._on_preview_finished)

    def _on_preview_finished(self, code: int) -> None:
        job, self.preview_job = self.preview_job, None
        if code != 0:
            self.preview_model.set_records([])
            self.refused.clear()
            self.detected.setText("")
            self.error.setText(job.error_line if job and job.error_line else f"the engine exited with code {code}")

    def on_engine_event(self, event: dict) -> None:
        """An event of the preview or import job (tests feed events straight in here)."""
        if event.get("type") == ev.IMPORT_PREVIEW:
            counts = event.get("counts", {})
            self.preview_model.set_records(event.get("problems", []))
            self.refused.clear()
            self.refused.addItems([f"{r.get('file')}:{r.get('row')}: {r.get('reason')}"
                                   for r in event.get("rejected", [])])
            self.counts = counts
            self.detected.setText(f"format: {event.get('fmt')} · {counts.get('ok', 0)} problems ready · "
                                  f"{counts.get('rejected', 0)} refused" + (
                                      f" · the project has {counts['existing']} (Import asks: replace or append)"
                                      if counts.get("existing") else ""))
            self.error.setText("")
            self.import_button.setEnabled(counts.get("ok", 0) > 0 and self.import_job is None
                                          and (self.skip_bad.isChecked() or not counts.get("rejected")))
        elif event.get("type") == ev.IMPORT_DONE and event.get("undo"):
            self.sig_status.emit(f"undone: {event.get('imported')} problems again")
        elif event.get("type") == ev.IMPORT_DONE:
            self.sig_status.emit(f"imported {event.get('imported')} problems "
                                 f"({event.get('train')} train / {event.get('test')} test)")

    # -- import ----------------------------------------------------------------------------

    def _on_import(self) -> None:
        if self.project_dir is None or self.import_job is not None:
            return
        if not self.counts.get("existing"):
            self.start_import([])
            return
        dialog = self.mode_dialog()
        dialog.buttonClicked.connect(lambda button: self._on_mode_chosen(dialog.buttonRole(button)))
        dialog.open()

    def mode_dialog(self) -> QMessageBox:
        """Replace / Append / Cancel, with what each would leave (the preview's counts)."""
        counts = self.counts
        ok, existing, clashes = counts.get("ok", 0), counts.get("existing", 0), counts.get("clashes", 0)
        dialog = QMessageBox(QMessageBox.Icon.Question, "Import into a project with problems",
                             f"The project already has {existing} problems. This file has {ok} "
                             f"({counts.get('rejected', 0)} rows refused).", parent=self)
        dialog.setInformativeText(
            f"Replace: the project keeps these {ok} problems.\n"
            f"Append: {ok - clashes} are added ({existing + ok - clashes} in all); "
            f"{clashes} have an id the project already has and are refused.\n"
            "Either way the current table is kept in data/history/: Undo import brings it back.")
        dialog.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        dialog.addButton("Append", QMessageBox.ButtonRole.AcceptRole)
        dialog.addButton(QMessageBox.StandardButton.Cancel)
        return dialog

    def _on_mode_chosen(self, role: QMessageBox.ButtonRole) -> None:
        if role == QMessageBox.ButtonRole.DestructiveRole:
            self.start_import(["--replace"])
        elif role == QMessageBox.ButtonRole.AcceptRole:
            self.start_import(["--append"])

    def start_import(self, mode: list[str]) -> None:
        """Run the import (``mode``: [], ["--replace"] or ["--append"])."""
        self._run_import(self.import_args(dry_run=False) + mode)

    def undo_import(self) -> None:
        """``import --undo``: the problem table before the last import comes back."""
        if self.project_dir is not None and self.import_job is None:
            self._run_import(["import", str(self.project_dir), "--undo"])

    def _run_import(self, args: list[str]) -> None:
        self.import_button.setEnabled(False)
        self.undo_button.setEnabled(False)
        self.command.setText(command_line(args))
        self.import_job = self.engine.run(args)
        self.import_job.sig_event.connect(self.on_engine_event)
        self.import_job.sig_finished.connect(self._on_import_finished)

    def _on_import_finished(self, code: int) -> None:
        job, self.import_job = self.import_job, None
        if code != 0:
            self.error.setText(job.error_line if job and job.error_line else f"import failed (exit {code})")
            self.import_button.setEnabled(True)
            self.reload_problems()
            return
        self.reload_problems()
        self._on_wizard_changed()  # a fresh preview: the project's counts changed
        self.sig_changed.emit()
