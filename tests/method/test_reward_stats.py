"""The reward bench's arithmetic: AUC, histograms, which outputs TRL accepts, and when to warn."""

from __future__ import annotations

import math

import pytest

from engine.method.reward_stats import MIN_AUC, auc, bin_edges, function_verdict, histogram, is_score


@pytest.mark.parametrize("high, low, expected", [
    ([1.0, 1.0], [0.0, 0.0], 1.0),        # perfect separation
    ([0.0], [1.0], 0.0),                  # perfectly backwards
    ([1.0, 0.0], [1.0, 0.0], 0.5),        # no information
    ([0.5, 0.5], [0.5], 0.5),             # all ties count half
    ([3.0, 2.0, 1.0], [2.0], 0.5),        # one win, one tie, one loss against the 2.0: (1 + 0.5 + 0) / 3
    ([3.0, 2.0], [2.0, 0.0], 7 / 8),      # 3 beats both, 2 ties one and beats one: (2 + 1.5) / 4
    ([], [1.0], None),
])
def test_auc(high, low, expected):
    value = auc(high, low)
    assert value is None if expected is None else math.isclose(value, expected)


def test_histogram_bins_scores_in_unit_range_else_their_own_range():
    edges = bin_edges([0.0, 0.25, 1.0])
    assert edges[0] == 0.0 and edges[-1] == 1.0 and len(edges) == 11
    assert histogram([0.0, 0.05, 0.95, 1.0], edges) == [2, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    wide = bin_edges([-2.0, 3.0])
    assert (wide[0], wide[-1]) == (-2.0, 3.0) and sum(histogram([-2.0, 0.0, 3.0], wide)) == 3


@pytest.mark.parametrize("value, ok", [(1.0, True), (0, True), (None, True), (True, False), ("1", False),
                                       (float("nan"), False), ([1.0], False)])
def test_what_trl_accepts_per_completion(value, ok):
    assert is_score(value) is ok


def test_a_reward_that_cannot_separate_what_it_should_gets_one_line():
    good = {"positive": [1.0, 1.0], "negative": [0.0, 0.0], "unparsed": [0.0]}
    assert function_verdict("correctness", good) == (1.0, None)
    flat = {"positive": [1.0, 1.0], "negative": [1.0, 1.0]}
    value, warning = function_verdict("correctness", flat)
    assert value == 0.5 and warning.startswith("reward 'correctness' cannot tell positive routes from negative ones "
                                               f"(AUC 0.50 on 4 stored routes; {MIN_AUC:.2f} or more expected)")
    # format is meant to reward a readable answer line: parsed over unparsed routes
    assert function_verdict("format", {"positive": [1.0], "negative": [1.0], "unparsed": [0.0]}) == (1.0, None)
    assert function_verdict("verdict", good) == (None, None)  # abstains on bare routes: nothing to judge
