"""Northwind Parcel: the bundled demo domain, its rulebook as data and a seeded generator.

A fictional carrier's shipping-fee policy: six crisp rules a base model cannot know, so a
gain after training is the model learning them. The arithmetic stays small (integers, one
decimal after the member discount) so that a 270M model can learn it.

Every route, right or wrong, comes from one interpreter (``_work``) that applies the rules to a
*belief* about the parcel in a given *order*, optionally with an arithmetic *slip*. The gold
route is the true belief in the rulebook order; each negative changes exactly one of the three
(a wrong rule, a skipped condition, a swapped order, a slip), so negatives read like the
mistakes a model makes and are wrong for a nameable reason. A negative whose final fee happens
to equal the gold fee is dropped, never shipped. As in ``benefits.py``, each route carries its
error ``kind`` and ``corrupted_step``: the 1-based index of the first step line that differs
from the positive route of the same wording (for a skipped step, the place where it should
have been); ``None`` for positives.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ..data.problems import Problem
from ..errors import UserError
from ..fsutil import atomic_write_text

CARRIER = "Northwind Parcel"
ZONE_BASE_FEE = {"A": Decimal(5), "B": Decimal(7), "C": Decimal(10), "D": Decimal(14)}
FREE_KG = Decimal(2)
RATE_PER_KG = Decimal(2)
FRAGILE_SURCHARGE = Decimal(4)
WEEKEND_SURCHARGE = Decimal(3)
FEE_CAP = Decimal(25)
MEMBER_DISCOUNT_PCT = Decimal(10)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKEND_DAYS = ("Saturday", "Sunday")
WEIGHTS_KG = tuple(Decimal(half) / 2 for half in range(1, 23))  # 0.5 … 11 kg
RULE_ORDER = ("base", "weight", "fragile", "weekend", "cap", "member")

NEGATIVES_PER_PROBLEM = 3
DEFAULT_SEED, DEFAULT_TRAIN, DEFAULT_TEST = 7, 240, 60


def money(x: Decimal) -> str:
    """A plain number with no trailing zeros ("17", "15.3", "2.5"): what the model should write."""
    text = f"{x.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"
    return text.rstrip("0").rstrip(".")


RULEBOOK = f"""# {CARRIER}: shipping fee rules

Fees are in EUR. Apply the rules in this order. The final fee is rounded to the cent.

