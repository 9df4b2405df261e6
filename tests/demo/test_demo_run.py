"""``realm-engine demo`` end to end on the tiny model: the table a user reads, the runs it leaves behind."""

from __future__ import annotations

import pytest

from engine.cli import Reporter
from engine.demo import run as demo
from engine.project import init_project
from engine.runs import RunFolder, list_runs

TINY = {"eval.max_problems": 8, "eval.max_problems_with_routes": 3, "eval.max_new_tokens": 8, "eval.batch_size": 8,
        "distill.max_steps": 2, "distill.batch_size": 2, "distill.max_length": 640, "distill.save_steps": 2,
        "rl.max_steps": 2, "rl.num_generations": 2, "rl.prompts_per_step": 1, "rl.max_completion_length": 8,
        "rl.save_steps": 2, "model.device": "cpu"}


@pytest.mark.parametrize("size, domain", [("quick", "parcels"), ("medium", "benefits")])
def test_the_demo_prints_a_comparable_before_after_table(size, domain, tmp_path, tiny_model_dir, monkeypatch, capsys):
    sizes = {name: demo.Size(TINY, plan.distill_alone, plan.note) for name, plan in demo.SIZES.items()}
    monkeypatch.setattr(demo, "SIZES", sizes)
    project = tmp_path / "demo"
    init_project(project, model=str(tiny_model_dir))  # the demo reuses a project, keeping its model
    result = demo.run_demo(project, size=size, domain=domain, reporter=Reporter(as_json=False))

    out = capsys.readouterr().out
    title = demo.DOMAINS[domain].title
    assert f"ReaLM demo — {title}: 8 held-out problems" in out
    assert "base model, untrained" in out and "realm-r1 (" in out
    assert ("distilled (2 steps)" in out) is (size == "medium")  # medium shows what distillation alone did
    assert "95 % interval of the paired difference" in out
    runs = {r["name"]: r for r in list_runs(project)}
    assert all(r["state"] == "finished" for r in runs.values())
    assert len(runs) == (2 if size == "medium" else 1)
    before, after = result["before"], result["after"]
    assert before["settings"] == after["settings"]  # measured the same way, so the rows compare
    assert before["n"] == 8 and after["n_with_routes"] == 3
    final = next(name for name in runs if not name.endswith("-distill"))
    assert (RunFolder(project, final).eval_dir / "ledger.jsonl").exists()
    assert result["export"]["verified"]


def test_each_row_is_said_when_measured_and_max_steps_sets_the_rl_steps(tmp_path, tiny_model_dir, monkeypatch, capsys):
    """A demo cut short (a GPU lease ran out) must already have told the rows it measured."""
    from engine.runs import read_run_config

    monkeypatch.setattr(demo, "SIZES", {name: demo.Size(TINY, plan.distill_alone, plan.note)
                                        for name, plan in demo.SIZES.items()})
    project = tmp_path / "demo"
    init_project(project, model=str(tiny_model_dir))
    demo.run_demo(project, size="medium", reporter=Reporter(as_json=False), rl_steps=1)

    said = capsys.readouterr()
    lines = (said.out + said.err).splitlines()
    base = next(i for i, line in enumerate(lines) if line.startswith("base model, untrained: "))
    training = next(i for i, line in enumerate(lines) if line.startswith("training run "))
    assert base < training and "without routes" in lines[base] and "on 8 held-out problems" in lines[base]
    assert any(line.startswith("distilled (2 steps): ") for line in lines)
    final = next(r["name"] for r in list_runs(project) if not r["name"].endswith("-distill"))
    assert read_run_config(RunFolder(project, final))[1].rl.max_steps == 1


def test_a_demo_of_no_rl_steps_is_refused_before_it_creates_anything(tmp_path):
    from engine.errors import UserError

    with pytest.raises(UserError, match="--max-steps 0"):
        demo.run_demo(tmp_path / "demo", reporter=Reporter(as_json=False), rl_steps=0)
    assert not (tmp_path / "demo").exists()
