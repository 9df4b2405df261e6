"""``realm-engine rewards``: the configured reward functions, run before training on what they will judge.

Each reward function (``rl.reward_*`` with a weight > 0, the project's Python verifier inside
correctness) is called exactly as GRPO calls it — batches of completions with the dataset
columns as keyword lists — on two sets:

- the stored routes, whose labels say which completions are right (positive), wrong (negative)
  or unreadable (unparsed): a reward should rank them as ``method.reward_stats.SEPARATES`` says;
- optionally N fresh samples from a model (``--samples N --model base|run:NAME``), labelled by
  the verifier: the scores training will actually see at its start.

Per function: the score distribution per label, the AUC of the separation it is meant to make,
abstentions (None), errors (exceptions, with the first message), outputs of the wrong length or
type (TRL would fail on them mid-run), and the time per call. The result is written to
``routes/reward_bench.json`` for the Rewards panel. ``reward_warnings`` is the cheap part (stored
routes only) that ``train`` runs before an RL stage, logging a warning per reward that fails.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from ..config import Config, load_config
from ..fsutil import atomic_write_json
from ..method.reward_stats import bin_edges, function_verdict, histogram, is_score
from ..method.rewards import make_reward_functions
from ..method.prompts import student_user_text
from ..method.verifiers import PythonVerifier, verify_problem
from ..project import problems_path, reward_bench_path, routes_path

BATCH = 16  # completions per call, about one GRPO step's worth
MAX_ROUTES = 2000  # stored routes scored (a seeded sample of them beyond that)
WARNING_ROUTES = 300  # what `train` scores before an RL stage


def bench_rewards(project: Path, *, samples: int = 0, model: str = "base", max_routes: int = MAX_ROUTES,
                  progress=None) -> dict:
    """Score stored routes (and ``samples`` fresh completions of ``model``) with every reward; write and return the table."""
    project = Path(project)
    cfg = load_config(project)
    problems = _problems(project)
    route_rows = _route_rows(project, problems, cfg, max_routes)
    sample_rows = _sample_rows(project, problems, cfg, samples, model) if samples else []
    if not route_rows and not sample_rows:
        from ..errors import UserError

        raise UserError("rewards: no stored routes to score", hint="run `realm-engine routes` first, or pass --samples N")
    result = _score_all(project, cfg, {"routes": route_rows, "samples": sample_rows}, progress)
    result.update(created=time.time(), model=model if samples else None, routes=len(route_rows), samples=len(sample_rows))
    atomic_write_json(reward_bench_path(project), result)
    return result


def reward_warnings(project: Path, cfg: Config, data: Path | None = None) -> list[str]:
    """One line per reward that cannot separate the stored routes it should (empty without routes);
    ``data``: where the problems and routes are (a run's snapshot), the project by default."""
    data = Path(data or project)
    rows = _route_rows(data, _problems(data), cfg, WARNING_ROUTES)
    if not rows:
        return []
    return _score_all(Path(project), cfg, {"routes": rows, "samples": []}, None)["warnings"]


# ----------------------------------------------------------------------------- rows


def _problems(project: Path) -> dict:
    from ..data.problems import read_problems

    return {p.id: p for p in read_problems(problems_path(project))} if problems_path(project).exists() else {}


def _route_rows(project: Path, problems: dict, cfg: Config, limit: int) -> list[dict]:
    from ..routes.store import read_routes

    if not routes_path(project).exists():
        return []
    rows = [{"problem": problems[r.problem_id], "text": r.text, "label": r.label}
            for r in read_routes(project) if r.problem_id in problems]
    if len(rows) > limit:
        rows = random.Random(cfg.project.seed).sample(rows, limit)
    return rows


def _sample_rows(project: Path, problems: dict, cfg: Config, n: int, model: str) -> list[dict]:
    """``n`` completions of training problems at the RL settings, labelled by the verifier."""
    from ..routes.budgets import data_budgets
    from .serve import open_model

    cfg, _ = data_budgets(project, cfg)  # rl.max_completion_length = 0: what `train` would freeze
    train = sorted((p for p in problems.values() if p.split == "train"), key=lambda p: p.id)
    random.Random(cfg.project.seed).shuffle(train)
    k = max(1, min(cfg.rl.num_generations, n))
    chosen = train[: -(-n // k)]
    backend, _, _ = open_model(project, model)
    texts = backend.sample([student_user_text(p.question, p.choices) for p in chosen], k,
                           max_tokens=cfg.rl.max_completion_length, temperature=cfg.rl.temperature, seed=cfg.project.seed)
    verifier = PythonVerifier(project, cfg.data.python_verifier, cfg.data.verifier_timeout_s) \
        if cfg.data.python_verifier else None
    try:
        rows = [{"problem": p, "text": t, "label": verify_problem(t, p, cfg.data, verifier).label}
                for p, group in zip(chosen, texts) for t in group]
    finally:
        if verifier is not None:
            verifier.close()
    return rows[:n]


# ----------------------------------------------------------------------------- scoring


class _WatchedVerifier:
    """The user's Python verifier as the rewards call it, keeping each failure (an exception in the
    user's code, a timeout) that the verifier itself turns into "no answer"."""

    def __init__(self, verifier: PythonVerifier):
        self.verifier, self.failures = verifier, []

    def __call__(self, completion: str, gold: str):
        value, why = self.verifier.judge(completion, gold)
        if why:
            self.failures.append(why)
        return value

    def take(self) -> list[str]:
        failures, self.failures = self.failures, []
        return failures


def _score_all(project: Path, cfg: Config, sets: dict[str, list[dict]], progress) -> dict:
    verifier = PythonVerifier(project, cfg.data.python_verifier, cfg.data.verifier_timeout_s) \
        if cfg.data.python_verifier else None
    watched = _WatchedVerifier(verifier) if verifier else None
    try:
        funcs, weights = make_reward_functions(cfg.data, cfg.rl, python_verifier=watched)
        total = sum(-(-len(rows) // BATCH) for rows in sets.values()) * len(funcs)
        done, report, warnings = 0, [], []

        def tick():
            nonlocal done
            done += 1
            if progress:
                progress(done, total, None)

        for fn, weight in zip(funcs, weights):
            entry = {"name": fn.__name__, "weight": weight}
            for set_name, rows in sets.items():
                entry[set_name] = _score_one(fn, rows, tick, watched)
            scores = entry["routes"]["scores"]
            entry["auc"], warning = function_verdict(fn.__name__, scores)
            entry["auc_samples"] = function_verdict(fn.__name__, entry["samples"]["scores"])[0]
            if warning:
                warnings.append(warning)
            if entry["routes"]["errors"] or entry["samples"]["errors"]:
                warnings.append(f"reward {fn.__name__!r} raised on {entry['routes']['errors'] + entry['samples']['errors']} "
                                f"completions: {entry['routes']['error_example'] or entry['samples']['error_example']}")
            if entry["routes"]["bad_outputs"] or entry["samples"]["bad_outputs"]:
                warnings.append(f"reward {fn.__name__!r} returned output TRL refuses: "
                                f"{entry['routes']['bad_example'] or entry['samples']['bad_example']}")
            report.append(entry)
    finally:
        if verifier is not None:
            verifier.close()
    every = [v for e in report for s in sets for vs in e[s]["scores"].values() for v in vs]
    edges = bin_edges(every)
    for entry in report:
        for set_name in sets:
            part = entry[set_name]
            part["hist"] = {label: histogram(vs, edges) for label, vs in part["scores"].items()}
            part["mean"] = {label: (sum(vs) / len(vs) if vs else None) for label, vs in part["scores"].items()}
    return {"functions": report, "bins": edges, "warnings": warnings}


def _score_one(fn, rows: list[dict], tick, watched: _WatchedVerifier | None) -> dict:
    """Call ``fn`` on ``rows`` in GRPO-sized batches, as TRL does; collect scores per label and every fault."""
    out = {"scores": {}, "abstained": 0, "errors": 0, "error_example": None, "bad_outputs": 0, "bad_example": None,
           "calls": 0, "seconds": 0.0}
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        columns = {"prompts": [student_user_text(r["problem"].question, r["problem"].choices) for r in batch],
                   "completions": [r["text"] for r in batch], "completion_ids": None, "trainer_state": None,
                   "problem_id": [r["problem"].id for r in batch], "answer": [r["problem"].answer for r in batch],
                   "answer_type": [r["problem"].answer_type for r in batch],
                   "choices": [r["problem"].choices for r in batch], "hinted": [False] * len(batch),
                   "candidate_labels": [[] for _ in batch]}
        t0 = time.perf_counter()
        try:
            values = fn(**columns)
        except Exception as err:  # a user's verifier can raise anything: count it, keep going
            out["errors"] += len(batch)
            out["error_example"] = out["error_example"] or f"{type(err).__name__}: {str(err)[:200]}"
            values = None
        out["seconds"] += time.perf_counter() - t0
        out["calls"] += 1
        tick()
        failures = watched.take() if watched else []
        if failures:
            out["errors"] += len(failures)
            out["error_example"] = out["error_example"] or failures[0]
        if values is None:
            continue
        if not isinstance(values, (list, tuple)) or len(values) != len(batch) or not all(map(is_score, values)):
            out["bad_outputs"] += len(batch)
            out["bad_example"] = out["bad_example"] or (
                f"{len(values)} values for {len(batch)} completions" if isinstance(values, (list, tuple))
                and len(values) != len(batch) else f"{type(values).__name__} {str(values)[:120]}")
            continue
        for row, value in zip(batch, values):
            if value is None:
                out["abstained"] += 1
            else:
                out["scores"].setdefault(row["label"], []).append(float(value))
    out["ms_per_call"] = round(1000 * out["seconds"] / out["calls"], 3) if out["calls"] else None
    return out
