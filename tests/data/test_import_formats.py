"""Every input format gives the same problem table; mapping, answer types, splits and shuffling."""

import json
import shutil
from pathlib import Path

import pytest

from engine.config import Config, save_config
from engine.data.importers import detect_format, import_problems, parse_mapping
from engine.data.problems import read_problems
from engine.errors import UserError

FILES = Path(__file__).parent / "files"
# (id, question, answer, answer_type, choices, rules, split) expected from problems.csv / .jsonl
EXPECTED = [
    ("q1", "What is 2 + 2?", "4", "number", None, None, "train"),
    ("q2", "Which planet is known as the red planet?", "B", "choice", ["Venus", "Mars", "Jupiter"], None, "test"),
    ("q3", "Pick the prime number.", "B", "choice", ["8", "7", "10", "9"], "A prime has exactly two divisors.",
     "train"),
    ("q4", "Capital of France?\n(one word)", "Paris", "text", None, None, "test"),
    ("q5", "What is 10 / 4?", "2.5", "number", None, "Give a decimal.", "train"),
]


def _records() -> list[dict]:
    """The fixture rows with every column present and answers as text (columnar files need one type)."""
    rows = [json.loads(line) for line in (FILES / "problems.jsonl").read_text().splitlines() if line.strip()]
    keys = ("id", "question", "answer", "choices", "rules", "split")
    return [{k: (str(row[k]) if k == "answer" else row.get(k)) for k in keys} for row in rows]


def _parquet(folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "problems.parquet"
    pq.write_table(pa.Table.from_pylist(_records()), path)
    return path


def _hf_folder(folder: Path) -> Path:
    import datasets

    path = folder / "saved"
    datasets.Dataset.from_list(_records()).save_to_disk(str(path))
    return path


def _copy(name):
    return lambda folder: Path(shutil.copy(FILES / name, folder))


def _table(problems):
    return [(p.id, p.question, p.answer, p.answer_type, p.choices, p.rules, p.split) for p in problems]


@pytest.mark.parametrize("make, fmt", [(_copy("problems.csv"), "csv"), (_copy("problems.jsonl"), "jsonl"),
                                       (_parquet, "parquet"), (_hf_folder, "hf")],
                         ids=["csv", "jsonl", "parquet", "hf"])
def test_every_format_imports_the_same_problems_and_round_trips(tmp_path, make, fmt):
    source = make(tmp_path)

    report = import_problems(tmp_path / "project", str(source))

    assert (report.fmt, report.imported, report.train, report.test) == (fmt, 5, 3, 2)
    assert _table(report.problems) == EXPECTED
    assert _table(read_problems(tmp_path / "project" / "data" / "problems.parquet")) == EXPECTED


def test_an_hf_dataset_dict_keeps_its_train_and_test_splits(tmp_path):
    import datasets

    rows = [{k: v for k, v in row.items() if k != "split"} for row in _records()]
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:3]),
                          "test": datasets.Dataset.from_list(rows[3:])}).save_to_disk(str(tmp_path / "dd"))

    report = import_problems(tmp_path / "project", str(tmp_path / "dd"))

    assert [(p.id, p.split) for p in report.problems] == [
        ("q1", "train"), ("q2", "train"), ("q3", "train"), ("q4", "test"), ("q5", "test")]


@pytest.mark.parametrize("name, expected", [
    ("a.csv", "csv"), ("a.tsv", "csv"), ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"), ("a.parquet", "parquet"),
])
def test_format_is_told_from_the_file_name(tmp_path, name, expected):
    (tmp_path / name).write_text("x")
    assert detect_format(str(tmp_path / name)) == expected


def test_format_of_folders_json_files_and_hub_ids(tmp_path):
    assert detect_format(str(_hf_folder(tmp_path))) == "hf"
    assert detect_format("someorg/some-dataset") == "hf"
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "notes.txt").write_text("hi")
    for source, reason in [(tmp_path / "list.json", "'examples'"), (tmp_path / "notes.txt", "cannot tell"),
                           (tmp_path / "missing" / "data.csv", "not found"), (tmp_path, "cannot tell")]:
        with pytest.raises(UserError, match=reason):
            detect_format(str(source))


def test_a_hub_id_offline_is_a_clear_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot reach the hub for 'someorg/some-dataset'"):
        import_problems(tmp_path, "someorg/some-dataset")
    assert not (tmp_path / "data").exists()


def test_parse_mapping():
    assert parse_mapping(None) == {}
    assert parse_mapping(" question = prompt , answer=gold,choices=opts ") == {
        "question": "prompt", "answer": "gold", "choices": "opts"}
    for text, reason in [("questoin=prompt", "unknown field 'questoin'"), ("question", "expected FIELD=COLUMN"),
                         ("answer=", "expected FIELD=COLUMN"), ("id=a,id=b", "mapped twice")]:
        with pytest.raises(UserError, match=reason):
            parse_mapping(text)


