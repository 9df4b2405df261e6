"""The studio against a real engine process running the tiny model.

Each test drives the window as a user does (types settings, clicks Start / Stop / Resume,
picks a problem) and checks what the user then sees against what the engine wrote on disk:
the plots hold exactly the metrics of ``events.jsonl``, a killed engine shows as interrupted
and resumes, a closed window leaves its run going and a new window re-attaches to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.data.importers import import_problems
from engine.events import METRICS, read_events
from engine.project import init_project
from engine.runs import RunFolder, pid_alive
from realm_studio.main_window import QtMainWindow
from realm_studio.panels.qt_export_dialog import QtExportDialog
from realm_studio.widgets.qt_route_diff import DIVERGENCE_COLOUR
from stage_testkit import make_project, write_jsonl

RUN_TIMEOUT_MS = 240_000  # a whole tiny run on 2 shared cores, engine start-up included
SMALL = {"rl.num_generations": 2, "rl.prompts_per_step": 2, "rl.max_completion_length": 8, "rl.save_steps": 2}


def engine_pids(project: Path) -> list[int]:
    """Live engine processes working on ``project``, found in /proc (status.json may lie)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if entry.name.isdigit() and "engine" in argv and str(project) in argv and pid_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def kill_engines(project: Path) -> None:
    for pid in engine_pids(project):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def tiny_project(tmp_path, tiny_model_dir):
    folder = make_project(tmp_path / "proj", tiny_model_dir, settings=SMALL).resolve()
    yield folder
    kill_engines(folder)


@pytest.fixture
def open_window(qtbot, settings):
    """Open a new main window on a project (several per test: one closes, the next re-attaches)."""
    def open_(project: Path) -> QtMainWindow:
        window = QtMainWindow(settings=settings)
        qtbot.addWidget(window)
        window.show()
        assert window.open_project(project)
        return window
    return open_


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def type_into(qtbot, edit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)


def start_training(qtbot, window: QtMainWindow, run_name: str, max_steps: int):
    """Train step → recipe realm-zero, a run name, max steps → Start; returns the Train panel."""
    click(qtbot, window.workflow.buttons["train"])
    panel = window.panels["train"]
    panel.form.recipe.setCurrentText("realm-zero")
    type_into(qtbot, panel.form.run_edit, run_name)
    type_into(qtbot, panel.form.fields["rl.max_steps"], str(max_steps))
    click(qtbot, panel.start_button)  # returns at once: the panel follows the run when its engine runs
    qtbot.waitUntil(lambda: panel.run_name == run_name or bool(panel.refusal_label.text()), timeout=RUN_TIMEOUT_MS)
    assert panel.run_name == run_name, panel.refusal_label.text()
    return panel


def logged_metric(run: RunFolder, name: str) -> dict[int, float]:
    """step → value of metric ``name`` in the run's event log; a replayed step keeps its last value."""
    values = {}
    for event in read_events(run.events, {METRICS}):
        if name in event["metrics"]:
            values.pop(event["step"], None)
            values[event["step"]] = event["metrics"][name]
    return dict(sorted(values.items()))


def shown_metric(panel, name: str, stage: str = "rl") -> dict[int, float]:
    panel.metrics.redraw()
    x, y = panel.metrics.plot_of(name).data(f"{stage}: {name}")
    assert list(x) == sorted(set(x)), "a plot's steps must grow"
    return dict(zip(x.astype(int).tolist(), y.tolist()))


def wait_for_state(qtbot, panel, state: str, timeout: int = RUN_TIMEOUT_MS) -> None:
    qtbot.waitUntil(lambda: f"— {state}" in panel.run_label.text(), timeout=timeout)


