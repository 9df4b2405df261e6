"""The bundled multiple-choice domain (Harbor City housing benefit): right answers, negatives that
are wrong for the stated reason at the stated step, reproducible shipped files, and an import
into a real project that labels every route as its kind says.

The decision is recomputed here from the question text by an independent implementation of the
rulebook, and every route is audited line by line by an independent reader of its steps, so a
bug in the generator cannot hide behind the generator itself.
"""

import json
import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from engine.demo.benefits import (BENEFITS_DIR, DEFAULT_SEED, DEFAULT_TEST, DEFAULT_TRAIN, RULEBOOK, generate,
                                  write_assets)
from engine.errors import UserError
from engine.method.verifiers import verify

OPTIONS = ["Not eligible", "Reduced benefit", "Full benefit", "Full benefit with the child supplement"]
NE, RB, FB, FBS = OPTIONS
POSITIVE_KINDS = {"gold", "paraphrase"}
NEGATIVE_KINDS = {"wrong_rule", "arithmetic_slip", "skipped_condition", "order_error"}
SHIPPED_FILES = ("problems.jsonl", "routes.jsonl", "rulebook.md")
RULES = ("residency", "income", "savings", "level", "supplement")
CAPS = {1: 1500, 2: 2000, 3: 2400, 4: 2800}
REPO = Path(__file__).resolve().parents[2]
GEMMA = Path(os.path.expanduser("~/.cache/realm-studio/models/gemma3-270m"))


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def shipped():
    return read_jsonl(BENEFITS_DIR / "problems.jsonl"), read_jsonl(BENEFITS_DIR / "routes.jsonl")


@pytest.fixture(scope="module")
def facts_by_id(shipped):
    return {p["id"]: parse_question(p["question"]) for p in shipped[0]}


# ----------------------------------------------------------------------------- an independent decision


def parse_question(question: str) -> dict:
    """The household a question describes, read back from its words."""
    size = re.search(r"household of (\d+)", question)
    assert size or "one-person household" in question, question
    ages = re.search(r"aged (\d+)(?:, (\d+))*(?: and (\d+))?", question)
    income = re.search(r"net income is (\d+) EUR|(\d+) EUR net", question)
    savings = re.search(r"savings are (\d+) EUR|(\d+) EUR in savings|(\d+) EUR saved", question)
    return {
        "size": int(size.group(1)) if size else 1,
        "months": int(re.search(r"(\d+) months", question).group(1)),
        "income": int(next(g for g in income.groups() if g)),
        "savings": int(next(g for g in savings.groups() if g)),
        "ages": sorted(int(a) for a in re.findall(r"\d+", ages.group(0))) if ages else [],
        "no_children": "no children" in question,
    }


def cap(household: dict) -> int:
    return CAPS[min(household["size"], 4)]


def rulebook_decision(h: dict) -> tuple[str, str | None]:
    """The Harbor City decision by the rulebook, and which condition (if any) excluded the household."""
    if h["months"] < 12:
        return NE, "residency"
    if h["income"] > cap(h):
        return NE, "income"
    if h["savings"] > 8000:
        return NE, "savings"
    if h["income"] * 100 > cap(h) * 60:
        return RB, None
    return (FBS if h["ages"] and h["ages"][0] < 6 else FB), None


def facts_key(h: dict) -> tuple:
    return (h["months"] >= 12, min(h["size"], 4), h["income"], h["savings"] <= 8000,
            bool(h["ages"]) and h["ages"][0] < 6)


# ----------------------------------------------------------------------------- an independent route reader

_STEP = re.compile(r"^Step (\d+): ")
_PATTERNS = {
    "residency": re.compile(r"^(?:Residency: (\d+) months in Harbor City is (at least|less than) the (\d+) months "
                            r"required|Lived in Harbor City (\d+) months, (\d+) needed: (ok|too short))"),
    "income": re.compile(r"^(?:Income cap|Cap) for (\d+) (?:person|people)(?: \(4 or more\))?: (\d+) EUR[.;] "
                         r"(?:income )?(\d+) EUR is (at most|above|within|over)"),
    "savings": re.compile(r"^Savings:? (\d+) EUR(?: is (at most|above) the (\d+) EUR limit|, limit (\d+) EUR: "
                          r"(ok|over))"),
    "level": re.compile(r"^(?:Level: )?(\d+)% of (\d+)(?: EUR)? is (\d+) EUR[.;] (\d+) EUR is "
                        r"(at most|above|within|over)(?: (\d+) EUR| it)[,:] (?:so the )?(full|reduced) benefit\.$"),
    "supplement": re.compile(r"supplement"),
}


