"""Step alignment of two routes, for the positive-vs-negative route diff.

The Routes browser shows a positive and a negative route of one problem side by side. Two
routes that agree for a while and then part ways are the most instructive pair MRPV can
show, so the view aligns their steps and marks the *first divergence*: the first aligned
pair whose steps differ.

Steps are compared after normalisation (case, whitespace, a leading ``Step 3:`` / ``3.``
marker): two routes that number the same reasoning differently still align.
Plain Python (difflib): the GUI imports this module.
"""

from __future__ import annotations

import difflib
import re

from .markers import STEP_MARKER_PREFIX

_SPACES = re.compile(r"\s+")

Pair = tuple[int | None, int | None]


def normalise_step(step: str) -> str:
    """The form two steps are compared in: no step marker, casefolded, single spaces."""
    return _SPACES.sub(" ", STEP_MARKER_PREFIX.sub("", step, count=1)).strip().casefold()


def align_steps(a: list[str], b: list[str]) -> list[Pair]:
    """Aligned (index in ``a``, index in ``b``) pairs covering every step of both routes once.

    Equal runs (difflib on normalised steps) pair up one to one; a replaced run pairs its
    steps in order and leaves the longer side's extra steps against ``None``; an insertion
    or deletion pairs against ``None``. The pairs keep both routes' order.
    """
    matcher = difflib.SequenceMatcher(None, [normalise_step(s) for s in a], [normalise_step(s) for s in b],
                                      autojunk=False)
    pairs: list[Pair] = []
    for _tag, a0, a1, b0, b1 in matcher.get_opcodes():
        for offset in range(max(a1 - a0, b1 - b0)):
            i = a0 + offset if a0 + offset < a1 else None
            j = b0 + offset if b0 + offset < b1 else None
            pairs.append((i, j))
    return pairs


def pair_differs(a: list[str], b: list[str], pair: Pair) -> bool:
    """Whether an aligned pair shows different steps (a step against ``None`` differs)."""
    i, j = pair
    if i is None or j is None:
        return True
    return normalise_step(a[i]) != normalise_step(b[j])


def first_divergence(a: list[str], b: list[str]) -> int | None:
    """Index into ``align_steps(a, b)`` of the first pair that differs; ``None`` if none does."""
    for index, pair in enumerate(align_steps(a, b)):
        if pair_differs(a, b, pair):
            return index
    return None
