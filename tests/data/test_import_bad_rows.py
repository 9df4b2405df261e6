"""Malformed input: one-line errors naming file (and row) and reason; nothing written unless --skip-bad."""

import json
from pathlib import Path

import pytest

from engine.data.importers import import_problems
from engine.data.problems import read_problems
from engine.errors import UserError

FILES = Path(__file__).parent / "files"
HEADER = "id,question,answer,choices\n"


def _jsonl(*rows) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


def _parquet_with_nan_answer(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"question": ["a?", "b?"], "answer": [1.5, float("nan")]}), path)


OK = {"question": "fine?", "answer": "yes"}
DEEP = {"question": "deep?", "answer": "x", "extra": json.loads("[" * 30 + "]" * 30)}

# (case, file name, content (bytes, or a function writing the file), mapping, row (None: whole file), reason)
BAD_INPUTS = [
    ("empty csv", "a.csv", b"", None, None, "empty file"),
    ("blank jsonl", "a.jsonl", b"\n  \n", None, None, "empty file"),
    ("not utf-8", "a.csv", b"question,answer\ncaf\xe9,1\n", None, None, "not UTF-8 text (byte 19)"),
    ("not utf-8 after a BOM", "a.jsonl", b"\xef\xbb\xbf{}\n\xff\n", None, None, "not UTF-8 text (byte 6)"),
    ("missing file", "nothing-here.csv", None, None, None, "not found"),
    ("header only", "a.csv", b"question,answer\n", None, None, "nothing to import (no data rows)"),
    ("no question column", "a.csv", b"text,answer\nhi,1\n", None, None, "no question column"),
    ("mapped column missing", "a.csv", b"question,answer\nhi,1\n", {"answer": "gold"}, None,
     "no column 'gold' (columns: question, answer)"),
    ("bigbench invalid json", "task.json", b'{"examples": [\n  {"input": "a",\n  "target": }\n]}', None, None,
     "invalid JSON at line 3"),
    ("not parquet", "a.parquet", b"PAR1 but not really", None, None, "not a readable Parquet file"),
    ("extra csv field", "a.csv", (HEADER + "a,q?,1,\nb,q?,1,,surprise\n").encode(), None, 2,
     "row has 5 fields, the header has 4"),
    ("missing csv field", "a.csv", (HEADER + "a,q?\n").encode(), None, 1, "row has 2 fields, the header has 4"),
    ("invalid json line", "a.jsonl", _jsonl(OK, '{"question": "x", "answer": }'), None, 2, "invalid JSON"),
    ("id on some lines only", "a.jsonl", _jsonl(OK | {"id": "a"}, OK), None, 2, "missing id"),
    ("array line", "a.jsonl", _jsonl(OK, "[1, 2]"), None, 2, "expected a JSON object, got list"),
    ("null answer", "a.jsonl", _jsonl(OK, {"question": "q?", "answer": None}), None, 2, "missing answer"),
    ("NaN answer", "a.jsonl", _jsonl({"question": "q?", "answer": float("nan")}), None, 1, "missing answer"),
    ("NaN answer in parquet", "a.parquet", _parquet_with_nan_answer, None, 2, "missing answer"),
    ("empty question", "a.csv", (HEADER + "a,  ,1,\n").encode(), None, 1, "empty question"),
    ("missing question", "a.jsonl", _jsonl(OK, {"answer": "1"}), None, 2, "missing question"),
    ("duplicate id", "a.csv", (HEADER + "a,q1?,1,\nb,q2?,2,\na,q3?,3,\n").encode(), None, 3,
     "duplicate id 'a' (first at row 1)"),
    ("200 KB field", "a.jsonl", _jsonl(OK, {"question": "x" * 200_000, "answer": "1"}), None, 2,
     "'question' is longer than 100,000 characters"),
    ("200 KB csv field", "a.csv", (HEADER + "a,q?,1,\nb," + "y" * 200_000 + ",1,\n").encode(), None, 2,
     "'question' is longer than 100,000 characters"),
    ("deeply nested line", "a.jsonl", _jsonl(OK, "[" * 100_000 + "]" * 100_000), None, 2, "nested too deeply"),
    ("nested extra column", "a.jsonl", _jsonl(OK, DEEP), None, 2, "'extra' is nested deeper than 20 levels"),
    ("dict question", "a.jsonl", _jsonl({"question": {"text": "q"}, "answer": "1"}), None, 1,
     "question must be text, got dict"),
    ("list answer", "a.jsonl", _jsonl({"question": "q", "answer": ["1", "2"]}), None, 1,
     "answer must be text or a number, got list"),
    ("answer not in choices", "a.csv", (HEADER + "a,q?,Z,x|y|z\n").encode(), None, 1,
     "answer 'Z' is not among the choices"),
    ("one choice", "a.jsonl", _jsonl({"question": "q", "answer": "x", "choices": ["x"]}), None, 1,
     "needs 2 to 26 choices, got 1"),
    ("unknown split", "a.jsonl", _jsonl({"question": "q", "answer": "1", "split": "holdout"}), None, 1,
     "unknown split 'holdout'"),
    ("not a number", "a.jsonl", _jsonl({"question": "q", "answer": "many", "answer_type": "number"}), None, 1,
     "answer 'many' is not a number"),
    ("unknown answer type", "a.jsonl", _jsonl({"question": "q", "answer": "1", "answer_type": "fuzzy"}), None, 1,
     "unknown answer_type 'fuzzy'"),
    ("bigbench tied scores", "task.json",
     json.dumps({"examples": [{"input": "q", "target_scores": {"a": 1, "b": 1}}]}).encode(), None, 1,
     "several options share the highest score"),
]


