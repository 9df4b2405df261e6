"""The ``routes`` stage: sample or import routes for the problems, label them, store them.

- Every problem gets routes. Training reads only the train split's routes; evaluation *with
  routes* shows the test split's (its answers are never trained on).
- Every route is labelled by the verifier (positive, negative, or unparsed: its own label).
- Model and endpoint sources journal each finished problem to ``routes/partial.jsonl``; a rerun
  with the same source string skips the problems that source already covered (journal or
  table), so an interrupted run resumes where it stopped. To sample a source again, delete its
  routes first.
- A file source is imported whole or not at all, and importing the same source string again
  replaces that source's earlier routes (the file was edited; the table as it was is kept in
  ``routes/history/``), or with ``append`` adds to them. Routes of other sources stay.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config import load_config
from ..data.problems import Problem, read_problems
from ..errors import UserError
from ..method.prompts import route_user_text
from ..project import problems_path
from .budgets import with_route_budget
from .sources import open_source, parse_source, read_route_file, resolve_file
from .store import (Route, RouteSummary, append_partial, merge_routes, read_partial, read_routes, route_id,
                    summarize)

__all__ = ["generate_routes", "read_routes", "summarize", "Route", "RouteSummary"]

Progress = Callable[[int, int, "float | None"], None]


def generate_routes(project_dir, source: str, *, k: int | None = None, temperature: float | None = None,
                    guided: bool | None = None, progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None, append: bool = False) -> RouteSummary:
    """Make (or import) the routes of ``source`` and return the counts of that source's routes.

    ``None`` arguments take their value from ``[routes]`` in realm.toml (an empty ``source``
    too). ``progress(done, total, eta_s)`` is called after each batch, counting problems; ``should_stop()`` is asked after each batch, and a stopped run keeps (merges)
    everything finished so far and reports the rest as ``remaining``.
    """
    project_dir = Path(project_dir)
    cfg = load_config(project_dir)
    source = source or cfg.routes.source
    kind, target = parse_source(source)
    k = cfg.routes.k if k is None else k
    temperature = cfg.routes.temperature if temperature is None else temperature
    guided = cfg.routes.guided if guided is None else guided
    if k < 1:
        raise UserError(f"routes k: must be >= 1, got {k}")
    if temperature < 0:
        raise UserError(f"routes temperature: must be >= 0, got {temperature}")
    problems = read_problems(problems_path(project_dir))
    with _labeller(project_dir, cfg) as label:
        if kind == "file":
            return _import_file(project_dir, source, resolve_file(project_dir, target), problems, label, progress,
                                append)
        rules = _rules_lookup(project_dir, cfg) if guided else (lambda problem: None)
        sampling = _Sampling(with_route_budget(project_dir, cfg), kind, target, k, temperature, rules)
        _sample_missing(project_dir, source, problems, sampling, label, progress, should_stop)
    merged = merge_routes(project_dir)
    summary = summarize(problems, [r for r in merged if r.source == source])
    summary.remaining = len(problems) - summary.problems
    return summary


@dataclass
class _Sampling:
    """How to sample: the source to open (only once there is work) and the prompt's rules."""

    cfg: object
    kind: str
    target: str
    k: int
    temperature: float
    rules: Callable[[Problem], str | None]


def _sample_missing(project_dir: Path, source: str, problems: list[Problem], sampling: _Sampling, label,
                    progress: Progress | None, should_stop: Callable[[], bool] | None) -> None:
    """Sample the problems ``source`` has not covered yet, journalling each batch."""
    covered = {r.problem_id for r in [*read_routes(project_dir), *read_partial(project_dir)] if r.source == source}
    todo = [p for p in problems if p.id not in covered]
    done = len(problems) - len(todo)
    if progress:
        progress(done, len(problems), None)
    if not todo:
        return
    cfg = sampling.cfg
    sampler = open_source(cfg, sampling.kind, sampling.target, k=sampling.k, temperature=sampling.temperature)
    position = {p.id: i for i, p in enumerate(problems)}
    started, finished = time.monotonic(), 0
    for start in range(0, len(todo), sampler.batch_size):
        batch = todo[start:start + sampler.batch_size]
        batch_rules = [sampling.rules(p) for p in batch]
        user_texts = [route_user_text(p.question, p.choices, r) for p, r in zip(batch, batch_rules)]
        # Seeded by the batch's first problem, so a resumed run samples it as a fresh one would.
        samples = sampler.sample(user_texts, seed=cfg.project.seed + position[batch[0].id])
        created = int(time.time())
        for problem, problem_rules, texts in zip(batch, batch_rules, samples):
            routes = [_route(problem, text, i, source, sampling.temperature, bool(problem_rules), created, label)
                      for i, text in enumerate(texts)]
            append_partial(project_dir, problem.id, source, routes)
        finished += len(batch)
        if progress:
            elapsed = time.monotonic() - started
            progress(done + finished, len(problems), elapsed / finished * (len(todo) - finished))
        if should_stop and should_stop():
            return


def _import_file(project_dir: Path, source: str, path: Path, problems: list[Problem], label,
                 progress: Progress | None, append: bool) -> RouteSummary:
    by_id = {p.id: p for p in problems}
    rows = read_route_file(path, by_id)
    created = int(time.time())
    routes, per_problem = [], {}
    if append:  # number the new routes after this source's earlier ones: their ids stay distinct
        for route in read_routes(project_dir):
            if route.source == source:
                per_problem[route.problem_id] = per_problem.get(route.problem_id, -1) + 1
    for row in rows:
        problem = by_id[row.problem_id]
        index = per_problem[problem.id] = per_problem.get(problem.id, -1) + 1
        route = _route(problem, row.text, index, source, row.temperature, row.guided, created, label)
        route.meta = row.meta
        routes.append(route)
    merge_routes(project_dir, routes, replace_source=None if append else source)
    summary = summarize(problems, routes)
    summary.remaining = len(problems) - summary.problems
    if progress:
        progress(len(problems), len(problems), 0.0)
    return summary


def _route(problem: Problem, text: str, index: int, source: str, temperature: float | None, guided: bool,
           created: int, label) -> Route:
    verdict = label(text, problem)
    return Route(id=route_id(problem.id, source, index), problem_id=problem.id, text=text,
                 final_answer=verdict.extracted, label=verdict.label, source=source,
                 temperature=temperature, guided=guided, created=created)


@contextmanager
def _labeller(project_dir: Path, cfg):
    """``label(text, problem) -> Verdict``; a project's Python verifier (a worker process) is
    started once here and stopped on the way out."""
    from ..method.verifiers import PythonVerifier, verify_problem

    python = None
    if cfg.data.python_verifier:
        python = PythonVerifier(project_dir, cfg.data.python_verifier, cfg.data.verifier_timeout_s)
    try:
        yield lambda text, problem: verify_problem(text, problem, cfg.data, python_verifier=python)
    finally:
        if python is not None:
            python.close()


def _rules_lookup(project_dir: Path, cfg) -> Callable[[Problem], str | None]:
    """The rules a guided prompt shows: the project rulebook, then the problem's own rules."""
    rulebook = ""
    if cfg.data.rulebook:
        path = project_dir / cfg.data.rulebook
        try:
            rulebook = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"realm.toml: data.rulebook: cannot read {path} ({err})") from None

    def rules(problem: Problem) -> str | None:
        parts = [text for text in (rulebook, (problem.rules or "").strip()) if text]
        return "\n\n".join(parts) or None

    return rules
