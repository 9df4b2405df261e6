"""A long run stays bounded: its log rotates without breaking replay or re-attach, status.json
stays truthful at every step, checkpoints stay within the save limit plus the kept best.

The stream is the real one (``bench/soak.py`` drives the engine's own ``RunCallback`` with an
RL step's events, no model), 20,000 steps with small log parts here; ``bench/soak.py`` runs the
100,000-step soak and measures the GUI following it. Checkpoints need the Trainer's own
rotation: a real tiny-model run saving at every step.
"""

from __future__ import annotations

import pytest

from bench.soak import checkpoint_soak, write_run
from engine.events import PART_BYTES, EventTailer, iter_events, rotated_parts
from engine.runs import RunFolder

STEPS = 20_000
PART = 2 * 1024 * 1024  # about 750 steps a part: dozens of rotations


@pytest.mark.slow
def test_a_long_runs_log_rotates_and_every_reader_sees_every_step_with_a_truthful_status(tmp_path):
    run = RunFolder(tmp_path / "proj", "long")
    follower, followed, wrong_status = EventTailer(run.events), [], []

    def at_every_thousandth(step: int) -> None:
        followed.extend(e["step"] for e in follower.poll(PART) if e["type"] == "progress")  # a GUI-sized read
        status = run.read_status()
        if (status["state"], status["step"], status.get("total_steps")) != ("running", step, STEPS):
            wrong_status.append((step, status))
    figures = write_run(run.project, run.name, STEPS, part_bytes=PART, save_steps=500, on_every=at_every_thousandth)

    followed.extend(e["step"] for e in follower.drain() if e["type"] == "progress")
    assert followed == list(range(1, STEPS + 1)), "a reader following the run saw a step twice or not at all"
    assert [e["step"] for e in iter_events(run.events, {"progress"})] == list(range(1, STEPS + 1))  # replay
    assert not wrong_status, wrong_status[:3]
    assert run.read_status()["state"] == "finished" and run.read_status()["step"] == STEPS
    parts = rotated_parts(run.events)
    assert len(parts) == figures["parts"] > 20 and parts == list(range(1, len(parts) + 1))
    assert not list(run.path.glob("events.*.jsonl")), "every rotated part is compressed"
    assert run.events.stat().st_size < PART + 16 * 1024  # the live log stays one part
    assert figures["disk_bytes"] * 3 < STEPS * 2500  # ~2.7 KB a step written, a third of it or less kept
    assert PART_BYTES > PART  # (the default parts are larger: the same code, fewer files)


@pytest.mark.slow
def test_checkpoints_stay_within_the_save_limit_plus_the_best(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr("engine.stages.context.LOG_HISTORY_KEPT", 3)  # as after 100 steps of a real run
    usage = checkpoint_soak(tmp_path, tiny_model_dir, steps=12)
    assert [u["step"] for u in usage] == list(range(1, 13))
    assert max(u["checkpoints"] for u in usage) == 3  # training.py: save_total_limit=3
    assert max(u["best"] for u in usage) == 1
    settled = usage[5]["bytes"]  # three checkpoints and the best, each with the logs of its last steps only
    assert all(abs(u["bytes"] - settled) < settled / 100 for u in usage[5:]), [u["bytes"] for u in usage]
