"""MRPV prompts: what each role sees, route steps and truncation, candidate draws, verdict parsing."""

import random

import pytest

from engine.method.prompts import (
    ANSWER_INSTRUCTION,
    CANDIDATES_HEADER,
    format_question,
    last_answer_line,
    mrpv_user_text,
    parse_verdicts,
    plain_prompt,
    route_user_text,
    select_candidates,
    split_steps,
    student_user_text,
    truncate_route,
)

QUESTION = "A train travels 60 km in 1.5 hours. What is its speed in km/h?"
RULES = "Speed is distance divided by time."
ROUTE = "Step 1: Distance is 60 km.\nStep 2: Time is 1.5 h.\nStep 3: 60 / 1.5 = 40.\nAnswer: 40"


def test_format_question_letters_the_choices():
    assert format_question("Pick one.", ["red", "blue"]) == "Pick one.\nA. red\nB. blue"
    assert format_question("  Pick one. ", None) == "Pick one."


def test_guided_route_prompt_has_rules_and_student_prompt_has_none():
    guided = route_user_text(QUESTION, rules=RULES)
    student = student_user_text(QUESTION)
    assert f"Rules and expert knowledge:\n{RULES}" in guided
    assert RULES not in student and "Rules" not in student
    for text in (guided, student):
        assert QUESTION in text and "step by step" in text and ANSWER_INSTRUCTION in text
    assert student == route_user_text(QUESTION)  # the same task, only the rules differ


def test_choice_prompts_ask_for_the_letter():
    text = student_user_text("Which is a prime?", ["4", "7"])
    assert "A. 4\nB. 7" in text and '"Answer: <letter>"' in text


def test_mrpv_prompt_shows_every_candidate_numbered_in_order():
    candidates = ["route one: 40", "route two: 90", "route three: 40"]
    text = mrpv_user_text(QUESTION, candidates, choices=None)
    assert QUESTION in text and CANDIDATES_HEADER in text and ANSWER_INSTRUCTION in text
    positions = [text.index(f"Candidate {i}:\n{c}") for i, c in enumerate(candidates, 1)]
    assert positions == sorted(positions)
    assert '"Candidate i: correct" or "Candidate i: wrong at step N"' in text
    for word in ("positive", "negative", "unparsed"):
        assert word not in text.lower()
    with pytest.raises(ValueError):
        mrpv_user_text(QUESTION, [])


def test_plain_prompt_appends_a_reasoning_cue():
    assert plain_prompt("Q?") == "Q?\n\nReasoning:"


@pytest.mark.parametrize(
    "text, steps",
    [
        (ROUTE, ["Step 1: Distance is 60 km.", "Step 2: Time is 1.5 h.", "Step 3: 60 / 1.5 = 40.", "Answer: 40"]),
        ("We compute.\n1. 2 + 3 = 5\n   carry nothing\n2) 5 * 2 = 10\nAnswer: 10",
         ["We compute.", "1. 2 + 3 = 5\ncarry nothing", "2) 5 * 2 = 10", "Answer: 10"]),
        ("**Step 1:** add\n**Step 2:** halve", ["**Step 1:** add", "**Step 2:** halve"]),
        ("First add.\n\nThen halve 3.5 twice.\nAnswer: x", ["First add.", "Then halve 3.5 twice.", "Answer: x"]),
        ("Add 2.5 and 3. Then double it! Is it 11? Answer: 11",
         ["Add 2.5 and 3.", "Then double it!", "Is it 11?", "Answer: 11"]),
        ("", []),
    ],
)
def test_split_steps(text, steps):
    assert split_steps(text) == steps


@pytest.mark.parametrize(
    "fraction, expected",
    [
        (1.0, ROUTE),
        (0.9, "Step 1: Distance is 60 km.\nStep 2: Time is 1.5 h.\nStep 3: 60 / 1.5 = 40."),
        (0.5, "Step 1: Distance is 60 km.\nStep 2: Time is 1.5 h."),
        (0.34, "Step 1: Distance is 60 km.\nStep 2: Time is 1.5 h."),
        (0.01, "Step 1: Distance is 60 km."),
        (0.0, ""),
    ],
)
def test_truncate_route_keeps_a_prefix_of_steps_and_hides_the_answer(fraction, expected):
    assert truncate_route(ROUTE, fraction) == expected


