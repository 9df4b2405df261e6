"""Runs that branch from another run's stage, the held-out learning curve, budgets frozen from the data."""

from __future__ import annotations

import json

import pytest
from stage_testkit import events_of, make_project

from engine.errors import UserError
from engine.launch import train
from engine.runs import COMPLETE, RunFolder, finished_run, read_run_config, trained_chain
from engine.stages.evaluate import evaluate

CURVE = ("eval/accuracy_without_routes", "eval/accuracy_with_routes", "eval/autonomy_gap")


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, tiny_model_dir):
    """A project with one finished rft (distill-only) run to branch from."""
    project = make_project(tmp_path_factory.mktemp("branch") / "proj", tiny_model_dir)
    assert train(project, "rft", "base-distill", overrides=[]) == "finished"
    return project


def test_variants_branch_from_one_distilled_model(distilled):
    origin = RunFolder(distilled, "base-distill").final_dir("distill")
    assert train(distilled, "grpo", "grpo-branch", overrides=[], origin="base-distill:distill") == "finished"
    assert train(distilled, "realm-r1", "r1-branch", overrides=[], origin="base-distill:distill") == "finished"
    for name in ("grpo-branch", "r1-branch"):
        run = RunFolder(distilled, name)
        assert run.config_table()["from"] == "base-distill:distill"
        assert not run.stage_dir("distill").exists()  # the distill stage is the other run's, not trained again
        assert [e["stage"] for e in events_of(run.path, "stage_started")] == ["rl"]
        _, _, _, chain = finished_run(distilled, name, "evaluate")
        assert chain == [origin, run.final_dir("rl")]  # rl's adapter applies on top of the shared distillation
    # a stage a branch inherited comes from where its weights are
    warnings = []
    assert train(distilled, "grpo", "sibling", overrides=["rl.max_steps=1"], origin="r1-branch:distill",
                 on_warning=warnings.append) == "finished"
    sibling = RunFolder(distilled, "sibling")
    assert sibling.config_table()["from"] == "base-distill:distill"
    assert any("inherited its distill stage from run 'base-distill'" in w for w in warnings)
    assert trained_chain(sibling, ("rl",)) == [origin, sibling.final_dir("rl")]
    summary = evaluate(distilled, "r1-branch")
    assert summary["n"] > 0


@pytest.mark.parametrize("origin, recipe, message", [
    ("nobody:distill", "grpo", "no run 'nobody'"),
    ("base-distill:rl", "grpo", "has no finished rl stage"),
    ("base-distill:distill", "rft", "recipe rft has no stage after distill"),
    ("base-distill", "grpo", "expected RUN:STAGE"),
])
def test_a_wrong_origin_is_refused_in_one_line_before_any_run_folder(distilled, origin, recipe, message):
    with pytest.raises(UserError, match=message) as err:
        train(distilled, recipe, "refused", overrides=[], origin=origin)
    assert "\n" not in str(err.value)
    assert not RunFolder(distilled, "refused").path.exists()


def test_the_branch_takes_the_model_of_the_run_it_builds_on(distilled, tmp_path):
    warnings = []
    train(distilled, "grpo", "other-model", overrides=["model.lora_r=4", "rl.max_steps=1"],
          origin="base-distill:distill", on_warning=warnings.append)
    _, cfg = read_run_config(RunFolder(distilled, "other-model"))
    _, origin_cfg = read_run_config(RunFolder(distilled, "base-distill"))
    assert cfg.model == origin_cfg.model
    assert any("model settings taken from run 'base-distill'" in w for w in warnings)


def test_budgets_of_zero_are_frozen_from_the_routes_and_short_ones_warned(distilled):
    warnings = []
    train(distilled, "grpo", "budgets", overrides=["rl.max_completion_length=0", "eval.max_new_tokens=2",
                                                   "rl.max_steps=1"], origin="base-distill:distill",
          on_warning=warnings.append)
    _, cfg = read_run_config(RunFolder(distilled, "budgets"))
    assert cfg.rl.max_completion_length >= 16  # measured on the project's routes, not 0
    assert cfg.eval.max_new_tokens == 2
    assert any(w.startswith("eval.max_new_tokens = 2 is shorter") for w in warnings)
    logged = [e["message"] for e in events_of(RunFolder(distilled, "budgets").path, "warning")]
    assert any(m.startswith("eval.max_new_tokens = 2 is shorter") for m in logged)  # the GUI sees it too


def test_the_held_out_curve_is_logged_through_both_stages(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "proj", tiny_model_dir, settings={"eval.every_steps": 2, "eval.curve_problems": 2})
    assert train(project, "realm-r1", "curve", overrides=[]) == "finished"
    points = [(e["stage"], e["step"]) for e in events_of(RunFolder(project, "curve").path, "metrics")
              if CURVE[0] in e["metrics"]]
    # the start of each stage, every 2 steps, and the last step (distill: 2 steps, rl: 4)
    assert points == [("distill", 0), ("distill", 2), ("rl", 0), ("rl", 2), ("rl", 4)]
    metrics = next(e["metrics"] for e in events_of(RunFolder(project, "curve").path, "metrics") if CURVE[0] in e["metrics"])
    assert set(CURVE) <= set(metrics) and 0.0 <= metrics[CURVE[0]] <= 1.0


def test_keep_best_makes_the_best_held_out_step_the_stages_result(tmp_path, tiny_model_dir, monkeypatch):
    from engine.stages import heldout

    scores = iter([0.0, 0.5, 1.0, 0.5, 0.0])  # step 0 (not kept), then steps 1..4 of the rl stage
    monkeypatch.setattr(heldout, "heldout_accuracy", lambda *a, **k: {
        "eval/accuracy_without_routes": next(scores), "eval/accuracy_with_routes": 1.0, "eval/autonomy_gap": 0.0})
    project = make_project(tmp_path / "proj", tiny_model_dir,
                           settings={"eval.every_steps": 1, "eval.keep_best": True})
    assert train(project, "grpo", "best", overrides=[]) == "finished"
    run = RunFolder(project, "best")
    marker = json.loads((run.final_dir("rl") / COMPLETE).read_text())
    assert marker["kept"] == "best" and marker["step"] == 2 and marker["last_step"] == 4
    assert (run.final_dir("rl") / "adapter_config.json").exists()
