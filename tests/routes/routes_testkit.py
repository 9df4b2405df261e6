"""A small project on disk for the route tests: a realm.toml and a few number problems."""

from __future__ import annotations

from pathlib import Path

from engine.config import Config, save_config
from engine.data.problems import PROBLEMS_FILE, Problem, write_problems


def number_problems(train: int, test: int = 1) -> list[Problem]:
    """``train`` + ``test`` problems "What is i + i?" with gold answers 2i."""
    return [Problem(id=f"p{i}", question=f"What is {i} + {i}?", answer=str(2 * i), answer_type="number",
                    rules="Add the two numbers." if i % 2 else None,
                    split="train" if i <= train else "test")
            for i in range(1, train + test + 1)]


def make_project(folder: Path, problems: list[Problem], **routes) -> Path:
    """A project folder whose [routes] section takes ``routes`` (e.g. k=2, batch_size=2)."""
    cfg = Config()
    for key, value in routes.items():
        setattr(cfg.routes, key, value)
    cfg.model.device = "cpu"
    folder.mkdir(parents=True, exist_ok=True)
    save_config(folder, cfg)
    write_problems(folder / PROBLEMS_FILE, problems)
    return folder
