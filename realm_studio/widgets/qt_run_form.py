"""The Train page's "New run" form: a recipe, a run name and the settings that matter most.

Every edit is checked at once with the engine's own validator (``apply_overrides``), a model
folder that does not exist and a run name already taken are refused as they are typed, and
the equivalent CLI command and an estimate of the run's time are always shown. The form keeps
what the user typed when the project's files change under it (another page saved realm.toml);
another project resets it. On a machine without a GPU, a project still at the schema's sizes
is offered settings that finish in minutes (``run_estimate.CPU_SIZED``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from engine.config import DEFAULT_MODEL, RECIPES, Config, apply_overrides, describe_fields
from engine.data.problems import read_problems
from engine.errors import UserError
from engine.project import problems_path
from engine.runs import RunFolder

from ..engine_client import command_line
from ..models.run_estimate import CPU_SIZED, estimate, format_duration, has_gpu, measure_steps, needs_cpu_sizing
from .qt_theme import ERROR_STYLE

KEY_SETTINGS = ("model.name", "rl.max_steps", "rl.learning_rate", "rl.num_generations", "rl.prompts_per_step",
                "rl.max_completion_length", "rl.beta", "distill.max_steps")
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def config_value(cfg: Config, key: str):
    section, _, name = key.partition(".")
    return getattr(getattr(cfg, section), name)


def override_literal(key: str, text: str, current) -> str:
    """``key=value`` as the CLI's ``--set`` reads it (strings quoted as TOML strings)."""
    return f"{key}={json.dumps(text) if isinstance(current, str) else text.strip()}"


def model_problem(name: str, project: Path | None) -> str:
    """Why ``name`` cannot be a model (a folder that is not there), or "" (hub ids are checked at Start)."""
    path = Path(name).expanduser()
    if name == DEFAULT_MODEL or (HUB_ID.fullmatch(name) and not name.startswith((".", "/", "~"))):
        return ""
    if not path.is_absolute() and project is not None:
        path = project / path
    if path.is_dir():
        return ""
    return (f"model.name: no folder {name}: type an existing model folder, a hub id (org/name) "
            f"or {DEFAULT_MODEL} (the bundled model)")


def train_args(project: Path, recipe: str, overrides: list[str], run_name: str | None) -> list[str]:
    args = ["train", str(project), "--recipe", recipe]
    if run_name:
        args += ["--run", run_name]
    for override in overrides:
        args += ["--set", override]
    return args


