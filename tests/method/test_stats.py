"""Accuracy intervals: the Wilson score interval, checked against published values and its properties."""

import pytest

from engine.method.stats import format_accuracy, wilson_interval


@pytest.mark.parametrize("k, n, low, high", [
    (0, 60, 0.0, 0.0602),     # 0/n: the interval still says how far from zero the truth may be
    (60, 60, 0.9398, 1.0),
    (12, 60, 0.1183, 0.3186),
    (1, 10, 0.0179, 0.4042),  # Newcombe (1998), table I
    (81, 263, 0.2553, 0.3662),  # Newcombe (1998), table I
])
def test_known_intervals(k, n, low, high):
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=1e-3)


def test_intervals_contain_the_estimate_and_shrink_with_n():
    for n in (10, 60, 600):
        for k in range(0, n + 1, max(n // 10, 1)):
            low, high = wilson_interval(k, n)
            assert 0.0 <= low <= k / n <= high <= 1.0
    assert wilson_interval(30, 60)[1] - wilson_interval(30, 60)[0] > wilson_interval(300, 600)[1] - wilson_interval(300, 600)[0]


def test_edge_cases():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(7, 5)
    assert format_accuracy(12, 60) == "20.0 % [11.8, 31.8]"
    assert format_accuracy(0, 0) == "n/a"
