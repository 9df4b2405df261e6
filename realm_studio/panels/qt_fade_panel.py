"""Fade curve: edit the project's ``[fade]`` section (EAAI) and see what it means.

The panel holds one ``FadeSection`` (the model). The form and the plot's control points
write into it; every change is checked with the loader's own rules (``check_config``: what
loading realm.toml would say appears beside the field at once, and Save waits until there is
nothing to say), redraws the curve with ``engine.method.fade`` and updates the preview of hinted
prompts per step. Save writes realm.toml through ``save_config`` (atomic, validated), so the
saved section is exactly what the engine will run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from engine.config import FADE_SCHEDULES, Config, FadeSection, check_config, load_config, save_config
from engine.errors import UserError
from engine.method.fade import expected_hinted, fade_k, fade_length_fraction, progress_of

from ..engine_client import EngineClient
from ..widgets.qt_fade_editor import QtFadeEditor
from . import QtPanel

# Which parameters each preset reads (the others are greyed out).
PRESET_PARAMS = {
    "constant": {"start"},
    "linear": {"start", "end", "fade_fraction"},
    "cosine": {"start", "end", "fade_fraction"},
    "exponential": {"start", "end", "fade_fraction", "half_life"},
    "staircase": {"start", "end", "fade_fraction", "stairs"},
    "custom": set(),
}
PREVIEW_PROGRESS = (0.0, 0.25, 0.5, 0.75, 1.0)
PROBLEM_STYLE = "color: #d1242f"


def _spin(lo: float, hi: float, step: float = 0.05) -> QDoubleSpinBox:
    return QDoubleSpinBox(minimum=lo, maximum=hi, singleStep=step, decimals=3)


def _beside(widget: QWidget, problem: QLabel) -> QWidget:
    """A form field with its problem label to its right."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    layout.addWidget(problem, 1)
    return row


