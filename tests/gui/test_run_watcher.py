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


def test_a_rotated_log_replays_and_re_attaches_to_the_same_history(qtbot, project):
    """A watcher following a run while its log rotates, and one attached afterwards (a window
    reopened), see every metric point once, in order."""
    run = RunFolder(project, "long")
    writer = EventWriter(run.events, run.name, part_bytes=3000)
    writer.emit("stage_started", stage="rl", total_steps=300)
    following = RunWatcher(run)
    seen = []
    following.sig_metrics.connect(lambda step, _stage, metrics: seen.append((step, metrics["loss"])))
    for step in range(1, 301):
        writer.emit("metrics", stage="rl", step=step, metrics={"loss": 1 / step})
        if step % 37 == 0:
            following.poll()
    while following.poll():
        pass
    expected = [(step, 1 / step) for step in range(1, 301)]
    assert seen == expected and len(list(run.path.glob("events.*.jsonl.gz"))) > 10

    reopened, replayed = RunWatcher(run), []
    reopened.sig_metrics.connect(lambda step, _stage, metrics: replayed.append((step, metrics["loss"])))
    while reopened.poll():
        pass
    assert replayed == expected


def test_of_many_progress_events_read_at_once_only_the_newest_is_shown(qtbot, project):
    """Re-attaching to a long run reads thousands of progress events in one poll: each would
    repaint the progress bar (most of a replay's time), and only the newest says where the run is."""
    run = RunFolder(project, "progress")
    writer = EventWriter(run.events, run.name)
    for step in range(1, 501):
        writer.emit("progress", stage="rl", step=step, total=500)
    watcher, shown = RunWatcher(run), []
    watcher.sig_progress.connect(shown.append)
    assert watcher.poll() == 500
    assert [e["step"] for e in shown] == [500]
