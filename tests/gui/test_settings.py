"""Project settings from the GUI (issue 13, item 8): File › New asks the model and the answer
type; the Settings page edits every realm.toml key with the schema's help and ranges and refuses
what the engine refuses (a learning rate of 1e9)."""

from __future__ import annotations

from fake_engine_client import FakeEngineClient
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from engine.config import describe_fields, load_config
from realm_studio.main_window import QtMainWindow
from realm_studio.panels.qt_settings_panel import QtSettingsPanel


def test_the_settings_page_lists_every_key_with_its_help_and_refuses_what_the_engine_refuses(qtbot, project):
    panel = QtSettingsPanel(FakeEngineClient())
    qtbot.addWidget(panel)
    panel.set_project(project)
    assert set(panel.editors) == {f["key"] for f in describe_fields()}
    assert panel.editors["rl.learning_rate"].toolTip() == "Learning rate."
    assert any(label.text() == "Learning rate. (in (0.0, 1.0])" for label in panel.findChildren(type(panel.empty)))
    panel.editors["rl.learning_rate"].setText("1e9")
    assert panel.problem_labels["rl.learning_rate"].text() == "must be in (0.0, 1.0], got 1000000000.0"
    assert not panel.save_button.isEnabled()
    panel.editors["rl.learning_rate"].setText("3e-5")
    panel.editors["model.device"].setCurrentText("cpu")
    panel.editors["fade.length_fade"].setChecked(True)
    panel.editors["fade.points"].setText("[[0.0, 1.0], [0.5, 0.2], [1.0, 0.0]]")
    assert panel.problems == {} and panel.save_button.isEnabled()
    with qtbot.waitSignal(panel.sig_changed):
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    cfg = load_config(project)
    assert (cfg.rl.learning_rate, cfg.model.device, cfg.fade.length_fade) == (3e-5, "cpu", True)
    assert cfg.fade.points == [[0.0, 1.0], [0.5, 0.2], [1.0, 0.0]]
    panel.editors["fade.points"].setText("[[0.5, 1.0], [0.2, 0.0]]")
    assert panel.problem_labels["fade.points"].text() == "progress values must strictly increase"


def test_file_new_asks_the_model_and_the_answer_type(qtbot, tmp_path, settings):
    engine = FakeEngineClient()
    window = QtMainWindow(engine=engine, settings=settings)
    qtbot.addWidget(window)
    dialog = window.new_project_dialog()
    create = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.keyClicks(dialog.folder, str(tmp_path / "mine"))
    assert create.isEnabled() and dialog.command.text().endswith("--answer-type number")
    dialog.local.setChecked(True)
    qtbot.keyClicks(dialog.local_path, str(tmp_path / "no-model"))
    assert not create.isEnabled() and "No model folder" in dialog.error.text()
    dialog.hub.setChecked(True)
    qtbot.keyClicks(dialog.hub_id, "Qwen/Qwen2.5-0.5B-Instruct")
    dialog.answer_type.setCurrentText("choice")
    assert create.isEnabled()
    qtbot.mouseClick(create, Qt.MouseButton.LeftButton)
    assert engine.jobs[-1].args == ["init", str(tmp_path / "mine"), "--model", "Qwen/Qwen2.5-0.5B-Instruct",
                                    "--answer-type", "choice"]
    for panel in window.panels.values():
        panel.shutdown()
