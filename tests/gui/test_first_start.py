"""First start: with no recent projects the window offers the demo project, which the engine
sets up (problems and routes, no training) or which is opened as it is when it already exists."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.project import init_project
from engine.runs import RunFolder
from realm_studio.main_window import QtMainWindow


@pytest.fixture
def newcomer(tmp_path, monkeypatch):
    """A home and a working folder of their own: no demo project anywhere yet."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home, work


@pytest.fixture
def window(qtbot, settings, newcomer):
    window = QtMainWindow(settings=settings)
    qtbot.addWidget(window)
    window.show()
    return window


def test_first_start_sets_up_the_demo_project_through_the_engine(qtbot, window, newcomer):
    home, _work = newcomer
    assert window.first_start.isVisible()
    assert window.first_start.button.text() == "Open the demo project"
    qtbot.mouseClick(window.first_start.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.project_dir is not None or "could not" in window.first_start.label.text(),
                    timeout=120_000)

    assert window.project_dir == (home / "realm-demo").resolve(), window.first_start.label.text()
    assert window.windowTitle() == "northwind-parcel-demo — ReaLM Studio"
    assert not window.first_start.isVisible()
    assert window.current_step() == "routes"
    assert window.panels["routes"].model.rowCount() == 300
    assert window.workflow.states["routes"].startswith("1500 routes · 300 problems")
    assert window.workflow.states["train"] == "no run yet"
    assert window.recent_projects() == [str(home / "realm-demo")]


def test_an_existing_demo_project_with_a_finished_run_is_opened_as_it_is(qtbot, window, newcomer):
    home, work = newcomer
    init_project(home / "realm-demo", name="untrained-demo")
    init_project(work / "realm-demo", name="northwind-parcel-demo")
    RunFolder(work / "realm-demo", "demo-quick").write_status(state="finished", pid=None, step=3)
    qtbot.mouseClick(window.first_start.button, Qt.MouseButton.LeftButton)
    assert window.project_dir == (work / "realm-demo").resolve()
    assert window.workflow.states["train"] == "demo-quick: finished"
    assert not window.engine.jobs  # nothing was set up: no engine call


def test_no_demo_offer_once_a_project_was_opened(qtbot, settings, newcomer, project):
    first = QtMainWindow(settings=settings)
    qtbot.addWidget(first)
    first.open_project(project)
    first.close()
    second = QtMainWindow(settings=settings)
    qtbot.addWidget(second)
    second.show()
    assert not second.first_start.isVisible()
