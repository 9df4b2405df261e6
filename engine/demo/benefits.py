"""Harbor City housing benefit: a second bundled domain, multiple choice, made like Northwind Parcel.

A fictional city's eligibility policy: five crisp rules a base model cannot know, and four
possible decisions, so every problem is a four-option multiple-choice question. The numbers
stay small (whole euros and months, one percentage that gives one of four fixed thresholds)
so that a 270M model can learn it.

Problems are written with ``answer_type: "choice"``, the four ``OPTIONS`` in canonical order as
``choices`` and the gold option's *text* as ``answer``; the importer shuffles the options per
problem and stores the answer as the letter it lands on. Routes therefore end with
``Answer: <option text>``, never a letter: the choice verifier maps an option's text to its
letter under whatever shuffle the project's seed made, so the routes are labelled right in any
project (tests/demo/test_benefits_domain.py imports them end to end). The engine's choice prompt
asks for ``Answer: <letter>``; the verifier accepts either, and a student distilled on these
routes answers with the option's text.

As in ``domain.py``, every route, right or wrong, comes from one interpreter (``_work``) that
applies the rules to a *belief* (the rule values a route takes to be true) in a given *order*,
optionally with a *slip* (a wrong comparison or a miscalculated threshold). The gold route is
the true belief in the rulebook order; each negative changes exactly one thing. A negative
whose decision equals the gold decision is dropped, never shipped. Each route carries its
error ``kind`` and ``corrupted_step``: the 1-based index of the first step line that differs
from the positive route of the same wording (for a skipped step, the place where it should
have been); ``None`` for positives.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

from ..data.problems import Problem
from ..errors import UserError
from ..fsutil import atomic_write_text

from ..project import BENEFITS_DIR  # noqa: E402,F401  (where the shipped files live)
"""The shipped problems, routes and rulebook of this domain (beside ``engine/``, like the demo's)."""

PROGRAM = "Harbor City housing benefit"
MIN_RESIDENCY_MONTHS = 12
INCOME_CAP = {1: 1500, 2: 2000, 3: 2400, 4: 2800}  # by household size; 4 means 4 or more people
SAVINGS_LIMIT = 8000
FULL_PCT = 60
CHILD_AGE_LIMIT = 6  # the supplement is for a child *under* this age

NOT_ELIGIBLE, REDUCED, FULL, FULL_CHILD = OPTIONS = (
    "Not eligible",
    "Reduced benefit",
    "Full benefit",
    "Full benefit with the child supplement",
)
RULE_ORDER = ("residency", "income", "savings", "level", "supplement")
NEGATIVE_KINDS = ("wrong_rule", "arithmetic_slip", "skipped_condition", "order_error")

NEGATIVES_PER_PROBLEM = 3
DEFAULT_SEED, DEFAULT_TRAIN, DEFAULT_TEST = 11, 240, 60
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
INCOME_SPAN = 300  # incomes are drawn within this many EUR of the threshold that decides them
FULL_INCOME_STEPS = INCOME_SPAN // 10 + 1  # distinct incomes (multiples of 10) at or below a threshold
OVER_CAP_SPAN = 200  # an income above its cap is above it by at most this (applicants near the line)

RULEBOOK = f"""# {PROGRAM}: eligibility rules

Amounts are monthly and in EUR. Apply the rules in this order. A household that fails one of
rules 1 to 3 is not eligible, and the check stops there.

1. Residency: the household must have lived in Harbor City for at least {MIN_RESIDENCY_MONTHS} months.
2. Income cap: the monthly net income must be at most the cap for the household's size: \
1 person {INCOME_CAP[1]} EUR, 2 people {INCOME_CAP[2]} EUR, 3 people {INCOME_CAP[3]} EUR, \
4 or more people {INCOME_CAP[4]} EUR.
3. Savings: the savings must be at most {SAVINGS_LIMIT} EUR.
4. Level: a household whose income is at most {FULL_PCT}% of its cap gets the full benefit; \
any other eligible household gets the reduced benefit.
5. Child supplement: a household that gets the full benefit and has a child under \
{CHILD_AGE_LIMIT} also gets the child supplement. The reduced benefit never comes with the supplement.

The decision is one of: {"; ".join(OPTIONS)}.
"""


def cap_for(size: int) -> int:
    return INCOME_CAP[min(size, 4)]


def threshold_for(cap: int, pct: int = FULL_PCT) -> int:
    return cap * pct // 100


@dataclass(frozen=True)
class Household:
    months: int  # in Harbor City
    size: int  # people
    income: int  # monthly net, EUR
    savings: int  # EUR
    child_ages: tuple[int, ...]  # in the order the question lists them

    @property
    def youngest(self) -> int | None:
        return min(self.child_ages) if self.child_ages else None

    def facts(self) -> tuple:
        """What the decision depends on: two households with equal facts are the same problem."""
        young = self.youngest is not None and self.youngest < CHILD_AGE_LIMIT
        return (self.months >= MIN_RESIDENCY_MONTHS, min(self.size, 4), self.income,
                self.savings <= SAVINGS_LIMIT, young)


@dataclass(frozen=True)
class Belief:
    """The rule values a route takes to be true; the gold belief is the rulebook's."""

    min_months: int
    cap: int
    savings_limit: int
    pct: int
    age_limit: int | None  # None: the route ignores the supplement's age condition
    unknown_level_is_full: bool  # how a supplement step placed before the level step reads the level
    failing_excludes: bool = True  # False: a failed condition only lowers the benefit to the reduced one
    low_income_gets_full: bool = True  # False: the two levels of rule 4 swapped

    @classmethod
    def of(cls, household: Household) -> "Belief":
        return cls(MIN_RESIDENCY_MONTHS, cap_for(household.size), SAVINGS_LIMIT, FULL_PCT, CHILD_AGE_LIMIT, True)


@dataclass(frozen=True)
class Route:
    problem_id: str
    text: str
    kind: str  # gold | paraphrase | wrong_rule | arithmetic_slip | skipped_condition | order_error
    corrupted_step: int | None = None  # 1-based; None for the positives


@dataclass
class BenefitsData:
    problems: list[Problem]
    routes: list[Route]


# ----------------------------------------------------------------------------- route writing

# Two wordings of every step: "gold" (numbered, one rule per line) and "terse" (the paraphrase).
_TEXT = {
    "gold": {
        "residency_ok": "Residency: {months} months in Harbor City is at least the {min} months required.",
        "residency_fail": "Residency: {months} months in Harbor City is less than the {min} months required, "
        "so not eligible.",
        "residency_lowers": "Residency: {months} months in Harbor City is less than the {min} months required, "
        "so only the reduced benefit.",
        "income_ok": "Income cap for {people}: {cap} EUR. {income} EUR is at most {cap} EUR.",
        "income_fail": "Income cap for {people}: {cap} EUR. {income} EUR is above {cap} EUR, so not eligible.",
        "income_lowers": "Income cap for {people}: {cap} EUR. {income} EUR is above {cap} EUR, "
        "so only the reduced benefit.",
        "savings_ok": "Savings: {savings} EUR is at most the {limit} EUR limit.",
        "savings_fail": "Savings: {savings} EUR is above the {limit} EUR limit, so not eligible.",
        "savings_lowers": "Savings: {savings} EUR is above the {limit} EUR limit, so only the reduced benefit.",
        "level": "Level: {pct}% of {cap} EUR is {thr} EUR. {income} EUR is {rel} {thr} EUR, so the {level} benefit.",
        "supplement_yes": "Child supplement: the youngest child is {age}, under {lim}, and the benefit is full, "
        "so the supplement is added.",
        "supplement_old": "Child supplement: the youngest child is {age}, not under {lim}, so no supplement.",
        "supplement_none": "Child supplement: there are no children, so no supplement.",
        "supplement_reduced": "Child supplement: it comes only with the full benefit, so no supplement.",
        "supplement_any_child": "Child supplement: the household has children and the benefit is full, "
        "so the supplement is added.",
        "supplement_not_yet": "Child supplement: the youngest child is {age}, under {lim}, but the benefit is "
        "not full, so no supplement.",
        "supplement_early": "Child supplement: the youngest child is {age}, under {lim}, so the supplement is added.",
        "end": "Answer: {option}",
    },
    "terse": {
        "residency_ok": "Lived in Harbor City {months} months, {min} needed: ok.",
        "residency_fail": "Lived in Harbor City {months} months, {min} needed: too short, not eligible.",
        "residency_lowers": "Lived in Harbor City {months} months, {min} needed: too short, reduced benefit only.",
        "income_ok": "Cap for {people}: {cap} EUR; income {income} EUR is within it.",
        "income_fail": "Cap for {people}: {cap} EUR; income {income} EUR is over it, not eligible.",
        "income_lowers": "Cap for {people}: {cap} EUR; income {income} EUR is over it, reduced benefit only.",
        "savings_ok": "Savings {savings} EUR, limit {limit} EUR: ok.",
        "savings_fail": "Savings {savings} EUR, limit {limit} EUR: over, not eligible.",
        "savings_lowers": "Savings {savings} EUR, limit {limit} EUR: over, reduced benefit only.",
        "level": "{pct}% of {cap} is {thr} EUR; {income} EUR is {rel_terse} it: {level} benefit.",
        "supplement_yes": "Youngest child {age}, under {lim}, with the full benefit: supplement added.",
        "supplement_old": "Youngest child {age}, not under {lim}: no supplement.",
        "supplement_none": "No children: no supplement.",
        "supplement_reduced": "Reduced benefit, so no child supplement.",
        "supplement_any_child": "Has children and the full benefit: supplement added.",
        "supplement_not_yet": "Youngest child {age}, under {lim}, but the benefit is not full: no supplement.",
        "supplement_early": "Youngest child {age}, under {lim}: supplement added.",
        "end": "Answer: {option}",
    },
}
_THRESHOLD_SLIPS = (-200, -100, 100, 200)  # "60% of 2400 EUR is 1540 EUR"
# A wrong comparison is a slip only between close numbers ("2030 EUR is at most 2000 EUR"); a
# route that calls 3 months "at least 12" is not a slip anyone makes.
_CLOSE = {"residency": 3, "income": 200, "savings": 500, "level": 100, "supplement": 1}


def people(size: int) -> str:
    if size == 1:
        return "1 person"
    return f"{size} people" + (" (4 or more)" if size > 4 else "")


@dataclass
class _State:
    level: str | None = None  # "full" | "reduced" once the level step has run
    supplement: bool = False
    stopped: bool = False  # a failed condition ended the check (not eligible)
    done: bool = False  # the route has reached its decision and writes no more steps


def _step(rule: str, h: Household, belief: Belief, state: _State, slip: tuple | None) -> tuple[str, dict]:
    """Apply one rule: update ``state`` and return (template key, template fields).

    ``slip`` is ("flip", rule) to write that rule's comparison the wrong way round, or
    ("threshold", delta) to miscalculate the level threshold by ``delta`` EUR.
    """
    flip = slip == ("flip", rule)
    fields = {"months": h.months, "min": belief.min_months, "people": people(h.size), "cap": belief.cap,
              "income": h.income, "savings": h.savings, "limit": belief.savings_limit, "pct": belief.pct,
              "age": h.youngest, "lim": belief.age_limit}
    if rule in ("residency", "income", "savings"):
        ok = {"residency": h.months >= belief.min_months, "income": h.income <= belief.cap,
              "savings": h.savings <= belief.savings_limit}[rule]
        if flip:
            ok = not ok
        if ok:
            return f"{rule}_ok", fields
        state.done = True
        if belief.failing_excludes:
            state.stopped = True
            return f"{rule}_fail", fields
        state.level = "reduced"
        return f"{rule}_lowers", fields
    if rule == "level":
        thr = threshold_for(belief.cap, belief.pct) + (slip[1] if slip and slip[0] == "threshold" else 0)
        low = h.income <= thr
        if flip:
            low = not low
        state.level = "full" if low == belief.low_income_gets_full else "reduced"
        fields.update(thr=thr, level=state.level, rel="at most" if low else "above",
                      rel_terse="within" if low else "over")
        return "level", fields
    if rule == "supplement":
        if state.level == "reduced":
            return "supplement_reduced", fields
        if h.youngest is None:
            return "supplement_none", fields
        if belief.age_limit is None:
            state.supplement = True
            return "supplement_any_child", fields
        young = h.youngest < belief.age_limit
        if flip:
            young = not young
        if not young:
            return "supplement_old", fields
        if state.level == "full":
            state.supplement = True
            return "supplement_yes", fields
        state.supplement = belief.unknown_level_is_full  # the level step has not run yet
        return ("supplement_early" if state.supplement else "supplement_not_yet"), fields
    raise ValueError(f"unknown rule {rule!r}")


def _decision(state: _State) -> str:
    if state.stopped:
        return NOT_ELIGIBLE
    if state.supplement:
        return FULL_CHILD  # the only option with the supplement, even after a reduced level
    return REDUCED if state.level == "reduced" else FULL  # a route that skipped the level assumed full


def _work(h: Household, belief: Belief, order=RULE_ORDER, style: str = "gold",
          slip: tuple | None = None) -> tuple[str, str, list[str]]:
    """Write a route applying ``order``'s rules under ``belief``: (text, decision, step lines)."""
    texts, state, steps = _TEXT[style], _State(), []
    for rule in order:
        key, fields = _step(rule, h, belief, state, slip)
        line = texts[key].format(**fields)
        steps.append(f"Step {len(steps) + 1}: {line}" if style == "gold" else line)
        if state.done:
            break
    option = _decision(state)
    return "\n".join([*steps, texts["end"].format(option=option)]), option, steps


def decision(h: Household) -> str:
    """The true decision: the gold route's."""
    return _work(h, Belief.of(h))[1]


def _first_difference(steps: list[str], gold_steps: list[str]) -> int:
    """1-based index of the first step line that differs from (or is missing against) the gold's."""
    for i, (mine, gold) in enumerate(zip(steps, gold_steps), 1):
        if mine != gold:
            return i
    return min(len(steps), len(gold_steps)) + 1


def _negative_candidates(h: Household) -> dict[str, list[dict]]:
    """Every one-mistake variant of the gold route, by error kind (``_work`` keywords)."""
    truth = Belief.of(h)
    wrong_rule = [{"belief": replace(truth, min_months=m)} for m in (6, 24)]
    wrong_rule += [{"belief": replace(truth, cap=c)} for c in sorted(set(INCOME_CAP.values())) if c != truth.cap]
    wrong_rule += [{"belief": replace(truth, savings_limit=s)} for s in (5000, 10000)]
    wrong_rule += [{"belief": replace(truth, pct=p)} for p in (50, 70)]
    wrong_rule += [{"belief": replace(truth, age_limit=a)} for a in (3, 8)]
    wrong_rule.append({"belief": replace(truth, failing_excludes=False)})  # failing only lowers the benefit
    wrong_rule.append({"belief": replace(truth, low_income_gets_full=False)})  # full and reduced swapped
    slips = [{"slip": ("threshold", d)} for d in _THRESHOLD_SLIPS]
    gaps = {"residency": h.months - MIN_RESIDENCY_MONTHS, "income": h.income - truth.cap,
            "savings": h.savings - SAVINGS_LIMIT, "level": h.income - threshold_for(truth.cap),
            "supplement": None if h.youngest is None else h.youngest - CHILD_AGE_LIMIT}
    slips += [{"slip": ("flip", rule)} for rule in RULE_ORDER
              if gaps[rule] is not None and -_CLOSE[rule] <= gaps[rule] <= _CLOSE[rule]]
    skipped = [{"order": tuple(r for r in RULE_ORDER if r != skip)} for skip in RULE_ORDER]
    skipped.append({"belief": replace(truth, age_limit=None)})  # the supplement's age condition
    early_supplement = ("residency", "income", "savings", "supplement", "level")
    order_errors = [
        {"order": early_supplement, "belief": replace(truth, unknown_level_is_full=False)},  # not full "yet"
        {"order": early_supplement, "belief": replace(truth, unknown_level_is_full=True)},  # kept on a reduced level
    ]
    return {"wrong_rule": wrong_rule, "arithmetic_slip": slips, "skipped_condition": skipped,
            "order_error": order_errors}


def _negatives(h: Household, rng: random.Random) -> list[tuple[str, str, int]]:
    """Pick NEGATIVES_PER_PROBLEM wrong routes as (kind, text, corrupted step), distinct kinds where possible.

    A variant counts only if its decision differs from the gold decision (a skipped condition
    the household meets anyway, or a wrong cap it is under either way, is no mistake at all).
    """
    gold = decision(h)
    gold_steps = {style: _work(h, Belief.of(h), style=style)[2] for style in _TEXT}
    pools: dict[str, list[tuple[str, int]]] = {}
    for kind, variants in _negative_candidates(h).items():
        found: list[tuple[str, int]] = []
        for variant in variants:
            variant = {"belief": Belief.of(h), **variant}
            style = rng.choice(("gold", "terse"))
            text, option, steps = _work(h, style=style, **variant)
            if option != gold and text not in (t for t, _ in found):
                found.append((text, _first_difference(steps, gold_steps[style])))
        rng.shuffle(found)
        if found:
            pools[kind] = found
    kinds = list(pools)
    rng.shuffle(kinds)
    picked: list[tuple[str, str, int]] = []
    while len(picked) < NEGATIVES_PER_PROBLEM and any(pools.values()):
        for kind in kinds:
            if pools[kind] and len(picked) < NEGATIVES_PER_PROBLEM:
                picked.append((kind, *pools[kind].pop()))
    return picked


# ----------------------------------------------------------------------------- problems

_NUMBER_WORDS = {1: "one", 2: "two"}
_QUESTIONS = (
    "{Who}, with {kids}, has lived in Harbor City for {months} months. Its monthly net income is {income} EUR "
    "and its savings are {savings} EUR. What does it get from the Harbor City housing benefit?",
    "{Who} applies for the Harbor City housing benefit: {months} months in the city, {income} EUR net a month, "
    "{savings} EUR in savings, {kids}. What is the decision?",
    "What is the Harbor City housing benefit decision for {who} with {kids} that moved to the city {months} "
    "months ago, earns {income} EUR net a month and has {savings} EUR saved?",
)


def _kids_text(ages: tuple[int, ...]) -> str:
    if not ages:
        return "no children"
    if len(ages) == 1:
        return f"one child aged {ages[0]}"
    return f"{_NUMBER_WORDS.get(len(ages), len(ages))} children aged " + ", ".join(map(str, ages[:-1])) + \
        f" and {ages[-1]}"


def _question(h: Household, rng: random.Random) -> str:
    who = "a one-person household" if h.size == 1 else f"a household of {h.size}"
    return rng.choice(_QUESTIONS).format(who=who, Who=who[0].upper() + who[1:], kids=_kids_text(h.child_ages),
                                         months=h.months, income=h.income, savings=h.savings)


def _pick(rng: random.Random, values: range, favoured: tuple = ()) -> int:
    """One of ``values``, with the ``favoured`` ones (boundary cases) drawn more often."""
    return rng.choice(favoured) if favoured and rng.random() < 0.25 else rng.choice(values)


def _random_household(rng: random.Random, target: str, reason: str) -> Household:
    """A household whose decision is ``target`` (``reason``: the condition a not-eligible one fails)."""
    size = rng.choice(HOUSEHOLD_SIZES[1:] if target == FULL_CHILD else HOUSEHOLD_SIZES)
    n_kids = 0 if size == 1 else rng.choice(range(min(2, size - 1) + 1))
    if target == FULL_CHILD:
        n_kids = max(n_kids, 1)
    young = {FULL_CHILD: True, FULL: False}.get(target, rng.random() < 0.5) and n_kids > 0
    ages = []
    for i in range(n_kids):
        if young and i == 0:
            ages.append(_pick(rng, range(0, CHILD_AGE_LIMIT), favoured=(CHILD_AGE_LIMIT - 1,)))
        elif young:
            ages.append(rng.choice(range(0, 15)))
        else:
            ages.append(_pick(rng, range(CHILD_AGE_LIMIT, 15), favoured=(CHILD_AGE_LIMIT, CHILD_AGE_LIMIT + 1)))
    rng.shuffle(ages)
    fails = reason if target == NOT_ELIGIBLE else None
    if fails == "residency":
        months = _pick(rng, range(6, MIN_RESIDENCY_MONTHS), favoured=(10, 11))
    else:
        months = _pick(rng, range(MIN_RESIDENCY_MONTHS, 73), favoured=(12, 13, 14))
    cap = cap_for(size)
    thr = threshold_for(cap)
    if target in (FULL, FULL_CHILD):
        income = _pick(rng, range(thr - INCOME_SPAN, thr + 1, 10), favoured=(thr, thr - 10))
    elif target == REDUCED:
        income = _pick(rng, range(thr + 10, cap + 1, 10), favoured=(cap, thr + 10))
    elif fails == "income":
        income = _pick(rng, range(cap + 10, cap + OVER_CAP_SPAN + 1, 10), favoured=(cap + 10, cap + 50))
    else:
        income = rng.choice(range(thr - INCOME_SPAN, cap + 1, 10))
    if fails == "savings":
        savings = _pick(rng, range(SAVINGS_LIMIT + 100, 10001, 100), favoured=(8100, 8200, 8500))
    else:
        savings = _pick(rng, range(0, SAVINGS_LIMIT + 1, 100), favoured=(8000, 7900, 7500))
    return Household(months, size, income, savings, tuple(ages))


def max_problems() -> int:
    """At most this many problems: four times the smallest decision class.

    Decisions come in equal shares; the rarest is the full benefit with the supplement (a
    household of 2 or more: three caps, the incomes at or below each threshold).
    """
    return 4 * (len(INCOME_CAP) - 1) * FULL_INCOME_STEPS


def generate(seed: int = DEFAULT_SEED, n_train: int = DEFAULT_TRAIN, n_test: int = DEFAULT_TEST) -> BenefitsData:
    """Problems (train first, then test), each with 2 positive + 3 negative routes.

    The four decisions come in equal shares (each block of four problems has one of each, in a
    random order), and a not-eligible household fails residency, income or savings in turn. A
    household that cannot be got wrong in three ways (one far from every line) is drawn again.
    Deterministic for a seed. No two problems share the facts the decision depends on, so no
    test problem is a reworded train problem.
    """
    if n_train < 0 or n_test < 0 or n_train + n_test > max_problems():
        raise UserError(f"benefits generator: n_train={n_train}, n_test={n_test} must be >= 0 "
                        f"and sum to at most {max_problems()}")
    rng = random.Random(seed)
    seen: set[tuple] = set()
    problems: list[Problem] = []
    routes: list[Route] = []
    targets: list[str] = []
    reasons: list[str] = []
    for _attempt in range(1000 * (n_train + n_test + 1)):  # bounded: the classes are finite
        if len(problems) == n_train + n_test:
            break
        if not targets:
            targets = rng.sample(OPTIONS, len(OPTIONS))
        if not reasons:
            reasons = rng.sample(RULE_ORDER[:3], 3)
        target = targets[-1]
        h = _random_household(rng, target, reasons[-1])
        if h.facts() in seen:
            continue
        if decision(h) != target:  # kept under python -O, unlike an assert
            raise RuntimeError(f"benefits generator: a household drawn for {target!r} decides {decision(h)!r}: {h}")
        seen.add(h.facts())
        negatives = _negatives(h, rng)
        if len(negatives) < NEGATIVES_PER_PROBLEM:
            continue  # too easy to get wrong in only one or two ways (a few far-from-every-line households)
        targets.pop()
        if target == NOT_ELIGIBLE:
            reasons.pop()
        pid = f"harbor-{len(problems) + 1:04d}"
        split = "train" if len(problems) < n_train else "test"
        gold_text, gold, _ = _work(h, Belief.of(h))
        problems.append(Problem(pid, _question(h, rng), gold, "choice", choices=list(OPTIONS), rules=RULEBOOK,
                                split=split))
        routes.append(Route(pid, gold_text, "gold"))
        routes.append(Route(pid, _work(h, Belief.of(h), style="terse")[0], "paraphrase"))
        routes += [Route(pid, text, kind, step) for kind, text, step in negatives]
    else:
        raise UserError(f"benefits generator: found only {len(problems)} distinct problems for "
                        f"n_train={n_train}, n_test={n_test}")
    return BenefitsData(problems, routes)


# ----------------------------------------------------------------------------- files


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_assets(folder: str | Path, data: BenefitsData) -> None:
    """Write problems.jsonl, routes.jsonl and rulebook.md in the format `realm-engine import` reads."""
    folder = Path(folder)
    keys = ("id", "question", "answer", "answer_type", "choices", "rules", "split")
    atomic_write_text(folder / "problems.jsonl", _jsonl([{k: getattr(p, k) for k in keys} for p in data.problems]))
    route_rows = [{"problem_id": r.problem_id, "text": r.text, "kind": r.kind, "corrupted_step": r.corrupted_step}
                  for r in data.routes]
    atomic_write_text(folder / "routes.jsonl", _jsonl(route_rows))
    atomic_write_text(folder / "rulebook.md", RULEBOOK)
