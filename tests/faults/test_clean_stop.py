"""``realm-engine stop`` and ``cancel`` on a detached run: every engine process ends (the whole
session, read from /proc), stop leaves a checkpoint at the step it stopped on, cancel keeps
the last one it had; the run then reads ``paused`` or ``cancelled``.
"""

from __future__ import annotations

import json
import os
import signal

import pytest
from fault_testkit import engine, event_seen, session_members, wait_until
from stage_testkit import events_of, make_project

from engine.cli import main
from engine.runs import RunFolder
from engine.runs import COMPLETE, latest_checkpoint


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("stop") / "proj", tiny_model_dir)


@pytest.mark.parametrize("verb, state", [("stop", "paused"), ("cancel", "cancelled")])
def test_stop_and_cancel_end_every_engine_process(project, verb, state):
    name = f"detached-{verb}"
    out = engine("train", project, "--recipe", "grpo", "--run", name, "--max-steps", "500", "--detach", "--json").stdout
    pid = json.loads(out.splitlines()[-1])["pid"]  # the `detached` event
    run = RunFolder(project, name)
    try:
        wait_until(event_seen(run.path, "checkpoint"), "the first checkpoint")
        assert pid in session_members(pid), "the detached engine leads its own session"
        assert main([verb, str(project), "--run", name]) == 0
        wait_until(lambda: not session_members(pid), "every engine process to end (grace period)")
    finally:
        if session_members(pid):  # a failed test must not leave a 500-step run behind
            os.killpg(pid, signal.SIGKILL)

    status = run.read_status()
    assert status["state"] == state
    kept = latest_checkpoint(run.checkpoints / "rl")
    assert kept is not None and (kept / COMPLETE).exists()
    last_announced = events_of(run.path, "checkpoint")[-1]["step"]
    assert int(kept.name.split("-")[1]) == last_announced
    if verb == "stop":
        assert last_announced == status["step"], "stop checkpoints the step it stopped on"
    else:
        assert last_announced <= status["step"]
    assert not run.lock_path.exists()
