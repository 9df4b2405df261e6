"""Answer verifiers on real-looking model outputs: right, wrong, empty and adversarial ones."""

import pytest

from engine.config import DataSection
from engine.data.problems import Problem
from engine.errors import UserError
from engine.method.verifiers import LABELS, Verdict, extract_final_answer, normalise_gold, verify, verify_problem

CITIES = ["London", "Paris", "Rome", "Oslo"]
RUSSIAN_CITIES = ["Лондон", "Париж", "Рим", "Осло"]

# ----------------------------------------------------------------------------- choice

# (completion, gold, label, extracted); choices are CITIES unless the row says otherwise.
CHOICE_CASES = [
    ("The capital of France is Paris.\nAnswer: B", "B", "positive", "B"),
    ("Rome is the capital of Italy, not France.\nAnswer: C", "B", "negative", "C"),
    ("Answer: (B)", "B", "positive", "B"),
    ("**Answer:** B", "B", "positive", "B"),
    ("Answer: **B**", "B", "positive", "B"),
    ("So the answer is (B).", "B", "positive", "B"),
    ("Final answer: option B", "B", "positive", "B"),
    ("Answer: B) Paris", "B", "positive", "B"),
    ("Answer: B. Paris is the capital of France.", "B", "positive", "B"),
    ("The answer is B, since A is in England.", "B", "positive", "B"),
    ("Answer: c", "C", "positive", "C"),
    ("Answer: A\nWait, London is in England. Let me redo this.\nAnswer: B", "B", "positive", "B"),
    ("Answer: B\nHmm, on reflection France's capital is Rome.\nFinal answer: C", "B", "negative", "C"),
    ("Answer: B or C", "B", "unparsed", None),
    ("Answer: (B) or (C)", "B", "unparsed", None),
    ("Answer: either B, C", "B", "unparsed", None),
    ("Because Berlin is not listed, Every option seems odd. Done.", "B", "unparsed", None),
    ("", "B", "unparsed", None),
    ("   \n\t ", "B", "unparsed", None),
    ("Answer: Paris", "B", "positive", "B"),
    ("Answer: the Paris", "B", "positive", "B"),
    ("Answer: Berlin", "B", "unparsed", None),
    ("Answer: E", "B", "unparsed", None),  # only A-D exist
    ("London is in the UK, so not that one. Paris is in France.\n(B)", "B", "positive", "B"),
    ("I compared all four and I choose B) because it fits.", "B", "positive", "B"),
    ("Options: A) London B) Paris C) Rome D) Oslo. The capital is **B**.", "B", "positive", "B"),
    ("Paris", "B", "positive", "B"),
    ("I am not sure.", "B", "unparsed", None),
    ("The result is $\\boxed{B}$", "B", "positive", "B"),
    ("Answer: \\boxed{(C)}", "B", "negative", "C"),
    ("## Final Answer\n\n**D**", "D", "positive", "D"),
    ("Let me check the answer: first, A is London.\nAnswer: D", "D", "positive", "D"),
]


@pytest.mark.parametrize("completion, gold, label, extracted", CHOICE_CASES)
def test_choice(completion, gold, label, extracted):
    verdict = verify(completion, gold, "choice", choices=CITIES)
    assert (verdict.label, verdict.extracted) == (label, extracted), verdict.reason


@pytest.mark.parametrize("completion, gold, label, extracted", [
    ("Столица Франции — Париж.\nAnswer: Париж", "B", "positive", "B"),
    ("Answer: Рим", "B", "negative", "C"),
    ("Ответ неясен.", "B", "unparsed", None),
])
def test_choice_in_another_script(completion, gold, label, extracted):
    verdict = verify(completion, gold, "choice", choices=RUSSIAN_CITIES)
    assert (verdict.label, verdict.extracted) == (label, extracted)


@pytest.mark.parametrize("gold, letter", [("B", "B"), ("b", "B"), ("(B)", "B"), ("B.", "B"), ("Paris", "B"),
                                          ("  rome ", "C")])
def test_choice_gold_may_be_a_letter_or_the_option_text(gold, letter):
    assert normalise_gold(gold, "choice", choices=CITIES) == letter


@pytest.mark.parametrize("gold", ["E", "Berlin", ""])
def test_a_choice_gold_that_names_no_option_is_a_user_error(gold):
    with pytest.raises(UserError, match="gold answer"):
        verify("Answer: B", gold, "choice", choices=CITIES)


