"""Multi-process training through `accelerate launch` with 2 CPU processes (gloo): the run must keep
the single-process contract — one writer of events and status, complete checkpoints, stop and
resume, and no process left behind, even when the engine process itself is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from stage_testkit import events_of, make_project

from engine.runs import RunFolder, pid_alive

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
MAX_STEPS = 3


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("dist") / "proj", tiny_model_dir, settings={"rl.max_steps": MAX_STEPS})


def engine_proc(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRANSFORMERS_VERBOSITY": "error"}
    return subprocess.Popen([sys.executable, "-m", "engine", *map(str, args)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(condition, what: str, limit_s: float = 240.0):
    """Poll until ``condition()`` holds; the limit only keeps a broken run from hanging the suite."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def rank_pids(run: RunFolder) -> list[int]:
    return [json.loads(p.read_text())["pid"] for p in sorted((run.path / "ranks").glob("rank-*.json"))]


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line names ``text`` (the launcher and every rank name the project)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if entry.name.isdigit() and text in cmdline and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, out


def test_two_ranks_train_stop_and_resume_like_one_process(project):
    run = RunFolder(project, "two-ranks")
    proc = engine_proc("train", project, "--recipe", "realm-zero", "--run", run.name,
                       "--launcher", "accelerate", "--num-processes", "2")
    wait_for(lambda: len(rank_pids(run)) == 2 or proc.poll() is not None, "both ranks to start")
    ranks = rank_pids(run)
    assert len(set(ranks)) == 2 and proc.pid not in ranks, "two distinct rank processes must run"
    status = run.read_status()
    assert status["state"] == "running" and status["pid"] == proc.pid  # `stop` and liveness see the parent
    run.request("stop")  # what `realm-engine stop` and the GUI do
    rc, out = finish(proc)
    assert rc == 0, out[-3000:]
    assert run.read_status()["state"] == "paused"
    stopped_at = events_of(run.path, "stage_finished")[-1]["step"]
    assert 1 <= stopped_at < MAX_STEPS
    stop_checkpoint = run.checkpoints / "rl" / f"checkpoint-{stopped_at}"
    assert (stop_checkpoint / "COMPLETE").exists(), "a stop must leave a complete checkpoint"
    assert sorted(p.name for p in stop_checkpoint.glob("rng_state_*.pth")) == ["rng_state_0.pth", "rng_state_1.pth"]
    assert not [pid for pid in ranks if pid_alive(pid)] and not processes_mentioning(f"{project} {run.name}")

    rc, out = finish(engine_proc("resume", project, "--run", run.name))  # relaunches with the same 2 processes
    assert rc == 0, out[-3000:]
    assert run.read_status()["state"] == "finished"
    assert not processes_mentioning(f"{project} {run.name}")
    started = events_of(run.path, "run_started")
    assert [(e["world_size"], e["resumed"]) for e in started] == [(2, False), (2, True)]
    assert [e["state"] for e in events_of(run.path, "run_finished")] == ["paused", "finished"]
    assert [e["start_step"] for e in events_of(run.path, "stage_started")] == [0, stopped_at]
    # one writer: every step is reported exactly once across both launches
    assert [e["step"] for e in events_of(run.path, "progress")] == list(range(1, MAX_STEPS + 1))
    assert Counter(e["step"] for e in events_of(run.path, "rollout_plan")) == Counter(range(MAX_STEPS))
    plans = events_of(run.path, "rollout_plan")
    assert all(len(p["groups"]) == 2 * 2 for p in plans), "rank 0 logs the prompt groups of both ranks"
    checkpoints = events_of(run.path, "checkpoint")
    assert len({e["step"] for e in checkpoints}) == len(checkpoints) and checkpoints[-1]["step"] == MAX_STEPS
    assert (Path(checkpoints[-1]["path"]) / "COMPLETE").exists()
    assert (run.path / "stages" / "rl" / "final" / "COMPLETE").exists()


def test_killing_the_engine_process_leaves_no_rank_behind(project):
    run = RunFolder(project, "killed")
    proc = engine_proc("train", project, "--recipe", "realm-zero", "--run", run.name,
                       "--launcher", "accelerate", "--num-processes", "2", "--max-steps", "1000")
    wait_for(lambda: events_of(run.path, "progress") or proc.poll() is not None, "the first step")
    ranks = rank_pids(run)
    assert len(ranks) == 2
    proc.send_signal(signal.SIGKILL)  # nothing of the parent runs any more: the ranks must notice alone
    proc.communicate()
    wait_for(lambda: not [pid for pid in ranks if pid_alive(pid)], "the ranks to leave after their engine died")
    wait_for(lambda: not processes_mentioning(f"{project} {run.name}"), "the accelerate launcher to leave")
    assert run.read_status()["state"] in ("cancelled", "interrupted")
