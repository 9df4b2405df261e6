"""train.report_to: a real run's metrics (ours included) and its evaluation, read back with each tracker's own reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from stage_testkit import events_of, make_project

from engine.errors import UserError
from engine.events import parse_line
from engine.launch import train
from engine.runs import RunFolder
from engine.stages.evaluate import evaluate
from engine.stages.trackers import mlflow_uri, tensorboard_dir, trackio_dir

REPO = Path(__file__).resolve().parents[2]


def logged(run: RunFolder, stage: str) -> dict[str, list[tuple[int, float]]]:
    """What the run's own events.jsonl says it logged: ``{"rl/fade/p": [(step, value), …]}``."""
    out: dict[str, list] = {}
    for event in events_of(run.path, "metrics"):
        if event["stage"] == stage:
            for name, value in event["metrics"].items():
                if value is not None:
                    out.setdefault(f"{stage}/{name}", []).append((event["step"], value))
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("trackers") / "proj", tiny_model_dir)


def test_tensorboard_event_files_hold_every_logged_metric_and_the_evaluation(project):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert train(project, "realm-r1", "tb", overrides=["train.report_to=tensorboard", "rl.max_steps=2",
                                                       "eval.every_steps=1", "eval.curve_problems=2"]) == "finished"
    evaluate(project, "tb")
    run = RunFolder(project, "tb")
    reader = EventAccumulator(str(tensorboard_dir(run)))
    reader.Reload()
    tags = set(reader.Tags()["scalars"])
    for stage in ("distill", "rl"):
        for name, points in logged(run, stage).items():
            assert name in tags
            assert [(e.step, pytest.approx(e.value, rel=1e-5, abs=1e-6)) for e in reader.Scalars(name)][-len(points):] \
                == [(s, pytest.approx(v, rel=1e-5, abs=1e-6)) for s, v in points]
    assert {"rl/fade/p", "rl/fade/hinted_fraction", "rl/reward", "distill/loss"} <= tags  # ours and TRL's
    assert "rl/eval/accuracy_without_routes" in tags  # the held-out learning curve during training
    assert "eval/accuracy_without_routes" in tags and "eval/autonomy_gap" in tags
    # `realm-engine tensorboard` serves them (the GUI's "Open in TensorBoard"), and ends on SIGTERM
    proc = subprocess.Popen([sys.executable, "-m", "engine", "tensorboard", str(project), "--run", "tb", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    url = next(e["url"] for e in map(parse_line, proc.stdout) if e and e["type"] == "serving")
    with urllib.request.urlopen(url + "data/runs", timeout=30) as response:
        assert response.status == 200
    proc.terminate()
    assert proc.wait(30) == 0


def test_mlflow_file_store_has_one_run_per_run_with_our_metrics_and_the_evaluation(project, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    assert train(project, "grpo", "ml", overrides=["train.report_to=mlflow", "rl.max_steps=2"]) == "finished"
    evaluate(project, "ml")
    client = MlflowClient(tracking_uri=mlflow_uri(project))
    experiment = client.get_experiment_by_name("proj")
    runs = client.search_runs([experiment.experiment_id], "tags.realm_run = 'ml'")
    assert len(runs) == 1
    history = client.get_metric_history(runs[0].info.run_id, "rl.fade.p")
    assert [(m.step, m.value) for m in history] == logged(RunFolder(project, "ml"), "rl")["rl/fade/p"]
    assert "eval.accuracy_without_routes" in runs[0].data.metrics


def test_trackio_local_store_reads_back_the_run(project):
    """In processes of their own: trackio reads its folder once, when first imported."""
    pytest.importorskip("trackio")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "engine", "train", str(project), "--recipe", "grpo", "--run", "tio",
                    "--set", "train.report_to=trackio", "--max-steps", "2"], check=True, env=env, capture_output=True,
                   timeout=600)
    reader = ("import json, sys; from trackio.sqlite_storage import SQLiteStorage as S; "
              "print(json.dumps([S.get_runs('proj'), [r['step'] for r in S.get_logs('proj', 'tio') if 'rl/fade/p' in r]]))")
    runs, steps = json.loads(subprocess.run([sys.executable, "-c", reader], check=True, capture_output=True, text=True,
                                            env={**env, "TRACKIO_DIR": str(trackio_dir(project))}).stdout)
    assert "tio" in runs and steps == [s for s, _ in logged(RunFolder(project, "tio"), "rl")["rl/fade/p"]]


def test_a_tracker_that_is_not_installed_refuses_the_run_before_it_exists(project, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(UserError, match="train.report_to = 'wandb' but wandb is not installed"):
        train(project, "grpo", "wb", overrides=["train.report_to=wandb"])
    assert not RunFolder(project, "wb").exists()
