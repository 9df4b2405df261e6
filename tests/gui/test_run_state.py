"""The run state never lies, and every refusal is visible where the user clicked (issue 13, items 2–3).

A run the GUI just started reads "starting" until its engine takes the run over (not
"interrupted" because status.json is not written yet, nor "queued" while torch loads); an engine
that refuses says so under the buttons, naming the button; the status bar, the workflow bar and
the Runs page say the same as the Train page; the ETA goes away when no time is left.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from engine.events import EventWriter
from engine.runs import RunFolder
from realm_studio.main_window import QtMainWindow
from realm_studio.models.run_state import STARTING, launch_state
from realm_studio.run_watcher import RunWatcher


@pytest.fixture
def sleeper():
    """A live process that is not the run's engine (what a just-launched engine looks like)."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def window(qtbot, project, settings):
    window = QtMainWindow(settings=settings)
    qtbot.addWidget(window)
    yield window
    for panel in window.panels.values():
        panel.shutdown()


def test_a_run_just_launched_reads_starting_until_its_engine_takes_it_over(qtbot, project, sleeper):
    run = RunFolder(project, "r1")
    run.path.mkdir(parents=True)  # what `train --detach` leaves before the engine writes status.json
    assert run.read_status()["state"] == "interrupted"  # what the window used to show
    watcher = RunWatcher(run)
    states = []
    watcher.sig_state.connect(states.append)
    watcher.follow_launch(sleeper.pid, 0)
    run.write_status(state="queued", pid=sleeper.pid, step=0)  # the engine loads torch: still starting
    watcher.poll()
    run.write_status(state="running", pid=sleeper.pid)
    watcher.poll()
    assert states == [STARTING, "running"]


def test_an_engine_that_refuses_is_reported_under_the_buttons_with_the_button_to_press(window, qtbot, project):
    run = RunFolder(project, "r1")
    run.write_status(state="running", pid=os.getpid(), step=3)  # another engine has the run
    run.engine_log.write_text("error: r1: already running in engine process 4242 (stop it first with "
                              "`realm-engine stop`)\n")
    window.open_project(project)
    train = window.panels["train"]
    assert launch_state(run, 2 ** 22 + 1)[1] is False  # a launched engine that is gone: refused
    train.watcher.follow_launch(2 ** 22 + 1, 0)
    assert "already running: press Stop (save) first" in train.refusal_label.text()
    train.refusal_label.setText("")
    train.resume_run("r1")  # Resume on a running run (the Runs page asks Train to resume)
    assert "press Stop (save) first" in train.refusal_label.text()


def test_start_with_a_name_that_exists_is_refused_in_the_form(window, qtbot, project):
    RunFolder(project, "taken").write_status(state="finished", pid=None)
    window.open_project(project)
    train = window.panels["train"]
    train.form.run_edit.setText("taken")
    assert "A run named 'taken' exists: type another Run name" in train.form.error_label.text()
    assert not train.start_button.isEnabled()
    assert train.start_run("realm-zero", [], "taken") is None


def test_a_model_folder_that_does_not_exist_is_refused_as_it_is_typed(window, project):
    window.open_project(project)
    form = window.panels["train"].form
    form.fields["model.name"].setText("/no/such/model")
    assert form.error_label.text().startswith("model.name: no folder /no/such/model")
    form.fields["model.name"].setText("Qwen/Qwen2.5-0.5B-Instruct")  # a hub id: checked when loaded
    assert form.error_label.text() == ""
    form.fields["model.name"].setText(str(project))  # a folder that exists
    assert form.error_label.text() == ""


def test_a_failed_run_shows_a_banner_over_the_plots_naming_what_to_do(window, qtbot, project):
    run = RunFolder(project, "r1")
    run.write_status(state="failed", pid=None, error="boom")
    EventWriter(run.events, "r1").emit("error", message="rl.num_generations must divide the batch",
                                       hint="set rl.num_generations to 2")
    window.open_project(project)
    train = window.panels["train"]
    assert train.tabs.currentIndex() == 0 and train.failure_banner.isVisibleTo(train)
    text = train.failure_banner.text()
    assert "rl.num_generations must divide the batch (set rl.num_generations to 2)" in text and "Resume" in text
    assert train.resume_button.isEnabled()


def test_status_bar_workflow_and_runs_say_the_same_and_follow_the_end_of_a_run(window, qtbot, project):
    run = RunFolder(project, "r1")
    run.write_status(state="running", pid=os.getpid(), step=2)
    writer = EventWriter(run.events, "r1")
    writer.emit("progress", stage="rl", step=2, total=10, eta_s=80, throughput=0.1)
    window.open_project(project)
    train, runs = window.panels["train"], window.panels["runs"]
    assert window.engine_label.text() == "engine: training r1 (running)"
    assert window.workflow.states["runs"] == "1 run, 1 live" and runs._refresh_timer.isActive()
    assert train.eta_label.text().startswith("ETA 1m 20s")
    run.write_status(step=7)  # the engine goes on: the Runs table follows without a click
    runs._refresh_timer.setInterval(10)
    qtbot.waitUntil(lambda: runs.run_table.item(0, 2).text() == "7", timeout=5000)
    run.write_status(state="paused", pid=None)
    writer.emit("run_finished", state="paused")
    train.watcher.poll()
    assert window.engine_label.text() == "engine: idle"
    assert window.workflow.states["runs"] == "1 run" and not runs._refresh_timer.isActive()
    assert runs.run_table.item(0, 1).text() == "paused"
    assert window.workflow.states["train"] == "r1: paused"
    assert train.eta_label.text() == ""  # no time is left in a paused run
