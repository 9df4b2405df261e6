"""routes.parquet and its journal: counts, round trip, crash tolerance, merging."""

from __future__ import annotations

import pytest

from engine.errors import UserError
from engine.routes.store import (PARTIAL_FILE, Route, append_partial, merge_routes, read_partial,
                                 read_routes, route_id, summarize, write_routes)
from routes_testkit import number_problems


def route(problem_id: str, label: str, index: int = 0, source: str = "model:m") -> Route:
    return Route(id=route_id(problem_id, source, index), problem_id=problem_id, text=f"{label} route",
                 final_answer=None if label == "unparsed" else "1", label=label, source=source,
                 temperature=0.8, guided=False, created=1700000000)


@pytest.mark.parametrize("labels, expected", [
    # {problem: labels} → (problems, routes, positives, negatives, unparsed, contrastive)
    ({}, (0, 0, 0, 0, 0, 0)),
    ({"p1": ["positive", "negative"]}, (1, 2, 1, 1, 0, 1)),
    ({"p1": ["positive", "positive"], "p2": ["negative", "unparsed"]}, (2, 4, 2, 1, 1, 0)),
    ({"p1": ["positive", "unparsed", "negative"], "p2": ["negative", "positive"], "p3": ["unparsed"]},
     (3, 6, 2, 2, 2, 2)),
    ({"p1": ["positive"], "unknown": ["negative", "positive"]}, (1, 1, 1, 0, 0, 0)),  # other problems ignored
])
def test_summarize_counts_routes_and_contrastive_problems(labels, expected):
    routes = [route(pid, label, i) for pid, ls in labels.items() for i, label in enumerate(ls)]
    s = summarize(number_problems(3, test=0), routes)
    assert (s.problems, s.routes, s.positives, s.negatives, s.unparsed, s.contrastive) == expected


def test_route_ids_are_stable_and_distinct_per_source():
    assert route_id("p1", "model:a", 0) == route_id("p1", "model:a", 0)
    ids = {route_id("p1", "model:a", 0), route_id("p1", "model:b", 0), route_id("p1", "model:a", 1),
           route_id("p2", "model:a", 0)}
    assert len(ids) == 4


def test_routes_round_trip_through_parquet(tmp_path):
    assert read_routes(tmp_path) == []
    routes = [route("p1", "positive"), route("p2", "unparsed", source="file:r.jsonl")]
    routes[1].temperature = None
    write_routes(tmp_path, routes)
    assert read_routes(tmp_path) == routes


def test_route_meta_round_trips_and_a_table_written_before_meta_reads_as_empty_meta(tmp_path):
    import pyarrow.parquet as pq

    routes = [route("p1", "negative"), route("p2", "positive", source="file:r.jsonl")]
    routes[0].meta = {"kind": "arithmetic_slip", "corrupted_step": 6}
    write_routes(tmp_path, routes)
    assert read_routes(tmp_path) == routes
    old = pq.read_table(tmp_path / "routes" / "routes.parquet").drop_columns(["meta"])  # an older project's table
    pq.write_table(old, tmp_path / "routes" / "routes.parquet")
    assert [r.meta for r in read_routes(tmp_path)] == [{}, {}]
    assert [r.id for r in merge_routes(tmp_path, [route("p3", "positive")])] == [r.id for r in routes] + [route("p3", "positive").id]


def test_a_truncated_journal_line_is_dropped_and_the_next_append_stays_clean(tmp_path):
    append_partial(tmp_path, "p1", "model:m", [route("p1", "positive"), route("p1", "negative", 1)])
    with open(tmp_path / PARTIAL_FILE, "a", encoding="utf-8") as handle:
        handle.write('{"problem_id": "p2", "source": "model:m", "rou')  # killed mid-write
    assert [r.problem_id for r in read_partial(tmp_path)] == ["p1", "p1"]
    append_partial(tmp_path, "p2", "model:m", [route("p2", "negative")])
    assert [r.problem_id for r in read_partial(tmp_path)] == ["p1", "p1", "p2"]


def test_a_damaged_complete_journal_line_is_reported_with_its_line_number(tmp_path):
    append_partial(tmp_path, "p1", "model:m", [route("p1", "positive")])
    with open(tmp_path / PARTIAL_FILE, "a", encoding="utf-8") as handle:
        handle.write("not json\n")
    with pytest.raises(UserError, match=r"partial\.jsonl:2: damaged journal line"):
        read_partial(tmp_path)


def test_merge_folds_the_journal_in_keeps_other_sources_and_removes_the_journal(tmp_path):
    write_routes(tmp_path, [route("p1", "positive", source="file:a.jsonl"), route("p2", "negative")])
    append_partial(tmp_path, "p3", "model:m", [route("p3", "positive")])
    append_partial(tmp_path, "p2", "model:m", [route("p2", "negative")])  # merged before, journal not yet removed
    merged = merge_routes(tmp_path)
    assert sorted((r.problem_id, r.source) for r in merged) == [
        ("p1", "file:a.jsonl"), ("p2", "model:m"), ("p3", "model:m")]
    assert not (tmp_path / PARTIAL_FILE).exists()
    assert read_routes(tmp_path) == merged


def test_merge_with_replace_source_drops_only_that_sources_old_routes(tmp_path):
    write_routes(tmp_path, [route("p1", "positive", source="file:a.jsonl"), route("p2", "negative", 1, "file:a.jsonl"),
                            route("p2", "positive")])
    new = [route("p3", "negative", source="file:a.jsonl")]
    merge_routes(tmp_path, new, replace_source="file:a.jsonl")
    assert sorted((r.problem_id, r.source) for r in read_routes(tmp_path)) == [("p2", "model:m"), ("p3", "file:a.jsonl")]