class QtFadePanel(QtPanel):
    title = "Fade curve"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.fade = FadeSection()
        self.config = Config()  # the project's, for the cross-section checks and the preview's rl settings
        self.rl = self.config.rl
        self.problems: dict[str, str] = {}  # "fade.<key>" -> what loading would say about it
        self.editor = QtFadeEditor()
        self.schedule = QComboBox()
        self.schedule.addItems(FADE_SCHEDULES)
        self.params = {
            "start": _spin(0.0, 1.0), "end": _spin(0.0, 1.0), "fade_fraction": _spin(0.01, 1.0),
            "half_life": _spin(0.001, 10.0, 0.01), "stairs": QSpinBox(minimum=1, maximum=100),
            "k_show": QSpinBox(minimum=1, maximum=16), "k_show_min": QSpinBox(minimum=0, maximum=16),
        }
        self.length_fade = QCheckBox("show a shrinking prefix of each route as p fades")
        self.problem_labels = {key: QLabel(styleSheet=PROBLEM_STYLE, wordWrap=True)
                               for key in ("schedule", *self.params, "length_fade", "points")}
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton("Save to realm.toml")
        self.revert_button = QPushButton("Revert")
        self._build_layout()
        self.schedule.currentTextChanged.connect(self._on_form_edited)
        for widget in self.params.values():
            widget.valueChanged.connect(self._on_form_edited)
        self.length_fade.toggled.connect(self._on_form_edited)
        self.editor.sig_points_edited.connect(self._on_points_edited)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(lambda: self.set_project(self.project_dir))
        self._show(self.fade)

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Preset", _beside(self.schedule, self.problem_labels["schedule"]))
        labels = {"start": "p at start", "end": "p after the fade", "fade_fraction": "fade over (share of training)",
                  "half_life": "half-life (share)", "stairs": "stairs", "k_show": "routes shown (K)",
                  "k_show_min": "K at the end of the fade (0: no K fade)"}
        for key, label in labels.items():
            self.params[key].setToolTip(FadeSection.__dataclass_fields__[key].metadata["help"])
            form.addRow(label, _beside(self.params[key], self.problem_labels[key]))
        form.addRow(_beside(self.length_fade, self.problem_labels["length_fade"]))
        hint = QLabel("Custom: drag a point, double-click to add one, right-click to remove one.")
        hint.setWordWrap(True)
        form.addRow(hint)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.revert_button)
        side = QVBoxLayout()
        side.addLayout(form)
        side.addWidget(self.preview)
        side.addStretch(1)
        side.addLayout(buttons)
        plot = QVBoxLayout()
        plot.addWidget(self.editor, 1)
        plot.addWidget(self.problem_labels["points"])  # the custom curve's points are edited on the plot
        layout = QHBoxLayout(self)
        layout.addLayout(side)
        layout.addLayout(plot, 1)

    # -- model → view ----------------------------------------------------------------------

    def set_project(self, project_dir: Path | None) -> None:
        super().set_project(project_dir)
        self.save_button.setEnabled(project_dir is not None)
        if project_dir is None:
            return
        try:
            cfg = load_config(project_dir)
        except UserError as err:
            self.sig_status.emit(str(err).splitlines()[0])
            return
        self.config, self.rl = cfg, cfg.rl
        self._show(cfg.fade)
        self.sig_status.emit(f"{cfg.fade.schedule}, saved in realm.toml")  # never a message of another project

    def _show(self, fade: FadeSection) -> None:
        """Check ``fade`` and put it in the form and the plot (form signals blocked: no echo back)."""
        self.fade = fade
        self._check()
        widgets = [self.schedule, self.length_fade, *self.params.values()]
        for widget in widgets:
            widget.blockSignals(True)
        self.schedule.setCurrentText(fade.schedule)
        for key, widget in self.params.items():
            widget.setValue(getattr(fade, key))
            widget.setEnabled(key in PRESET_PARAMS[fade.schedule] or key.startswith("k_show"))
        self.params["k_show_min"].setMaximum(fade.k_show)
        self.length_fade.setChecked(fade.length_fade)
        for widget in widgets:
            widget.blockSignals(False)
        if self.problems:  # the curve of an invalid section means nothing: keep the last valid one
            self.preview.setText("Fix the settings marked in red to see the curve's effect.")
            return
        self.editor.set_fade(fade)
        self.preview.setText(self._preview_text())

    def _check(self) -> None:
        """The loader's rules on the edited section, each problem beside its field; Save only when none."""
        points = [list(p) for p in self.fade.points]  # as save() writes them (the editor may hand tuples)
        edited = dataclasses.replace(self.config, fade=dataclasses.replace(self.fade, points=points))
        self.problems = {key: reason for key, reason in check_config(edited).items() if key.startswith("fade.")}
        for key, label in self.problem_labels.items():
            label.setText(self.problems.get(f"fade.{key}", ""))
        self.save_button.setEnabled(self.project_dir is not None and not self.problems)

    def _preview_text(self) -> str:
        per_step, steps = self.rl.prompts_per_step, self.rl.max_steps
        hinted = " · ".join(f"{expected_hinted(self.fade, x, per_step):.2f} at {x:.0%}" for x in PREVIEW_PROGRESS)
        total = sum(expected_hinted(self.fade, progress_of(s, steps), per_step) for s in range(steps))
        k_start, k_end = fade_k(self.fade, 0.0), fade_k(self.fade, 1.0)
        lengths = " → ".join(f"{fade_length_fraction(self.fade, x):.0%}" for x in (0.0, 0.5, 1.0))
        return (f"Hinted prompts per step (of rl.prompts_per_step = {per_step}): {hinted}.\n"
                f"Over rl.max_steps = {steps}: about {total:.0f} of {per_step * steps} prompts carry routes.\n"
                f"Routes shown per hinted prompt: {k_start} → {k_end}.\n"
                f"Share of each route shown: {lengths}.")

    # -- view → model ----------------------------------------------------------------------

    def _on_form_edited(self) -> None:
        values = {key: widget.value() for key, widget in self.params.items()}
        values["k_show_min"] = min(values["k_show_min"], values["k_show"])
        self._show(dataclasses.replace(self.fade, schedule=self.schedule.currentText(),
                                       length_fade=self.length_fade.isChecked(), **values))

    def _on_points_edited(self, points: list) -> None:
        self._show(dataclasses.replace(self.fade, points=points))

    def save(self) -> None:
        """Write the edited [fade] section into realm.toml (the rest of the file unchanged)."""
        if self.project_dir is None:
            return
        try:
            cfg = load_config(self.project_dir)
            cfg.fade = dataclasses.replace(self.fade, points=[list(p) for p in self.fade.points])
            save_config(self.project_dir, cfg)
        except UserError as err:
            self.sig_status.emit(f"fade curve not saved: {str(err).splitlines()[0]}")
            return
        self.sig_status.emit(f"fade curve saved ({self.fade.schedule})")
        self.sig_changed.emit()
