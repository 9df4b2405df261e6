"""RL rewards, called the way TRL 1.16 calls them: one list entry per completion, columns as kwargs."""

import pytest

from engine.config import DataSection, RLSection
from engine.errors import UserError
from engine.method.rewards import make_reward_functions
from engine.method.verifiers import verify

RIGHT = "Distance 60 km over 1.5 h.\n60 / 1.5 = 40.\nAnswer: 40"
WRONG = "Distance 60 km over 1.5 h.\n60 * 1.5 = 90.\nAnswer: 90"
RAMBLING = "The train is fast and I am not sure how fast."
CHOICE_RIGHT = "7 has no divisors but 1 and itself.\nAnswer: B"
CHOICE_WRONG = "4 looks prime to me.\nAnswer: A"


def _rewards(rl=None, data=None):
    fns, weights = make_reward_functions(data or DataSection(), rl or RLSection(reward_verdict=1.0))
    return {fn.__name__: fn for fn in fns}, weights


def _call(fn, completions, *, answer="40", answer_type="number", choices=None, hinted=False, labels=None):
    """Call ``fn`` like GRPOTrainer does: every column as a list the length of ``completions``."""
    n = len(completions)
    return fn(
        prompts=["prompt"] * n,
        completions=completions,
        completion_ids=[[1, 2, 3]] * n,
        trainer_state=None,
        problem_id=["p1"] * n,
        answer=[answer] * n,
        answer_type=[answer_type] * n,
        choices=[choices] * n,
        hinted=[hinted] * n,
        candidate_labels=[labels or []] * n,
    )


def test_functions_are_named_for_trl_logging_and_weighted_from_config():
    fns, weights = make_reward_functions(DataSection(), RLSection(reward_correctness=1.0, reward_format=0.2,
                                                                  reward_verdict=0.5, reward_language=0.3))
    assert [fn.__name__ for fn in fns] == ["correctness", "format", "verdict", "language"]
    assert weights == [1.0, 0.2, 0.5, 0.3]


@pytest.mark.parametrize(
    "rl, names",
    [
        (RLSection(), ["correctness", "format", "language"]),  # verdict off by default
        (RLSection(reward_format=0.0, reward_verdict=0.3, reward_language=0.0), ["correctness", "verdict"]),
        (RLSection(reward_correctness=0.0, reward_format=0.1, reward_language=0.0), ["format"]),
    ],
)
def test_zero_weight_functions_are_dropped(rl, names):
    fns, weights = make_reward_functions(DataSection(), rl)
    assert [fn.__name__ for fn in fns] == names
    assert len(weights) == len(names) and all(w > 0 for w in weights)


def test_all_weights_zero_is_a_user_error():
    with pytest.raises(UserError, match="rl.reward_"):
        make_reward_functions(DataSection(), RLSection(reward_correctness=0.0, reward_format=0.0, reward_language=0.0))


@pytest.mark.parametrize(
    "completions, answer, answer_type, choices, expected",
    [
        ([RIGHT, WRONG, RAMBLING, ""], "40", "number", None, [1.0, 0.0, 0.0, 0.0]),
        ([CHOICE_RIGHT, CHOICE_WRONG], "B", "choice", ["4", "7"], [1.0, 0.0]),
        (["So the capital is Paris.\nAnswer: Paris", "Answer: Lyon"], "Paris", "text", None, [1.0, 0.0]),
    ],
)
def test_correctness_is_the_verifier_verdict(completions, answer, answer_type, choices, expected):
    rewards, _ = _rewards()
    got = _call(rewards["correctness"], completions, answer=answer, answer_type=answer_type, choices=choices)
    assert got == expected
    assert got == [1.0 if verify(c, answer, answer_type, choices=choices).label == "positive" else 0.0
                   for c in completions]


def test_correctness_uses_the_project_answer_type_when_a_row_has_none():
    rewards, _ = _rewards(data=DataSection(answer_type="number"))
    assert _call(rewards["correctness"], ["Answer: 40.0000"], answer="40", answer_type="") == [1.0]


def test_correctness_reads_conversational_completions():
    rewards, _ = _rewards()
    messages = [[{"role": "assistant", "content": RIGHT}], [{"role": "assistant", "content": WRONG}]]
    assert _call(rewards["correctness"], messages) == [1.0, 0.0]


