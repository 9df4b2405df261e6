"""The reward bench on a real project: stored routes, a user's Python verifier (good, flat, broken), fresh samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from stage_testkit import events_of, make_project

from engine.launch import train
from engine.project import reward_bench_path
from engine.runs import RunFolder
from engine.stages.reward_bench import bench_rewards

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, tiny_model_dir):
    return make_project(tmp_path / "proj", tiny_model_dir)


HONEST = "def check(completion, gold):\n    return completion.strip().splitlines()[-1] == 'Answer: ' + gold\n"


@pytest.fixture
def python_project(tmp_path, tiny_model_dir):
    """Problems checked by a user's Python verifier (the routes were labelled by the honest one)."""
    folder = tmp_path / "py"
    folder.mkdir()
    (folder / "check.py").write_text(HONEST)
    return make_project(folder, tiny_model_dir, settings={"data.answer_type": "python",
                                                           "data.python_verifier": "check.py:check"})


def entry(result: dict, name: str) -> dict:
    return next(e for e in result["functions"] if e["name"] == name)


def test_the_configured_rewards_rank_the_stored_routes_as_their_labels_say(project):
    result = bench_rewards(project)
    correctness = entry(result, "correctness")
    assert result["routes"] == 24 and correctness["auc"] == 1.0 and result["warnings"] == []
    assert len(correctness["routes"]["scores"]["positive"]) == 16 and correctness["routes"]["mean"]["negative"] == 0.0
    assert correctness["routes"]["calls"] == 2 and correctness["routes"]["ms_per_call"] > 0
    assert sum(correctness["routes"]["hist"]["positive"]) == 16 and len(result["bins"]) == 11
    assert json.loads(reward_bench_path(project).read_text())["routes"] == 24  # what the Rewards panel reads


def test_a_verifier_that_cannot_tell_right_from_wrong_is_warned_about_and_a_broken_one_is_counted(python_project):
    project = python_project
    assert entry(bench_rewards(project), "correctness")["auc"] == 1.0
    (project / "check.py").write_text("def check(completion, gold):\n    return True\n")
    result = bench_rewards(project)
    assert entry(result, "correctness")["auc"] == 0.5
    assert any(w.startswith("reward 'correctness' cannot tell positive routes from negative ones") for w in result["warnings"])
    # ... and a training run logs the same warning before its RL stage starts
    assert train(project, "grpo", "flat", overrides=["rl.max_steps=1"]) == "finished"
    warnings = [e["message"] for e in events_of(RunFolder(project, "flat").path, "warning")]
    assert any("reward 'correctness' cannot tell" in w for w in warnings)

    (project / "check.py").write_text("def check(completion, gold):\n    if '3' in completion:\n"
                                      "        raise ValueError('no threes')\n    return True\n")
    broken = entry(bench_rewards(project), "correctness")["routes"]
    assert broken["errors"] > 0 and "ValueError: no threes" in broken["error_example"]


def test_cli_scores_fresh_samples_of_the_base_model_too(project):
    proc = subprocess.run([sys.executable, "-m", "engine", "rewards", str(project), "--samples", "4", "--json"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    done = [json.loads(line) for line in proc.stdout.splitlines() if '"rewards_done"' in line][0]
    assert done["samples"] == 4 and done["model"] == "base"
    samples = entry(done, "correctness")["samples"]
    assert samples["calls"] == 1 and sum(len(v) for v in samples["scores"].values()) == 4
