"""Sampling routes from a local model (the tiny test model): provenance, labels, resume."""

from __future__ import annotations

import json

import pytest

from engine.config import load_config, save_config
from engine.data.problems import PROBLEMS_FILE, read_problems
from engine.method.verifiers import verify_problem
from engine.routes.generate import generate_routes, read_routes
from engine.routes.store import PARTIAL_FILE
from engine.hf import generation
from routes_testkit import make_project, number_problems


@pytest.fixture
def project(tmp_path):
    # 4 problems (p1..p4) in batches of 2.
    return make_project(tmp_path / "proj", number_problems(train=4, test=0), k=2, batch_size=2, max_new_tokens=8,
                        temperature=0.9)


@pytest.fixture
def sampled(monkeypatch):
    """Records the prompts of every generate call (the real generation still runs)."""
    prompts: list[list[str]] = []
    real = generation.generate_texts

    def counting(model, tokenizer, batch, **kwargs):
        prompts.append(list(batch))
        return real(model, tokenizer, batch, **kwargs)

    monkeypatch.setattr(generation, "generate_texts", counting)
    return prompts


def test_model_routes_carry_provenance_and_the_verifiers_labels(project, tiny_model_dir, sampled):
    source = f"model:{tiny_model_dir}"
    calls = []
    summary = generate_routes(project, source, guided=True, progress=lambda *a: calls.append(a))
    routes = read_routes(project)
    problems = {p.id: p for p in read_problems(project / PROBLEMS_FILE)}
    data_cfg = load_config(project).data

    assert sorted(r.problem_id for r in routes) == ["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4"]
    assert len({r.id for r in routes}) == 8
    for r in routes:
        verdict = verify_problem(r.text, problems[r.problem_id], data_cfg)
        assert (r.label, r.final_answer) == (verdict.label, verdict.extracted)
        assert (r.source, r.temperature) == (source, 0.9)
        assert r.guided == (problems[r.problem_id].rules is not None)  # only p1 and p3 have rules
    assert [len(batch) for batch in sampled] == [2, 2]
    assert "Add the two numbers." in sampled[0][0] and "Add the two numbers." not in sampled[0][1]
    assert (summary.problems, summary.routes, summary.remaining) == (4, 8, 0)
    assert summary.positives + summary.negatives + summary.unparsed == 8
    assert [c[:2] for c in calls] == [(0, 4), (2, 4), (4, 4)] and calls[-1][2] == 0
    assert not (project / PARTIAL_FILE).exists()


def test_a_stopped_run_keeps_its_batches_and_a_rerun_samples_only_the_rest(project, tiny_model_dir, sampled):
    source = f"model:{tiny_model_dir}"
    first = generate_routes(project, source, should_stop=lambda: True)  # stop after the first batch
    assert (first.problems, first.routes, first.remaining) == (2, 4, 2)
    assert sorted({r.problem_id for r in read_routes(project)}) == ["p1", "p2"]

    second = generate_routes(project, source)
    assert [len(batch) for batch in sampled] == [2, 2]  # p1, p2 were not sampled again
    assert "What is 3 + 3?" in sampled[1][0] and "What is 4 + 4?" in sampled[1][1]
    assert (second.problems, second.routes, second.remaining) == (4, 8, 0)
    assert len(read_routes(project)) == 8

    assert generate_routes(project, source).routes == 8  # nothing left to do: no model is even loaded
    assert len(sampled) == 2


def test_a_killed_run_resumes_from_its_journal(project, tiny_model_dir, sampled):
    source = f"model:{tiny_model_dir}"

    def crash(done, total, eta):
        if done == 2:
            raise KeyboardInterrupt  # dies after the first batch was journalled, before any merge

    with pytest.raises(KeyboardInterrupt):
        generate_routes(project, source, progress=crash)
    journal = project / PARTIAL_FILE
    assert [json.loads(line)["problem_id"] for line in journal.read_text().splitlines()] == ["p1", "p2"]
    with open(journal, "a", encoding="utf-8") as handle:
        handle.write('{"problem_id": "p3", "rout')  # kill -9 in the middle of the next line

    summary = generate_routes(project, source)
    assert [len(batch) for batch in sampled] == [2, 2]
    assert "What is 3 + 3?" in sampled[1][0]
    assert (summary.problems, summary.routes) == (4, 8)
    assert not journal.exists()


def test_other_sources_and_a_new_source_string_are_independent(project, tiny_model_dir, tmp_path, sampled):
    routes_file = tmp_path / "r.jsonl"
    routes_file.write_text(json.dumps({"problem_id": "p1", "text": "Answer: 2"}) + "\n")
    generate_routes(project, f"file:{routes_file}")
    summary = generate_routes(project, f"model:{tiny_model_dir}", k=1)
    assert (summary.problems, summary.routes) == (4, 4)  # the file's route on p1 does not count as done
    assert sorted(r.source.split(":")[0] for r in read_routes(project)) == ["file"] + ["model"] * 4


def test_guided_prompts_show_the_project_rulebook_before_the_problems_rules(project, tiny_model_dir, sampled):
    cfg = load_config(project)
    cfg.data.rulebook = "rulebook.md"
    save_config(project, cfg)
    (project / "rulebook.md").write_text("Numbers are integers.\n")
    generate_routes(project, f"model:{tiny_model_dir}", k=1, guided=True)
    with_rules, without_rules = sampled[0]  # p1 has its own rules, p2 has none
    assert with_rules.index("Numbers are integers.") < with_rules.index("Add the two numbers.")
    assert "Numbers are integers." in without_rules and "Add the two numbers." not in without_rules
    assert all(r.guided for r in read_routes(project))


def test_a_route_budget_of_zero_is_measured_on_the_projects_routes(tmp_path, tiny_model_dir, monkeypatch):
    """``routes.max_new_tokens = 0`` (the default) samples with room for the longest stored routes."""
    from stage_testkit import make_project as make_stage_project

    from engine.hf.models import load_tokenizer
    from engine.method.budgets import needed_budgets
    from engine.routes.budgets import route_token_lengths

    project = make_stage_project(tmp_path / "proj", tiny_model_dir, n=4, settings={"routes.max_new_tokens": 0})
    budgets = []
    real = generation.generate_texts
    monkeypatch.setattr(generation, "generate_texts",
                        lambda *a, **kw: budgets.append(kw["max_new_tokens"]) or real(*a, **{**kw, "max_new_tokens": 4}))
    cfg = load_config(project)
    lengths = route_token_lengths(project, load_tokenizer(cfg.model, tiny_model_dir))

    generate_routes(project, f"model:{tiny_model_dir}", k=1)

    assert budgets and set(budgets) == {needed_budgets(lengths, cfg.fade.k_show)["route"]}
