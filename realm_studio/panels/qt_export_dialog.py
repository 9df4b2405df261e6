"""The export dialog: turn a run into a model folder others can load, and prove it still works.

The dialog runs ``export`` (merged weights, the adapter only, or a GGUF file) and shows the engine's
verification: the exported model is reloaded and re-scores a few problems, and the result
(``export_done``: verified, agree/total) is what tells the user the files are good.
The Export step page (``qt_export_panel``) lists runs and opens it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QRadioButton, QVBoxLayout, QWidget)

from engine import events as ev
from engine.config import GGUF_QUANTS
from engine.project import exports_dir

from ..engine_client import EngineClient, EngineJob, command_line


def verification_text(event: dict) -> str:
    """The one line a user reads after an export."""
    rescore, agreement = event.get("rescore") or {}, event.get("agreement") or {}
    agree = f" (re-scored {rescore.get('agree')}/{rescore.get('total')} problems alike)" if rescore else ""
    if agreement:  # a GGUF export: its answers in llama.cpp against the safetensors model's
        agree = (f" ({event.get('file')}: {agreement['answers_agree']}/{agreement['total']} held-out answers as the "
                 f"safetensors model's in llama.cpp)")
    if event.get("verified"):
        return f"Verified: {event.get('path')}{agree}"
    return f"NOT verified: {event.get('path')}{agree}; check the export log"


class QtExportDialog(QDialog):
    """Choose merged / adapter-only and a destination, run ``export``, show the verification."""

    def __init__(self, engine: EngineClient, project_dir: Path, run_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Export {run_name}")
        self.engine, self.project_dir, self.run_name = engine, Path(project_dir), run_name
        self.job: EngineJob | None = None
        self.result_event: dict | None = None
        self.merged = QRadioButton("Merged model (weights + tokenizer, loads anywhere)", checked=True)
        self.adapter_only = QRadioButton("Adapter only (small; needs the base model)")
        self.gguf = QRadioButton("GGUF for llama.cpp and Ollama (one file and a Modelfile)")
        self.quant = QComboBox()
        self.quant.addItems(GGUF_QUANTS)
        self.quant.setCurrentText("q8_0")
        gguf_row = QHBoxLayout()
        gguf_row.addWidget(self.gguf, 1)
        gguf_row.addWidget(self.quant)
        self.destination = QLineEdit(str(exports_dir(self.project_dir) / run_name))
        browse = QPushButton("Browse…", clicked=self._on_browse)
        destination_row = QHBoxLayout()
        destination_row.addWidget(self.destination, 1)
        destination_row.addWidget(browse)
        self.command_label = QLabel(wordWrap=True, styleSheet="font-family: monospace")
        self.progress = QProgressBar()
        self.result_label = QLabel(wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ApplyRole)
        self.export_button.clicked.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Kind", self.merged)
        form.addRow("", self.adapter_only)
        form.addRow("", gguf_row)
        form.addRow("Destination", destination_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.command_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.result_label)
        layout.addWidget(self.buttons)
        for widget in (self.merged, self.adapter_only, self.gguf):
            widget.toggled.connect(self._update_command)
        self.quant.currentTextChanged.connect(self._update_command)
        self.destination.textChanged.connect(self._update_command)
        self._update_command()

    def args(self) -> list[str]:
        args = ["export", str(self.project_dir), "--run", self.run_name, "--out", self.destination.text().strip()]
        if self.gguf.isChecked():
            return args + ["--format", "gguf", "--quant", self.quant.currentText()]
        return args + (["--adapter-only"] if self.adapter_only.isChecked() else [])

    def _update_command(self) -> None:
        self.command_label.setText(command_line(self.args()))

    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", str(self.project_dir))
        if folder:
            self.destination.setText(folder)

    def start_export(self) -> EngineJob | None:
        if self.job is not None or not self.destination.text().strip():
            return None
        self.result_event = None
        self.result_label.setText("Exporting…")
        self.export_button.setEnabled(False)
        self.job = self.engine.run(self.args())
        self.job.sig_event.connect(self._on_event)
        self.job.sig_finished.connect(self._on_finished)
        return self.job

    def _on_event(self, event: dict) -> None:
        if event.get("type") == ev.PROGRESS:
            self.progress.setRange(0, max(int(event.get("total") or 0), 1))
            self.progress.setValue(int(event.get("step") or 0))
        elif event.get("type") == ev.EXPORT_DONE:
            self.result_event = event
            self.result_label.setText(verification_text(event))

    def _on_finished(self, code: int) -> None:
        if code and self.result_event is None:
            self.result_label.setText(f"Export failed: {self.job.error_line or f'exit code {code}'}")
        self.job = None
        self.export_button.setEnabled(True)

    def reject(self) -> None:
        if self.job is not None:  # closing the dialog stops the export
            self.job.terminate()
        super().reject()