def _rule_of(line: str) -> str:
    for rule in ("level", "income", "savings", "residency", "supplement"):  # "supplement" last: the widest
        if _PATTERNS[rule].search(line):
            return rule
    raise AssertionError(f"unreadable step: {line!r}")


def audit(text: str, h: dict) -> tuple[str, str, tuple[str, int] | None]:
    """Read a route against the household: (its answer, the decision its own steps reach, its first
    mistake as (kind, 1-based step) or None). Facts are never misread by design, so a misread fact
    fails the assertion here rather than being classified."""
    *steps, answer_line = text.splitlines()
    assert answer_line.startswith("Answer: "), text
    if steps and _STEP.match(steps[0]):
        assert [int(_STEP.match(s).group(1)) for s in steps] == list(range(1, len(steps) + 1)), text
        steps = [_STEP.sub("", s) for s in steps]
    rules = [_rule_of(s) for s in steps]
    errors: list[tuple[str, int]] = []
    seen: list[str] = []
    level = None  # "full" | "reduced" once a level line (or a lowering) has said so
    supplement = excluded = stopped = False
    for i, (line, rule) in enumerate(zip(steps, rules), 1):
        expected = next(r for r in RULES if r not in seen)
        if rule != expected:
            errors.append(("order_error" if expected in rules[i:] else "skipped_condition", i))
        seen.append(rule)
        m = _PATTERNS[rule].search(line)
        if rule in ("residency", "income", "savings"):
            if rule == "residency":
                value, limit, ok = int(m.group(1) or m.group(4)), int(m.group(3) or m.group(5)), \
                    (m.group(2) or m.group(6)) in ("at least", "ok")
                assert value == h["months"], line
                right_limit, holds = 12, value >= limit
            elif rule == "income":
                size, limit, value = int(m.group(1)), int(m.group(2)), int(m.group(3))
                ok = m.group(4) in ("at most", "within")
                assert (size, value) == (h["size"], h["income"]), line
                right_limit, holds = cap(h), value <= limit
            else:
                value, limit, ok = int(m.group(1)), int(m.group(3) or m.group(4)), (m.group(2) or m.group(5)) in (
                    "at most", "ok")
                assert value == h["savings"], line
                right_limit, holds = 8000, value <= limit
            if limit != right_limit:
                errors.append(("wrong_rule", i))
            if ok != holds:
                errors.append(("arithmetic_slip", i))
            if not ok:
                assert i == len(steps), "a failed condition ends the route"
                stopped = True
                if "reduced benefit" in line:
                    errors.append(("wrong_rule", i))  # a failed condition only lowering the benefit
                    level = "reduced"
                else:
                    assert line.endswith("not eligible."), line
                    excluded = True
        elif rule == "level":
            pct, line_cap, thr, income, rel, thr_again, said = m.groups()
            pct, line_cap, thr, income = int(pct), int(line_cap), int(thr), int(income)
            assert income == h["income"] and thr_again in (None, str(thr)), line
            if pct != 60 or line_cap != cap(h):
                errors.append(("wrong_rule", i))
            if thr * 100 != line_cap * pct:
                errors.append(("arithmetic_slip", i))
            low = rel in ("at most", "within")
            if low != (income <= thr):
                errors.append(("arithmetic_slip", i))
            if said != ("full" if low else "reduced"):
                errors.append(("wrong_rule", i))  # the two levels swapped
            level = said
        else:  # the supplement
            added = "supplement added" in line or "supplement is added" in line
            age = re.search(r"youngest child (?:is )?(\d+), (not )?under (\d+)", line, re.IGNORECASE)
            if "only with the full benefit" in line or line.startswith("Reduced benefit"):
                assert level == "reduced" and not added, line
            elif "no children" in line.lower():
                assert not h["ages"] and h["no_children"] and not added, line
            elif "has children" in line.lower():
                assert h["ages"] and added and level == "full", line
                errors.append(("skipped_condition", i))  # the age condition left out
            else:
                young, under, limit = int(age.group(1)), age.group(2) is None, int(age.group(3))
                assert young == h["ages"][0], line
                if limit != 6:
                    errors.append(("wrong_rule", i))
                if under != (young < limit):
                    errors.append(("arithmetic_slip", i))
                if not under:
                    assert not added, line
                elif level == "full":
                    assert added and "full" in line, line
                else:  # before the level step: the order error already flagged says why
                    assert level is None, line
            supplement = added
    if not stopped and any(r not in seen for r in RULES):
        errors.append(("skipped_condition", len(steps) + 1))  # a rule left out at the end
    own = NE if excluded else FBS if supplement else RB if level == "reduced" else FB
    first = min(errors, key=lambda e: e[1]) if errors else None
    return answer_line.removeprefix("Answer: "), own, first


