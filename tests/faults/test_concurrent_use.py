"""Shared use of one project: what happens when commands (from two terminals, or two studios)
meet. Each case is either safe or refused in one line that says what holds the project:

- two ``train`` of one run name: exactly one creates and runs it, the other is refused;
- ``import`` or ``routes`` while a run trains: safe, the run trains (and resumes) on the snapshot
  of the data it started with, whose digests its frozen config records;
- a snapshot changed behind a run's back: its resume is refused;
- ``eval`` or ``export`` of a run still training: refused (its stages are not what it will end with);
- two writers of the data (``import`` while ``routes`` samples): the second is refused;
- a refused ``train`` (with or without ``--detach``) leaves no run folder: the same name works next.
Two studios on one project: tests/gui/test_gui_e2e.py (a second window follows the run the first started).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest
from fault_testkit import engine, event_seen, fingerprint, kill9, one_line, spawn_engine, wait_until
from stage_testkit import events_of, make_project, write_jsonl

from engine.cli import main
from engine.data.problems import read_problems, write_problems
from engine.fsutil import file_digest
from engine.project import problems_path
from engine.runs import RunFolder


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("shared") / "proj", tiny_model_dir, settings={"rl.save_steps": 1})


def _trained_ids(run: RunFolder) -> set[str]:
    return {g["problem_id"] for plan in events_of(run.path, "rollout_plan") for g in plan["groups"]}


def test_two_trains_of_one_name_one_runs_and_the_other_is_refused_in_one_line(project):
    run = RunFolder(project, "same-name")
    procs = [spawn_engine("train", project, "--recipe", "grpo", "--run", run.name, "--max-steps", steps)
             for steps in (2, 3)]
    codes = [proc.wait(timeout=600) for proc in procs]
    assert sorted(codes) == [0, 2], codes
    loser = procs[codes.index(2)]
    line = one_line(loser.stderr.read().decode())
    assert "same-name" in line and ("already exists" in line or "already running" in line), line
    winner_steps = (2, 3)[codes.index(0)]
    assert tomllib.loads(run.config.read_text())["rl"]["max_steps"] == winner_steps  # the loser wrote nothing
    assert len(events_of(run.path, "run_started")) == 1 and run.read_status()["step"] == winner_steps


def test_import_and_routes_while_a_run_trains_change_the_project_not_the_run(project, tmp_path):
    """The run goes on (and, killed, resumes) on the problems and routes it started with."""
    run = RunFolder(project, "on-snapshot")
    started_with = {p.id for p in read_problems(problems_path(project)) if p.split == "train"}
    proc = spawn_engine("train", project, "--recipe", "realm-zero", "--run", run.name, "--max-steps", "4", step_s=3)
    wait_until(event_seen(run.path, "progress"), "the run's first step", proc)

    new = [{"id": f"new{i}", "question": f"What is {i} * 3?", "answer": str(3 * i), "split": "train"} for i in range(6)]
    assert main(["import", str(project), str(write_jsonl(tmp_path / "new.jsonl", new))]) == 0
    routes = [{"problem_id": p["id"], "text": f"Step 1: {p['answer']}.\nAnswer: {p['answer']}"} for p in new]
    assert main(["routes", str(project), "--source", f"file:{write_jsonl(tmp_path / 'routes.jsonl', routes)}"]) == 0
    assert proc.poll() is None, "the run should still be training"
    kill9(proc)  # and a resume reads the snapshot too
    assert main(["resume", str(project), "--run", run.name]) == 0

    assert run.read_status()["state"] == "finished"
    assert _trained_ids(run) <= started_with, "the run trained on problems imported after it started"
    frozen = tomllib.loads(run.config.read_text())["snapshot"]
    assert frozen["data/problems.parquet"] == file_digest(run.snapshot / "data" / "problems.parquet")
    assert frozen["routes/routes.parquet"] == file_digest(run.snapshot / "routes" / "routes.parquet")
    assert {p.id for p in read_problems(problems_path(project))} == {p["id"] for p in new}  # the project moved on


def test_a_resume_on_a_snapshot_changed_behind_its_back_is_refused_in_one_line(project, monkeypatch, capsys):
    run = RunFolder(project, "tampered")
    monkeypatch.setattr("engine.launch.execute", lambda project, run, echo=False: "paused")  # created, not trained
    assert main(["train", str(project), "--recipe", "grpo", "--run", run.name]) == 0
    monkeypatch.undo()
    frozen = run.snapshot / "data" / "problems.parquet"
    write_problems(frozen, read_problems(frozen)[:-1])  # one problem fewer: an edit in place of the run's copy
    before = fingerprint(run.path)
    capsys.readouterr()
    assert main(["resume", str(project), "--run", run.name]) == 2
    line = one_line(capsys.readouterr().err)
    assert "problems.parquet" in line and "changed since run 'tampered' started" in line, line
    assert fingerprint(run.path) == before


def test_eval_and_export_of_a_run_still_training_are_refused_in_one_line(project, tmp_path):
    run = RunFolder(project, "still-training")
    proc = spawn_engine("train", project, "--recipe", "realm-zero", "--run", run.name, "--max-steps", "500")
    try:
        wait_until(event_seen(run.path, "progress"), "a step", proc)
        before = fingerprint(project / "eval")
        for verb in (["eval", project, "--run", run.name], ["export", project, "--run", run.name, "--out", tmp_path / "x"]):
            line = one_line(engine(*verb, check_rc=2).stderr)
            assert "still training" in line and str(proc.pid) in line, line
        assert not run.eval_dir.exists() and not (tmp_path / "x").exists()
        assert fingerprint(project / "eval") == before
    finally:
        kill9(proc)


def test_a_second_writer_of_the_data_is_refused_with_what_holds_the_project(project, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (project / "data" / ".lock").write_text(f"{holder.pid} routes")  # as `routes` leaves it while it samples
        source = write_jsonl(tmp_path / "p.jsonl", [{"id": "z", "question": "q?", "answer": "1"}])
        before = fingerprint(project)
        line = one_line(engine("import", project, source, check_rc=2).stderr)
        assert "`routes`" in line and f"engine process {holder.pid}" in line, line
        assert fingerprint(project) == before
    finally:
        holder.kill()
        holder.wait()
    assert main(["import", str(project), str(source), "--dry-run"]) == 0  # a dead holder's lock is taken over
    assert (project / "data" / ".lock").exists()  # (a dry run writes nothing, so it takes no lock)
    assert main(["import", str(project), str(source)]) == 0
    assert not (project / "data" / ".lock").exists()


@pytest.mark.parametrize("detach", [False, True])
def test_a_refused_train_leaves_no_run_folder_and_the_name_works_next(project, detach, capsys):
    name = f"refused-{'detached' if detach else 'attached'}"
    argv = ["train", str(project), "--recipe", "grpo", "--run", name, "--set", "rl.max_stepz=3",
            *(["--detach", "--json"] if detach else [])]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr()
    assert "rl.max_stepz" in one_line(err.err) and "detached" not in err.out
    assert not RunFolder(project, name).path.exists()
    assert main(["train", str(project), "--recipe", "grpo", "--run", name, "--max-steps", "1"]) == 0
    assert json.loads(RunFolder(project, name).status_path.read_text())["state"] == "finished"
