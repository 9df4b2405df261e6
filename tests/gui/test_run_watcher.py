"""The run watcher: a ``run_finished`` event sets the run's state at once (it used to wait for the
next status.json poll, because the event was taken for a log line only)."""

from __future__ import annotations

import os

from engine.events import RUN_FINISHED, RUN_STARTED, EventWriter
from engine.runs import RunFolder
from realm_studio.run_watcher import STATUS_EVERY, RunWatcher


def test_run_finished_sets_the_state_before_the_next_status_poll(qtbot, project):
    run = RunFolder(project, "r1")
    run.write_status(state="running", pid=os.getpid(), step=0)  # alive: status.json says running
    writer = EventWriter(run.events, "r1")
    writer.emit(RUN_STARTED, recipe="grpo", device="cpu")
    watcher = RunWatcher(run)
    states, lines = [], []
    watcher.sig_state.connect(states.append)
    watcher.sig_log.connect(lines.append)
    watcher.poll()  # the first poll reads status.json too
    assert states == ["running"]

    writer.emit(RUN_FINISHED, state="finished")  # status.json still says running
    assert watcher._polls % STATUS_EVERY != 0, "this poll must not read status.json"
    assert watcher.poll() == 1
    assert states == ["running", "finished"] and watcher.state == "finished"
    assert lines[-1] == "run finished"  # still a line of the log pane too
