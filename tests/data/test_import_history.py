"""Nothing a user made is lost to an import: replace or append, the old table kept, undo."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.data import history
from engine.data.importers import import_problems, undo_import
from engine.data.problems import read_problems
from engine.errors import UserError
from engine.project import data_history_dir, init_project, problems_path


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def project(tmp_path):
    folder = init_project(tmp_path / "proj")
    import_problems(folder, write(tmp_path / "forty.jsonl", [{"id": f"q{i}", "question": f"{i}?", "answer": str(i)}
                                                            for i in range(40)]))
    return folder


@pytest.fixture
def malformed(tmp_path):
    """Two good rows and three bad ones."""
    return write(tmp_path / "bad.jsonl", [{"id": "n1", "question": "a?", "answer": "1"}, "{oops",
                                          {"id": "n2", "question": "b?", "answer": "2"}, {"question": "c?"}, "[1]"])


def ids(project) -> list[str]:
    return [p.id for p in read_problems(problems_path(project))]


def test_replacing_keeps_the_old_table_and_undo_brings_it_back(project, malformed):
    report = import_problems(project, malformed, skip_bad=True)
    assert (report.imported, report.existing) == (2, 40)
    assert ids(project) == ["n1", "n2"]
    assert report.kept is not None and len(read_problems(report.kept)) == 40
    assert undo_import(project) == (2, 40)
    assert ids(project) == [f"q{i}" for i in range(40)]
    assert undo_import(project) == (40, 2)  # an undo is undone by another: the 2 were kept too


def test_appending_adds_new_ids_and_refuses_ids_the_project_has(project, tmp_path):
    source = write(tmp_path / "more.jsonl", [{"id": "q3", "question": "again?", "answer": "3"},
                                             {"id": "z1", "question": "new?", "answer": "9"}])
    preview = import_problems(project, source, dry_run=True, skip_bad=True, mode="append")
    assert (len(preview.problems), preview.clashes, preview.existing) == (1, 1, 40)
    assert preview.rejected == [(source, 1, "id 'q3' is already in the project (append adds new ids only)")]
    assert ids(project)[-1] == "q39"  # a dry run writes nothing
    with pytest.raises(UserError, match="already in the project"):
        import_problems(project, source, mode="append")
    report = import_problems(project, source, mode="append", skip_bad=True)
    assert ids(project) == [f"q{i}" for i in range(40)] + ["z1"]
    assert len(read_problems(report.kept)) == 40


def test_a_first_import_keeps_nothing_and_undo_without_history_is_refused(tmp_path):
    folder = init_project(tmp_path / "fresh")
    report = import_problems(folder, write(tmp_path / "one.jsonl", [{"question": "x?", "answer": "1"}]))
    assert report.kept is None and report.existing == 0
    with pytest.raises(UserError, match="nothing to undo"):
        undo_import(folder)


def test_the_cli_appends_replaces_and_undoes(project, malformed, tmp_path, capsys):
    assert main(["import", str(project), malformed, "--skip-bad", "--append"]) == 0
    assert len(ids(project)) == 42
    assert "added to the 40 problems the project had" in capsys.readouterr().out
    assert main(["import", str(project), malformed, "--skip-bad", "--replace"]) == 0
    assert ids(project) == ["n1", "n2"]
    assert main(["import", str(project), "--undo"]) == 0
    assert len(ids(project)) == 42
    assert len(history.snapshots(data_history_dir(project), "problems.parquet")) == 2
    assert main(["import", str(project)]) == 2  # neither a file nor --undo
    assert "give the FILE" in capsys.readouterr().err


def test_the_dry_run_event_counts_what_is_there_and_what_clashes(project, tmp_path, capsys):
    source = write(tmp_path / "x.jsonl", [{"id": "q1", "question": "a?", "answer": "1"}])
    assert main(["import", str(project), source, "--dry-run", "--json"]) == 0
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["counts"] == {"ok": 1, "rejected": 0, "existing": 40, "clashes": 1}


def test_a_routes_file_imported_again_replaces_its_routes_keeps_them_and_can_append(project, tmp_path, capsys):
    from engine.routes.store import read_routes

    source = write(tmp_path / "routes.jsonl", [{"problem_id": "q1", "text": "Answer: 1"},
                                                {"problem_id": "q2", "text": "Answer: 5"}])
    assert main(["routes", str(project), "--source", f"file:{source}"]) == 0
    write(tmp_path / "routes.jsonl", [{"problem_id": "q1", "text": "Answer: 7"}])
    assert main(["routes", str(project), "--source", f"file:{source}"]) == 0
    assert [r.text for r in read_routes(project)] == ["Answer: 7"]
    assert main(["routes", str(project), "--undo"]) == 0
    assert [r.text for r in read_routes(project)] == ["Answer: 1", "Answer: 5"]
    assert main(["routes", str(project), "--source", f"file:{source}", "--append"]) == 0
    assert sorted(r.text for r in read_routes(project)) == ["Answer: 1", "Answer: 5", "Answer: 7"]
    assert len({r.id for r in read_routes(project)}) == 3
    capsys.readouterr()
    assert main(["routes", str(project)]) == 2
    assert "give --source" in capsys.readouterr().err
