"""The engine client starts detached runs without blocking: the window's event loop keeps turning
while a slow engine starts, and the outcome (the engine's pid, or its one-line refusal) arrives
as a signal."""

from __future__ import annotations

import sys
import time

import pytest
from PySide6.QtCore import QTimer

from realm_studio import engine_client as ec

SLOW_START_S = 1.5
SLOW_ENGINE = f"""
import json, sys, time
time.sleep({SLOW_START_S})  # a cold import of torch on a busy machine takes this long, or far longer
print(json.dumps({{"v": 1, "type": "detached", "run": "r1", "pid": 4242, "argv": sys.argv[1:]}}), flush=True)
"""
REFUSING_ENGINE = """
import sys, time
time.sleep(0.3)
print("error: run 'r1' already exists (resume it)", file=sys.stderr)
sys.exit(2)
"""


@pytest.fixture
def fake_engine(monkeypatch):
    """Make the client start ``script`` (given the engine's arguments) instead of the engine."""
    def use(script: str) -> None:
        monkeypatch.setattr(ec, "engine_argv", lambda args: [sys.executable, "-c", script, *args])
    return use


def test_a_slow_engine_start_leaves_the_event_loop_turning(qtbot, engine_client, fake_engine):
    fake_engine(SLOW_ENGINE)
    ticks = []
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    try:
        t0 = time.monotonic()
        job = engine_client.start_detached(["train", "proj", "--recipe", "grpo", "--run", "r1"])
        assert time.monotonic() - t0 < 0.5, "start_detached must return before the engine is up"
        assert engine_client.state == "busy: train"
        with qtbot.waitSignal(job.sig_started, timeout=30_000) as started:
            pass
    finally:
        timer.stop()
    assert started.args == [4242] and job.pid == 4242
    waited = ticks[-1] - t0
    assert waited >= SLOW_START_S * 0.9
    assert len(ticks) >= 10, f"only {len(ticks)} timer ticks in {waited:.1f} s: the event loop was blocked"
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 1.0, "the loop stalled while the engine started"
    assert job.args[-2:] == ["--detach", "--json"]
    qtbot.waitUntil(lambda: engine_client.state == "idle", timeout=10_000)


def test_a_refusal_arrives_as_the_engines_one_line(qtbot, engine_client, fake_engine):
    fake_engine(REFUSING_ENGINE)
    job = engine_client.start_detached(["resume", "proj", "--run", "r1"])
    started = []
    job.sig_started.connect(started.append)
    with qtbot.waitSignal(job.sig_failed, timeout=30_000) as failed:
        pass
    assert failed.args == ["error: run 'r1' already exists (resume it)"]
    assert started == [] and job.pid is None
    qtbot.waitUntil(lambda: engine_client.state == "idle", timeout=10_000)


def test_the_train_panel_follows_the_run_once_its_engine_runs(qtbot, engine_client, fake_engine, project):
    from realm_studio.panels.qt_train_panel import QtTrainPanel

    fake_engine(SLOW_ENGINE)
    panel = QtTrainPanel(engine_client)
    qtbot.addWidget(panel)
    panel.set_project(project)
    try:
        assert panel.start_run("grpo", [], "r1") == "r1"
        assert panel.run_name is None and "r1 — starting" in panel.run_label.text()
        assert not panel.start_button.isEnabled(), "no second start while one is on its way"
        assert panel.start_run("grpo", [], "r2") is None
        qtbot.waitUntil(lambda: panel.run_name == "r1", timeout=30_000)
        assert panel.starting is None
    finally:
        panel.shutdown()
        qtbot.waitUntil(lambda: engine_client.state == "idle", timeout=10_000)