def _write(path: Path, content) -> None:
    if callable(content):
        content(path)
    elif content is not None:
        path.write_bytes(content)


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def project(tmp_path) -> Path:
    """A project that already holds a table: a refused import must leave it untouched."""
    project = tmp_path / "project"
    import_problems(project, str(FILES / "problems.csv"))
    return project


@pytest.mark.parametrize("case, name, content, mapping, row, reason", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_one_line_naming_where_and_why_and_writes_nothing(tmp_path, project, case, name, content,
                                                                          mapping, row, reason):
    source = tmp_path / name
    _write(source, content)
    before = _snapshot(project / "data")

    with pytest.raises(UserError) as err:
        import_problems(project, str(source), mapping=mapping)

    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{source}:{row}: " if row else f"{source}: "), message
    assert reason in message
    assert _snapshot(project / "data") == before


def test_the_error_counts_the_other_bad_rows(tmp_path, project):
    source = tmp_path / "three_bad.jsonl"
    source.write_bytes(_jsonl(OK, {"question": "q"}, {"answer": "a"}, "nope"))

    with pytest.raises(UserError) as err:
        import_problems(project, str(source))

    assert str(err.value) == f"{source}:2: missing answer (and 2 more bad rows; --skip-bad imports the rest)"


def test_skip_bad_imports_the_rest_and_writes_the_rejects_report(tmp_path, project):
    source = tmp_path / "some_bad.jsonl"
    source.write_bytes(_jsonl(OK, {"question": "q"}, OK | {"question": "also fine?"}, {"question": {}, "answer": 1}))

    report = import_problems(project, str(source), skip_bad=True)

    assert [p.question for p in report.problems] == ["fine?", "also fine?"]
    assert [p.question for p in read_problems(project / "data" / "problems.parquet")] == ["fine?", "also fine?"]
    assert report.rejects_path == project / "data" / "rejects.jsonl"
    rejects = [json.loads(line) for line in report.rejects_path.read_text().splitlines()]
    assert rejects == [{"file": str(source), "row": 2, "reason": "missing answer"},
                       {"file": str(source), "row": 4, "reason": "question must be text, got dict"}]
    assert report.rejected == [(r["file"], r["row"], r["reason"]) for r in rejects]

    import_problems(project, str(FILES / "problems.csv"))  # a clean import replaces the report too
    assert not report.rejects_path.exists()


def test_skip_bad_with_nothing_good_refuses_and_writes_nothing(tmp_path, project):
    source = tmp_path / "all_bad.jsonl"
    source.write_bytes(_jsonl({"question": "q"}, {"answer": "a"}))
    before = _snapshot(project / "data")

    with pytest.raises(UserError, match=f"{source}: nothing to import \\(all 2 rows were refused, first .*:1: "):
        import_problems(project, str(source), skip_bad=True)
    assert _snapshot(project / "data") == before


def test_skip_bad_dry_run_reports_rejects_without_writing(tmp_path):
    source = tmp_path / "some_bad.jsonl"
    source.write_bytes(_jsonl(OK, {"question": "q"}))
    report = import_problems(tmp_path / "project", str(source), skip_bad=True, dry_run=True)
    assert (report.imported, len(report.rejected), report.rejects_path) == (1, 1, None)
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize("name, content", [
    ("bom_crlf.csv", "\ufeffid,question,answer\r\na,Two plus two?,4\r\nb,\"Multi\r\nline?\",yes\r\n".encode()),
    ("bom_crlf.jsonl", "\ufeff".encode() + _jsonl({"id": "a", "question": "Two plus two?", "answer": 4},
                                                   {"id": "b", "question": "Multi\r\nline?", "answer": "yes"})
     .replace(b"\n", b"\r\n")),
])
def test_bom_and_crlf_are_accepted_silently(tmp_path, name, content):
    source = tmp_path / name
    source.write_bytes(content)
    report = import_problems(tmp_path / "project", str(source))
    assert [(p.id, p.question, p.answer) for p in report.problems] == [
        ("a", "Two plus two?", "4"), ("b", "Multi\r\nline?", "yes")]