1. Base fee by zone: zone A {money(ZONE_BASE_FEE["A"])} EUR, zone B {money(ZONE_BASE_FEE["B"])} EUR, \
zone C {money(ZONE_BASE_FEE["C"])} EUR, zone D {money(ZONE_BASE_FEE["D"])} EUR.
2. Weight: the first {money(FREE_KG)} kg are included. Each kg above {money(FREE_KG)} kg costs \
{money(RATE_PER_KG)} EUR (a half kg costs half as much).
3. Fragile: a parcel marked fragile costs {money(FRAGILE_SURCHARGE)} EUR more.
4. Weekend: a parcel posted on a Saturday or a Sunday costs {money(WEEKEND_SURCHARGE)} EUR more.
5. Cap: after rules 1 to 4, a fee above {money(FEE_CAP)} EUR becomes {money(FEE_CAP)} EUR.
6. Member discount: members get {money(MEMBER_DISCOUNT_PCT)}% off, applied last (after the cap).
"""


@dataclass(frozen=True)
class Parcel:
    zone: str
    weight_kg: Decimal
    fragile: bool
    day: str
    member: bool


@dataclass(frozen=True)
class Belief:
    """What a route takes to be true; the gold belief is the rulebook applied to the parcel."""

    base_fee: Decimal
    free_kg: Decimal
    rate_per_kg: Decimal
    fragile: bool
    weekend: bool
    member: bool
    discount_pct: Decimal

    @classmethod
    def of(cls, parcel: Parcel) -> "Belief":
        return cls(
            base_fee=ZONE_BASE_FEE[parcel.zone],
            free_kg=FREE_KG,
            rate_per_kg=RATE_PER_KG,
            fragile=parcel.fragile,
            weekend=parcel.day in WEEKEND_DAYS,
            member=parcel.member,
            discount_pct=MEMBER_DISCOUNT_PCT,
        )


@dataclass(frozen=True)
class Route:
    problem_id: str
    text: str
    kind: str  # gold | paraphrase | wrong_rule | arithmetic_slip | skipped_condition | order_error
    corrupted_step: int | None = None  # 1-based; None for the positives


@dataclass
class DemoData:
    problems: list[Problem]
    routes: list[Route]


# ----------------------------------------------------------------------------- route writing

# Two wordings of every step: "gold" (numbered, one rule per line) and "terse" (the paraphrase).
_TEXT = {
    "gold": {
        "base": "Zone {zone} has a base fee of {base} EUR. Running total: {new} EUR.",
        "weight": "The parcel weighs {kg} kg; {extra} kg is above the free {free} kg, at {rate} EUR per kg "
        "that adds {add} EUR: {old} + {add} = {new} EUR.",
        "weight_all": "The parcel weighs {kg} kg; at {rate} EUR per kg that adds {add} EUR: {old} + {add} = {new} EUR.",
        "weight_none": "The parcel weighs {kg} kg, within the free {free} kg: no weight charge. "
        "Running total: {new} EUR.",
        "fragile": "The parcel is fragile: add {add} EUR: {old} + {add} = {new} EUR.",
        "fragile_none": "The parcel is not fragile: no surcharge. Running total: {new} EUR.",
        "weekend": "{day} is a weekend day: add {add} EUR: {old} + {add} = {new} EUR.",
        "weekend_none": "{day} is a weekday: no weekend surcharge. Running total: {new} EUR.",
        "cap": "{old} EUR is above the {cap} EUR cap, so the fee becomes {new} EUR.",
        "cap_none": "{old} EUR is not above the {cap} EUR cap: it stays {new} EUR.",
        "member": "The sender is a member: {pct}% of {old} is {add} EUR, so {old} - {add} = {new} EUR.",
        "member_none": "The sender is not a member: no discount. Running total: {new} EUR.",
        "end": "Answer: {new}",
    },
    "terse": {
        "base": "Base fee for zone {zone}: {base} EUR.",
        "weight": "Weight: {kg} kg - {free} kg free = {extra} kg, times {rate} EUR = {add} EUR; "
        "{old} + {add} = {new} EUR.",
        "weight_all": "Weight: {kg} kg times {rate} EUR = {add} EUR; {old} + {add} = {new} EUR.",
        "weight_none": "Weight: {kg} kg is covered by the {free} kg included, nothing to add.",
        "fragile": "Fragile surcharge: {old} + {add} = {new} EUR.",
        "fragile_none": "Not fragile, so no fragile surcharge.",
        "weekend": "Weekend surcharge ({day}): {old} + {add} = {new} EUR.",
        "weekend_none": "Posted on {day}, not a weekend, so no weekend surcharge.",
        "cap": "Cap: {old} EUR is more than {cap} EUR, so it is cut to {new} EUR.",
        "cap_none": "Cap: {old} EUR is at most {cap} EUR, unchanged.",
        "member": "Member discount: {old} - {pct}% ({add} EUR) = {new} EUR.",
        "member_none": "No membership, so no discount.",
        "end": "So the fee is {new} EUR.\nAnswer: {new}",
    },
}
_SLIP_DELTAS = (Decimal(-2), Decimal(-1), Decimal(1), Decimal(2))


def _step(rule: str, parcel: Parcel, belief: Belief, old: Decimal, slip: Decimal) -> tuple[Decimal, str, dict]:
    """Apply one rule to the running total: (new total, template key, template fields).

    ``slip`` is added to the result of an addition or subtraction (0 when the route is right),
    so the line shows the wrong sum and every later step carries it on.
    """
    fields = {"old": money(old), "zone": parcel.zone, "kg": money(parcel.weight_kg), "day": parcel.day}
    if rule == "base":
        new, key = belief.base_fee, "base"
        fields["base"] = money(belief.base_fee)
    elif rule == "weight":
        extra = max(Decimal(0), parcel.weight_kg - belief.free_kg)
        add = extra * belief.rate_per_kg
        new = old + add + slip if add else old
        key = "weight_none" if not add else "weight_all" if belief.free_kg == 0 else "weight"
        fields.update(extra=money(extra), free=money(belief.free_kg), rate=money(belief.rate_per_kg), add=money(add))
    elif rule in ("fragile", "weekend"):
        applies = belief.fragile if rule == "fragile" else belief.weekend
        add = FRAGILE_SURCHARGE if rule == "fragile" else WEEKEND_SURCHARGE
        new, key = (old + add + slip, rule) if applies else (old, f"{rule}_none")
        fields["add"] = money(add)
    elif rule == "cap":
        new, key = (FEE_CAP, "cap") if old > FEE_CAP else (old, "cap_none")
        fields["cap"] = money(FEE_CAP)
    elif rule == "member":
        cut = (old * belief.discount_pct / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        new, key = (old - cut + slip, "member") if belief.member else (old, "member_none")
        fields.update(pct=money(belief.discount_pct), add=money(cut))
    else:
        raise ValueError(f"unknown rule {rule!r}")
    fields["new"] = money(new)
    return new, key, fields


def _work(
    parcel: Parcel, belief: Belief, order=RULE_ORDER, style: str = "gold", slip: tuple[str, Decimal] | None = None
) -> tuple[str, Decimal, list[str]]:
    """Write a route applying ``order``'s rules under ``belief``: (text, final fee, step lines)."""
    texts, total, lines = _TEXT[style], Decimal(0), []
    for rule in order:
        delta = slip[1] if slip and slip[0] == rule else Decimal(0)
        total, key, fields = _step(rule, parcel, belief, total, delta)
        line = texts[key].format(**fields)
        lines.append(f"Step {len(lines) + 1}: {line}" if style == "gold" else line)
    return "\n".join([*lines, texts["end"].format(new=money(total))]), total, lines


