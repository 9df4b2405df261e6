"""EAAI: how external routes fade out of the prompts during RL.

p(t) is the probability that a problem's prompt carries candidate routes at training
progress t (0 at the first step, 1 at the end). Each family below is a pure function of the
``[fade]`` config so that the GUI's fade-curve editor draws exactly the curve the engine
runs. Notation in the docstrings: x = progress, s = start, e = end, ff = fade_fraction.

The hint decision is made once per prompt group and is a pure function of
(seed, step, problem id): every copy of a prompt agrees, and a resumed run repeats the same
decisions.
"""

from __future__ import annotations

import math

from ..config import FADE_SCHEDULES, FadeSection
from ..errors import UserError
from .seeded import stable_uniform


def progress_of(step: int, max_steps: int) -> float:
    """Training progress of a 0-based ``step``: ``step / max_steps``, clamped to [0, 1]."""
    return _clamp(step / max(max_steps, 1))


def fade_p(fade: FadeSection, progress: float) -> float:
    """p(progress): the probability that a prompt is hinted. Always in [0, 1].

    - constant: s.
    - linear: s → e linearly over [0, ff], then e (the autonomous tail).
    - cosine: e + (s − e)·½(1 + cos(π·x/ff)) on [0, ff], then e.
    - exponential: e + (s − e)·0.5^(x / half_life) on [0, ff), then e.
    - staircase: ``stairs`` equal levels over [0, ff): level i = s − (s − e)·i/stairs for
      x in [i·ff/stairs, (i+1)·ff/stairs), then e.
    - custom: piecewise-linear through ``points`` ([progress, p] pairs), flat outside their
      range; start, end and fade_fraction are ignored.
    """
    x = _clamp(progress)
    s, e, ff = fade.start, fade.end, fade.fade_fraction
    schedule = fade.schedule
    if schedule == "constant":
        p = s
    elif schedule == "custom":
        p = _piecewise_linear(fade.points, x)
    elif x >= ff:  # every fading family ends in the autonomous tail
        p = e
    elif schedule == "linear":
        p = s + (e - s) * x / ff
    elif schedule == "cosine":
        p = e + (s - e) * 0.5 * (1.0 + math.cos(math.pi * x / ff))
    elif schedule == "exponential":
        p = e + (s - e) * 0.5 ** (x / fade.half_life)
    elif schedule == "staircase":
        level = min(int(x * fade.stairs / ff), fade.stairs - 1)
        p = s - (s - e) * level / fade.stairs
    else:
        raise UserError(f"fade.schedule: must be one of {', '.join(FADE_SCHEDULES)}, got {schedule!r}")
    return _clamp(p)


def fade_share(fade: FadeSection, progress: float) -> float:
    """How far the fade has gone, 0 → 1 linearly over [0, fade_fraction] (for every family).

    The route count K(t) follows this share, so it reaches its minimum where p reaches its
    tail. (A custom curve has no fade_fraction of its own; K(t) still uses the config's.)
    """
    return min(_clamp(progress) / fade.fade_fraction, 1.0)


def fade_k(fade: FadeSection, progress: float) -> int:
    """Candidate routes shown in a hinted prompt at ``progress``.

    ``k_show`` throughout when ``k_show_min`` is 0; otherwise linear from ``k_show`` to
    ``k_show_min`` over the fade (rounded to the nearest integer, halves up), then
    ``k_show_min``. Never below 1: a hinted prompt always shows a route.
    """
    if fade.k_show_min <= 0:
        return max(fade.k_show, 1)
    k = fade.k_show + (fade.k_show_min - fade.k_show) * fade_share(fade, progress)
    return max(math.floor(k + 0.5), 1)


def fade_length_fraction(fade: FadeSection, progress: float) -> float:
    """Share of each shown route's steps kept at ``progress`` (see ``prompts.truncate_route``).

    1.0 unless ``length_fade``. With it: p(progress) / p(0), clamped to [0, 1], so routes are
    shown whole at the first step and shrink in proportion as p fades (a schedule that starts
    at p = 0 never hints, so it keeps 1.0). A route is never cut below one step while shown.
    """
    if not fade.length_fade:
        return 1.0
    p0 = fade_p(fade, 0.0)
    if p0 <= 0.0:
        return 1.0
    return _clamp(fade_p(fade, progress) / p0)


def hint_decision(seed: int, step: int, problem_id: str, p: float) -> bool:
    """Whether this problem's prompt group is hinted at ``step``: u < p.

    u is uniform in [0, 1), taken from SHA-256 of (seed, step, problem_id): stable across
    processes, ranks and resumes (Python's ``hash()`` is salted per process). p ≤ 0 never
    hints, p ≥ 1 always does.
    """
    return stable_uniform(seed, step, problem_id, sep="\x1f") < p


def curve(fade: FadeSection, n: int = 201) -> tuple[list[float], list[float]]:
    """``n`` evenly spaced progress values over [0, 1] and p at each, for plots."""
    if n < 2:
        raise ValueError(f"curve needs at least 2 points, got n={n}")
    xs = [i / (n - 1) for i in range(n)]
    return xs, [fade_p(fade, x) for x in xs]


def expected_hinted(fade: FadeSection, progress: float, prompts_per_step: int) -> float:
    """Expected number of hinted prompts in one step (logged beside the actual count)."""
    return fade_p(fade, progress) * prompts_per_step


def _piecewise_linear(points: list, x: float) -> float:
    pts = sorted((float(px), float(py)) for px, py in points)
    if x <= pts[0][0]:
        return pts[0][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return pts[-1][1]


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)