# ----------------------------------------------------------------------------- number

# (completion, gold, label, extracted)
NUMBER_CASES = [
    ("3 apples + 4 apples = 7 apples.\nAnswer: 7", "7", "positive", "7"),
    ("3 + 4 = 8\nAnswer: 8", "7", "negative", "8"),
    ("Answer: 12. Hope this helps!", "12", "positive", "12"),
    ("Step 1: 5 * 3 = 15\nStep 2: 15 - 3 = 12\nStep 3: check 12 + 3 = 15\nAnswer: 12", "12", "positive", "12"),
    ("Answer: 12\nStep 4 was a sanity check against 99.", "12", "positive", "12"),
    ("Answer: 1,234.5", "1234.5", "positive", "1234.5"),
    ("Answer: $1,200", "1,200", "positive", "1200"),
    ("Answer: 1,234,567", "1234567", "positive", "1234567"),
    ("Answer: \u22125", "-5", "positive", "-5"),
    ("Answer: -5", "5", "negative", "-5"),
    ("Answer: +3", "3", "positive", "3"),
    ("Answer: 3/4", "0.75", "positive", "0.75"),
    ("Answer: \\frac{3}{4}", "3/4", "positive", "0.75"),
    ("The answer is $\\dfrac{3}{4}$.", "0.75", "positive", "0.75"),
    ("Answer: -\\frac{1}{2}", "-0.5", "positive", "-0.5"),
    ("Answer: 1\\frac{1}{2}", "1.5", "positive", "1.5"),
    ("Answer: 1 1/2 cups", "1.5", "positive", "1.5"),
    ("Answer: .5", "0.5", "positive", "0.5"),
    ("Answer: 50%", "50", "positive", "50"),  # a percent sign is a unit: 50% is 50 ...
    ("Answer: 50%", "0.5", "negative", "50"),  # ... not 0.5
    ("Answer: 2.5 kg", "2.5", "positive", "2.5"),
    ("Answer: 12 km.", "12", "positive", "12"),
    ("Answer: €30", "30", "positive", "30"),
    ("Answer: 30 EUR", "30 EUR", "positive", "30"),
    ("Answer: 2.50 dollars", "$2.5", "positive", "2.5"),
    ("Answer: 6.02e23", "6.02 × 10^23", "positive", "6.02e+23"),
    ("Answer: 1.5 \\times 10^{3}", "1500", "positive", "1500"),
    ("\\boxed{42}", "42", "positive", "42"),
    ("So \\boxed{41}. Wait, 6 * 7 is 42.\nAnswer: 42", "42", "positive", "42"),
    ("Answer: 41\nOn reflection the result is \\boxed{42}", "42", "positive", "42"),
    ("Thus $\\boxed{\\dfrac{3}{4}}$ of the cake is left.", "0.75", "positive", "0.75"),  # nested braces
    ("Answer: x = 5", "5", "positive", "5"),
    ("Answer: 5 + 7 = 12", "12", "positive", "12"),
    ("Answer: 12 (since 3 + 5 = 8 and 8 + 4 = 12)", "12", "positive", "12"),
    ("Answer: approx. 12", "12", "positive", "12"),
    ("First 3 + 4 = 7, then 7 * 2 = 14.", "14", "positive", "14"),
    ("First 3 + 4 = 7, then 7 * 2 = 15.", "14", "negative", "15"),
    ("I cannot solve this.", "3", "unparsed", None),
    ("Answer: twelve", "12", "unparsed", None),  # number words are not numbers
    ("", "12", "unparsed", None),
    ("Answer: 0.1", "0.1000000001", "positive", "0.1"),  # within the relative tolerance 1e-6
    ("Answer: 100", "101", "negative", "100"),
    ("Answer: 0.0000000001", "0", "positive", "0.0000000001"),  # tiny absolute tolerance
    ("Answer: 3.0", "3", "positive", "3"),
    ("Answer: **42**", "42", "positive", "42"),
    ("Final answer:\n\n42", "42", "positive", "42"),
    ("Answer: 3,5", "3.5", "negative", "3"),  # no European decimal comma
    ("Answer: １２", "12", "positive", "12"),  # full-width digits
    ("Answer: ٤٢", "42", "positive", "42"),  # Arabic-Indic digits
    ("У Маши 3 яблока и 4 груши.\nAnswer: 7 фруктов", "7", "positive", "7"),
]


