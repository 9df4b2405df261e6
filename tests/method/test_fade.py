"""EAAI fade schedules: exact values per family, shape, and the deterministic hint decision."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import FadeSection
from engine.errors import UserError
from engine.method.fade import (
    curve,
    expected_hinted,
    fade_k,
    fade_length_fraction,
    fade_p,
    hint_decision,
    progress_of,
)

COSINE = FadeSection()  # the default: cosine 1 → 0 over the first 80 %
LINEAR = FadeSection(schedule="linear")
EXPONENTIAL = FadeSection(schedule="exponential", half_life=0.2)
STAIRCASE = FadeSection(schedule="staircase", stairs=4)
CUSTOM = FadeSection(schedule="custom", points=[[0.2, 1.0], [0.6, 0.2], [0.9, 0.5]])


@pytest.mark.parametrize(
    "fade, progress, expected",
    [
        (FadeSection(schedule="constant", start=0.3), 0.0, 0.3),
        (FadeSection(schedule="constant", start=0.3), 0.95, 0.3),
        (LINEAR, 0.0, 1.0),
        (LINEAR, 0.2, 0.75),
        (LINEAR, 0.4, 0.5),
        (LINEAR, 0.8, 0.0),
        (LINEAR, 1.0, 0.0),
        (FadeSection(schedule="linear", start=0.2, end=0.8, fade_fraction=0.5), 0.25, 0.5),
        (FadeSection(schedule="linear", start=0.2, end=0.8, fade_fraction=0.5), 0.7, 0.8),
        (COSINE, 0.0, 1.0),
        (COSINE, 0.2, 0.5 * (1 + math.cos(math.pi / 4))),
        (COSINE, 0.4, 0.5),
        (COSINE, 0.8, 0.0),
        (COSINE, 0.9, 0.0),
        (FadeSection(schedule="cosine", start=0.9, end=0.1, fade_fraction=1.0), 0.5, 0.5),
        (EXPONENTIAL, 0.0, 1.0),
        (EXPONENTIAL, 0.2, 0.5),
        (EXPONENTIAL, 0.4, 0.25),
        (EXPONENTIAL, 0.79, 0.5 ** 3.95),
        (EXPONENTIAL, 0.8, 0.0),  # the tail starts at the end of the fade, not at the asymptote
        (FadeSection(schedule="exponential", end=0.2, half_life=0.1), 0.1, 0.6),
        (STAIRCASE, 0.0, 1.0),
        (STAIRCASE, 0.19, 1.0),
        (STAIRCASE, 0.2, 0.75),
        (STAIRCASE, 0.5, 0.5),
        (STAIRCASE, 0.79, 0.25),
        (STAIRCASE, 0.8, 0.0),
        (CUSTOM, 0.0, 1.0),  # flat before the first point
        (CUSTOM, 0.4, 0.6),
        (CUSTOM, 0.75, 0.35),
        (CUSTOM, 1.0, 0.5),  # flat after the last point
        (COSINE, -0.5, 1.0),  # progress is clamped
        (LINEAR, 1.5, 0.0),
    ],
)
def test_fade_p_exact_values(fade, progress, expected):
    assert fade_p(fade, progress) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("fade", [LINEAR, COSINE, EXPONENTIAL, STAIRCASE,
                                  FadeSection(schedule="cosine", start=0.7, end=0.2, fade_fraction=0.5)])
def test_fading_families_never_rise_and_end_in_the_tail(fade):
    xs, ys = curve(fade)
    assert all(b <= a + 1e-12 for a, b in zip(ys, ys[1:]))
    assert ys[0] == pytest.approx(fade.start)
    assert all(y == fade.end for x, y in zip(xs, ys) if x >= fade.fade_fraction)


def test_custom_curve_ignores_start_end_and_fade_fraction():
    moved = FadeSection(schedule="custom", points=CUSTOM.points, start=0.1, end=0.9, fade_fraction=0.3)
    assert curve(moved) == curve(CUSTOM)


def test_unknown_schedule_is_a_user_error():
    with pytest.raises(UserError, match="fade.schedule"):
        fade_p(FadeSection(schedule="sigmoid"), 0.5)


def test_curve_samples_fade_p_evenly():
    xs, ys = curve(COSINE, n=5)
    assert xs == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ys == [fade_p(COSINE, x) for x in xs]
    with pytest.raises(ValueError):
        curve(COSINE, n=1)


@pytest.mark.parametrize("step, max_steps, expected", [(0, 100, 0.0), (50, 100, 0.5), (100, 100, 1.0),
                                                       (150, 100, 1.0), (-3, 100, 0.0), (1, 4, 0.25)])
def test_progress_of(step, max_steps, expected):
    assert progress_of(step, max_steps) == expected


@pytest.mark.parametrize(
    "fade, progress, expected",
    [
        (FadeSection(k_show=5), 0.9, 5),  # k_show_min 0: no route-count fade
        (FadeSection(k_show=5, k_show_min=1), 0.0, 5),
        (FadeSection(k_show=5, k_show_min=1), 0.1, 5),  # 4.5 rounds half up
        (FadeSection(k_show=5, k_show_min=1), 0.3, 4),  # 3.5
        (FadeSection(k_show=5, k_show_min=1), 0.4, 3),
        (FadeSection(k_show=5, k_show_min=1), 0.8, 1),
        (FadeSection(k_show=5, k_show_min=1), 1.0, 1),
        (FadeSection(k_show=3, k_show_min=2, fade_fraction=0.5), 0.6, 2),
    ],
)
def test_fade_k(fade, progress, expected):
    assert fade_k(fade, progress) == expected


@pytest.mark.parametrize(
    "fade, progress, expected",
    [
        (FadeSection(schedule="linear"), 0.4, 1.0),  # length_fade off
        (FadeSection(schedule="linear", length_fade=True), 0.0, 1.0),
        (FadeSection(schedule="linear", length_fade=True), 0.4, 0.5),
        (FadeSection(schedule="linear", start=0.5, fade_fraction=1.0, length_fade=True), 0.5, 0.5),
        (FadeSection(schedule="constant", start=0.4, length_fade=True), 0.7, 1.0),
        (FadeSection(schedule="constant", start=0.0, length_fade=True), 0.7, 1.0),
        (FadeSection(schedule="custom", points=[[0, 0.5], [1, 1]], length_fade=True), 1.0, 1.0),
    ],
)
def test_fade_length_fraction_tracks_p_relative_to_its_start(fade, progress, expected):
    assert fade_length_fraction(fade, progress) == pytest.approx(expected)


def test_expected_hinted():
    assert expected_hinted(COSINE, 0.4, prompts_per_step=4) == pytest.approx(2.0)
    assert expected_hinted(COSINE, 0.9, prompts_per_step=4) == 0.0


REPO_ROOT = Path(__file__).resolve().parents[2]
IDS = [f"problem-{i}" for i in range(10_000)]


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_hint_rate_matches_p(p):
    rate = sum(hint_decision(7, 12, pid, p) for pid in IDS) / len(IDS)
    assert rate == pytest.approx(p, abs=0.02)


def test_hint_extremes():
    assert not any(hint_decision(0, step, pid, 0.0) for step in range(3) for pid in IDS[:1000])
    assert all(hint_decision(0, step, pid, 1.0) for step in range(3) for pid in IDS[:1000])


def test_hint_decision_is_shared_by_all_copies_and_depends_on_every_input():
    base = [hint_decision(1, 5, pid, 0.5) for pid in IDS[:500]]
    assert all({hint_decision(1, 5, pid, 0.5) for _ in range(8)} == {d} for pid, d in zip(IDS[:500], base))
    assert base != [hint_decision(2, 5, pid, 0.5) for pid in IDS[:500]]  # seed matters
    assert base != [hint_decision(1, 6, pid, 0.5) for pid in IDS[:500]]  # step matters


def test_hint_decision_is_stable_across_processes():
    """Resume and every rank must agree: no per-process salted hash() involved."""
    code = ("from engine.method.fade import hint_decision;"
            "print(''.join('1' if hint_decision(3, 9, f'p{i}', 0.5) else '0' for i in range(200)))")
    here = "".join("1" if hint_decision(3, 9, f"p{i}", 0.5) else "0" for i in range(200))
    for hash_seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": hash_seed, "PATH": ""}, cwd=REPO_ROOT)
        assert out.stdout.strip() == here
