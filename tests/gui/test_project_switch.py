"""Switching projects resets every panel (issue 13, item 4): nothing of project A shows in B."""

from __future__ import annotations

from engine.config import Config, save_config
from engine.events import EventWriter
from engine.runs import RunFolder
from realm_studio.main_window import QtMainWindow


def make_project(folder, name):
    for sub in ("data", "routes", "runs"):
        (folder / sub).mkdir(parents=True)
    cfg = Config()
    cfg.project.name = name
    cfg.rl.max_steps = 77 if name == "a" else 33
    save_config(folder, cfg)
    return folder


def test_opening_another_project_resets_plots_log_eta_search_fade_status_and_the_train_form(qtbot, tmp_path,
                                                                                         settings):
    a, b = make_project(tmp_path / "a", "a"), make_project(tmp_path / "b", "b")
    run = RunFolder(a, "r1")
    run.write_status(state="paused", pid=None, step=5)
    writer = EventWriter(run.events, "r1")
    for step in range(1, 6):
        writer.emit("metrics", stage="rl", step=step, metrics={"loss": 1 / step})
        writer.emit("progress", stage="rl", step=step, total=10, eta_s=60)
        writer.log(f"step {step}")
    window = QtMainWindow(settings=settings)
    qtbot.addWidget(window)
    window.open_project(a)
    train, routes, fade = window.panels["train"], window.panels["routes"], window.panels["fade"]
    assert train.metrics.plot_of("loss").series and train.log.toPlainText()
    train.form.run_edit.setText("my-run")
    train.form.fields["rl.beta"].setText("0.05")
    routes.search.setText("zone D")
    fade.save()
    assert window.workflow.states["fade"].startswith("fade curve saved")
    data = window.panels["data"]
    data.file_edit.setText(str(tmp_path / "a.jsonl"))

    window.open_project(b)
    assert not train.metrics.plot_of("loss").series and train.log.toPlainText() == ""
    assert train.eta_label.text() == "" and train.progress.value() <= 0 and train.run_name is None
    assert train.run_label.text() == "No run attached"
    assert train.form.run_edit.text() == "" and train.form.fields["rl.beta"].text() == "0.0"
    assert train.form.recipe.currentText() == "realm-r1"
    assert routes.search.text() == "" and routes.error.text() == ""
    assert window.workflow.states["fade"] == "cosine, saved in realm.toml"
    assert data.file_edit.text() == "" and data.preview_model.rowCount() == 0
    assert window.windowTitle().startswith("b ")
    for panel in window.panels.values():
        panel.shutdown()