@pytest.mark.parametrize("completion, gold, label, extracted", NUMBER_CASES)
def test_number(completion, gold, label, extracted):
    verdict = verify(completion, gold, "number")
    assert verdict.label == label, verdict.reason
    if extracted is not None and "e" not in extracted and "0000" not in extracted:
        assert verdict.extracted == extracted
    elif extracted is not None:
        assert float(verdict.extracted) == pytest.approx(float(extracted))
    else:
        assert verdict.extracted is None


def test_a_wrong_number_says_what_differs():
    assert verify("Answer: 12", "15", "number").reason == "12 != 15"


def test_number_tolerance_is_a_setting():
    assert verify("Answer: 99", "100", "number", tolerance=0.05).label == "positive"
    assert verify("Answer: 99", "100", "number", tolerance=0.001).label == "negative"


@pytest.mark.parametrize("gold", ["many", "", "n/a"])
def test_a_gold_number_that_is_no_number_is_a_user_error(gold):
    with pytest.raises(UserError, match="not a number"):
        verify("Answer: 3", gold, "number")


# ----------------------------------------------------------------------------- text

# (completion, gold, label, extracted)
TEXT_CASES = [
    ("The Eiffel Tower is there.\nAnswer: Paris", "Paris", "positive", "paris"),
    ("Answer: paris.", "Paris", "positive", "paris"),
    ("Answer: the Eiffel Tower", "Eiffel Tower", "positive", "eiffel tower"),
    ("Answer: an apple", "Apple", "positive", "apple"),
    ("Answer: London", "Paris", "negative", "london"),
    ("Final answer: **Paris**. Hope this helps!", "Paris", "positive", "paris"),
    ("Paris", "Paris", "positive", "paris"),
    ("I think it's Paris.\nIt's the capital.", "Paris", "unparsed", None),
    ("", "Paris", "unparsed", None),
    ("Answer:", "Paris", "unparsed", None),
    ("Answer: New-York", "New York", "positive", "new york"),
    ("Answer: Washington, D.C.", "Washington D.C.", "positive", "washington dc"),
    ("Answer: \"Paris\"", "Paris", "positive", "paris"),
    ("The answer is \\text{Paris}", "Paris", "positive", "paris"),
    ("Answer: Paris\nOn second thought...\nAnswer: Lyon", "Paris", "negative", "lyon"),
    ("## Answer\nParis", "Paris", "positive", "paris"),
    ("Answer: Москва", "МОСКВА", "positive", "москва"),
    ("Answer: 東京。", "東京", "positive", "東京"),
    ("Answer: ｐａｒｉｓ", "paris", "positive", "paris"),  # NFKC folds full-width letters
    ("Answer: Café", "CAFÉ", "positive", "café"),
    ("Answer: Cafe", "Café", "negative", "cafe"),  # accents are kept: they can change meaning
]


@pytest.mark.parametrize("completion, gold, label, extracted", TEXT_CASES)
def test_text(completion, gold, label, extracted):
    verdict = verify(completion, gold, "text")
    assert (verdict.label, verdict.extracted) == (label, extracted), verdict.reason


# ----------------------------------------------------------------------------- regex

DATE = r"\d{4}-\d{2}-\d{2}"

# (completion, gold, pattern, label, extracted)
REGEX_CASES = [
    ("Counting forward 30 days.\nAnswer: 2024-05-01", "2024-05-01", DATE, "positive", "2024-05-01"),
    ("Answer: 2024-5-1", "2024-05-01", DATE, "negative", "2024-5-1"),
    ("Answer: 2024-05-01. Done!", "2024-05-01", DATE, "positive", "2024-05-01"),
    ("Answer: x2024-05-01", "2024-05-01", DATE, "negative", "x2024-05-01"),  # fullmatch, not search
    ("The date is in May", "2024-05-01", DATE, "negative", "The date is in May"),
    ("", "2024-05-01", DATE, "unparsed", None),
    ("Answer: Lutetia", "(?i)paris|lutetia", "", "positive", "Lutetia"),  # gold is the pattern
    ("Answer: Rome", "(?i)paris|lutetia", "", "negative", "Rome"),
    ("Answer: `ABC-123`", "", r"[A-Z]{3}-\d{3}", "positive", "ABC-123"),
    ("Answer: **ABC-123**", "", r"[A-Z]{3}-\d{3}", "positive", "ABC-123"),
]


