"""The command line as a user meets it: real subprocesses, exit codes, one-line errors, files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.data.problems import read_problems

REPO = Path(__file__).resolve().parents[2]
BIGBENCH_MC = REPO / "tests" / "data" / "files" / "bigbench_physics_mc" / "task.json"


def engine(*args, cwd=None, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRANSFORMERS_VERBOSITY": "error"}
    proc = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)
    if check_rc is not None:
        assert proc.returncode == check_rc, f"rc={proc.returncode}\nstdout:{proc.stdout[-2000:]}\nstderr:{proc.stderr[-3000:]}"
    return proc


def one_line_error(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_help_lists_every_verb():
    out = engine("--help").stdout
    for verb in ("init", "import", "routes", "train", "resume", "stop", "cancel", "eval", "export", "runs", "demo",
                 "serve", "chat", "rewards", "preflight", "tensorboard"):
        assert verb in out


def test_bigbench_task_and_its_routes_give_exact_counts_and_labels(tmp_path):
    project = tmp_path / "bb"
    engine("init", project, "--answer-type", "choice")
    engine("import", project, BIGBENCH_MC, "--test-fraction", "0")
    problems = read_problems(project / "data" / "problems.parquet")
    assert len(problems) == len(json.loads(BIGBENCH_MC.read_text())["examples"])
    rows = []
    for p in problems:
        wrong = next(letter for letter in p.letters() if letter != p.answer)
        rows += [{"problem_id": p.id, "text": f"The unit follows from the definition.\nAnswer: {p.answer}"},
                 {"problem_id": p.id, "text": f"Reasoning by elimination.\nAnswer: ({wrong})"},
                 {"problem_id": p.id, "text": "I cannot decide between the options."}]
    routes_file = tmp_path / "routes.jsonl"
    routes_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = json.loads(engine("routes", project, "--source", f"file:{routes_file}", "--json").stdout.splitlines()[-1])
    n = len(problems)
    assert {k: out[k] for k in ("problems", "routes", "positives", "negatives", "unparsed", "contrastive")} == \
        {"problems": n, "routes": 3 * n, "positives": n, "negatives": n, "unparsed": n, "contrastive": n}


def test_user_errors_are_one_line_with_exit_code_2(tmp_path):
    project = tmp_path / "p"
    engine("init", project)
    assert "already exists" in one_line_error(engine("init", project, check_rc=2))
    assert "nope.jsonl" in one_line_error(engine("import", project, tmp_path / "nope.jsonl", check_rc=2))
    assert "not a ReaLM project" in one_line_error(engine("runs", tmp_path, check_rc=2))
    assert "rl.nope" in one_line_error(engine("train", project, "--recipe", "grpo", "--set", "rl.nope=1", check_rc=2))
    bad = tmp_path / "routes.jsonl"
    bad.write_text('{"problem_id": "ghost", "text": "Answer: 1"}\n')
    (project / "data" / "problems.jsonl").write_text('{"id": "a", "question": "1+1?", "answer": "2"}\n')
    engine("import", project, project / "data" / "problems.jsonl")
    assert "routes.jsonl:1: unknown problem id 'ghost'" in one_line_error(
        engine("routes", project, "--source", f"file:{bad}", check_rc=2))


def test_an_invalid_config_names_every_bad_key(tmp_path):
    project = tmp_path / "p"
    engine("init", project)
    toml = (project / "realm.toml").read_text()
    toml = toml.replace("start = 1.0", "start = 1.5").replace("learning_rate = 1e-05", "learning_rate = -1.0")
    (project / "realm.toml").write_text(toml + "\n[extra]\nx = 1\n")
    proc = engine("runs", project, check_rc=2)
    assert "Traceback" not in proc.stderr
    assert "fade.start: must be in [0.0, 1.0], got 1.5" in proc.stderr
    assert "rl.learning_rate: must be in (0.0, 1.0], got -1.0" in proc.stderr
    assert "extra: unknown section" in proc.stderr


def test_an_internal_error_saves_its_traceback_and_exits_1(tmp_path, monkeypatch, capsys):
    from engine import cli

    project = tmp_path / "p"
    assert cli.main(["init", str(project)]) == 0

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("engine.runs.list_runs", broken)
    assert cli.main(["runs", str(project)]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: simulated bug" in err
    saved = Path(err.strip().splitlines()[-1].split("traceback saved to ")[-1])
    assert saved.parent == project / "logs" and "simulated bug" in saved.read_text()


def test_an_internal_error_outside_a_project_is_saved_in_the_cache(tmp_path, monkeypatch, capsys):
    from engine import cli

    monkeypatch.setenv("REALM_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("engine.demo.run.run_demo", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("demo bug")))
    assert cli.main(["demo", "--quick"]) == 1
    saved = Path(capsys.readouterr().err.strip().splitlines()[-1].split("traceback saved to ")[-1])
    assert saved.parent == tmp_path / "cache" / "logs"
    assert "argv: ['demo', '--quick']" in saved.read_text()  # the arguments main was given


def test_detach_reruns_the_arguments_main_was_given_not_sys_argv(tmp_path, monkeypatch, capsys):
    from engine import cli

    project = tmp_path / "p"
    assert cli.main(["init", str(project)]) == 0
    started = {}

    class Popen:
        def __init__(self, cmd, **kwargs):
            started.update(cmd=cmd, **kwargs)
            self.pid = 4242

    monkeypatch.setattr(cli.subprocess, "Popen", Popen)
    monkeypatch.setattr(sys, "argv", ["pytest", "-k", "something else"])
    argv = ["train", str(project), "--recipe", "grpo", "--detach", "--set", "rl.max_steps=3", "--json"]
    assert cli.main(argv) == 0
    run = next(a for a in started["cmd"] if a.startswith("grpo-"))
    assert started["cmd"] == [sys.executable, "-m", "engine", "train", str(project), "--recipe", "grpo",
                              "--set", "rl.max_steps=3", "--json", "--run", run]
    assert started["start_new_session"] is True
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["type"] == "detached"
    assert (project / "runs" / run / "engine.log").exists()


def test_import_train_eval_export_and_reload_through_the_cli(tmp_path, tiny_model_dir):
    from stage_testkit import FAST, write_jsonl

    project = tmp_path / "proj"
    engine("init", project, "--model", tiny_model_dir, "--answer-type", "number")
    problems = [{"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1),
                 "split": "test" if i < 2 else "train"} for i in range(6)]
    write_jsonl(tmp_path / "problems.jsonl", problems)
    write_jsonl(tmp_path / "routes.jsonl", [{"problem_id": p["id"], "text": f"Step 1: add one.\nAnswer: {p['answer']}"}
                                            for p in problems] +
                [{"problem_id": p["id"], "text": "Step 1: add two.\nAnswer: 0"} for p in problems])
    engine("import", project, tmp_path / "problems.jsonl")
    engine("routes", project, "--source", f"file:{tmp_path / 'routes.jsonl'}")
    sets = [a for key, value in FAST.items() for a in ("--set", f"{key}={json.dumps(value)}")]
    engine("train", project, "--recipe", "realm-r1", "--run", "r1", "--max-steps", "2", *sets)
    assert "finished" in engine("runs", project).stdout
    # the base with the project's own settings is not comparable to r1 (trained with FAST's budget) ...
    engine("eval", project, "--base", "--json")
    after = json.loads(engine("eval", project, "--run", "r1", "--json").stdout.splitlines()[-1])
    assert "flips" not in after
    # ... with --like r1 it is: same problems, same budget, problem by problem
    base = json.loads(engine("eval", project, "--base", "--like", "r1", "--json").stdout.splitlines()[-1])
    after = json.loads(engine("eval", project, "--run", "r1", "--json").stdout.splitlines()[-1])
    assert base["settings"] == after["settings"] and after["settings"]["max_new_tokens"] == FAST["eval.max_new_tokens"]
    for summary in (base, after):
        assert summary["n"] == 2 and summary["n_with_routes"] == 2
        assert summary["autonomy_gap"] == pytest.approx(summary["accuracy_with_routes"] - summary["accuracy_without_routes"])
        low, high = summary["without_routes"]["interval"]
        assert low <= summary["accuracy_without_routes"] <= high
    ledger = [json.loads(line) for line in (project / "runs" / "r1" / "eval" / "ledger.jsonl").read_text().splitlines()]
    assert sorted(r["problem_id"] for r in ledger) == ["q0", "q1"]
    assert all(r["base_correct_without"] is not None for r in ledger)
    assert "flips" in after

    out = tmp_path / "export"
    done = json.loads(engine("export", project, "--run", "r1", "--out", out, "--json").stdout.splitlines()[-1])
    assert done["verified"] and done["rescore"]["total"] == 2
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "README.md"} <= set(done["files"])
    card = (out / "README.md").read_text()
    assert "realm-r1" in card and "fade curve" in card and "autonomy gap" in card
    for file in out.iterdir():
        if file.suffix in (".json", ".md"):
            text = file.read_text()
            assert str(tmp_path) not in text and str(Path.home()) not in text, f"local path leaked into {file.name}"

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.generate(**tok("What is 1 + 1?", return_tensors="pt"), max_new_tokens=3).shape[1] > 0


def test_train_without_json_shows_the_runs_warnings_and_where_it_ended(tmp_path, tiny_model_dir):
    """A warning goes to the event log; a user on a terminal must see it too, and the run's end."""
    from stage_testkit import FAST, write_jsonl

    project = tmp_path / "proj"
    engine("init", project, "--model", tiny_model_dir, "--answer-type", "number")
    write_jsonl(tmp_path / "problems.jsonl", [{"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)}
                                              for i in range(6)])
    engine("import", project, tmp_path / "problems.jsonl")  # no routes: realm-zero's hinted prompts have none to show
    sets = [a for key, value in FAST.items() for a in ("--set", f"{key}={json.dumps(value)}")]
    proc = engine("train", project, "--recipe", "realm-zero", "--run", "bare", "--max-steps", "1", *sets)
    assert "warning: no routes: every prompt is unhinted" in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1] == f"run bare: finished ({project.resolve() / 'runs' / 'bare'})"
    as_json = engine("train", project, "--recipe", "realm-zero", "--run", "j", "--max-steps", "1", "--json", *sets)
    assert "no routes" not in as_json.stderr  # with --json the warning is an event on stdout instead
    assert any(json.loads(line).get("type") == "warning" for line in as_json.stdout.splitlines() if line.startswith("{\"v\""))
