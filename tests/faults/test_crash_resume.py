"""kill -9 of the engine at points of each stage: the project still loads, the run reads
``interrupted``, ``realm-engine resume`` finishes it exactly like an uninterrupted run (same
step count, same fade decisions), the event log stays readable, and eval/export never leave a
half-written result. One engine per run: a live lock is obeyed, a dead one taken over.
"""

from __future__ import annotations

import json

import pytest
from fault_testkit import engine, engine_killed_after, event_seen, fingerprint, kill9, one_line, spawn_engine, wait_until
from stage_testkit import events_of, make_project

from engine.cli import main
from engine.launch import train
from engine.routes.generate import read_routes
from engine.runs import RunFolder

RL_STEPS = 6
TORN = '{"v": 1, "ts": 1, "type": "progress", "stage": "rl", "st'  # a write cut short by the kill


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("crash") / "proj", tiny_model_dir,
                        settings={"rl.max_steps": RL_STEPS, "distill.max_steps": 4, "distill.save_steps": 2})


@pytest.fixture(scope="module")
def reference(project):
    """Uninterrupted runs with the same seed, one per recipe, made on first use."""
    done = {}

    def get(recipe: str) -> RunFolder:
        if recipe not in done:
            assert train(project, recipe, f"reference-{recipe}", overrides=[]) == "finished"
            done[recipe] = RunFolder(project, f"reference-{recipe}")
        return done[recipe]
    return get


def decisions(run: RunFolder) -> dict[int, list]:
    """Fade decision of every RL step; a step replayed after a resume counts by its last plan."""
    return {p["step"]: [(g["problem_id"], g["hinted"]) for g in p["groups"]] for p in events_of(run.path, "rollout_plan")}


def kill_train_at(project, recipe: str, name: str, event: str, match: dict) -> RunFolder:
    run = RunFolder(project, name)
    proc = spawn_engine("train", project, "--recipe", recipe, "--run", name)
    wait_until(event_seen(run.path, event, **match), f"{event} {match}", proc)
    kill9(proc)
    return run


