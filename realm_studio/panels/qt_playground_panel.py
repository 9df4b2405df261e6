"""Playground: two models side by side on the same prompt, each reply streamed and checked.

Each side picks a model — the base model, a run (its final result, or its newest checkpoint
while it trains) or an export (safetensors or GGUF) — that ``realm-engine serve`` loads in a
child process. A held-out problem prefills the prompt with exactly what evaluation asks it; a
side with "with candidate routes" asks the problem's MRPV prompt instead, and each reply gets
the project's verifier verdict. Sampling is visible and shared: greedy, or a temperature, a
token limit and a seed. Leaving the panel's project or closing the window ends both servers.
The same as ``realm-engine chat DIR --model M [--problem ID --routes]``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QPlainTextEdit, QPushButton, QSpinBox, QSplitter, QVBoxLayout, QWidget)

from engine.data.problems import read_problems
from engine.method.prompts import student_user_text
from engine.project import exports_dir, problems_path, run_folder
from engine.runs import list_runs

from ..engine_client import EngineClient
from ..widgets.qt_chat_column import QtChatColumn
from . import QtPanel

FREE_PROMPT = "(free prompt)"


def model_specs(project: Path) -> list[str]:
    """What can be served: base, every run with weights, every export with a model in it."""
    specs = ["base"]
    for run in list_runs(project):
        if run.get("checkpoints") or run_folder(project, run["name"]).finished_stages():
            specs.append(f"run:{run['name']}")
    folder = exports_dir(project)
    if folder.is_dir():
        for export in sorted(p for p in folder.iterdir() if p.is_dir()):
            if (export / "config.json").exists() or len(list(export.glob("*.gguf"))) == 1:
                specs.append(f"export:{export.name}")
    return specs


class QtPlaygroundPanel(QtPanel):
    """Ask two served models the same prompt; see both replies stream and the verdicts."""

    title = "Playground"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.problems: dict[str, object] = {}
        self.problem = QComboBox(toolTip="A held-out problem: the prompt evaluation asks, and a verdict per reply")
        self.greedy = QCheckBox("greedy", checked=True)
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=2.0, singleStep=0.1, value=0.8, enabled=False)
        self.max_tokens = QSpinBox(minimum=1, maximum=4096, value=256)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.prompt = QPlainTextEdit(placeholderText="Type a prompt, or pick a held-out problem")
        self.prompt.setMaximumHeight(140)
        self.send_button = QPushButton("Ask both", clicked=self.ask)
        self.stop_button = QPushButton("Stop", clicked=self._on_stop)
        self.note = QLabel(wordWrap=True)
        self.columns = [QtChatColumn(engine, "A"), QtChatColumn(engine, "B")]
        self.greedy.toggled.connect(lambda on: self.temperature.setEnabled(not on))
        self.problem.activated.connect(lambda _i: self._on_problem())
        self.prompt.textChanged.connect(self._on_prompt_edited)

        sampling = QHBoxLayout()
        for label, widget in (("", self.greedy), ("temperature", self.temperature), ("max tokens", self.max_tokens),
                              ("seed", self.seed)):
            if label:
                sampling.addWidget(QLabel(label))
            sampling.addWidget(widget)
        sampling.addStretch(1)
        form = QFormLayout()
        form.addRow("Problem", self.problem)
        form.addRow("Sampling", sampling)
        buttons = QHBoxLayout()
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)
        sides = QSplitter()
        for column in self.columns:
            sides.addWidget(column)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.prompt)
        layout.addLayout(buttons)
        layout.addWidget(sides, 1)

    def set_project(self, project_dir: Path | None) -> None:
        super().set_project(project_dir)
        specs = model_specs(self.project_dir) if project_dir is not None else []
        for column in self.columns:
            column.set_models(self.project_dir, specs)
        path = problems_path(self.project_dir) if project_dir is not None else None
        held_out = [p for p in read_problems(path) if p.split == "test"] if path is not None and path.exists() else []
        self.problems = {p.id: p for p in held_out}
        current = self.problem.currentText()
        self.problem.clear()
        self.problem.addItems([FREE_PROMPT, *self.problems])
        if current in self.problems:
            self.problem.setCurrentText(current)
        self.sig_status.emit(f"{len(specs)} models" if specs else "")

    def problem_id(self) -> str | None:
        text = self.problem.currentText()
        return text if text in self.problems else None

    def choose_problem(self, problem_id: str) -> None:
        self.problem.setCurrentText(problem_id)
        self._on_problem()

    def _on_problem(self) -> None:
        problem = self.problems.get(self.problem.currentText())
        if problem is not None:
            self.prompt.blockSignals(True)
            self.prompt.setPlainText(student_user_text(problem.question, problem.choices))
            self.prompt.blockSignals(False)
            self.note.setText(f"gold answer: {problem.answer}")

    def _on_prompt_edited(self) -> None:
        """An edited problem prompt is a free prompt: no verdict is claimed for a question it no longer is."""
        if self.problem_id() is not None:
            self.problem.setCurrentText(FREE_PROMPT)
            self.note.setText("")

    def ask(self) -> int:
        """Ask every side that has a model ready; returns how many were asked."""
        text = self.prompt.toPlainText().strip()
        if not text:
            self.note.setText("type a prompt or pick a problem first")
            return 0
        asked = sum(column.ask(text, problem_id=self.problem_id(), max_tokens=self.max_tokens.value(),
                               temperature=0.0 if self.greedy.isChecked() else self.temperature.value(),
                               seed=self.seed.value()) for column in self.columns)
        if not asked:
            self.note.setText("pick a model on either side first (it loads in an engine process)")
        return asked

    def _on_stop(self) -> None:
        for column in self.columns:
            column.abort()

    def shutdown(self) -> None:
        for column in self.columns:
            column.stop_server()
