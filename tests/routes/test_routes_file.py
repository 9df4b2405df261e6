"""Importing routes from a JSONL file: labels, provenance, refusals by row, re-imports."""

from __future__ import annotations

import json

import pytest

from engine.errors import UserError
from engine.routes.generate import generate_routes, read_routes
from engine.routes.store import ROUTES_FILE
from routes_testkit import make_project, number_problems


def write_jsonl(path, rows) -> str:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return f"file:{path}"


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj", number_problems(train=3, test=1))  # p1..p3 train, p4 test


def test_file_routes_are_labelled_by_the_verifier_with_their_provenance(project, tmp_path):
    source = write_jsonl(tmp_path / "routes.jsonl", [
        {"problem_id": "p1", "text": "1 + 1 = 2\nAnswer: 2", "kind": "teacher", "tags": ["a"]},
        {"problem_id": "p1", "text": "Answer: 3", "temperature": 0.7, "guided": True},
        {"problem_id": "p2", "text": "I am not sure."},
        {"problem_id": "p3", "text": "Answer: 6"},
        {"problem_id": "p4", "text": "Answer: 8"},  # a test problem: its routes serve eval "with routes"
    ])
    summary = generate_routes(project, source)
    routes = sorted(read_routes(project), key=lambda r: r.id)
    got = [(r.problem_id, r.label, r.final_answer, r.temperature, r.guided, r.source) for r in routes]
    assert got == [
        ("p1", "positive", "2", None, False, source),
        ("p1", "negative", "3", 0.7, True, source),
        ("p2", "unparsed", None, None, False, source),
        ("p3", "positive", "6", None, False, source),
        ("p4", "positive", "8", None, False, source),
    ]
    assert all(r.created > 0 for r in routes)
    assert [r.meta for r in routes] == [{"kind": "teacher"}, {}, {}, {}, {}]  # other scalar keys: the route's meta
    assert (summary.problems, summary.routes, summary.positives, summary.negatives, summary.unparsed,
            summary.contrastive, summary.remaining) == (4, 5, 3, 1, 1, 1, 0)


@pytest.mark.parametrize("rows, message", [
    ([{"problem_id": "p1", "text": "Answer: 2"}, {"problem_id": "nope", "text": "Answer: 2"}],
     r"routes\.jsonl:2: unknown problem id 'nope'$"),
    ([{"problem_id": "p1", "text": "  "}], r"routes\.jsonl:1: empty text$"),
    (['{"problem_id": "p1", "text": '], r"routes\.jsonl:1: not valid JSON"),
    ([{"text": "Answer: 2"}], r"routes\.jsonl:1: missing problem_id$"),
    ([["p1", "Answer: 2"]], r"routes\.jsonl:1: must be a JSON object$"),
    ([{"problem_id": "p1", "text": "Answer: 2", "temperature": "hot"}], r"routes\.jsonl:1: temperature must be a number"),
    ([{"problem_id": "p1", "text": "Answer: 2"}, "", {"problem_id": "x", "text": "a"}, {"problem_id": "p2", "text": ""},
      "{broken"], r"routes\.jsonl:3: unknown problem id 'x' \(and 2 more bad rows\)$"),
])
def test_bad_rows_are_refused_by_row_and_nothing_is_written(project, tmp_path, rows, message):
    source = write_jsonl(tmp_path / "routes.jsonl", rows)
    with pytest.raises(UserError, match=message):
        generate_routes(project, source)
    assert not (project / ROUTES_FILE).exists()


def test_importing_the_same_file_again_replaces_its_routes_and_keeps_other_sources(project, tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", [{"problem_id": "p1", "text": "Answer: 2"},
                                               {"problem_id": "p2", "text": "Answer: 4"}])
    other = write_jsonl(tmp_path / "b.jsonl", [{"problem_id": "p3", "text": "Answer: 1"}])
    generate_routes(project, first)
    generate_routes(project, other)
    write_jsonl(tmp_path / "a.jsonl", [{"problem_id": "p2", "text": "Answer: 5"}])  # the file was edited
    summary = generate_routes(project, first)
    assert sorted((r.source, r.problem_id, r.label) for r in read_routes(project)) == [
        (first, "p2", "negative"), (other, "p3", "negative")]
    assert (summary.problems, summary.routes, summary.remaining) == (1, 1, 3)


def test_a_relative_file_is_also_found_inside_the_project(project):
    write_jsonl(project / "teacher.jsonl", [{"problem_id": "p1", "text": "Answer: 2"}])
    assert generate_routes(project, "file:teacher.jsonl").positives == 1


def test_a_missing_file_is_a_user_error(project):
    with pytest.raises(UserError, match="nowhere.jsonl: no such routes file"):
        generate_routes(project, "file:nowhere.jsonl")
