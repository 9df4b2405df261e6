"""Every recipe end to end on a tiny model, with assertions on what the events and files say."""

from __future__ import annotations

import inspect
import re

import pytest
from stage_testkit import events_of, make_project

from engine.launch import train
from engine.runs import read_run_config
from engine.method.fade import fade_p, hint_decision, progress_of
from engine.method.verifiers import verify
from engine.routes.generate import read_routes
from engine.runs import RunFolder


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("recipes") / "proj", tiny_model_dir)


def test_trl_is_the_pinned_version_and_the_rollout_hook_we_override_exists():
    import trl
    from trl import GRPOTrainer

    from engine.stages.rl import MRPVTrainer

    assert trl.__version__ == "1.16.0", "engine.stages.rl overrides a private TRL hook: re-check it before unpinning"
    hook = GRPOTrainer._generate_and_score_completions
    assert list(inspect.signature(hook).parameters) == ["self", "inputs"]
    assert MRPVTrainer._generate_and_score_completions is not hook


EXPECTED_STAGES = {"realm-zero": ["rl"], "realm-r1": ["distill", "rl"], "rft": ["distill"], "grpo": ["rl"],
                   "always-routes": ["rl"], "positives-only": ["rl"]}


@pytest.mark.parametrize("recipe", list(EXPECTED_STAGES))
def test_recipe_runs_end_to_end_and_logs_what_it_did(project, recipe):
    run_name = f"t-{recipe}"
    assert train(project, recipe, run_name, overrides=[]) == "finished"
    run = RunFolder(project, run_name)
    assert run.read_status()["state"] == "finished"
    assert [e["stage"] for e in events_of(run.path, "stage_started")] == EXPECTED_STAGES[recipe]
    assert events_of(run.path)[-1] == {**events_of(run.path)[-1], "type": "run_finished", "state": "finished"}
    for stage in EXPECTED_STAGES[recipe]:
        assert (run.path / "stages" / stage / "final" / "COMPLETE").exists()
        assert (run.path / "stages" / stage / "final" / "adapter_config.json").exists()  # LoRA by default
    assert events_of(run.path, "checkpoint"), "no checkpoint was written"
    metrics = [e for e in events_of(run.path, "metrics") if "loss" in e["metrics"]]
    assert metrics and all(m["metrics"]["loss"] == m["metrics"]["loss"] for m in metrics)  # finite
    if "rl" in EXPECTED_STAGES[recipe]:
        _check_rl_events(project, run, recipe)


def _check_rl_events(project, run: RunFolder, recipe: str) -> None:
    recipe_frozen, cfg = read_run_config(run)
    assert recipe_frozen == recipe
    routes = {}
    for r in read_routes(project):
        routes.setdefault(r.problem_id, []).append(r)

    # fade p follows the configured curve exactly at every logged step (logged after step s = generated at s - 1)
    rl_metrics = [e for e in events_of(run.path, "metrics") if e["stage"] == "rl" and "fade/p" in e["metrics"]]
    assert [e["step"] for e in rl_metrics] == list(range(1, cfg.rl.max_steps + 1))
    for e in rl_metrics:
        assert e["metrics"]["fade/p"] == pytest.approx(fade_p(cfg.fade, progress_of(e["step"] - 1, cfg.rl.max_steps)),
                                                       abs=1e-9)
    if recipe == "grpo":
        assert all(e["metrics"]["fade/p"] == 0 and e["metrics"]["fade/hinted_fraction"] == 0 for e in rl_metrics)
    if recipe == "always-routes":
        assert all(e["metrics"]["fade/p"] == 1 and e["metrics"]["fade/hinted_fraction"] == 1 for e in rl_metrics)

    # one decision per prompt group, deterministic from (seed, step, problem id)
    plans = events_of(run.path, "rollout_plan")
    assert [p["step"] for p in plans] == list(range(cfg.rl.max_steps))
    for plan in plans:
        assert len(plan["groups"]) == cfg.rl.prompts_per_step
        for g in plan["groups"]:
            assert g["hinted"] == hint_decision(cfg.project.seed, plan["step"], g["problem_id"], plan["p"])
            assert (g["k"] > 0) == g["hinted"]

    # hinted prompts carry candidate routes, unhinted ones none; rewards equal the verifier's verdict
    samples = events_of(run.path, "sample")
    assert samples, "no sample events"
    for s in samples:
        own = routes[s["problem_id"]]
        shown = [r for r in own if r.text in s["prompt"]]
        if s["hinted"]:
            assert "Candidate 1" in s["prompt"] and shown
            if recipe == "positives-only":
                assert all(r.label == "positive" for r in shown)
        else:
            assert not shown and "Candidate 1" not in s["prompt"]
        gold = next(p for p in routes[s["problem_id"]] if p.label == "positive").final_answer
        assert s["rewards"]["correctness"] == float(verify(s["completion"], gold, "number").correct)


