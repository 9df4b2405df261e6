"""Generation budgets from the data: how many new tokens an answer, a rollout or a route needs.

A budget shorter than the routes a model learns from cuts its answers before their ``Answer:``
line: the answer is unparsed, the accuracy reads 0 and RL is never rewarded. That is how the
first quick demo measured 0 % → 0 % (its 96-token rollouts and 128-token answers against routes
of 181 tokens). So a budget of 0 means "from the data": the 99th percentile of the project's
route lengths, plus a verdict line per candidate an MRPV prompt shows; and a budget set shorter
than that gets a warning with the numbers before anything runs.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..config import Config

VERDICT_TOKENS = 12  # "Candidate 3: wrong at step 4" and its newline, in a typical tokenizer
ROUTE_HEADROOM = 1.5  # a new route source may write longer routes than the stored ones
NO_ROUTES_ANSWER = 256  # budgets when the project has no routes to measure
NO_ROUTES_ROUTE = 512


def percentile(lengths: list[int], q: float = 0.99) -> int:
    """The ``q`` quantile of ``lengths`` (nearest rank); 0 for no lengths."""
    if not lengths:
        return 0
    ordered = sorted(lengths)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _round_up(tokens: float, step: int = 16) -> int:
    return int(math.ceil(tokens / step) * step)


def needed_budgets(route_lengths: list[int], k_show: int) -> dict[str, int]:
    """The budgets the data asks for: ``answer`` (evaluation and RL rollouts, which may write a
    verdict per candidate before their own route) and ``route`` (sampling new routes)."""
    if not route_lengths:
        return {"answer": NO_ROUTES_ANSWER, "route": NO_ROUTES_ROUTE}
    p99 = percentile(route_lengths)
    return {"answer": _round_up(p99 + k_show * VERDICT_TOKENS), "route": _round_up(ROUTE_HEADROOM * p99)}


# (config key, which budget it takes, what the warning says a short one does)
BUDGET_KEYS = (
    ("eval.max_new_tokens", "answer", "answers are cut before their Answer line and count as wrong"),
    ("rl.max_completion_length", "answer", "rollouts are cut before their Answer line and earn no reward"),
    ("routes.max_new_tokens", "route", "sampled routes are cut and labelled unparsed"),
)


def apply_budgets(cfg: Config, route_lengths: list[int]) -> tuple[Config, list[str]]:
    """A copy of ``cfg`` with every budget of 0 set from the data, and one warning per budget
    the user set shorter than the data needs."""
    needed = needed_budgets(route_lengths, cfg.fade.k_show)
    p99 = percentile(route_lengths)
    warnings, sections = [], {}
    for key, kind, consequence in BUDGET_KEYS:
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value == 0:
            sections.setdefault(section, {})[name] = needed[kind]
        elif route_lengths and value < needed[kind]:
            warnings.append(f"{key} = {value} is shorter than this project's routes need ({needed[kind]} tokens: "
                            f"99 % of its routes are at most {p99} tokens): {consequence}; set it to "
                            f"{needed[kind]} or to 0 (from the data)")
    for section, values in sections.items():
        cfg = replace(cfg, **{section: replace(getattr(cfg, section), **values)})
    return cfg, warnings
