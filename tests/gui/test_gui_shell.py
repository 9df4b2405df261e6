"""The app shell: a project opens in every step, states reach the workflow bar, the
shortcuts move between steps, recent projects are remembered, and --screenshot works."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt

from engine.runs import RunFolder
from realm_studio.main_window import STEPS, QtMainWindow
from realm_studio.panels.qt_eval_panel import QtEvalPanel, flip


@pytest.fixture
def window(qtbot, engine_client, settings):
    window = QtMainWindow(engine_client, settings)
    qtbot.addWidget(window)
    yield window
    window.close()


def test_opening_a_project_fills_the_workflow_states(window, project):
    RunFolder(project, "r1").write_status(state="finished", pid=None, step=5)
    assert window.open_project(project)
    assert window.windowTitle().startswith("demo")
    assert window.workflow.states["runs"] == "1 run"
    assert window.workflow.states["train"] == "r1: finished"
    assert window.workflow.states["evaluate"] == "not evaluated"
    assert window.recent_projects() == [str(project)]


def test_a_folder_without_realm_toml_is_refused_with_one_line(window, tmp_path):
    assert not window.open_project(tmp_path)
    assert "realm.toml: not found" in window.banner.text()
    assert window.project_dir is None


def test_ctrl_number_shortcuts_switch_steps(window, project):
    """Each step has Ctrl+<its number>; triggering it shows that step (offscreen windows are
    never active, so the shortcut is looked up on the window rather than typed)."""
    window.open_project(project)
    by_shortcut = {action.shortcut().toString(): action for action in window.actions()}
    assert {"Ctrl+N", "Ctrl+O", "Ctrl+Q"} <= by_shortcut.keys()
    assert len(STEPS) <= 10  # one digit each: Ctrl+1 … Ctrl+9, the tenth Ctrl+0
    for index, (key, *_rest) in reversed(list(enumerate(STEPS, start=1))):
        by_shortcut[f"Ctrl+{index % 10}"].trigger()
        assert window.current_step() == key
        assert window.workflow.buttons[key].isChecked()


def test_the_window_remembers_its_step(qtbot, engine_client, settings, project):
    first = QtMainWindow(engine_client, settings)
    qtbot.addWidget(first)
    first.show_step("evaluate")
    first.close()
    second = QtMainWindow(engine_client, settings)
    qtbot.addWidget(second)
    assert second.current_step() == "evaluate"


def write_eval(folder, summary, ledger):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "ledger.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ledger) + "{cut")


def test_ledger_highlights_flips_and_filters_them(qtbot, engine_client, project):
    base = {"accuracy_without_routes": 0.5, "accuracy_with_routes": 0.75, "autonomy_gap": 0.25,
            "format_failure_rate": 0.1, "n": 4}
    run = {**base, "accuracy_without_routes": 0.75, "autonomy_gap": 0.0}
    rows = [  # (base right?, run right?) → expected flip
        {"problem_id": "p1", "base_correct_without": False, "correct_without": True},
        {"problem_id": "p2", "base_correct_without": True, "correct_without": False},
        {"problem_id": "p3", "base_correct_without": True, "correct_without": True},
        {"problem_id": "p4", "base_correct_without": None, "correct_without": True},
    ]
    write_eval(project / "eval" / "base", base, [])
    RunFolder(project, "r1").write_status(state="finished", pid=None)
    write_eval(RunFolder(project, "r1").eval_dir, run, rows)
    panel = QtEvalPanel(engine_client)
    qtbot.addWidget(panel)
    panel.set_project(project)

    assert [flip(row) for row in rows] == ["fixed", "broken", None, None]
    table = panel.ledger_table
    assert table.rowCount() == 4
    colors = [table.item(r, 0).background().color().getRgb()[:3] for r in range(4)]
    assert colors[0] == (46, 160, 67) and colors[1] == (218, 54, 51)
    assert table.item(2, 0).background().style() == Qt.BrushStyle.NoBrush
    assert panel.summary.item(0, 1).text() == "50.0%" and panel.summary.item(0, 3).text() == "+25.0%"
    panel.flipped_only.setChecked(True)
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["p1", "p2"]
    assert "1 fixed · 1 broken" in panel.ledger_label.text()


def test_screenshot_writes_a_png(tmp_path, project):
    out = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, "-m", "realm_studio", "--project", str(project),
                             "--panel", "train", "--screenshot", str(out)],
                            capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
