"""BIG-bench task.json imports: both example styles, exact counts, golds and letters."""

import json
from pathlib import Path

import pytest

from engine.data.importers import detect_format, import_problems
from engine.data.problems import read_problems
from engine.errors import UserError

FILES = Path(__file__).parent / "files"
WORDS_TASK = FILES / "bigbench_arithmetic_words" / "task.json"
MC_TASK = FILES / "bigbench_physics_mc" / "task.json"
PREFIX = "Answer the question with a single number or word.\n"


def test_target_style_gives_first_target_as_gold_and_infers_number_or_text(tmp_path):
    report = import_problems(tmp_path, str(WORDS_TASK))

    assert (report.fmt, report.imported, report.rejected) == ("bigbench", 6, [])
    assert report.train + report.test == 6
    got = [(p.id, p.answer, p.answer_type) for p in report.problems]
    assert got == [("task-1", "42", "number"), ("task-2", "8", "number"), ("task-3", "3.5", "number"),
                   ("task-4", "90", "number"), ("task-5", "green", "text"), ("task-6", "down", "text")]
    assert report.problems[1].question == PREFIX + "How many legs does a spider have?"
    assert all(p.choices is None for p in report.problems)
    assert [p.id for p in read_problems(tmp_path / "data" / "problems.parquet")] == [p.id for p in report.problems]


def test_target_scores_style_becomes_lettered_multiple_choice_with_the_top_scored_gold(tmp_path):
    golds = ["newton", "kinetic energy", "it doubles", "about 9.8 m/s^2", "steel", "red", "increases", "ohm"]
    task = json.loads(MC_TASK.read_text())

    report = import_problems(tmp_path, str(MC_TASK))

    assert (report.fmt, report.imported, report.train, report.test) == ("bigbench", 8, 6, 2)
    assert [p.answer for p in report.problems] == ["C", "B", "C", "C", "C", "A", "C", "A"]
    for problem, gold, example in zip(report.problems, golds, task["examples"]):
        assert problem.answer_type == "choice"
        assert problem.choices[problem.letters().index(problem.answer)] == gold
        assert sorted(problem.choices) == sorted(example["target_scores"])
        assert problem.question == example["input"]  # this task has no task_prefix


def test_a_task_folder_and_its_task_json_are_both_detected():
    assert detect_format(str(MC_TASK.parent)) == "bigbench"
    assert detect_format(str(MC_TASK)) == "bigbench"


def test_answer_type_argument_overrides_inference(tmp_path):
    report = import_problems(tmp_path, str(WORDS_TASK), answer_type="text", dry_run=True)
    assert {p.answer_type for p in report.problems} == {"text"}


def test_malformed_examples_are_refused_by_example_number(tmp_path):
    task = tmp_path / "task.json"
    task.write_text(json.dumps({"examples": [
        {"input": "ok?", "target_scores": {"yes": 1, "no": 0}},
        {"input": "tie?", "target_scores": {"yes": 1, "no": 1}},
        {"input": "nothing to grade"},
        {"input": "empty list", "target": []},
        {"input": "bad score", "target_scores": {"yes": "high", "no": 0}},
        {"input": {"nested": "question"}, "target": "x"},
        "not an object",
        {"input": "one option", "target_scores": {"only": 1}},
        {"input": "fine", "target": ["a", "b"]},
    ]}))

    report = import_problems(tmp_path / "project", str(task), skip_bad=True)

    gold_texts = [p.choices[p.letters().index(p.answer)] if p.choices else p.answer for p in report.problems]
    assert gold_texts == ["yes", "a"]
    assert [(row, reason.split(" ")[0]) for _, row, reason in report.rejected] == [
        (2, "several"), (3, "example"), (4, "'target'"), (5, "'target_scores'"), (6, "question"),
        (7, "example"), (8, "needs")]
    assert all(file == str(task) for file, _, _ in report.rejected)


@pytest.mark.parametrize("document, reason", [
    ({"name": "no examples"}, "not a BIG-bench task"),
    ({"examples": {"a": 1}}, "'examples' must be a list"),
    ({"examples": [], "task_prefix": 3}, "'task_prefix' must be text"),
])
def test_task_files_without_usable_examples_are_refused_in_one_line(tmp_path, document, reason):
    task = tmp_path / "task.json"
    task.write_text(json.dumps(document))
    with pytest.raises(UserError) as err:
        import_problems(tmp_path, str(task), fmt="bigbench")
    assert str(err.value).startswith(f"{task}: ") and reason in str(err.value)
    assert "\n" not in str(err.value)


def test_programmatic_tasks_are_refused_because_no_code_from_data_runs(tmp_path):
    (tmp_path / "task.py").write_text("print('hello')\n")
    with pytest.raises(UserError, match="task.py"):
        detect_format(str(tmp_path))
