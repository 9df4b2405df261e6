"""One table, every reader: the answer line and step markers mean the same thing to generation
(stop and trim), the prompts (step split, length fade), the format reward, the verifier and the
route diff. Each row is a route/completion and the answer every consumer must read from it."""

from __future__ import annotations

import pytest

from engine.config import DataSection, RLSection
from engine.hf.generation import ANSWER_LINE as STOPS_AT, trim_after_answer
from engine.method.markers import last_answer_line
from engine.method.prompts import split_steps, truncate_route
from engine.method.rewards import make_reward_functions
from engine.method.route_diff import normalise_step
from engine.method.verifiers import extract_final_answer, normalise_text, verify

ANSWERED = [  # (text, the answer line, the answer)
    ("Step 1: 2 + 2 = 4.\nAnswer: 4\n", "Answer: 4", "4"),
    ("Step 1: add the fees.\n**Answer:** 12\n", "**Answer:** 12", "12"),
    ("1. Find the city.\n2. Check it.\n__Final answer__: Paris\n", "__Final answer__: Paris", "Paris"),
    ("Step 1: 3 + 4.\nanswer： 7\n", "answer： 7", "7"),
    ("Step 1: three quarters.\n**Final Answer**: 3/4\n", "**Final Answer**: 3/4", "3/4"),
    ("Reasoning in one line, then\n  Answer: yes\n", "Answer: yes", "yes"),
]


def _format_reward(text: str) -> float:
    functions, _ = make_reward_functions(DataSection(),
                                         RLSection(reward_correctness=0.0, reward_format=1.0, reward_language=0.0))
    (fmt,) = functions
    return fmt(completions=[text], answer_type=["text"], choices=[None], hinted=[False], candidate_labels=[[]])[0]


@pytest.mark.parametrize("text, line, answer", ANSWERED)
def test_every_reader_takes_the_same_answer_line(text, line, answer):
    assert last_answer_line(text) == line  # the format reward's reader
    assert STOPS_AT.search(text)  # generation stops here …
    assert trim_after_answer(text + "Extra chatter the model wrote on.\n") == text.rstrip("\n")  # … and trims after it
    assert split_steps(text)[-1] == line.strip()  # the answer line is a step of its own
    assert line not in truncate_route(text, 0.5)  # and a cut route never shows it
    assert _format_reward(text) == 1.0
    assert extract_final_answer(text, "text") == normalise_text(answer)  # the verifier reads that line
    assert verify(text, answer, "text").label == "positive"


@pytest.mark.parametrize("text", ["Step 1: add.\nStep 2: carry the one.\n", "I think it is 4\nbut not sure\n"])
def test_a_text_without_an_answer_line_has_none_for_every_reader(text):
    assert last_answer_line(text) is None
    assert not STOPS_AT.search(text)
    assert trim_after_answer(text) == text
    assert _format_reward(text) == 0.0
    assert extract_final_answer(text, "text") is None


def test_an_answer_line_still_being_written_does_not_stop_generation():
    assert not STOPS_AT.search("Step 1: add.\nAnswer: 1")  # no newline yet: the number may go on
    assert not STOPS_AT.search("Step 1: add.\nAnswer:\n")  # a label with nothing after it


@pytest.mark.parametrize("marked", ["Step 3: carry the one", "3. carry the one", "3) carry the one",
                                    "**Step 3:** carry the one", "## 3. carry the one", "step 3 - carry the one"])
def test_step_markers_open_a_step_and_the_diff_ignores_them(marked):
    opens_a_step = not marked.startswith("step 3 -")  # a dash is not a marker
    steps = split_steps(f"Step 1: take 2.\nStep 2: add 3.\n{marked}\nAnswer: 5")
    assert (steps[2] == marked) == opens_a_step
    assert (normalise_step(marked) == "carry the one") == opens_a_step