@pytest.mark.parametrize(
    "completion, expected",
    [
        (RIGHT, 1.0),
        (WRONG, 1.0),  # format does not care whether the answer is right
        ("**Answer:** 12", 1.0),
        (RAMBLING, 0.0),
        ("Answer:", 0.0),
        ("", 0.0),
    ],
)
def test_format_reward_unhinted(completion, expected):
    rewards, _ = _rewards()
    assert _call(rewards["format"], [completion]) == [expected]


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("Candidate 1: correct\nCandidate 2: wrong at step 2\n60 / 1.5 = 40\nAnswer: 40", 1.0),
        ("Candidate 1: correct\n60 / 1.5 = 40\nAnswer: 40", 0.75),
        ("Candidate 1: correct\nCandidate 2: wrong at step 2", 0.5),
        (RIGHT, 0.5),
        ("", 0.0),
    ],
)
def test_format_reward_hinted_asks_for_every_verdict(completion, expected):
    rewards, _ = _rewards()
    got = _call(rewards["format"], [completion], hinted=True, labels=["positive", "negative"])
    assert got == [pytest.approx(expected)]


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("Candidate 1: correct\nCandidate 2: wrong at step 2\nCandidate 3: correct\nAnswer: 40", 1.0),
        ("Candidate 1: wrong at step 1\nCandidate 2: correct\nCandidate 3: wrong\nAnswer: 40", 0.0),
        ("Candidate 1: correct\nCandidate 2: correct\nCandidate 3: correct\nAnswer: 40", 2 / 3),
        ("Candidate 2: wrong at step 3\nAnswer: 40", 1 / 3),  # missing verdicts count as wrong
        (RIGHT, 0.0),
    ],
)
def test_verdict_reward_scores_judgements_against_hidden_labels(completion, expected):
    rewards, _ = _rewards()
    got = _call(rewards["verdict"], [completion], hinted=True, labels=["positive", "negative", "positive"])
    assert got == [pytest.approx(expected)]


def test_verdict_reward_abstains_when_not_hinted():
    rewards, _ = _rewards()
    assert _call(rewards["verdict"], ["Candidate 1: correct\nAnswer: 40", RIGHT]) == [None, None]


def test_mixed_batch_keeps_one_reward_per_completion_in_order():
    rewards, _ = _rewards()
    fn = rewards["verdict"]
    got = fn(completions=["Candidate 1: wrong\nAnswer: 40", RIGHT], answer=["40", "40"],
             answer_type=["number", "number"], choices=[None, None], hinted=[True, False],
             candidate_labels=[["negative"], []], problem_id=["a", "b"])
    assert got == [1.0, None]


def test_correctness_runs_the_projects_python_verifier():
    def ends_in_even_number(completion, gold):
        return int(completion.rsplit(":", 1)[-1]) % 2 == 0

    fns, _ = make_reward_functions(DataSection(answer_type="python", python_verifier="check.py:even"),
                                   RLSection(), python_verifier=ends_in_even_number)
    correctness = {fn.__name__: fn for fn in fns}["correctness"]
    assert _call(correctness, ["Answer: 40", "Answer: 41"], answer="", answer_type="python") == [1.0, 0.0]


@pytest.mark.parametrize(
    "prompt, completion, expected",
    [
        ("Fee for zone B?", "Posted on Monday, so no weekend surcharge.\nAnswer: 9", 1.0),
        ("Fee for zone B?", "Posted on Monday, so no शुल्क.\nAnswer: 9", 0.0),  # measured drift (EFFICACY.md)
        ("Fee for zone B?", "Answer: 9 € = 9 × 1 EUR (±0)", 1.0),  # signs and digits are no script
        ("Gebühr für Zone B?", "Keine Wochenendgebühr, also 9 €.\nAnswer: 9", 1.0),  # accents are Latin
        ("区域B的费用是多少？", "基本费用 7 EUR。\nAnswer: 9", 1.0),  # the prompt's own scripts are allowed
        ("区域B的费用是多少？", "Базовая плата 7 EUR.\nAnswer: 9", 0.0),
    ],
)
def test_language_pays_completions_that_keep_to_the_prompts_scripts(prompt, completion, expected):
    rewards, _ = _rewards()
    got = rewards["language"](prompts=[prompt], completions=[completion], completion_ids=[[1]], trainer_state=None,
                              answer=["9"])
    assert got == [expected]