POS = [(f"route {i}: so 40.\nAnswer: 40", "positive") for i in range(3)]
NEG = [(f"route {i}: so 90.\nAnswer: 90", "negative") for i in range(3, 7)]
UNPARSED = [(f"route {i}: no idea", "unparsed") for i in range(7, 12)]


@pytest.mark.parametrize("seed", range(50))
@pytest.mark.parametrize("k", [2, 3, 5])
def test_select_candidates_contrasts_and_never_shows_unparsed(seed, k):
    routes = UNPARSED[:2] + POS + UNPARSED[2:] + NEG
    chosen = select_candidates(routes, k, random.Random(seed))
    labels = [label for _, label in chosen]
    assert len(chosen) == k and len(set(chosen)) == k
    assert "positive" in labels and "negative" in labels and "unparsed" not in labels


def test_select_candidates_shuffles_and_is_deterministic():
    routes = POS + NEG
    draws = [select_candidates(routes, 3, random.Random(seed)) for seed in range(40)]
    assert draws == [select_candidates(routes, 3, random.Random(seed)) for seed in range(40)]
    assert {draw[0][1] for draw in draws} == {"positive", "negative"}  # the positive is not always first


@pytest.mark.parametrize(
    "routes, k, positives_only, expected_labels",
    [
        (POS[:1] + UNPARSED, 3, False, ["positive"]),  # fewer usable routes than k
        (NEG + UNPARSED, 2, False, ["negative", "negative"]),  # no positive: still shows negatives
        (UNPARSED, 3, False, []),
        (POS + NEG, 3, True, ["positive"] * 3),  # the positives-only baseline
        (POS[:2] + NEG, 4, True, ["positive"] * 2),
        (POS + NEG, 0, False, []),
    ],
)
def test_select_candidates_edge_cases(routes, k, positives_only, expected_labels):
    chosen = select_candidates(routes, k, random.Random(0), positives_only=positives_only)
    assert sorted(label for _, label in chosen) == expected_labels


def test_select_candidates_with_k1_draws_from_both_labels():
    labels = {select_candidates(POS + NEG, 1, random.Random(s))[0][1] for s in range(40)}
    assert labels == {"positive", "negative"}


@pytest.mark.parametrize(
    "completion, n, expected",
    [
        ("Candidate 1: correct\nCandidate 2: wrong at step 3\nAnswer: 40", 2, {1: True, 2: False}),
        ("**Candidate 1:** Wrong at step 2\n- candidate 2 is CORRECT", 2, {1: False, 2: True}),
        ("Candidate 1: incorrect\nCandidate #2 - right\nCandidate 3: not correct", 3, {1: False, 2: True, 3: False}),
        ("Candidate 1: correct\nCandidate 1: wrong", 1, {1: True}),  # the first verdict counts
        ("Candidate 4: correct\nCandidate 0: wrong", 3, {}),  # out of range
        ("I think they are all fine. Answer: 40", 2, {}),
        ("", 2, {}),
    ],
)
def test_parse_verdicts(completion, n, expected):
    assert parse_verdicts(completion, n) == expected


@pytest.mark.parametrize(
    "text, line",
    [
        ("work\nAnswer: 3\nmore\n**Final answer:** 4", "**Final answer:** 4"),
        ("the answer is 4", None),
    ],
)
def test_last_answer_line(text, line):
    assert last_answer_line(text) == line


def test_hinted_prompt_shows_the_drawn_routes_and_unhinted_prompt_shows_none():
    routes = POS + NEG + UNPARSED
    chosen = select_candidates(routes, 3, random.Random(4))
    hinted = mrpv_user_text(QUESTION, [text for text, _ in chosen])
    unhinted = student_user_text(QUESTION)
    for text, _ in routes:
        assert (text in hinted) == ((text, "positive") in chosen or (text, "negative") in chosen)
        assert text not in unhinted
    for prompt in (hinted, unhinted):
        assert not {"positive", "negative", "unparsed"} & set(prompt.lower().split())
