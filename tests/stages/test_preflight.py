"""Pre-flight: one real dry step per stage at its worst case, and the one-line advice when it will not fit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from stage_testkit import make_project

from engine.config import Config
from engine.stages.preflight import _advice, _out_of_memory, preflight

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("preflight") / "proj", tiny_model_dir)


def test_each_stage_takes_one_worst_case_step_and_the_eta_adds_them_up(project):
    result = preflight(project, "realm-r1", ["rl.max_steps=7"])
    distill, rl = result["stages"]
    assert (distill["stage"], distill["steps"], rl["stage"], rl["steps"]) == ("distill", 2, "rl", 7)
    assert all(s["seconds_per_step"] > 0 and s["peak_gib"] > 0 and s["fits"] for s in result["stages"])
    assert result["eta_s"] == pytest.approx(2 * distill["seconds_per_step"] + 7 * rl["seconds_per_step"], abs=0.2)
    assert result["device"] == "cpu" and result["warnings"] == []
    assert rl["completion_tokens"] > 0  # rl.max_completion_length = 0 is set from the routes, as `train` sets it
    assert not (project / "runs").exists() or not any((project / "runs").iterdir())  # scratch only, gone


def test_the_cli_prints_the_estimate_as_an_event(project):
    proc = subprocess.run([sys.executable, "-m", "engine", "preflight", str(project), "--recipe", "grpo", "--json",
                           "--max-steps", "3"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    done = [json.loads(line) for line in proc.stdout.splitlines() if '"preflight_done"' in line][0]
    assert [s["stage"] for s in done["stages"]] == ["rl"] and done["stages"][0]["steps"] == 3 and done["eta_s"] > 0


def test_what_will_not_fit_is_one_line_naming_the_settings_to_change():
    cfg = Config()
    cfg.rl.max_completion_length = 256
    line = _advice(cfg, "rl", 30 * 2**30, 24 * 2**30, None)
    assert line == ("rl: one step needs 30.0 GiB of 24.0 GiB: lower rl.prompts_per_step (2) or rl.num_generations (8), "
                    "or shorten rl.max_completion_length (256), or set model.gradient_checkpointing = true")
    cfg.model.lora, cfg.model.gradient_checkpointing = False, True
    assert _advice(cfg, "distill", 0, 1, "out of memory") == (
        "distill: one step ran out of memory: lower distill.batch_size (4) or distill.max_length (512), "
        "or set model.lora = true")


@pytest.mark.parametrize("error, oom", [
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"), True),
    (MemoryError(), True),
    (RuntimeError("expected scalar type Float"), False),
])
def test_out_of_memory_is_told_from_other_failures(error, oom):
    assert _out_of_memory(error) is oom


def test_the_dry_step_is_timed_without_the_held_out_curve(project, monkeypatch):
    # the curve evaluates at a stage's first and last step: in a one-step dry run, twice, inside the timed step
    def evaluating(*args, **kwargs):
        raise AssertionError("the dry step evaluated the held-out curve")

    monkeypatch.setattr("engine.stages.heldout.HeldOutCurve.__init__", evaluating)
    result = preflight(project, "realm-r1", ["rl.max_steps=2", "eval.every_steps=1", "eval.keep_best=true"])
    assert [s["stage"] for s in result["stages"]] == ["distill", "rl"] and result["eta_s"] > 0
