"""The Train panel's pre-flight check and tracker choice, and the notification when a run ends."""

from __future__ import annotations

import os

import pytest
from stage_testkit import make_project

from engine.events import EventWriter
from engine.runs import RunFolder
from realm_studio.panels.qt_train_panel import QtTrainPanel
from realm_studio.qt_run_notifier import QtRunNotifier
from realm_studio.widgets.qt_preflight import format_estimate


@pytest.fixture
def panel(qtbot, engine_client, tmp_path, tiny_model_dir):
    panel = QtTrainPanel(engine_client)
    qtbot.addWidget(panel)
    panel.set_project(make_project(tmp_path / "proj", tiny_model_dir))
    yield panel
    panel.shutdown()


def test_preflight_dry_runs_the_settings_about_to_start_and_shows_the_estimate(qtbot, panel):
    panel.form.recipe.setCurrentText("grpo")
    panel.form.fields["rl.max_steps"].setText("5")
    job = panel.preflight.check()
    assert job.args[:4] == ["preflight", str(panel.project_dir), "--recipe", "grpo"]
    assert "rl.max_steps=5" in job.args
    with qtbot.waitSignal(panel.preflight.sig_result, timeout=300_000) as result:
        pass
    estimate = result.args[0]
    assert estimate["stages"][0]["steps"] == 5 and estimate["eta_s"] > 0
    assert panel.preflight.label.text() == format_estimate(estimate) and "s/step × 5 · ETA ≤ 0h" in panel.preflight.label.text()


def test_the_tracker_choice_becomes_a_set_override_of_the_run(panel):
    assert panel.tracker.combo.currentText() == "none"
    panel.tracker.combo.setCurrentText("tensorboard")
    assert 'train.report_to="tensorboard"' in panel.overrides()
    assert '--set \'train.report_to="tensorboard"\'' in panel.form.command_label.text()
    panel.tracker.combo.setCurrentText("none")
    assert panel.overrides() == []


def test_a_run_that_ends_is_announced_once_with_its_headline_metric(qtbot, project):
    run = RunFolder(project, "r1")
    run.write_status(state="running", pid=os.getpid(), step=3)  # a live engine: this process
    EventWriter(run.events, "r1").emit("metrics", stage="rl", step=3, metrics={"loss": 0.1, "reward": 0.625})
    notifier = QtRunNotifier(poll_ms=50)
    notifier.set_project(project)
    seen = []
    notifier.sig_notified.connect(lambda title, text: seen.append((title, text)))
    run.write_status(state="finished", pid=None)
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    qtbot.wait(200)
    notifier.stop()
    assert seen == [("Run r1 finished", "reward 0.625 at rl step 3")]  # once, not at every poll


def test_the_export_dialog_offers_gguf_with_its_quantization_and_reads_its_agreement(qtbot, engine_client, project):
    from realm_studio.panels.qt_export_dialog import QtExportDialog, verification_text

    dialog = QtExportDialog(engine_client, project, "r1")
    qtbot.addWidget(dialog)
    dialog.gguf.setChecked(True)
    dialog.quant.setCurrentText("q4_k_m")
    assert dialog.args()[-4:] == ["--format", "gguf", "--quant", "q4_k_m"]
    assert "--format gguf --quant q4_k_m" in dialog.command_label.text()
    event = {"verified": True, "path": "/x", "file": "r1-q4_k_m.gguf",
             "agreement": {"answers_agree": 57, "texts_agree": 40, "total": 60}}
    assert verification_text(event) == "Verified: /x (r1-q4_k_m.gguf: 57/60 held-out answers as the safetensors model's in llama.cpp)"
