"""Generation budgets of a project, measured on its stored routes with the model's own tokenizer.

The policy (what a budget of 0 becomes, when a set budget is too short) is ``method.budgets``;
here the routes are read and counted in tokens.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..errors import UserError
from ..method.budgets import apply_budgets
from .store import read_routes


def route_token_lengths(project: Path, tokenizer) -> list[int]:
    """Length in tokens of every stored route of the project (none: an empty list)."""
    texts = [route.text for route in read_routes(project)]
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def data_budgets(project: Path, cfg: Config, tokenizer=None) -> tuple[Config, list[str]]:
    """``cfg`` with its budgets of 0 set from the project's routes, and a warning per budget set
    too short for them (``method.budgets.apply_budgets``)."""
    if not read_routes(project):
        return apply_budgets(cfg, [])
    if tokenizer is None:
        from ..hf.models import load_tokenizer, resolve_model

        tokenizer = load_tokenizer(cfg.model, resolve_model(cfg.model.name))
    return apply_budgets(cfg, route_token_lengths(project, tokenizer))


def with_route_budget(project: Path, cfg: Config) -> Config:
    """``cfg`` with ``routes.max_new_tokens`` of 0 set from the project's routes. Sampling from an
    endpoint may run where the project's model is not on disk: its routes are then not counted
    and the default for a project without routes applies."""
    if cfg.routes.max_new_tokens:
        return cfg
    try:
        return data_budgets(project, cfg)[0]
    except UserError:
        return apply_budgets(cfg, [])[0]
