"""The file contracts the GUI and the engine share: event log, run folders, locks, atomic writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.config import Config, config_to_toml
from engine.errors import UserError
from engine.events import EventTailer, EventWriter, read_events
from engine.fsutil import atomic_write_text
from engine.runs import (COMPLETE, RunFolder, RunLock, check_run_name, finished_run, latest_checkpoint, list_runs,
                         mark_complete, read_run_config, trained_chain)


def test_events_carry_the_common_fields_and_survive_nan(tmp_path):
    writer = EventWriter(tmp_path / "events.jsonl", "r1")
    writer.emit("metrics", stage="rl", step=1, metrics={"loss": float("nan"), "reward": 0.5})
    (event,) = read_events(tmp_path / "events.jsonl")
    assert {"v", "ts", "type", "run"} <= set(event) and event["run"] == "r1"
    assert event["metrics"] == {"loss": None, "reward": 0.5}  # NaN is not JSON: written as null


def test_samples_are_bounded(tmp_path):
    writer = EventWriter(tmp_path / "events.jsonl", "r1")
    writer.sample("rl", 3, "p" * 10_000, "c" * 10_000, {"correctness": 1.0}, hinted=True)
    (event,) = read_events(tmp_path / "events.jsonl")
    assert len(event["prompt"]) <= 4000 and len(event["completion"]) <= 4000


def test_tailer_returns_complete_lines_only_and_skips_garbage(tmp_path):
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path, "r1")
    tailer = EventTailer(path)
    assert tailer.poll() == []  # no log yet
    writer.emit("log", level="info", message="one")
    with open(path, "a") as f:
        f.write("not json at all\n")
        f.write('{"type": "log", "message": "half')  # a crash mid-write
    assert [e["message"] for e in tailer.poll()] == ["one"]
    assert tailer.skipped == 1
    with open(path, "a") as f:
        f.write(' a line"}\n')  # the writer finishes the line later
    assert [e["message"] for e in tailer.poll()] == ["half a line"]
    writer.emit("some_future_type", extra=1)  # unknown types pass through; readers ignore what they don't know
    assert tailer.poll()[0]["type"] == "some_future_type"


def test_tailer_starts_over_when_a_log_is_replaced(tmp_path):
    path = tmp_path / "events.jsonl"
    EventWriter(path, "r1").emit("log", message="old " * 50)
    tailer = EventTailer(path)
    tailer.poll()
    path.unlink()
    EventWriter(path, "r1").emit("log", message="new")
    assert [e["message"] for e in tailer.poll()] == ["new"]


def test_a_running_status_with_a_dead_pid_reads_interrupted(tmp_path):
    run = RunFolder(tmp_path, "r1")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run.write_status(state="running", pid=int(dead.stdout), step=7)
    assert run.read_status()["state"] == "interrupted"
    run.write_status(pid=os.getpid())
    assert run.read_status()["state"] == "running"
    assert run.read_status()["step"] == 7  # write_status merges


def test_run_listing_shows_states_and_complete_checkpoints_only(tmp_path):
    a, b = RunFolder(tmp_path, "a"), RunFolder(tmp_path, "b")
    a.write_status(state="finished", started=1.0)
    b.write_status(state="paused", started=2.0)
    for stage, step, complete in (("distill", 2, True), ("rl", 4, True), ("rl", 6, False)):  # 6: killed mid-save
        folder = b.checkpoints / stage / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if complete:
            (folder / "COMPLETE").write_text("{}")
            os.utime(folder / "COMPLETE", (step, step))
    runs = list_runs(tmp_path)
    assert [(r["name"], r["state"], r["checkpoints"]) for r in runs] == [
        ("b", "paused", ["distill/checkpoint-2", "rl/checkpoint-4"]), ("a", "finished", [])]


def test_a_stale_lock_is_taken_over_and_a_live_one_refused(tmp_path):
    run = RunFolder(tmp_path, "r1")
    run.path.mkdir(parents=True)
    run.lock_path.write_text("999999999")  # no such process
    with RunLock(run):
        assert run.lock_path.read_text() == str(os.getpid())
    assert not run.lock_path.exists()
    run.lock_path.write_text("1")
    with pytest.raises(UserError, match="already running"):
        RunLock(run).acquire()


def test_control_requests_round_trip(tmp_path):
    run = RunFolder(tmp_path, "r1")
    assert run.pending_request() is None
    run.request("stop")
    assert run.pending_request() == "stop"
    run.clear_request()
    assert run.pending_request() is None


@pytest.mark.parametrize("name", ["", "../x", "a b", "-x", "x" * 65])
def test_bad_run_names_are_refused(name):
    with pytest.raises(UserError, match="run name"):
        check_run_name(name)


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    from engine.fsutil import atomic_open

    target = tmp_path / "status.json"
    atomic_write_text(target, json.dumps({"ok": 1}))
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write('{"half":')
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temp file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # normal permissions, not mkstemp's 0600


# ----------------------------------------------------------------------------- stage results and the frozen config


def _stage_result(run: RunFolder, stage: str, complete: bool = True):
    final = run.final_dir(stage)
    final.mkdir(parents=True)
    if complete:
        mark_complete(final, stage=stage)
    return final


def test_stage_results_count_only_once_marked_complete(tmp_path):
    run = RunFolder(tmp_path, "r1")
    assert run.final_dir("rl") == tmp_path / "runs" / "r1" / "stages" / "rl" / "final"  # the contract (README)
    assert run.checkpoint_dir("rl") == tmp_path / "runs" / "r1" / "checkpoints" / "rl"
    distill = _stage_result(run, "distill")
    _stage_result(run, "rl", complete=False)  # killed while saving
    assert run.stage_finished("distill") and not run.stage_finished("rl")
    assert run.finished_stages() == ["distill"]
    assert trained_chain(run, ("distill", "rl")) == [distill]
    assert json.loads((distill / COMPLETE).read_text())["stage"] == "distill"


def test_latest_checkpoint_is_the_newest_complete_one(tmp_path):
    folder = tmp_path / "checkpoints" / "rl"
    assert latest_checkpoint(folder) is None
    for step, complete in ((2, True), (10, True), (12, False), (4, True)):
        (folder / f"checkpoint-{step}").mkdir(parents=True)
        if complete:
            mark_complete(folder / f"checkpoint-{step}", step=step)
    (folder / "checkpoint-last").mkdir()
    assert latest_checkpoint(folder) == folder / "checkpoint-10"  # by number, not name; 12 was cut short


def test_the_frozen_config_reads_back_with_its_recipe_and_an_unknown_recipe_is_refused(tmp_path):
    run = RunFolder(tmp_path, "r1")
    run.path.mkdir(parents=True)
    cfg = Config()
    cfg.rl.max_steps = 7
    run.config.write_text('recipe = "realm-r1"\n\n' + config_to_toml(cfg))
    assert read_run_config(run) == ("realm-r1", cfg)
    assert run.config_table()["recipe"] == "realm-r1"
    run.config.write_text('recipe = "magic"\n')
    with pytest.raises(UserError, match="unknown recipe 'magic'"):
        read_run_config(run)


def test_a_run_to_evaluate_needs_a_finished_stage(tmp_path):
    with pytest.raises(UserError, match="no such run"):
        finished_run(tmp_path, "r1", "evaluate")
    run = RunFolder(tmp_path, "r1")
    run.path.mkdir(parents=True)
    run.config.write_text('recipe = "realm-r1"\n\n' + config_to_toml(Config()))
    with pytest.raises(UserError, match="no finished stage to export"):
        finished_run(tmp_path, "r1", "export")
    rl = _stage_result(run, "rl")
    distill = _stage_result(run, "distill")
    assert finished_run(tmp_path, "r1", "export")[1:] == ("realm-r1", Config(), [distill, rl])  # the recipe's order
