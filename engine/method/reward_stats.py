"""How well a reward function tells good completions from bad ones: the reward bench's arithmetic.

Pure functions over scores already computed (``stages/reward_bench.py`` calls the rewards):
AUC, histograms and the per-function verdict. A reward that cannot separate the routes it is
meant to separate gives GRPO no signal about them, whatever its weight, so the bench warns
before a run starts instead of after a flat reward curve.
"""

from __future__ import annotations

import math

BINS = 10
MIN_AUC = 0.75  # below this a reward barely ranks the good above the bad: warn

# Which route labels each of our rewards is meant to rank higher than which (None: not on stored routes).
SEPARATES = {
    "correctness": (("positive",), ("negative",)),          # right answers above wrong ones
    "format": (("positive", "negative"), ("unparsed",)),    # a readable answer line above none
    "verdict": None,                                        # judges shown candidates: abstains on bare routes
    "language": None,                                       # judges the writing system, not the answer
}


def auc(high: list[float], low: list[float]) -> float | None:
    """P(a score from ``high`` > one from ``low``), ties counting half (Mann–Whitney); None if a side is empty."""
    if not high or not low:
        return None
    ranked = sorted([(v, 1) for v in high] + [(v, 0) for v in low])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2  # the tie group's average 1-based rank
        rank_sum += mid_rank * sum(flag for _, flag in ranked[i:j])
        i = j
    n_high, n_low = len(high), len(low)
    return (rank_sum - n_high * (n_high + 1) / 2) / (n_high * n_low)


def bin_edges(values: list[float], bins: int = BINS) -> list[float]:
    """[0, 1] in ``bins`` equal bins when every score lies there (ours do), else the scores' range."""
    lo, hi = (0.0, 1.0) if all(0.0 <= v <= 1.0 for v in values) else (min(values, default=0.0), max(values, default=1.0))
    if hi <= lo:
        hi = lo + 1.0
    return [lo + (hi - lo) * i / bins for i in range(bins + 1)]


def histogram(values: list[float], edges: list[float]) -> list[int]:
    """Counts per bin; the last bin includes its upper edge."""
    counts = [0] * (len(edges) - 1)
    for v in values:
        i = min(int((v - edges[0]) / (edges[-1] - edges[0]) * (len(edges) - 1)), len(edges) - 2)
        counts[max(i, 0)] += 1
    return counts


def is_score(value) -> bool:
    """What TRL accepts from a reward function per completion: a finite number, or None (abstain)."""
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))


def function_verdict(name: str, scores: dict[str, list[float]]) -> tuple[float | None, str | None]:
    """(AUC of the separation the function is meant to make, a one-line warning or None).
    ``scores`` maps a route label (positive, negative, unparsed) to the function's scores on such routes."""
    meant = SEPARATES.get(name, SEPARATES["correctness"])  # a user's reward judges correctness
    if meant is None:
        return None, None
    high = [v for label in meant[0] for v in scores.get(label, [])]
    low = [v for label in meant[1] for v in scores.get(label, [])]
    value = auc(high, low)
    if value is None or value >= MIN_AUC:
        return value, None
    what = " and ".join(meant[0]) + " routes from " + " and ".join(meant[1]) + " ones"
    return value, (f"reward {name!r} cannot tell {what} (AUC {value:.2f} on {len(high) + len(low)} stored routes; "
                   f"{MIN_AUC:.2f} or more expected): check it with `realm-engine rewards` before training")
