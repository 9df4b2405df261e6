"""Recipes: which stages run, and which settings each one pins (docs/METHOD.md §5).

A recipe is applied to the config *before* the run's config is frozen, so
``runs/<run>/config.toml`` always shows what actually ran (e.g. ``grpo`` shows p = 0).
"""

from __future__ import annotations

import copy

from ..config import RECIPE_STAGES, Config, config_from_dict

STAGES = RECIPE_STAGES  # the old name, kept for callers of engine.method.recipes.STAGES


def apply_recipe(cfg: Config, recipe: str) -> Config:
    """A validated copy of ``cfg`` with the recipe's pinned settings."""
    raw = copy.deepcopy(cfg.to_dict())
    if recipe == "grpo":
        raw["fade"].update(schedule="constant", start=0.0, end=0.0)
    elif recipe == "always-routes":
        raw["fade"].update(schedule="constant", start=1.0, end=1.0)
    elif recipe == "positives-only":
        raw["rl"]["candidate_mix"] = "positives-only"
    return config_from_dict(raw, source=f"recipe {recipe}")