@pytest.mark.slow
def test_a_run_started_from_the_train_panel_plots_every_step_it_logs(qtbot, tiny_project, open_window):
    window = open_window(tiny_project)
    panel = start_training(qtbot, window, "live", max_steps=3)
    assert "--recipe realm-zero" in panel.form.command_label.text()
    assert "--set rl.max_steps=3" in panel.form.command_label.text()
    wait_for_state(qtbot, panel, "finished")

    run = RunFolder(tiny_project, "live")
    for name in ("loss", "reward", "fade/p"):
        assert shown_metric(panel, name) == logged_metric(run, name)
        assert list(shown_metric(panel, name)) == [1, 2, 3]
    assert panel.metrics.plot_of("loss").curve_point_count("rl: loss") == 3
    sample_events = [e for e in read_events(run.events) if e["type"] == "sample"]
    assert len(panel.samples.row_texts()) == len(sample_events) > 0
    assert (panel.progress.value(), panel.progress.maximum()) == (3, 3)
    assert "run finished" in panel.log.toPlainText()
    assert window.workflow.states["train"] == "live: finished"
    assert panel.start_button.isEnabled() and not panel.resume_button.isEnabled()


HOLD_AFTER_SAVE = """
import os
if os.environ.get("REALM_TEST_HOLD"):  # while that file exists, an engine waits after each checkpoint
    import time
    from engine.stages import context
    saved = context.RunCallback.on_save
    def on_save_then_hold(self, *args, **kwargs):
        saved(self, *args, **kwargs)
        while os.path.exists(os.environ["REALM_TEST_HOLD"]):
            time.sleep(0.05)
    context.RunCallback.on_save = on_save_then_hold
"""


@pytest.fixture
def hold_after_save(tmp_path, monkeypatch):
    """Engines the GUI starts wait after saving a checkpoint until the returned file is removed:
    a test can kill a run that is surely still training (a tiny run can otherwise end before the
    GUI's log shows its first checkpoint). Works through the detached re-exec: a sitecustomize
    module on the children's PYTHONPATH."""
    hook = tmp_path / "hold-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOLD_AFTER_SAVE, encoding="utf-8")
    hold = tmp_path / "hold"
    hold.touch()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("REALM_TEST_HOLD", str(hold))
    return hold


@pytest.mark.slow
def test_a_killed_engine_shows_interrupted_with_its_log_and_resumes_with_history(qtbot, tiny_project, open_window,
                                                                                 hold_after_save):
    window = open_window(tiny_project)
    panel = start_training(qtbot, window, "killed", max_steps=6)
    run = RunFolder(tiny_project, "killed")
    qtbot.waitUntil(lambda: "checkpoint saved at step 2" in panel.log.toPlainText(), timeout=RUN_TIMEOUT_MS)
    os.kill(run.read_status()["pid"], signal.SIGKILL)  # held after its first checkpoint: still training
    hold_after_save.unlink()  # the resumed engine runs to the end
    assert run.read_status()["step"] == 2

    wait_for_state(qtbot, panel, "interrupted")
    assert "Resume continues from the last checkpoint" in panel.run_label.text()
    assert panel.resume_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.log.toPlainText().splitlines()[-1].startswith("rl: checkpoint saved at step")
    runs = window.panels["runs"]
    runs.refresh()
    runs.select(["killed"])
    assert "killed: interrupted" in runs.details.text()
    assert "rl: checkpoint saved at step 2" in runs.last_log.toPlainText()
    assert runs.resume_button.isEnabled()
    steps_before_kill = list(shown_metric(panel, "loss"))

    click(qtbot, panel.resume_button)
    wait_for_state(qtbot, panel, "finished")
    assert "run resumed" in panel.log.toPlainText()
    assert list(shown_metric(panel, "loss"))[: len(steps_before_kill)] == steps_before_kill
    for name in ("loss", "reward", "fade/p"):
        assert list(shown_metric(panel, name)) == list(range(1, 7))
        assert shown_metric(panel, name) == logged_metric(run, name)


