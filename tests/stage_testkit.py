"""A tiny but complete project for the training-stage tests: problems, routes, a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

from engine.config import load_config, save_config
from engine.data.importers import import_problems
from engine.project import init_project
from engine.routes.generate import generate_routes

# Small, fast settings: every recipe finishes in seconds on 2 CPU cores.
FAST = {
    "rl.max_steps": 4, "rl.num_generations": 2, "rl.prompts_per_step": 2, "rl.max_completion_length": 12,
    "rl.save_steps": 2, "rl.learning_rate": 1e-3, "distill.max_steps": 2, "distill.batch_size": 2,
    "distill.save_steps": 1, "distill.max_length": 128, "eval.max_new_tokens": 12, "eval.batch_size": 4,
    "model.device": "cpu",
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_project(folder: Path, model_dir: Path, *, n: int = 8, settings: dict | None = None) -> Path:
    """``n`` addition problems (a quarter held out), two positive and one negative route each."""
    init_project(folder, model=str(model_dir), answer_type="number")
    cfg = load_config(folder)
    for key, value in {**FAST, **(settings or {})}.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    save_config(folder, cfg)
    problems = [{"id": f"q{i}", "question": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1),
                 "split": "test" if i % 4 == 3 else "train"} for i in range(n)]
    write_jsonl(folder / "problems.jsonl", problems)
    import_problems(folder, str(folder / "problems.jsonl"))
    routes = []
    for p in problems:
        i, gold = int(p["id"][1:]), p["answer"]
        routes += [{"problem_id": p["id"], "text": f"Step 1: {i} + {i + 1} = {gold}.\nAnswer: {gold}"},
                   {"problem_id": p["id"], "text": f"Step 1: add {i} and {i + 1}.\nStep 2: that is {gold}.\nAnswer: {gold}"},
                   {"problem_id": p["id"], "text": f"Step 1: {i} + {i + 1} = {2 * i + 2}.\nAnswer: {2 * i + 2}"}]
    write_jsonl(folder / "routes.jsonl", routes)
    generate_routes(folder, f"file:{folder / 'routes.jsonl'}")
    return folder


def events_of(run_dir: Path, type_: str | None = None) -> list[dict]:
    from engine.events import read_events

    events = read_events(run_dir / "events.jsonl")
    return [e for e in events if type_ is None or e["type"] == type_]