def test_a_stopped_run_resumes_to_the_same_steps_and_fade_decisions(project, monkeypatch):
    from engine.launch import resume
    from engine.stages.context import RunCallback

    overrides = ["rl.max_steps=6"]
    assert train(project, "realm-zero", "uninterrupted", overrides=overrides) == "finished"

    # ask for a stop right after step 2 through the real control file, as `realm-engine stop` does
    original = RunCallback.on_step_end

    def stop_after_two(self, args, state, control, **kw):
        if state.global_step == 2:
            self.ctx.run.request("stop")
        return original(self, args, state, control, **kw)

    monkeypatch.setattr(RunCallback, "on_step_end", stop_after_two)
    assert train(project, "realm-zero", "stopped", overrides=overrides) == "paused"
    stopped = RunFolder(project, "stopped")
    assert stopped.read_status()["state"] == "paused"
    assert [e["step"] for e in events_of(stopped.path, "checkpoint")][-1] == 2
    monkeypatch.setattr(RunCallback, "on_step_end", original)
    assert resume(project, "stopped") == "finished"

    def decisions(name):
        return [(p["step"], [(g["problem_id"], g["hinted"]) for g in p["groups"]])
                for p in events_of(RunFolder(project, name).path, "rollout_plan")]

    assert decisions("stopped") == decisions("uninterrupted")
    steps = [e["step"] for e in events_of(stopped.path, "progress") if e["stage"] == "rl"]
    assert steps == list(range(1, 7))  # continuous: no step lost, none repeated
    assert [e["resumed"] for e in events_of(stopped.path, "run_started")] == [False, True]
    assert stopped.read_status()["step"] == RunFolder(project, "uninterrupted").read_status()["step"] == 6


def test_a_second_engine_on_the_same_run_is_refused(project):
    from engine.errors import UserError
    from engine.runs import RunLock

    run = RunFolder(project, "locked")
    run.path.mkdir(parents=True)
    with RunLock(run):
        other = RunLock(run)
        other.path.write_text("1")  # pid 1 is alive: another engine holds it
        with pytest.raises(UserError, match=re.escape("already running in engine process 1")):
            other.acquire()


def test_rollout_sampling_keeps_to_rl_top_k(project):
    """rl.top_k / rl.top_p reach the rollouts: with k = 1 every completion of a prompt is the same
    text (the step's best and worst sample agree), without it a T = 1 group differs."""
    def best_and_worst(top_k: int) -> list[set[str]]:
        name = f"top-k-{top_k}"
        assert train(project, "grpo", name, overrides=[f"rl.top_k={top_k}", "rl.top_p=0.9", "rl.prompts_per_step=1",
                                                       "rl.num_generations=4", "rl.max_steps=2"]) == "finished"
        per_step: dict[int, set[str]] = {}
        for event in events_of(RunFolder(project, name).path, "sample"):
            per_step.setdefault(event["step"], set()).add(event["completion"])
        return list(per_step.values())

    assert all(len(texts) == 1 for texts in best_and_worst(1))
    assert any(len(texts) == 2 for texts in best_and_worst(0))