@pytest.mark.slow
def test_closing_the_app_leaves_the_run_going_and_a_new_window_reattaches(qtbot, tiny_project, open_window):
    first = open_window(tiny_project)
    panel = start_training(qtbot, first, "outlives", max_steps=40)
    run = RunFolder(tiny_project, "outlives")
    qtbot.waitUntil(lambda: len(logged_metric(run, "loss")) >= 2, timeout=RUN_TIMEOUT_MS)
    pid = run.read_status()["pid"]
    first.close()
    steps_at_close = len(logged_metric(run, "loss"))
    qtbot.waitUntil(lambda: len(logged_metric(run, "loss")) >= steps_at_close + 2, timeout=RUN_TIMEOUT_MS)
    assert pid_alive(pid)

    second = open_window(tiny_project)
    panel = second.panels["train"]
    assert panel.run_name == "outlives"
    assert "— running" in panel.run_label.text()
    history = shown_metric(panel, "loss")
    assert list(history) == list(range(1, len(history) + 1)) and len(history) >= steps_at_close + 2
    qtbot.waitUntil(lambda: len(shown_metric(panel, "loss")) > len(history), timeout=RUN_TIMEOUT_MS)

    click(qtbot, second.workflow.buttons["train"])
    click(qtbot, panel.stop_button)
    wait_for_state(qtbot, panel, "paused")
    assert run.read_status().get("last_checkpoint", "").startswith("rl/checkpoint-")
    assert (run.path / "checkpoints" / run.read_status()["last_checkpoint"] / "COMPLETE").exists()
    click(qtbot, panel.resume_button)
    wait_for_state(qtbot, panel, "running")
    click(qtbot, panel.cancel_button)
    wait_for_state(qtbot, panel, "cancelled")
    qtbot.waitUntil(lambda: not engine_pids(tiny_project), timeout=30_000)
    assert shown_metric(panel, "loss") == logged_metric(run, "loss")


@pytest.fixture(scope="module")
def trained_project(tmp_path_factory, tiny_model_dir) -> Path:
    """A project with a finished two-step realm-zero run, trained by the CLI."""
    project = make_project(tmp_path_factory.mktemp("trained") / "proj", tiny_model_dir, settings=SMALL).resolve()
    subprocess.run([sys.executable, "-m", "engine", "train", str(project), "--recipe", "realm-zero", "--run", "done",
                    "--max-steps", "2"], check=True, capture_output=True, timeout=300)
    return project


@pytest.mark.slow
def test_evaluate_and_export_panels_show_the_engine_results(qtbot, trained_project, open_window, tmp_path):
    window = open_window(trained_project)
    click(qtbot, window.workflow.buttons["evaluate"])
    evaluate = window.panels["evaluate"]
    click(qtbot, evaluate.eval_base_button)
    assert evaluate.command_label.text() == f"realm-engine eval {trained_project} --base"
    qtbot.waitUntil(lambda: evaluate.job is None, timeout=RUN_TIMEOUT_MS)
    assert evaluate.summary.item(0, 0).text() == "Accuracy without routes"
    assert evaluate.summary.item(0, 1).text().endswith("%")
    assert evaluate.summary.item(4, 1).text() == "2"  # the tiny project's two test problems

    assert evaluate.run_combo.currentText() == "done"
    click(qtbot, evaluate.eval_run_button)
    qtbot.waitUntil(lambda: evaluate.job is None, timeout=RUN_TIMEOUT_MS)
    assert evaluate.summary.item(0, 2).text().endswith("%")
    assert evaluate.summary.item(2, 3).text().endswith("%")  # the autonomy gap's change vs the base
    assert evaluate.ledger_table.rowCount() == 2
    assert {evaluate.ledger_table.item(r, 0).text() for r in range(2)} == {"q3", "q7"}
    assert evaluate.ledger_label.text().startswith("2 problems")
    assert window.workflow.states["evaluate"].startswith("done: ")

    click(qtbot, window.workflow.buttons["export"])
    export = window.panels["export"]
    assert export.run_combo.currentText() == "done"
    click(qtbot, export.export_button)
    dialog = export.findChild(QtExportDialog)
    type_into(qtbot, dialog.destination, str(tmp_path / "exported"))
    assert dialog.command_label.text().endswith(f"--out {tmp_path / 'exported'}")
    click(qtbot, dialog.export_button)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=RUN_TIMEOUT_MS)
    assert dialog.result_label.text().startswith(f"Verified: {tmp_path / 'exported'}"), dialog.result_label.text()
    assert (tmp_path / "exported" / "config.json").exists()
    dialog.reject()
    assert export.exports_label.text().startswith("Nothing exported yet")  # exported outside the project folder


