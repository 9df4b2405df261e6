"""Fuzzing answer extraction (number, choice, text, regex), the one parser every route, reward and
evaluation goes through: any model output, however long or strange, gives a label and never an
exception, and the rules users rely on hold for any text around them.
"""

from __future__ import annotations

import math

from fuzz_testkit import budget
from hypothesis import assume, example, given
from hypothesis import strategies as st

from engine.config import ROUTE_LABELS
from engine.errors import UserError
from engine.method.numbers import first_number, format_number, iter_numbers, last_number
from engine.method.verifiers import extract_final_answer, verify

PIECES = ["Answer:", "answer is", "\\boxed{", "}", "## Final Answer\n", "(B)", "B)", "option C", "**A**", "1,234.5",
          "−3", "3/4", "1 1/2", "\\frac{3}{4}", "6.02e23", "1.5 \\times 10^{3}", "50%", "$", "\n", " or ", "A", "{", "1/0",
          "9" * 400, "e999", "\u2028", "\x00", "ǅ", "١٢٣"]
completions = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=40).map("".join),
    st.tuples(st.sampled_from(["\\boxed{", "Answer: ", "(", "1,", "[", "A or "]), st.integers(1000, 20000)).map(
        lambda t: t[0] * t[1]),  # long runs of one piece: the inputs that make regexes backtrack
)
choice_lists = st.none() | st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=6, unique=True)
golds = st.one_of(st.text(max_size=20), st.integers().map(str), st.sampled_from(["A", "B", "12", "-0.5", "3/4"]))


@budget(300)
@given(text=completions, kind=st.sampled_from(["number", "choice", "text", "regex"]), choices=choice_lists)
@example(text="ANSWER:0:A)", kind="choice", choices=None)  # found by the fuzzer: a letter group that did not match
def test_any_completion_yields_an_answer_or_none_never_an_error(text, kind, choices):
    answer = extract_final_answer(text, kind, choices=choices)
    assert answer is None or isinstance(answer, str)


@budget(300)
@given(text=completions, gold=golds, kind=st.sampled_from(["number", "choice", "text", "regex"]), choices=choice_lists,
       pattern=st.sampled_from(["", "[0-9]+", "(", "a|b"]))
def test_any_completion_is_labelled_or_the_gold_is_refused_in_one_line(text, gold, kind, choices, pattern):
    try:
        verdict = verify(text, gold, kind, choices=choices, pattern=pattern)
    except UserError as err:  # the gold cannot be an answer of its type, or the pattern is no regex
        assert "\n" not in str(err), str(err)
        return
    assert verdict.label in ROUTE_LABELS


@budget(200)
@given(text=completions, value=st.integers(-10**12, 10**12))
def test_the_last_answer_line_wins_whatever_comes_before(text, value):
    assume("\\boxed" not in text and "\\fbox" not in text)  # a \boxed{} may legitimately span our line
    completion = f"{text}\n\nAnswer: {value}"
    assert extract_final_answer(completion, "number") == str(value)


@budget(200)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_written_by_format_number_reads_back(value):
    read = first_number(format_number(value))
    assert read is not None and math.isclose(read, value, rel_tol=1e-9, abs_tol=1e-300)


@budget(200)
@given(value=st.integers(-10**15, 10**15), before=st.text(max_size=20), unit=st.sampled_from(["", " kg", " EUR", "%", "."]))
def test_thousands_separators_and_units_read_as_the_number(value, before, unit):
    assume(not before.endswith("\\"))  # a backslash and a space are a LaTeX thin space: "1\\ 000" is 1000
    assert last_number(f"{before} {value:,}{unit}") == value


@budget(300)
@given(text=completions)
def test_scanning_numbers_never_raises(text):
    assert all(isinstance(n, float) for n in iter_numbers(text))


def test_a_pattern_that_backtracks_for_ever_gives_unparsed_instead_of_a_hang():
    """A regex gold answer comes from a data file: "(a|aa)+$" on a long answer would run for ever."""
    verdict = verify("Answer: " + "a" * 1500 + "b", "(a|aa)+$", "regex")
    assert verdict.label == "unparsed" and "backtracks" in verdict.reason