# ----------------------------------------------------------------------------- the data


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not():
    first, again, other = generate(3, 20, 5), generate(3, 20, 5), generate(4, 20, 5)
    assert first == again
    assert [p.question for p in first.problems] != [p.question for p in other.problems]


def test_shipped_files_are_exactly_what_generate_py_writes(tmp_path):
    subprocess.run([sys.executable, str(BENEFITS_DIR / "generate.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for name in SHIPPED_FILES:
        assert (tmp_path / name).read_bytes() == (BENEFITS_DIR / name).read_bytes(), name
    assert sum((BENEFITS_DIR / name).stat().st_size for name in SHIPPED_FILES) < 2_000_000


def test_write_assets_matches_the_default_generation(tmp_path):
    write_assets(tmp_path, generate(DEFAULT_SEED, DEFAULT_TRAIN, DEFAULT_TEST))
    for name in SHIPPED_FILES:
        assert (tmp_path / name).read_bytes() == (BENEFITS_DIR / name).read_bytes(), name


def test_problems_have_the_import_format_split_counts_and_unique_ids(shipped):
    problems, _ = shipped
    assert all(list(p) == ["id", "question", "answer", "answer_type", "choices", "rules", "split"] for p in problems)
    assert Counter(p["split"] for p in problems) == {"train": 240, "test": 60}
    assert len({p["id"] for p in problems}) == len(problems)
    assert len({p["question"] for p in problems}) == len(problems)
    assert {p["answer_type"] for p in problems} == {"choice"}
    assert all(p["choices"] == OPTIONS and p["answer"] in OPTIONS for p in problems)
    assert all(p["rules"] == RULEBOOK for p in problems)
    assert (BENEFITS_DIR / "rulebook.md").read_text(encoding="utf-8") == RULEBOOK


def test_questions_come_in_three_wordings(shipped):
    wordings = Counter(next(i for i, mark in enumerate((" has lived in Harbor City ", " applies for ", "What is "))
                            if mark in p["question"]) for p in shipped[0])
    assert len(wordings) == 3 and min(wordings.values()) >= 0.2 * 300, wordings


def test_no_test_problem_describes_a_train_household_nor_two_problems_one(shipped, facts_by_id):
    problems, _ = shipped
    keys = [facts_key(facts_by_id[p["id"]]) for p in problems]
    assert len(set(keys)) == len(keys)
    by_split = {s: {facts_key(facts_by_id[p["id"]]) for p in problems if p["split"] == s} for s in ("train", "test")}
    assert not by_split["train"] & by_split["test"]


def test_every_answer_matches_an_independent_reading_of_the_rulebook(shipped, facts_by_id):
    for p in shipped[0]:
        assert p["answer"] == rulebook_decision(facts_by_id[p["id"]])[0], p["id"]


def test_decisions_are_balanced_and_every_condition_decides_some_problems(shipped, facts_by_id):
    problems, _ = shipped
    for split, share in (("train", 0.40), ("test", 0.40)):
        counts = Counter(p["answer"] for p in problems if p["split"] == split)
        total = sum(counts.values())
        assert set(counts) == set(OPTIONS) and max(counts.values()) <= share * total, (split, counts)
        assert min(counts.values()) >= 0.15 * total, (split, counts)
    reasons = Counter(rulebook_decision(facts_by_id[p["id"]])[1] for p in problems)
    for rule in ("residency", "income", "savings"):
        assert reasons[rule] >= 0.05 * len(problems), reasons
    sizes = Counter(min(facts_by_id[p["id"]]["size"], 5) for p in problems)
    assert all(sizes[s] >= 0.05 * len(problems) for s in (1, 2, 3, 4, 5)), sizes  # 5 stands for "5 or more"
    # a child under 6 is not a give-away: it also comes with reduced and not-eligible decisions
    young = Counter(p["answer"] for p in problems if facts_key(facts_by_id[p["id"]])[4])
    assert young[RB] >= 20 and young[NE] >= 20 and young[FB] == 0


def test_each_problem_has_two_positive_and_three_negative_routes(shipped):
    problems, routes = shipped
    by_problem = {p["id"]: [] for p in problems}  # test problems too: eval "with routes" shows them
    for route in routes:
        assert list(route) == ["problem_id", "text", "kind", "corrupted_step"]
        assert (route["corrupted_step"] is None) == (route["kind"] in POSITIVE_KINDS), route
        by_problem[route["problem_id"]].append(route)  # KeyError: a route for an unknown problem
    distinct_kinds = Counter()
    for pid, own in by_problem.items():
        kinds = Counter(r["kind"] for r in own)
        assert kinds["gold"] == 1 and kinds["paraphrase"] == 1, pid
        assert sum(kinds[k] for k in NEGATIVE_KINDS) == 3, pid
        assert len({r["text"] for r in own}) == 5, pid
        distinct_kinds[len(set(kinds) & NEGATIVE_KINDS)] += 1
    assert distinct_kinds[3] >= 0.6 * len(problems) and distinct_kinds[1] <= 0.02 * len(problems), distinct_kinds
    negative_kinds = Counter(r["kind"] for r in routes if r["kind"] in NEGATIVE_KINDS)
    assert set(negative_kinds) == NEGATIVE_KINDS and min(negative_kinds.values()) >= 0.05 * len(routes) / 5


def test_gold_route_applies_each_rule_in_order_one_step_a_line_and_stops_at_a_failed_condition(shipped,
                                                                                                 facts_by_id):
    problems, routes = shipped
    answers = {p["id"]: p["answer"] for p in problems}
    for route in (r for r in routes if r["kind"] == "gold"):
        lines = route["text"].splitlines()
        decision, reason = rulebook_decision(facts_by_id[route["problem_id"]])
        n_steps = RULES.index(reason) + 1 if reason else 5
        assert [line.split(":")[0] for line in lines] == [f"Step {i}" for i in range(1, n_steps + 1)] + ["Answer"]
        assert lines[-1] == f"Answer: {answers[route['problem_id']]}" == f"Answer: {decision}"


def test_positive_routes_verify_positive_and_negatives_verify_negative(shipped):
    problems, routes = shipped
    answers = {p["id"]: p["answer"] for p in problems}
    for route in routes:
        verdict = verify(route["text"], answers[route["problem_id"]], "choice", choices=OPTIONS)
        expected = "positive" if route["kind"] in POSITIVE_KINDS else "negative"
        assert verdict.label == expected, (route["kind"], route["text"], verdict)


def test_an_independent_reading_finds_each_route_right_or_wrong_for_its_stated_reason(shipped, facts_by_id):
    problems, routes = shipped
    answers = {p["id"]: p["answer"] for p in problems}
    for route in routes:
        household = facts_by_id[route["problem_id"]]
        said, own, first_error = audit(route["text"], household)
        assert said == own, ("the answer does not follow from the route's own steps", route)
        if route["kind"] in POSITIVE_KINDS:
            assert first_error is None and said == answers[route["problem_id"]], route
        else:
            assert said != answers[route["problem_id"]], route
            assert first_error == (route["kind"], route["corrupted_step"]), (first_error, route)


def test_corrupted_step_is_the_first_line_that_differs_from_the_positive_in_the_same_wording(shipped):
    _, routes = shipped
    positives = {(r["problem_id"], r["kind"]): r["text"].splitlines()[:-1] for r in routes
                 if r["kind"] in POSITIVE_KINDS}
    for route in (r for r in routes if r["kind"] in NEGATIVE_KINDS):
        steps = route["text"].splitlines()[:-1]
        wording = "gold" if steps[0].startswith("Step 1:") else "paraphrase"
        right = positives[(route["problem_id"], wording)]
        first = next((i for i, (a, b) in enumerate(zip(steps, right), 1) if a != b),
                     min(len(steps), len(right)) + 1)
        assert route["corrupted_step"] == first, route
        assert steps[:first - 1] == right[:first - 1]


def test_the_negatives_cover_every_rule_and_both_wordings(shipped):
    _, routes = shipped
    negatives = [r for r in routes if r["kind"] in NEGATIVE_KINDS]
    steps = Counter(r["corrupted_step"] for r in negatives)
    assert all(steps[i] >= 10 for i in range(1, 6)), steps
    wordings = Counter(r["text"].startswith("Step 1:") for r in negatives)
    assert min(wordings.values()) >= 0.3 * len(negatives), wordings


def test_asking_for_more_problems_than_distinct_households_is_refused():
    with pytest.raises(UserError, match="n_train"):
        generate(1, 5000, 0)


# ----------------------------------------------------------------------------- end to end


def _engine(*args):
    proc = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def test_imported_into_a_project_every_route_is_labelled_as_its_kind_and_gold_letters_are_balanced(
        tmp_path, shipped):
    from engine.config import load_config
    from engine.data.problems import read_problems
    from engine.project import problems_path
    from engine.routes.generate import read_routes

    project = tmp_path / "benefits"
    _engine("init", project)
    _engine("import", project, BENEFITS_DIR / "problems.jsonl")
    _engine("routes", project, "--source", f"file:{BENEFITS_DIR / 'routes.jsonl'}")

    problems = {p.id: p for p in read_problems(problems_path(project))}
    assert len(problems) == 300 and Counter(p.split for p in problems.values()) == {"train": 240, "test": 60}
    letters = Counter()
    for problem in problems.values():
        assert problem.answer_type == "choice" and sorted(problem.choices) == sorted(OPTIONS)
        assert problem.choices[ord(problem.answer) - ord("A")] == rulebook_decision(parse_question(problem.question))[0]
        letters[problem.answer] += 1
    assert set(letters) == set("ABCD") and all(0.15 * 300 <= n <= 0.35 * 300 for n in letters.values()), letters
    assert load_config(project).project.seed == 0  # the shuffle these letters come from

    kinds = {}
    for route in shipped[1]:
        kinds.setdefault(route["problem_id"], []).append(route["kind"])
    imported = read_routes(project)
    assert len(imported) == 1500
    labels = Counter()
    for route in imported:
        kind = kinds[route.problem_id][int(route.id.rsplit("~", 1)[1])]
        expected = "positive" if kind in POSITIVE_KINDS else "negative"
        assert route.label == expected, (kind, route.text, route.final_answer, problems[route.problem_id].answer)
        assert route.final_answer in "ABCD"
        labels[route.label] += 1
    assert labels == {"positive": 600, "negative": 900}  # and 0 unparsed


@pytest.mark.skipif(not (GEMMA / "tokenizer.json").exists(), reason="the default model is not converted here")
def test_routes_fit_the_generation_budgets_in_gemma_tokens(shipped):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(GEMMA))
    lengths = {}
    for route in shipped[1]:
        lengths.setdefault(route["kind"], []).append(len(tokenizer(route["text"], add_special_tokens=False).input_ids))
    gold = sorted(lengths["gold"])
    assert statistics.median(gold) <= 170 and gold[int(0.95 * len(gold))] <= 190 and gold[-1] <= 200, gold[-5:]
    assert max(max(v) for v in lengths.values()) <= 200
    assert statistics.median(lengths["paraphrase"]) < statistics.median(gold)  # the terse wording is terser
