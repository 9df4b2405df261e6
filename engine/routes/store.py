"""The route table (``routes/routes.parquet``) and its crash-safe journal (``routes/partial.jsonl``).

Sampling routes from a model or an endpoint takes hours, so finished problems are journalled
one JSON line each (``{"problem_id", "source", "routes": [...]}``) as soon as they are done; a
kill -9 loses at most the problem in flight. ``merge_routes`` folds the journal into the
parquet table atomically and only then removes it, so a crash at any moment leaves either the
journal or the table holding every finished route (ids make a repeated merge harmless).

Plain Python + pyarrow only: the GUI reads routes too.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data import history
from ..data.problems import decode_meta
from ..errors import UserError
from ..fsutil import append_line, atomic_write_parquet
from ..project import PARTIAL_ROUTES_FILE as PARTIAL_FILE  # noqa: F401  (the names tests and tools import)
from ..project import ROUTES_FILE, partial_routes_path, routes_history_dir, routes_path  # noqa: F401


@dataclass
class Route:
    id: str
    problem_id: str
    text: str
    final_answer: str | None
    label: str  # positive | negative | unparsed
    source: str  # the source string it came from, e.g. "model:Qwen/Qwen2.5-7B-Instruct"
    temperature: float | None  # None when unknown (imported files)
    guided: bool  # rules were in the prompt
    created: int  # unix seconds
    meta: dict = field(default_factory=dict)  # what a routes file said besides the text (a generator's kind, …)


@dataclass
class RouteSummary:
    """Counts over a set of routes; ``problems`` counts problems having at least one route."""

    problems: int
    routes: int
    positives: int
    negatives: int
    unparsed: int
    contrastive: int  # problems with at least one positive and one negative route
    remaining: int = 0  # problems this source has not covered yet (a stopped run)


def route_id(problem_id: str, source: str, index: int) -> str:
    """Stable id: the same problem, source and sample index always name the same route."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:8]
    return f"{problem_id}~{digest}~{index}"


def summarize(problems, routes: list[Route]) -> RouteSummary:
    """Counts over the routes of the given problems (routes of other problems are ignored)."""
    wanted = {p.id for p in problems}
    kept = [r for r in routes if r.problem_id in wanted]
    labels_by_problem: dict[str, set[str]] = {}
    for route in kept:
        labels_by_problem.setdefault(route.problem_id, set()).add(route.label)
    return RouteSummary(
        problems=len(labels_by_problem),
        routes=len(kept),
        positives=sum(r.label == "positive" for r in kept),
        negatives=sum(r.label == "negative" for r in kept),
        unparsed=sum(r.label == "unparsed" for r in kept),
        contrastive=sum({"positive", "negative"} <= labels for labels in labels_by_problem.values()),
    )


# ----------------------------------------------------------------------------- routes.parquet


def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.string()),
            ("problem_id", pa.string()),
            ("text", pa.string()),
            ("final_answer", pa.string()),
            ("label", pa.string()),
            ("source", pa.string()),
            ("temperature", pa.float64()),
            ("guided", pa.bool_()),
            ("created", pa.int64()),
            ("meta", pa.string()),  # JSON object; absent from tables written before it existed
        ]
    )


def read_routes(project_dir: str | Path) -> list[Route]:
    """Every stored route; an empty list when none were made yet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = routes_path(project_dir)
    if not path.exists():
        return []
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowInvalid) as err:
        raise UserError(f"{path}: unreadable ({err})", hint="delete it and generate the routes again") from None
    names = set(Route.__dataclass_fields__) - {"meta"}
    return [Route(**{k: v for k, v in row.items() if k in names}, meta=decode_meta(row.get("meta"))) for row in rows]


def write_routes(project_dir: str | Path, routes: list[Route]) -> None:
    import pyarrow as pa

    rows = [{**asdict(r), "meta": json.dumps(r.meta, ensure_ascii=False) if r.meta else None} for r in routes]
    table = pa.Table.from_pylist(rows, schema=_schema())
    atomic_write_parquet(routes_path(project_dir), table)


# ----------------------------------------------------------------------------- partial.jsonl


def append_partial(project_dir: str | Path, problem_id: str, source: str, routes: list[Route]) -> None:
    """Journal one finished problem (flushed to disk before returning)."""
    path = partial_routes_path(project_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"problem_id": problem_id, "source": source, "routes": [asdict(r) for r in routes]}
    append_line(path, json.dumps(record, ensure_ascii=False))


def read_partial(project_dir: str | Path) -> list[Route]:
    """The journalled routes. A truncated last line (a kill mid-write) is cut off the file here,
    so the next append starts on a clean line instead of gluing onto the broken one."""
    path = partial_routes_path(project_dir)
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) < len(data):
        os.truncate(path, len(complete))
    routes = []
    for number, line in enumerate(complete.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            routes.extend(Route(**r) for r in json.loads(line)["routes"])
        except (ValueError, KeyError, TypeError) as err:
            raise UserError(f"{path}:{number}: damaged journal line ({err})",
                            hint="delete the file to sample its problems again") from None
    return routes


def merge_routes(project_dir: str | Path, new_routes: list[Route] = (), *, replace_source: str | None = None) -> list[Route]:
    """Fold the journal and ``new_routes`` into routes.parquet; return the whole table.

    ``replace_source`` first drops every stored route of that source (a file imported again
    replaces its earlier import); the table as it was is then kept in ``routes/history/``
    (``undo_routes`` puts it back). Routes of other sources are kept. The journal is removed
    only after the table is safely written.
    """
    project_dir = Path(project_dir)
    everything = read_routes(project_dir)
    stored = [r for r in everything if r.source != replace_source]
    if len(stored) < len(everything):
        history.keep(routes_path(project_dir), routes_history_dir(project_dir))
    by_id = {r.id: r for r in [*stored, *read_partial(project_dir), *new_routes]}
    merged = list(by_id.values())
    write_routes(project_dir, merged)
    partial_routes_path(project_dir).unlink(missing_ok=True)
    return merged


def undo_routes(project_dir: str | Path) -> tuple[int, int]:
    """Put back the route table a routes import replaced; return (routes before, after)."""
    before = len(read_routes(project_dir))
    history.undo(routes_path(project_dir), routes_history_dir(project_dir))
    return before, len(read_routes(project_dir))