@pytest.mark.parametrize("completion, gold, pattern, label, extracted", REGEX_CASES)
def test_regex(completion, gold, pattern, label, extracted):
    verdict = verify(completion, gold, "regex", pattern=pattern)
    assert (verdict.label, verdict.extracted) == (label, extracted), verdict.reason


def test_an_invalid_regex_is_a_user_error_naming_it():
    with pytest.raises(UserError, match=r"regex '\(' is not a valid"):
        verify("Answer: x", "(", "regex")


# ----------------------------------------------------------------------------- all types


@pytest.mark.parametrize("answer_type, gold", [("choice", "A"), ("number", "1"), ("text", "a"), ("regex", "a")])
@pytest.mark.parametrize("completion", [None, "", "  \n  "])
def test_empty_completions_are_unparsed_never_negative(answer_type, gold, completion):
    verdict = verify(completion, gold, answer_type, choices=CITIES)
    assert verdict == Verdict("unparsed", None, "empty completion")
    assert not verdict.correct


def test_labels_are_the_three_documented_ones():
    assert LABELS == ("positive", "negative", "unparsed")
    assert Verdict("positive", "B").correct and not Verdict("negative", "C").correct


@pytest.mark.parametrize("completion, answer_type, expected", [
    ("Work...\nAnswer: (C)", "choice", "C"),
    ("Total: 1,500 kg", "number", "1500"),
    ("Answer: The Louvre!", "text", "louvre"),
    ("Answer: ABC-123.", "regex", "ABC-123"),
    ("No conclusion reached here\nstill none", "text", None),
])
def test_extract_final_answer(completion, answer_type, expected):
    assert extract_final_answer(completion, answer_type, choices=CITIES) == expected


def test_an_unknown_answer_type_is_a_user_error():
    with pytest.raises(UserError, match="'essay'"):
        verify("Answer: x", "x", "essay")


def test_verify_problem_uses_the_problem_and_the_project_settings():
    problem = Problem(id="p7", question="Capital of France?", answer="B", answer_type="choice", choices=CITIES)
    assert verify_problem("Answer: Paris", problem, DataSection()).label == "positive"
    weight = Problem(id="p8", question="Weight?", answer="100", answer_type="number")
    assert verify_problem("Answer: 99 kg", weight, DataSection(number_tolerance=0.05)).label == "positive"
    dated = Problem(id="p9", question="When?", answer="2024-05-01", answer_type="regex")
    assert verify_problem("Answer: 1999-12-31", dated, DataSection(regex=DATE)).label == "positive"


def test_verify_problem_names_the_problem_when_its_gold_is_bad():
    problem = Problem(id="p42", question="How many?", answer="lots", answer_type="number")
    with pytest.raises(UserError, match="problem p42: gold answer 'lots' is not a number"):
        verify_problem("Answer: 3", problem, DataSection())


def test_python_type_needs_a_verifier():
    with pytest.raises(UserError, match="python_verifier"):
        verify("Answer: 3", "3", "python")


# ----------------------------------------------------------------------------- huge outputs

MEGABYTE = 1_000_000
HUGE_COMPLETIONS = [
    ("word " * (MEGABYTE // 5) + "\nAnswer: 42", "number", "42"),
    ("1" * MEGABYTE, "number", "inf"),  # one giant number
    ("1 " * (MEGABYTE // 2), "number", "1"),
    ("1,2" * (MEGABYTE // 3), "number", "2"),
    ("the " + " " * MEGABYTE + "answer is 7", "number", "7"),
    ("\\boxed{" * (MEGABYTE // 7), "number", None),
    ("Answer: " * (MEGABYTE // 8), "number", None),
    ("(" * MEGABYTE, "choice", None),
    ("A. " * (MEGABYTE // 3) + "\n(B)", "choice", "B"),
    ("Because " * (MEGABYTE // 8), "choice", None),
    ("x" * MEGABYTE, "text", "x" * 2000),
    ("Answer: " + "B " * (MEGABYTE // 2), "choice", "B"),
    ("\\frac{1}{2} " * (MEGABYTE // 12), "number", "0.5"),
]


@pytest.mark.timeout(30)  # a catastrophic backtrack would take hours, not seconds
@pytest.mark.parametrize("completion, answer_type, expected", HUGE_COMPLETIONS,
                         ids=[f"huge-{i}" for i in range(len(HUGE_COMPLETIONS))])
def test_a_megabyte_completion_stays_fast(completion, answer_type, expected):
    assert extract_final_answer(completion, answer_type, choices=CITIES) == expected