def fee(parcel: Parcel) -> Decimal:
    """The true fee: the gold route's final total."""
    return _work(parcel, Belief.of(parcel))[1]


def _first_difference(steps: list[str], gold_steps: list[str]) -> int:
    """1-based index of the first step line that differs from (or is missing against) the gold's."""
    for i, (mine, gold) in enumerate(zip(steps, gold_steps), 1):
        if mine != gold:
            return i
    return min(len(steps), len(gold_steps)) + 1


def _negative_candidates(parcel: Parcel) -> dict[str, list[dict]]:
    """Every one-mistake variant of the gold computation, by error kind (``_work`` keywords)."""
    truth = Belief.of(parcel)
    wrong_rule = [{"belief": replace(truth, base_fee=ZONE_BASE_FEE[z])} for z in ZONE_BASE_FEE if z != parcel.zone]
    wrong_rule.append({"belief": replace(truth, free_kg=Decimal(0))})
    wrong_rule += [{"belief": replace(truth, member=True)}] if not parcel.member else []
    wrong_rule += [{"belief": replace(truth, weekend=True)}] if not truth.weekend else []
    wrong_rule += [{"belief": replace(truth, discount_pct=Decimal(20))}] if parcel.member else []
    skipped = [{"order": tuple(r for r in RULE_ORDER if r != skip)} for skip in RULE_ORDER[1:]]
    order_errors = [
        {"order": ("base", "weight", "member", "fragile", "weekend", "cap")},  # discount before surcharges
        {"order": ("base", "weight", "fragile", "weekend", "member", "cap")},  # discount before the cap
        {"order": ("base", "weight", "cap", "fragile", "weekend", "member")},  # cap before surcharges
    ]
    slips = [{"slip": (rule, d)} for rule in ("weight", "fragile", "weekend", "member") for d in _SLIP_DELTAS]
    return {
        "wrong_rule": wrong_rule,
        "arithmetic_slip": slips,
        "skipped_condition": skipped,
        "order_error": order_errors,
    }


def _negatives(parcel: Parcel, rng: random.Random) -> list[tuple[str, str, int]]:
    """Pick NEGATIVES_PER_PROBLEM wrong routes as (kind, text, corrupted step), distinct kinds where possible.

    A variant counts only if its final fee differs from the gold fee and stays positive (a
    skipped rule that does not fire, or a slip the cap absorbs, is no mistake at all).
    """
    gold = fee(parcel)
    gold_steps = {style: _work(parcel, Belief.of(parcel), style=style)[2] for style in _TEXT}
    pools: dict[str, list[tuple[str, int]]] = {}
    for kind, variants in _negative_candidates(parcel).items():
        found: list[tuple[str, int]] = []
        for variant in variants:
            variant = {"belief": Belief.of(parcel), **variant}
            style = rng.choice(("gold", "terse"))
            text, final, steps = _work(parcel, style=style, **variant)
            if final != gold and final > 0 and text not in (t for t, _ in found):
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