KILLS = [
    pytest.param("realm-zero", "checkpoint", {"stage": "rl"}, id="rl-after-first-checkpoint"),
    pytest.param("realm-zero", "rollout_plan", {"step": 3}, id="rl-mid-step"),
    # 6 training problems, 2 a step: checkpoint-4 lies in the second epoch, whose order must not replay the first's
    pytest.param("realm-zero", "checkpoint", {"stage": "rl", "step": 4}, id="rl-checkpoint-in-second-epoch"),
    pytest.param("realm-r1", "checkpoint", {"stage": "distill"}, id="distill-after-first-checkpoint", marks=pytest.mark.slow),
    pytest.param("realm-r1", "rollout_plan", {"step": 0}, id="rl-first-step-after-distill", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("recipe, event, match", KILLS)
def test_a_killed_run_resumes_to_the_same_end_as_an_uninterrupted_one(project, reference, recipe, event, match, capsys):
    name = f"killed-{recipe}-{event}-{'-'.join(map(str, match.values()))}"
    run = kill_train_at(project, recipe, name, event, match)
    with open(run.events, "a", encoding="utf-8") as log:
        log.write(TORN)

    assert main(["runs", str(project)]) == 0
    assert run.read_status()["state"] == "interrupted"
    assert main(["resume", str(project), "--run", name]) == 0

    ref = reference(recipe)
    status = run.read_status()
    assert status["state"] == "finished"
    assert status["step"] == ref.read_status()["step"] == RL_STEPS
    assert decisions(run) == decisions(ref)
    assert sorted({e["step"] for e in events_of(run.path, "progress") if e["stage"] == "rl"}) == list(range(1, RL_STEPS + 1))
    lines = run.events.read_text(encoding="utf-8").splitlines()
    unreadable = [line for line in lines if not _parses(line)]
    assert unreadable == [TORN], "only the torn line may be unreadable"
    assert [e["resumed"] for e in events_of(run.path, "run_started")] == [False, True]
    assert events_of(run.path)[-1]["type"] == "run_finished"


def _parses(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


@pytest.mark.slow
def test_a_killed_routes_run_loses_no_finished_route_and_a_rerun_completes(project, tiny_model_dir):
    file_routes = len(read_routes(project))
    source = f"model:{tiny_model_dir}"
    engine_killed_after("engine.routes.generate:append_partial", "routes", project, "--source", source, "--k", "2")
    assert (project / "routes" / "partial.jsonl").stat().st_size  # the first batch was journalled, then the kill
    assert len(read_routes(project)) >= file_routes  # the table (and the journal) still load
    engine("routes", project, "--source", source, "--k", "2")
    routes = read_routes(project)
    by_model = [r for r in routes if r.source == source]
    problems = {r.problem_id for r in routes if r.source != source}
    assert len(routes) == file_routes + len(by_model)
    assert sorted(r.problem_id for r in by_model) == sorted(2 * list(problems))  # each problem exactly k times
    assert not (project / "routes" / "partial.jsonl").exists()


def test_a_killed_eval_leaves_no_half_summary_and_a_rerun_succeeds(project, reference, tmp_path):
    run = reference("realm-zero")
    stdout = tmp_path / "eval.out"
    proc = spawn_engine("eval", project, "--run", run.name, "--json", stdout_path=stdout)
    wait_until(lambda: '"progress"' in stdout.read_text(), "the eval's generations", proc)  # just before it writes
    kill9(proc)
    summary = run.eval_dir / "summary.json"
    assert not summary.exists() or json.loads(summary.read_text())["model"] == run.name  # absent or whole
    engine("eval", project, "--run", run.name)
    assert json.loads(summary.read_text())["model"] == run.name
    visible = {p.name for p in run.eval_dir.iterdir() if not p.name.startswith(".")}
    assert visible == {"summary.json", "ledger.jsonl"}  # a kill mid-write may leave a hidden .tmp beside them


@pytest.mark.slow
def test_a_killed_export_leaves_no_half_export_and_a_rerun_succeeds(project, reference, tmp_path):
    run = reference("realm-zero")
    out = tmp_path / "exported"
    # killed with the export complete in its temp folder, just before the rename: the worst moment
    engine_killed_after("engine.stages.export:_normal_permissions", "export", project, "--run", run.name, "--out", out)
    assert not out.exists(), "a killed export must not leave a half-written export folder"
    assert list(tmp_path.glob(".exported.*.partial")), "the kill should have left the dead export's temp folder"
    engine("export", project, "--run", run.name, "--out", out)
    assert (out / "README.md").exists() and (out / "config.json").exists()
    assert not list(tmp_path.glob(".exported.*.partial")), "the dead export's temp folder is cleaned up"


def test_a_second_engine_is_refused_and_a_dead_engines_lock_is_taken_over(project):
    run = RunFolder(project, "locked")
    first = spawn_engine("train", project, "--recipe", "grpo", "--run", run.name, "--max-steps", "500")
    wait_until(event_seen(run.path, "progress"), "the first engine's first step", first)
    before = fingerprint(project / "data")
    line = one_line(engine("resume", project, "--run", run.name, check_rc=2).stderr)
    assert f"already running in engine process {first.pid}" in line
    assert fingerprint(project / "data") == before

    kill9(first)
    assert run.lock_path.read_text() == str(first.pid)  # left behind by the dead engine
    assert run.read_status()["state"] == "interrupted"
    second = spawn_engine("resume", project, "--run", run.name)
    wait_until(event_seen(run.path, "run_started", resumed=True), "the resumed engine", second)
    assert run.lock_path.read_text() == str(second.pid)
    assert main(["cancel", str(project), "--run", run.name]) == 0
    assert second.wait(timeout=300) == 130
    assert run.read_status()["state"] == "cancelled" and not run.lock_path.exists()
