"""The New-run form (issue 13, items 8–9): it keeps the user's edits across other actions, a
newcomer's project on a CPU is offered a run that finishes in minutes, and the run's time is
estimated before Start."""

from __future__ import annotations

import json

import pytest

from engine.config import load_config, save_config
from engine.events import EventWriter
from engine.runs import RunFolder
from realm_studio.main_window import QtMainWindow
from realm_studio.models import run_estimate
from realm_studio.widgets.qt_run_form import QtRunForm


@pytest.fixture
def form(qtbot):
    form = QtRunForm()
    qtbot.addWidget(form)
    return form


def test_the_train_form_keeps_what_the_user_typed_when_another_page_saves_the_project(qtbot, project, settings):
    window = QtMainWindow(settings=settings)
    qtbot.addWidget(window)
    window.open_project(project)
    form = window.panels["train"].form
    form.fields["rl.learning_rate"].setText("3e-5")
    form.run_edit.setText("mine")
    form.recipe.setCurrentText("grpo")
    window.panels["fade"].save()  # another page writes realm.toml: every page re-reads the project
    assert form.fields["rl.learning_rate"].text() == "3e-5"
    assert (form.run_edit.text(), form.recipe.currentText()) == ("mine", "grpo")
    cfg = load_config(project)  # a value the user did not touch follows the file
    cfg.rl.beta = 0.25
    save_config(project, cfg)
    window.panels["fade"].sig_changed.emit()
    assert form.fields["rl.beta"].text() == "0.25" and form.fields["rl.learning_rate"].text() == "3e-5"
    for panel in window.panels.values():
        panel.shutdown()


def test_on_a_cpu_a_project_at_the_schema_sizes_is_offered_a_run_of_minutes(form, project, monkeypatch):
    monkeypatch.setattr(form, "gpu", False)
    form.set_config(project, load_config(project))
    assert form.fields["rl.max_steps"].text() == "20" and form.sizing_label.isVisibleTo(form)
    assert "No GPU found" in form.sizing_label.text() and "200 RL steps" in form.sizing_label.text()
    assert "--set rl.max_steps=20" in form.command_label.text()
    seconds, _how = form._estimate(form.validate())
    assert seconds < 30 * 60, "a newcomer's first run on a CPU finishes in minutes"
    full, _ = form._estimate(form.config)
    assert full > 60 * 60  # what realm.toml asks for would take hours here
    form.use_config()
    assert form.fields["rl.max_steps"].text() == "200" and not form.sizing_label.isVisibleTo(form)


def test_with_a_gpu_the_project_settings_are_offered_as_they_are(form, project, monkeypatch):
    monkeypatch.setattr(form, "gpu", True)
    form.set_config(project, load_config(project))
    assert form.fields["rl.max_steps"].text() == "200" and form.overrides() == []


def test_the_estimate_is_shown_before_start_and_uses_an_earlier_runs_step_time(form, project):
    form.set_config(project, load_config(project))
    assert form.estimate_label.text().startswith("Estimated time: about ")
    assert "rough rate" in form.estimate_label.text()
    run = RunFolder(project, "timed")
    run.config.parent.mkdir(parents=True)
    run.config.write_text('recipe = "grpo"\n', encoding="utf-8")
    writer = EventWriter(run.events, "timed")
    for step in range(1, 6):
        writer.emit("progress", stage="rl", step=step, total=5)
    events = [json.loads(line) for line in run.events.read_text().splitlines()]  # space the steps 10 s apart
    for i, event in enumerate(events):
        event["ts"] = 1000.0 + 10 * i
    run.events.write_text("".join(json.dumps(e) + "\n" for e in events))
    form.recipe.setCurrentText("grpo")
    form.set_config(project, load_config(project))
    assert "timed on run timed" in form.estimate_label.text()
    form.use_config()  # the timed run's settings (realm.toml's), not the CPU sizing
    cfg = form.validate()
    seconds, _ = run_estimate.estimate(form.timing, cfg, "grpo", 0, False)
    assert seconds == pytest.approx(10 * cfg.rl.max_steps)  # same settings as the timed run: 10 s a step