_WHO = {True: ("a member", "a Northwind member"), False: ("a customer who is not a member", "a non-member")}
_QUESTIONS = (
    "{Who} ships a {kg} kg {fragile}parcel to zone {zone} on a {day}. What is the fee in EUR?",
    "On a {day}, {who} sends a {fragile}parcel weighing {kg} kg to zone {zone}. "
    "How much does Northwind Parcel charge, in EUR?",
    "What does Northwind Parcel charge {who} for a {kg} kg {fragile}parcel to zone {zone}, "
    "posted on a {day}? Give the fee in EUR.",
)


def _question(parcel: Parcel, rng: random.Random) -> str:
    who = rng.choice(_WHO[parcel.member])
    return rng.choice(_QUESTIONS).format(
        who=who,
        Who=who[0].upper() + who[1:],
        kg=money(parcel.weight_kg),
        fragile="fragile " if parcel.fragile else "",
        zone=parcel.zone,
        day=parcel.day,
    )


def _random_parcel(rng: random.Random) -> Parcel:
    return Parcel(
        zone=rng.choice(sorted(ZONE_BASE_FEE)),
        weight_kg=rng.choice(WEIGHTS_KG),
        fragile=rng.random() < 0.4,
        day=rng.choice(DAYS),
        member=rng.random() < 0.5,
    )


def generate(seed: int = DEFAULT_SEED, n_train: int = DEFAULT_TRAIN, n_test: int = DEFAULT_TEST) -> DemoData:
    """Problems (train first, then test), each with 2 positive + 3 negative routes.

    Test problems get routes too: evaluation *with routes* shows them; training reads only
    the train split's routes.

    Deterministic for a seed. No two problems share the facts the fee depends on (a Monday and a
    Tuesday parcel are the same problem), so no test problem is a reworded train problem.
    """
    distinct = len(ZONE_BASE_FEE) * len(WEIGHTS_KG) * 2 * 2 * 2
    if n_train < 0 or n_test < 0 or n_train + n_test > distinct:
        raise UserError(
            f"demo generator: n_train={n_train}, n_test={n_test} must be >= 0 and sum to at most {distinct}"
        )
    rng = random.Random(seed)
    seen: set[tuple] = set()
    problems: list[Problem] = []
    routes: list[Route] = []
    while len(problems) < n_train + n_test:
        parcel = _random_parcel(rng)
        facts = (parcel.zone, parcel.weight_kg, parcel.fragile, parcel.day in WEEKEND_DAYS, parcel.member)
        if facts in seen:
            continue
        seen.add(facts)
        pid = f"northwind-{len(problems) + 1:04d}"
        split = "train" if len(problems) < n_train else "test"
        gold_text, gold, _steps = _work(parcel, Belief.of(parcel))
        problems.append(Problem(pid, _question(parcel, rng), money(gold), "number", rules=RULEBOOK, split=split))
        routes.append(Route(pid, gold_text, "gold"))
        routes.append(Route(pid, _work(parcel, Belief.of(parcel), style="terse")[0], "paraphrase"))
        routes += [Route(pid, text, kind, step) for kind, text, step in _negatives(parcel, rng)]
    return DemoData(problems, routes)


# ----------------------------------------------------------------------------- files


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_assets(folder: str | Path, data: DemoData) -> None:
    """Write problems.jsonl, routes.jsonl and rulebook.md in the format `realm-engine import` reads."""
    folder = Path(folder)
    keys = ("id", "question", "answer", "answer_type", "rules", "split")
    atomic_write_text(folder / "problems.jsonl", _jsonl([{k: getattr(p, k) for k in keys} for p in data.problems]))
    route_rows = [{"problem_id": r.problem_id, "text": r.text, "kind": r.kind, "corrupted_step": r.corrupted_step}
                  for r in data.routes]
    atomic_write_text(folder / "routes.jsonl", _jsonl(route_rows))
    atomic_write_text(folder / "rulebook.md", RULEBOOK)
