"""Step alignment behind the positive-vs-negative route diff."""

import pytest

from engine.method.route_diff import align_steps, first_divergence, normalise_step

A = ["Step 1: 3 apples", "Step 2: add 4", "Step 3: 7 apples", "Answer: 7"]


@pytest.mark.parametrize(
    "a, b, pairs, divergence",
    [
        # identical routes: pairs along the diagonal, no divergence
        (A, A, [(0, 0), (1, 1), (2, 2), (3, 3)], None),
        # same first steps, then a wrong step and a wrong answer
        (A, ["Step 1: 3 apples", "Step 2: add 4", "Step 3: 8 apples", "Answer: 8"],
         [(0, 0), (1, 1), (2, 2), (3, 3)], 2),
        # an extra step inserted in the middle of b
        (A, ["Step 1: 3 apples", "Step 2: hmm, recount", "Step 3: add 4", "Step 4: 7 apples", "Answer: 7"],
         [(0, 0), (None, 1), (1, 2), (2, 3), (3, 4)], 1),
        # b stops early: a's extra steps pair against None
        (A, ["Step 1: 3 apples", "Step 2: add 4"], [(0, 0), (1, 1), (2, None), (3, None)], 2),
        # renumbered markers, case and spacing do not count as differences
        (["1. Three   Apples", "Answer: 7"], ["Step 1: three apples", "answer: 7"], [(0, 0), (1, 1)], None),
        # differ from the first step
        (["x"], ["y"], [(0, 0)], 0),
        # one empty route
        ([], ["only step"], [(None, 0)], 0),
        ([], [], [], None),
    ],
)
def test_alignment_and_first_divergence(a, b, pairs, divergence):
    assert align_steps(a, b) == pairs
    assert first_divergence(a, b) == divergence


def test_alignment_covers_every_step_once_in_order():
    a = ["s1", "s2", "s3", "s4", "s5"]
    b = ["s1", "t2", "s3", "t4", "t5", "t6", "s5"]
    pairs = align_steps(a, b)
    assert [i for i, _ in pairs if i is not None] == list(range(len(a)))
    assert [j for _, j in pairs if j is not None] == list(range(len(b)))


@pytest.mark.parametrize(
    "step, normal",
    [("Step 12:  Add  4", "add 4"), ("3) Multiply", "multiply"), ("**Step 2.** x", "x"), ("2.5 is half", "2.5 is half")],
)
def test_normalise_step(step, normal):
    assert normalise_step(step) == normal