def problems_only_project(folder: Path, model_dir: Path) -> Path:
    """Problems but no routes yet, and a routes file whose negatives leave the positives at step 2."""
    init_project(folder, model=str(model_dir), answer_type="number")
    problems = [{"id": f"q{i}", "question": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1)} for i in range(3)]
    import_problems(folder, str(write_jsonl(folder / "problems.jsonl", problems)))
    routes = []
    for i in range(3):
        gold, wrong = 2 * i + 1, 2 * i + 2
        routes += [{"problem_id": f"q{i}", "text": f"Step 1: take {i} and {i + 1}.\nStep 2: {i} + {i + 1} = {gold}."
                                                   f"\nAnswer: {gold}"},
                   {"problem_id": f"q{i}", "text": f"Step 1: take {i} and {i + 1}.\nStep 2: {i} + {i + 1} = {wrong}."
                                                   f"\nAnswer: {wrong}"}]
    routes.append({"problem_id": "q0", "text": "Step 1: 0 + 1 = 1.\nAnswer: 1"})
    write_jsonl(folder / "routes.jsonl", routes)
    return folder.resolve()


def test_routes_generated_from_a_file_show_counts_and_the_first_divergence(qtbot, tmp_path, tiny_model_dir,
                                                                             open_window):
    project = problems_only_project(tmp_path / "proj", tiny_model_dir)
    window = open_window(project)
    click(qtbot, window.workflow.buttons["routes"])
    routes = window.panels["routes"]
    assert routes.model.rowCount() == 0
    routes.source_kind.setCurrentText("file")
    type_into(qtbot, routes.source_value, str(project / "routes.jsonl"))
    assert f"--source file:{project / 'routes.jsonl'}" in routes.command.text()
    click(qtbot, routes.generate_button)
    qtbot.waitUntil(lambda: routes.job is None, timeout=120_000)

    assert window.workflow.states["routes"] == "7 routes · 3 problems (3 contrastive)"
    assert routes.shown.text() == "3 of 3 problems"
    model = routes.model
    rows = [[model.data(model.index(r, c)) for c in (0, 2, 3, 4, 5)] for r in range(model.rowCount())]
    assert sorted(rows) == [["q0", 2, 1, 0, "yes"], ["q1", 1, 1, 0, "yes"], ["q2", 1, 1, 0, "yes"]]

    routes.select_problem(1)
    positive, negative = routes.diff.shown_routes()
    assert (positive.final_answer, negative.final_answer) == ("3", "4")
    table = routes.diff.table
    assert (table.item(1, 0).text(), table.item(1, 1).text()) == ("Step 2: 1 + 2 = 3.", "Step 2: 1 + 2 = 4.")
    assert routes.diff.divergence_row == 1
    assert table.item(1, 1).background().color() == DIVERGENCE_COLOUR
    assert table.item(0, 0).text() == table.item(0, 1).text()
    assert "goes wrong at its step 2" in routes.diff.summary.text()


@pytest.mark.slow
def test_two_studios_on_one_project_share_its_run_and_refuse_a_second_of_its_name(qtbot, tiny_project, open_window):
    """Two windows (two studios) open on one project: when both Start a run of one name, the
    second is refused with the engine's one line where it clicked; it then follows the run the
    first started, and its Stop stops that run for both."""
    first, second = open_window(tiny_project), open_window(tiny_project)
    panel = start_training(qtbot, first, "shared", max_steps=200)
    wait_for_state(qtbot, panel, "running")
    click(qtbot, second.workflow.buttons["train"])
    other = second.panels["train"]
    other.form.recipe.setCurrentText("realm-zero")
    type_into(qtbot, other.form.run_edit, "shared")
    # refused as typed, where the name is: the run exists (the engine's lock refuses a race the form cannot see)
    qtbot.waitUntil(lambda: "'shared' exists" in other.form.error_label.text(), timeout=RUN_TIMEOUT_MS)
    assert not other.start_button.isEnabled()
    assert len(engine_pids(tiny_project)) == 1 and other.run_name is None

    assert second.open_project(tiny_project)  # re-read from disk: the run the other studio started
    assert other.run_name == "shared"
    wait_for_state(qtbot, other, "running")
    click(qtbot, other.stop_button)
    wait_for_state(qtbot, other, "paused")
    wait_for_state(qtbot, panel, "paused")
    qtbot.waitUntil(lambda: not engine_pids(tiny_project), timeout=30_000)
