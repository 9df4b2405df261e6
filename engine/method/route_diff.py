"""Step alignment of two routes, for the positive-vs-negative route diff.

The Routes browser shows a positive and a negative route of one problem side by side and marks
the step where the negative one goes wrong: the most instructive contrast MRPV can show. Two
routes rarely say the same thing in the same words (a paraphrase, a skipped step, steps in
another order), so steps are matched by what they say and compute, not by their text:

1. **Align by content.** Every step becomes a bag of words (cut to their first six letters, so
   "member" meets "membership") and numbers, each weighted by how rare it is among the two
   routes' steps ("EUR" in every step says little). The alignment is the order-keeping
   matching with the largest total similarity (a weighted longest common subsequence); the
   answer lines always pair with each other. Between two matches, the unmatched steps of each
   side stand side by side; a step without a partner never agrees.
2. **Compare by value.** Two matched steps agree when their text is the same or — when the
   routes are worded differently — when each number the negative step states is stated by its
   partner or is the running total the positive route carried into it (one wording repeats a
   total, the other goes on silently), and it draws no comparison its partner contradicts
   ("at most" against "above"). Answer lines agree only on the same answer.
3. **Flag the first disagreement** (``RouteDiff.divergence``) and the negative route's step it
   points at (``RouteDiff.wrong_step``): the disagreeing step itself or, for a step the
   negative route skipped, the step standing where it should have been.

Plain Python: the GUI imports this module.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass

from .markers import ANSWER_LINE, STEP_MARKER_PREFIX
from .numbers import iter_numbers

_SPACES = re.compile(r"\s+")
_ENDS_ON_NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*%?\s*(?:[^\W\d_]+)?\W*$")  # "… = 13.5 EUR."
_WORD = re.compile(r"[^\W\d_]+")
STEM_LETTERS = 6
MIN_SIMILARITY = 0.2  # below this two steps are not about the same thing and never pair up
NUMBER_WEIGHT = 0.5  # a number counts half a word for the alignment: a wrong value must not unpair a step

# Comparisons worded many ways, each read as one relation ("not above" is "at most").
_RELATIONS = [(re.compile(rf"\b(?:{pattern})\b"), relation) for pattern, relation in (
    (r"at most|not above|not over|not more than|no more than|within|up to|does not exceed", "<="),
    (r"at least|not below|not under|not less than|no less than", ">="),
    (r"above|over|more than|greater than|exceeds|higher than", ">"),
    (r"below|under|less than|fewer than|lower than|too short", "<"),
)]

Pair = tuple[int | None, int | None]


@dataclass(frozen=True)
class RouteDiff:
    """Two routes' steps side by side: ``pairs`` of (index in a, index in b), whether each
    pair disagrees, the first that does, and the step of ``b`` that it flags."""

    pairs: list[Pair]
    differs: list[bool]
    divergence: int | None
    wrong_step: int | None  # index into b; len(b) when b skipped its last step


def normalise_step(step: str) -> str:
    """The form two steps are compared in: no step marker, casefolded, single spaces."""
    return _SPACES.sub(" ", STEP_MARKER_PREFIX.sub("", step, count=1)).strip().casefold()


def step_numbers(step: str) -> set[float]:
    """The numbers a step states (its step marker's number aside), sign-free and rounded."""
    return {round(abs(value), 9) for value in iter_numbers(normalise_step(step))}


def step_relations(step: str) -> set[str]:
    """The comparisons a step draws: "<=", ">=", ">" or "<"."""
    text, found = normalise_step(step), set()
    for pattern, relation in _RELATIONS:
        if pattern.search(text):
            found.add(relation)
            text = pattern.sub(" ", text)  # "not above" must not count as "above" too
    return found


def running_totals(steps: list[str]) -> list[float | None]:
    """The value each step leaves the route at: the number a step ends on (a total, a result,
    with at most a unit after it), else the one before it carried on (None before any)."""
    totals, value = [], None
    for step in steps:
        end = _ENDS_ON_NUMBER.search(normalise_step(step))
        if end and not ANSWER_LINE.match(step):
            value = step_numbers(end.group(1)).pop()
        totals.append(value)
    return totals


def _bag(step: str) -> Counter:
    bag = Counter(word[:STEM_LETTERS] for word in _WORD.findall(normalise_step(step)))
    for number in step_numbers(step):
        bag[f"#{number:g}"] += NUMBER_WEIGHT
    return bag


def similarity_matrix(a: list[str], b: list[str]) -> list[list[float]]:
    """Weighted Dice similarity of every step of ``a`` with every step of ``b`` (0 … 1); an
    answer line is similar only to an answer line."""
    bags = [_bag(s) for s in (*a, *b)]
    df = Counter(token for bag in bags for token in bag)
    weight = {token: math.log(1 + len(bags) / count) for token, count in df.items()}
    masses = [sum(weight[t] * n for t, n in bag.items()) for bag in bags]
    answers = [bool(ANSWER_LINE.match(s)) for s in (*a, *b)]
    out = []
    for i in range(len(a)):
        row = []
        for j in range(len(a), len(a) + len(b)):
            if answers[i] or answers[j]:
                row.append(float(answers[i] and answers[j]))
                continue
            shared = sum(weight[t] * min(bags[i][t], bags[j][t]) for t in bags[i].keys() & bags[j].keys())
            total = masses[i] + masses[j]
            row.append(2 * shared / total if total else 1.0)
        out.append(row)
    return out


def _matches(sim: list[list[float]], n: int, m: int) -> list[tuple[int, int]]:
    """The order-keeping matching of steps with the largest total similarity."""
    best = [[0.0] * (m + 1) for _ in range(n + 1)]  # best[i][j]: the best matching of a[i:] with b[j:]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = max(best[i + 1][j], best[i][j + 1])
            if sim[i][j] >= MIN_SIMILARITY:
                best[i][j] = max(best[i][j], sim[i][j] + best[i + 1][j + 1])
    matches, i, j = [], 0, 0
    while i < n and j < m:
        if sim[i][j] >= MIN_SIMILARITY and math.isclose(best[i][j], sim[i][j] + best[i + 1][j + 1]):
            matches.append((i, j))
            i, j = i + 1, j + 1
        elif math.isclose(best[i][j], best[i + 1][j]):
            i += 1
        else:
            j += 1
    return matches


def _agree(a: list[str], b: list[str], i: int, j: int, totals: tuple[list, list], worded_alike: bool) -> bool:
    """Whether matched steps a[i] and b[j] say the same (see the module, point 2)."""
    x, y = normalise_step(a[i]), normalise_step(b[j])
    if x == y:
        return True
    if worded_alike or ANSWER_LINE.match(b[j]) or len(os.path.commonprefix([x, y])) >= min(len(x), len(y)) / 2:
        return False  # the same words up to a point: what follows is a different claim
    known = set().union(*(step_numbers(s) for s in a[:i + 1]))
    total_a, total_b = totals[0][i], totals[1][j]
    relations = step_relations(a[i]), step_relations(b[j])
    return (step_numbers(b[j]) <= known and (total_a is None or total_b is None or total_a == total_b)
            and not (all(relations) and relations[0] != relations[1]))


def same_wording(a: list[str], b: list[str]) -> bool:
    """Whether the routes share the wording of some step (the answer line aside): then a step
    that reads differently *is* different, whatever numbers it states."""
    texts = {normalise_step(s) for s in a if not ANSWER_LINE.match(s)}
    return any(normalise_step(s) in texts for s in b if not ANSWER_LINE.match(s))


def diff_routes(a: list[str], b: list[str]) -> RouteDiff:
    """Align the steps of ``a`` (a positive route) and ``b`` (a negative one) and find where
    ``b`` goes wrong. Every step of both routes is in exactly one pair, in both routes' order."""
    n, m = len(a), len(b)
    alike, totals = same_wording(a, b), (running_totals(a), running_totals(b))
    pairs: list[Pair] = []
    differs: list[bool] = []
    previous = (-1, -1)
    for match in [*_matches(similarity_matrix(a, b), n, m), (n, m)]:
        gap_a = range(previous[0] + 1, match[0])
        gap_b = range(previous[1] + 1, match[1])
        for k in range(max(len(gap_a), len(gap_b))):
            pairs.append((gap_a[k] if k < len(gap_a) else None, gap_b[k] if k < len(gap_b) else None))
            differs.append(True)
        if match != (n, m):
            pairs.append(match)
            differs.append(not _agree(a, b, *match, totals, alike))
        previous = match
    divergence = differs.index(True) if True in differs else None
    wrong = None if divergence is None else next((j for _i, j in pairs[divergence:] if j is not None), m)
    return RouteDiff(pairs, differs, divergence, wrong)


def align_steps(a: list[str], b: list[str]) -> list[Pair]:
    """The aligned pairs of ``diff_routes``."""
    return diff_routes(a, b).pairs


def first_divergence(a: list[str], b: list[str]) -> int | None:
    """Index into ``align_steps(a, b)`` of the first pair that differs; ``None`` if none does."""
    return diff_routes(a, b).divergence


def closest_route(route: list[str], candidates: list[list[str]]) -> int | None:
    """Index of the candidate worded most like ``route`` (the most steps in common, then the
    most words in common): the positive a negative is best diffed against. None without any."""
    def words(steps: list[str]) -> set[str]:
        return {w[:STEM_LETTERS] for s in steps for w in _WORD.findall(normalise_step(s))}

    texts, own = {normalise_step(s) for s in route}, words(route)

    def likeness(index: int) -> tuple[int, float]:
        steps = candidates[index]
        other = words(steps)
        return (sum(normalise_step(s) in texts for s in steps), 2 * len(own & other) / max(len(own) + len(other), 1))

    return max(range(len(candidates)), key=likeness, default=None)
