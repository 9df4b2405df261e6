"""The Runs panel: states read from disk, a dead engine shown as interrupted with its last
log lines and a Resume button, the config diff of two runs, and the metric overlay."""

from __future__ import annotations

import pytest

from engine.config import Config, config_to_toml
from engine.events import EventWriter
from engine.runs import RunFolder
from realm_studio.panels.qt_runs_panel import QtRunsPanel, config_diff

DEAD_PID = 2 ** 22 + 12345


def make_run(project, name, state="finished", pid=None, config=None, steps=0):
    run = RunFolder(project, name)
    run.write_status(state=state, pid=pid, step=steps)
    run.config.write_text(config_to_toml(config or Config()))
    writer = EventWriter(run.events, name)
    for step in range(1, steps + 1):
        writer.emit("metrics", stage="rl", step=step, metrics={"reward": step / 10})
        writer.log(f"line {step}")
    return run


@pytest.fixture
def panel(qtbot, engine_client, project):
    panel = QtRunsPanel(engine_client)
    qtbot.addWidget(panel)
    panel.set_project(project)
    return panel


def test_running_run_with_dead_engine_is_interrupted_with_log_and_resume(panel, project):
    make_run(project, "crashed", state="running", pid=DEAD_PID, steps=30)
    panel.refresh()
    panel.select(["crashed"])
    assert panel.runs[0]["state"] == "interrupted"
    assert panel.run_table.item(0, 1).text() == "interrupted"
    assert panel.details.text().startswith("crashed: interrupted")
    assert panel.last_log.toPlainText().splitlines() == [f"line {i}" for i in range(11, 31)]
    assert panel.resume_button.isEnabled() and not panel.attach_button.isEnabled()


def test_config_diff_shows_only_the_changed_keys(panel, project):
    changed = Config()
    changed.rl.max_steps = 50
    changed.fade.schedule = "linear"
    make_run(project, "a")
    make_run(project, "b", config=changed)
    panel.refresh()
    panel.select(["a", "b"])
    table = panel.diff_table
    shown = {table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
             for r in range(table.rowCount())}
    names = [panel.runs[0]["name"], panel.runs[1]["name"]]
    expected = {"fade.schedule": ("cosine", "linear"), "rl.max_steps": ("200", "50")}
    if names == ["b", "a"]:
        expected = {k: (v[1], v[0]) for k, v in expected.items()}
    assert shown == expected
    assert panel.diff_label.text() == "2 settings differ"


@pytest.mark.parametrize("a, b, expected", [
    ({"x": 1}, {"x": 1}, []),
    ({"x": 1}, {"x": 2}, [("x", 1, 2)]),
    ({"x": 1}, {}, [("x", 1, None)]),
    ({}, {"y": [1]}, [("y", None, [1])]),
])
def test_config_diff_table(a, b, expected):
    assert config_diff(a, b) == expected


def test_overlay_draws_one_series_per_selected_run(panel, project):
    make_run(project, "a", steps=5)
    make_run(project, "b", steps=8)
    panel.refresh()
    panel.select(["a", "b"])
    panel.metric_combo.setCurrentText("reward")
    assert {name: len(buf.x) for name, buf in panel.overlay.series.items()} == {"a": 5, "b": 8}
    assert list(panel.overlay.data("b")[1]) == [s / 10 for s in range(1, 9)]
