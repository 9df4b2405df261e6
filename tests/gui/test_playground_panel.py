"""The Playground against real `realm-engine serve` processes on the tiny model: streamed replies,
routes on one side, verdicts, and no server left behind when the panel or the window closes."""

from __future__ import annotations

import time

import pytest
from stage_testkit import make_project

from engine.runs import pid_alive
from realm_studio.panels.qt_playground_panel import QtPlaygroundPanel, model_specs

SERVER_START_MS = 180_000  # an engine process loading a model, on a loaded 2-core machine


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory, tiny_model_dir):
    project = make_project(tmp_path_factory.mktemp("playground") / "proj", tiny_model_dir)
    (project / "exports" / "not-a-model").mkdir(parents=True)
    return project


def wait_gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.time() + seconds
    while pid_alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    return not pid_alive(pid)


def test_two_models_side_by_side_one_with_routes_each_streamed_and_judged(qtbot, engine_client, tiny_project):
    panel = QtPlaygroundPanel(engine_client)
    qtbot.addWidget(panel)
    panel.set_project(tiny_project)
    assert model_specs(tiny_project) == ["base"]  # no run yet; an export folder without a model is not offered
    plain, hinted = panel.columns
    for column in panel.columns:
        column.load("base")
    qtbot.waitUntil(lambda: plain.url is not None and hinted.url is not None, timeout=SERVER_START_MS)
    hinted.routes.setChecked(True)
    panel.choose_problem("q3")
    assert "What is 3 + 4?" in panel.prompt.toPlainText() and panel.problem_id() == "q3"
    panel.max_tokens.setValue(8)
    with qtbot.waitSignals([plain.sig_reply_done, hinted.sig_reply_done], timeout=60_000):
        assert panel.ask() == 2
    assert plain.verdict.text() and hinted.verdict.text()  # the engine's verifier judged each reply
    assert plain.prompt_note.text() == "prompt: the question, no routes"
    assert hinted.prompt_note.text() == "prompt: the question with 3 candidate routes (MRPV)"
    assert plain.view.toPlainText() == plain.text
    pids = [plain.server_pid, hinted.server_pid]
    panel.shutdown()
    assert all(wait_gone(pid) for pid in pids)
    assert not engine_client.jobs


def test_an_edited_prompt_is_free_text_and_closing_the_window_stops_the_servers(qtbot, engine_client, settings,
                                                                                 tiny_project):
    from realm_studio.main_window import QtMainWindow

    window = QtMainWindow(engine_client, settings)
    qtbot.addWidget(window)
    assert window.open_project(tiny_project)
    window.show_step("playground")
    panel = window.panels["playground"]
    panel.columns[0].load("base")
    qtbot.waitUntil(lambda: panel.columns[0].url is not None, timeout=SERVER_START_MS)
    panel.choose_problem("q3")
    panel.prompt.setPlainText("Say hi.")
    assert panel.problem_id() is None  # no verdict is claimed for a question it no longer is
    with qtbot.waitSignal(panel.columns[0].sig_reply_done, timeout=60_000) as reply:
        assert panel.ask() == 1  # side B has no model yet
    assert reply.args[0]["verdict"] is None and not reply.args[0]["error"]
    pid = panel.columns[0].server_pid
    window.close()
    assert wait_gone(pid)
