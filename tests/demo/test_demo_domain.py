"""The bundled demo domain: right answers, really-wrong negatives, reproducible shipped files.

The fee is recomputed here from the question text by an independent implementation of the
rulebook, so a bug in the generator cannot hide behind the generator itself.
"""

import json
import os
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import pytest

from engine.demo import DEMO_DIR, RULEBOOK
from engine.demo.domain import DEFAULT_SEED, DEFAULT_TEST, DEFAULT_TRAIN, generate, write_assets
from engine.method.verifiers import verify

POSITIVE_KINDS = {"gold", "paraphrase"}
NEGATIVE_KINDS = {"wrong_rule", "arithmetic_slip", "skipped_condition", "order_error"}
SHIPPED_FILES = ("problems.jsonl", "routes.jsonl", "rulebook.md")


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def shipped():
    return read_jsonl(DEMO_DIR / "problems.jsonl"), read_jsonl(DEMO_DIR / "routes.jsonl")


# ----------------------------------------------------------------------------- an independent fee


def parse_question(question: str) -> dict:
    """The parcel a question describes, read back from its words."""
    return {
        "zone": re.search(r"zone ([A-D])\b", question).group(1),
        "kg": Fraction(re.search(r"(\d+(?:\.\d+)?) kg", question).group(1)),
        "fragile": "fragile" in question,
        "weekend": re.search(r"\b(Saturday|Sunday)\b", question) is not None,
        "member": "member" in question and not re.search(r"not a member|non-member", question),
    }


def rulebook_fee(parcel: dict) -> tuple[Fraction, set[str]]:
    """Northwind's fee by the rulebook, and which of the conditional rules changed it."""
    fired = set()
    fee = {"A": 5, "B": 7, "C": 10, "D": 14}[parcel["zone"]]
    if parcel["kg"] > 2:
        fee += (parcel["kg"] - 2) * 2
        fired.add("weight")
    if parcel["fragile"]:
        fee += 4
        fired.add("fragile")
    if parcel["weekend"]:
        fee += 3
        fired.add("weekend")
    if fee > 25:
        fee = Fraction(25)
        fired.add("cap")
    if parcel["member"]:
        fee = fee * Fraction(9, 10)
        fired.add("member")
    return Fraction(fee), fired


# ----------------------------------------------------------------------------- tests


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not():
    first, again, other = generate(3, 20, 5), generate(3, 20, 5), generate(4, 20, 5)
    assert first == again
    assert [p.question for p in first.problems] != [p.question for p in other.problems]


def test_shipped_files_are_exactly_what_generate_py_writes(tmp_path):
    subprocess.run([sys.executable, str(DEMO_DIR / "generate.py"), str(tmp_path)], check=True, capture_output=True)
    for name in SHIPPED_FILES:
        assert (tmp_path / name).read_bytes() == (DEMO_DIR / name).read_bytes(), name
    assert sum((DEMO_DIR / name).stat().st_size for name in SHIPPED_FILES) < 2_000_000


def test_write_assets_matches_the_default_generation(tmp_path):
    write_assets(tmp_path, generate(DEFAULT_SEED, DEFAULT_TRAIN, DEFAULT_TEST))
    assert (tmp_path / "problems.jsonl").read_bytes() == (DEMO_DIR / "problems.jsonl").read_bytes()


def test_problems_have_the_import_format_split_counts_and_unique_ids(shipped):
    problems, _ = shipped
    assert all(list(p) == ["id", "question", "answer", "answer_type", "rules", "split"] for p in problems)
    assert Counter(p["split"] for p in problems) == {"train": 240, "test": 60}
    assert len({p["id"] for p in problems}) == len(problems)
    assert len({p["question"] for p in problems}) == len(problems)
    assert {p["answer_type"] for p in problems} == {"number"}
    assert all(p["rules"] == RULEBOOK for p in problems)
    assert (DEMO_DIR / "rulebook.md").read_text(encoding="utf-8") == RULEBOOK