class QtRunForm(QGroupBox):
    """Recipe, run name and key settings; ``overrides()`` and ``validate()`` give what Start runs."""

    sig_edited = Signal()
    """The form changed (the Start button's state may change)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("New run", parent)
        self.project_dir: Path | None = None
        self.config: Config | None = None
        self.config_error = "Create or open a project first (File › New project… or File › Open project…)."
        self.gpu = has_gpu()
        self.sized: dict[str, object] = {}  # the CPU sizing offered, when it applies
        self.timing = measure_steps(None)  # seconds per step of the project's earlier runs
        self.train_problems = 0
        helps = {f["key"]: f["help"] for f in describe_fields()}
        self.recipe = QComboBox()
        self.recipe.addItems(RECIPES)
        self.run_edit = QLineEdit(placeholderText="automatic (recipe-date-time)")
        self.fields: dict[str, QLineEdit] = {}
        self._extra_overrides: list = []  # (config -> --set items) of the settings added with add_setting
        form = self._form = QFormLayout()
        form.addRow("Recipe", self.recipe)
        form.addRow("Run name", self.run_edit)
        for key in KEY_SETTINGS:
            edit = self.fields[key] = QLineEdit(toolTip=helps.get(key, ""))
            edit.textChanged.connect(self._on_edited)
            form.addRow(key, edit)
        self.recipe.currentTextChanged.connect(self._on_edited)
        self.run_edit.textChanged.connect(self._on_edited)
        self.error_label = QLabel(wordWrap=True, styleSheet=ERROR_STYLE)
        self.sizing_label = QLabel(wordWrap=True)
        self.use_config_button = QPushButton("Use realm.toml's settings", clicked=self.use_config)
        self.estimate_label = QLabel(wordWrap=True)
        self.command_label = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse,
                                    styleSheet="font-family: monospace")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for widget in (self.error_label, self.sizing_label, self.use_config_button, self.estimate_label,
                       QLabel("Command:"), self.command_label):
            layout.addWidget(widget)
        self.setMaximumWidth(440)

    def add_setting(self, label: str, widget: QWidget, overrides, changed) -> None:
        """One more row whose ``overrides(config)`` join the form's (the tracker choice): shown in the
        command, checked with the rest, and the form updates on its ``changed`` signal."""
        self._form.addRow(label, widget)
        self._extra_overrides.append(overrides)
        changed.connect(self._on_edited)

    # -- model → view -------------------------------------------------------------------

    def set_config(self, project_dir: Path | None, cfg: Config | None, error: str = "") -> None:
        """Show ``cfg``; the same project keeps what the user typed, another one starts afresh."""
        same = project_dir is not None and project_dir == self.project_dir
        old = self.config
        self.project_dir, self.config = project_dir, cfg
        self.config_error = error or ("" if cfg else self.config_error)
        self.timing = measure_steps(project_dir)
        path = problems_path(project_dir) if project_dir else None
        self.train_problems = sum(p.split == "train" for p in read_problems(path)) if path and path.exists() else 0
        if not same:
            self.run_edit.clear()
            self.recipe.setCurrentIndex(RECIPES.index("realm-r1"))
            self.sized = dict(CPU_SIZED) if cfg is not None and needs_cpu_sizing(cfg, self.gpu) else {}
        for key, edit in self.fields.items():
            edited = same and old is not None and edit.text().strip() != str(config_value(old, key))
            if not edited:
                edit.blockSignals(True)
                edit.setText("" if cfg is None else str(self.sized.get(key, config_value(cfg, key))))
                edit.blockSignals(False)
        self._show_sizing()
        self._on_edited()

    def use_config(self) -> None:
        """Drop the CPU sizing: the fields take realm.toml's values."""
        self.sized = {}
        for key, edit in self.fields.items():
            if self.config is not None:
                edit.setText(str(config_value(self.config, key)))
        self._show_sizing()

    def _show_sizing(self) -> None:
        self.sizing_label.setVisible(bool(self.sized))
        self.use_config_button.setVisible(bool(self.sized))
        if self.sized and self.config is not None:
            full, _how = self._estimate(self.config)
            self.sizing_label.setText(f"No GPU found: the settings are sized for this CPU. realm.toml asks for "
                                      f"{self.config.rl.max_steps} RL steps, about {format_duration(full)} here.")

    # -- view → model -------------------------------------------------------------------

    def run_name(self) -> str | None:
        return self.run_edit.text().strip() or None

    def overrides(self) -> list[str]:
        """``--set`` items for the settings that differ from realm.toml."""
        if self.config is None:
            return []
        out = []
        for key, edit in self.fields.items():
            current = config_value(self.config, key)
            if edit.text().strip() != str(current):
                out.append(override_literal(key, edit.text().strip(), current))
        return out + [item for overrides in self._extra_overrides for item in overrides(self.config)]

    def validate(self) -> Config | None:
        """The run's config, or None with the one-line reason shown under the form."""
        problem, cfg = self.config_error, None
        if self.config is not None:
            try:
                cfg = apply_overrides(self.config, self.overrides())
                problem = model_problem(cfg.model.name, self.project_dir) or self._name_problem()
            except UserError as err:
                problem = str(err).splitlines()[0]
        self.error_label.setText(problem)
        return None if problem else cfg

    def _name_problem(self) -> str:
        name = self.run_name()
        if name is None or self.project_dir is None:
            return ""
        try:
            run = RunFolder(self.project_dir, name)
        except UserError as err:
            return f"Run name: {str(err).splitlines()[0]}"
        if run.exists():
            return f"A run named {name!r} exists: type another Run name, or select it in Runs and press Resume."
        return ""

    def _on_edited(self) -> None:
        cfg = self.validate()
        project = self.project_dir or Path("PROJECT")
        self.command_label.setText(command_line(train_args(project, self.recipe.currentText(), self.overrides(),
                                                           self.run_name())))
        if cfg is not None:
            seconds, how = self._estimate(cfg)
            self.estimate_label.setText(f"Estimated time: about {format_duration(seconds)} ({how}).")
        else:
            self.estimate_label.setText("")
        self.sig_edited.emit()

    def _estimate(self, cfg: Config) -> tuple[float, str]:
        return estimate(self.timing, cfg, self.recipe.currentText(), self.train_problems, self.gpu)