def test_mapped_columns_are_used_and_other_columns_kept_as_meta(tmp_path):
    source = tmp_path / "quiz.csv"
    source.write_text("prompt_text,gold,opts,topic,kind\nWhich is a fruit?,apple,apple|stone|chair,food,choice\n"
                      "Say hi,hi,,greeting,regex\n")

    report = import_problems(tmp_path, str(source), mapping=parse_mapping(
        "question=prompt_text,answer=gold,choices=opts,answer_type=kind"), test_fraction=0.0)

    fruit, hi = report.problems
    gold = fruit.choices[fruit.letters().index(fruit.answer)]
    assert (fruit.id, fruit.answer_type, gold) == ("quiz-1", "choice", "apple")
    assert (hi.id, hi.answer_type, hi.answer, hi.choices) == ("quiz-2", "regex", "hi", None)
    assert fruit.meta == {"topic": "food"}


@pytest.mark.parametrize("row, expected", [
    ({"input": "2+3?", "target": 5}, ("2+3?", "5", "number")),
    ({"prompt": "Pick red", "label": "red", "options": ["blue", "red"]}, ("Pick red", "red", "choice")),
    ({"problem": "Spell cat", "solution": "c-a-t"}, ("Spell cat", "c-a-t", "text")),
])
def test_default_column_names_cover_common_datasets(tmp_path, row, expected):
    source = tmp_path / "common.jsonl"
    source.write_text(json.dumps(row) + "\n")
    (problem,) = import_problems(tmp_path, str(source)).problems
    gold = problem.choices[problem.letters().index(problem.answer)] if problem.choices else problem.answer
    assert (problem.question, gold, problem.answer_type) == expected


def _project(tmp_path, **data) -> Path:
    cfg = Config()
    for key, value in data.items():
        setattr(cfg.data, key, value)
    tmp_path.mkdir(parents=True, exist_ok=True)
    save_config(tmp_path, cfg)
    return tmp_path


def test_answer_type_precedence_row_then_argument_then_choices_then_config_then_inferred(tmp_path):
    source = tmp_path / "mixed.jsonl"
    rows = [{"question": "n?", "answer": "7"}, {"question": "c?", "answer": "x", "choices": ["x", "y"]},
            {"question": "t?", "answer": "8", "answer_type": "text"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kinds = lambda report: [p.answer_type for p in report.problems]  # noqa: E731

    assert kinds(import_problems(_project(tmp_path / "default"), str(source))) == ["number", "choice", "text"]
    regex_project = _project(tmp_path / "regex", answer_type="regex", regex="^7$")
    assert kinds(import_problems(regex_project, str(source))) == ["regex", "choice", "text"]
    assert kinds(import_problems(regex_project, str(source), answer_type="text")) == ["text", "text", "text"]


def test_test_fraction_comes_from_the_config_unless_given(tmp_path):
    source = str(FILES / "problems.jsonl")
    project = _project(tmp_path, test_fraction=0.9)
    splits = lambda report: [p.split for p in report.problems]  # noqa: E731
    # q1-q4 name their split; only q5 follows the fraction
    assert splits(import_problems(project, source)) == ["train", "test", "train", "test", "test"]
    assert splits(import_problems(project, source, test_fraction=0.0)) == ["train", "test", "train", "test", "train"]


def test_hash_split_is_deterministic_per_seed(tmp_path):
    source = tmp_path / "many.jsonl"
    source.write_text("".join(json.dumps({"question": f"q{i}", "answer": str(i)}) + "\n" for i in range(200)))

    def tests(seed):
        report = import_problems(tmp_path, str(source), seed=seed, dry_run=True)
        return {p.id for p in report.problems if p.split == "test"}

    assert tests(0) == tests(0)
    assert 20 <= len(tests(0)) <= 60  # about 20 % of 200
    assert tests(0) != tests(1)


def test_choices_are_shuffled_deterministically_and_the_gold_letter_follows_its_option(tmp_path):
    source = tmp_path / "gold_first.jsonl"  # like many public sets: the correct option is always listed first
    source.write_text("".join(json.dumps({"question": f"Q{i}", "answer": f"right {i}",
                                          "choices": [f"right {i}", "wrong a", "wrong b", "wrong c"]}) + "\n"
                              for i in range(40)))

    first = import_problems(tmp_path, str(source)).problems
    again = import_problems(tmp_path, str(source)).problems
    other_seed = import_problems(tmp_path, str(source), seed=7, dry_run=True).problems

    letters = [p.answer for p in first]
    assert len(set(letters)) >= 3 and letters.count("A") < 20
    assert [(p.choices, p.answer) for p in again] == [(p.choices, p.answer) for p in first]
    assert [p.choices for p in other_seed] != [p.choices for p in first]
    for i, problem in enumerate(first):
        assert problem.choices[problem.letters().index(problem.answer)] == f"right {i}"


def test_importing_again_replaces_the_table_and_dry_run_writes_nothing(tmp_path):
    table = tmp_path / "data" / "problems.parquet"
    preview = import_problems(tmp_path, str(FILES / "problems.csv"), dry_run=True)
    assert preview.imported == 5 and not (tmp_path / "data").exists()

    import_problems(tmp_path, str(FILES / "problems.csv"))
    import_problems(tmp_path, str(FILES / "bigbench_physics_mc"))

    assert {p.id for p in read_problems(table)} == {f"task-{i}" for i in range(1, 9)}