def test_no_test_problem_describes_a_train_parcel(shipped):
    problems, _ = shipped
    parcels = {split: {tuple(parse_question(p["question"]).values()) for p in problems if p["split"] == split}
               for split in ("train", "test")}
    assert not parcels["train"] & parcels["test"]


def test_every_answer_matches_an_independent_reading_of_the_rulebook(shipped):
    problems, _ = shipped
    for p in problems:
        expected, _ = rulebook_fee(parse_question(p["question"]))
        assert Fraction(p["answer"]) == expected, p["id"]
        assert len(p["answer"].partition(".")[2]) <= 2, p["answer"]


def test_each_conditional_rule_fires_in_at_least_15_percent_of_problems(shipped):
    problems, _ = shipped
    fired = Counter(rule for p in problems for rule in rulebook_fee(parse_question(p["question"]))[1])
    for rule in ("weight", "fragile", "weekend", "cap", "member"):
        assert fired[rule] >= 0.15 * len(problems), (rule, fired)
        assert fired[rule] <= 0.85 * len(problems), (rule, fired)  # and it is not always on either


def test_corrupted_step_is_the_first_line_that_differs_from_the_positive_in_the_same_wording(shipped):
    by_problem: dict[str, list[dict]] = {}
    for route in shipped[1]:
        by_problem.setdefault(route["problem_id"], []).append(route)
    for own in by_problem.values():
        numbered = {r["text"].startswith("Step 1:"): r["text"].splitlines()[:-1] for r in own
                    if r["corrupted_step"] is None}  # the gold wording is numbered, the paraphrase is not
        for route in (r for r in own if r["corrupted_step"] is not None):
            lines = route["text"].splitlines()[:-1]
            alike = len(os.path.commonprefix([lines, numbered[lines[0].startswith("Step 1:")]]))
            assert route["corrupted_step"] == alike + 1, route  # a skipped last step: where it should have been


def test_each_problem_has_two_positive_and_three_distinct_negative_routes(shipped):
    problems, routes = shipped
    by_problem = {p["id"]: [] for p in problems}  # test problems too: eval "with routes" shows them
    for route in routes:
        assert list(route) == ["problem_id", "text", "kind", "corrupted_step"]
        assert (route["corrupted_step"] is None) == (route["kind"] in POSITIVE_KINDS), route
        by_problem[route["problem_id"]].append(route)  # KeyError: a route for an unknown problem
    for pid, own in by_problem.items():
        kinds = Counter(r["kind"] for r in own)
        assert kinds["gold"] == 1 and kinds["paraphrase"] == 1, pid
        assert sum(kinds[k] for k in NEGATIVE_KINDS) == 3, pid
        assert len({r["text"] for r in own}) == 5, pid
    negative_kinds = Counter(r["kind"] for r in routes if r["kind"] in NEGATIVE_KINDS)
    assert set(negative_kinds) == NEGATIVE_KINDS and min(negative_kinds.values()) >= 0.05 * len(routes) / 5


def test_gold_route_applies_each_rule_in_order_one_step_a_line(shipped):
    problems, routes = shipped
    answers = {p["id"]: p["answer"] for p in problems}
    for route in (r for r in routes if r["kind"] == "gold"):
        lines = route["text"].splitlines()
        assert [line.split(":")[0] for line in lines] == [f"Step {i}" for i in range(1, 7)] + ["Answer"]
        assert lines[-1] == f"Answer: {answers[route['problem_id']]}"


def test_positive_routes_verify_positive_and_negatives_verify_negative(shipped):
    problems, routes = shipped
    answers = {p["id"]: p["answer"] for p in problems}
    for route in routes:
        verdict = verify(route["text"], answers[route["problem_id"]], "number")
        expected = "positive" if route["kind"] in POSITIVE_KINDS else "negative"
        assert verdict.label == expected, (route["kind"], route["text"], verdict)


def test_asking_for_more_problems_than_distinct_parcels_is_refused():
    from engine.errors import UserError

    with pytest.raises(UserError, match="n_train"):
        generate(1, 5000, 0)
