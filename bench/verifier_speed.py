"""Verifier throughput: ``verify()`` on realistic completions per answer type, and on 1 MB attacks.

Every RL step and every evaluation runs each completion through ``verify``, so it must be far
cheaper than generating the completion. The realistic set mixes right, wrong and unparsed
replies of chain-of-thought length; the adversarial set holds megabyte replies shaped to make a
careless regex backtrack (unclosed ``\\boxed{``, thousands of markers, one giant number).
The ``python`` type is timed with a plain-function judge, so it measures our extraction
only (the user's code runs in a worker process and costs what it costs).
"""

from __future__ import annotations

import random
import time

from .common import Row

CHOICES = ["Paris", "Rome", "Berlin", "Madrid"]
MEGABYTE = 1_000_000
ADVERSARIAL = {  # name -> (completion, answer type)
    "unclosed \\boxed{": ("\\boxed{" * (MEGABYTE // 7), "number"),
    "Answer: x many": ("Answer: " * (MEGABYTE // 8), "number"),
    "one giant number": ("1" * MEGABYTE, "number"),
    "digits and commas": ("1,2" * (MEGABYTE // 3), "number"),
    "open parens": ("(" * MEGABYTE, "choice"),
    "A. x many": ("A. " * (MEGABYTE // 3) + "\n(B)", "choice"),
    "one long line": ("x" * MEGABYTE, "text"),
    "words then answer": ("word " * (MEGABYTE // 5) + "\nAnswer: Paris", "regex"),
}


def _reasoning(rng: random.Random, steps: int) -> str:
    lines = []
    for i in range(1, steps + 1):
        a, b = rng.randint(2, 999), rng.randint(2, 999)
        lines.append(f"Step {i}: the rule adds {a} kg at {b} EUR per kg, so this part costs {a * b} EUR.")
    return "\n".join(lines)


def _wrong(answer_type: str, gold: str) -> str:
    if answer_type in ("number", "python"):
        return str(int(gold) + 1)
    if answer_type == "choice":
        return "ABCD"[("ABCD".index(gold) + 1) % 4]
    return "Lyon"


def realistic(answer_type: str, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (completion, gold) pairs: about half right, a third wrong, the rest without an answer."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        body = _reasoning(rng, rng.randint(3, 8))
        gold = {"number": str(rng.randint(1, 9999)), "choice": rng.choice("ABCD"), "text": rng.choice(CHOICES),
                "regex": rng.choice(CHOICES), "python": str(rng.randint(1, 99))}[answer_type]
        roll = rng.random()
        if roll < 0.5:
            given = gold
        elif roll < 0.85:
            given = _wrong(answer_type, gold)
        else:  # rambles without a number, a marker or a choice letter: unparsed for every type
            pairs.append(("Let me think about the rule again.\n" * rng.randint(3, 8) + "I am not sure.", gold))
            continue
        ending = rng.choice([f"Answer: {given}", f"The answer is {given}.", f"\\boxed{{{given}}}"])
        pairs.append((f"{body}\n{ending}", gold))
    return pairs


def _verify_all(pairs: list[tuple[str, str]], answer_type: str) -> None:
    from engine.method.verifiers import verify

    judge = (lambda completion, gold: gold in completion[-50:]) if answer_type == "python" else None  # noqa: E731
    for completion, gold in pairs:
        verify(completion, gold, answer_type, choices=CHOICES if answer_type == "choice" else None,
               pattern="Paris|Rome" if answer_type == "regex" else "", python_verifier=judge)


def measure(n: int = 2000, adversarial_bytes: int = MEGABYTE) -> dict:
    """Completions per second per answer type, and seconds per adversarial completion."""
    per_type = {}
    for answer_type in ("number", "choice", "text", "regex", "python"):
        pairs = realistic(answer_type, n)
        start = time.perf_counter()
        _verify_all(pairs, answer_type)
        per_type[answer_type] = n / (time.perf_counter() - start)
    attacks = {}
    for name, (completion, answer_type) in ADVERSARIAL.items():
        completion = completion[:adversarial_bytes]
        start = time.perf_counter()
        gold = {"number": "1", "choice": "B"}.get(answer_type, "Paris")
        _verify_all([(completion, gold)], answer_type)
        attacks[name] = time.perf_counter() - start
    return {"completions_per_s": per_type, "adversarial_s": attacks}


def run(quick: bool = False) -> list[Row]:
    result = measure(n=500 if quick else 2000)
    rows = [Row("verifier", f"{answer_type} completions", rate, "/s", "CoT of 3-8 steps, mixed right/wrong/unparsed")
            for answer_type, rate in result["completions_per_s"].items()]
    worst = max(result["adversarial_s"], key=result["adversarial_s"].get)
    rows.append(Row("verifier", "1 MB adversarial, worst case", result["adversarial_s"][worst], "s",
                    f"{worst!r}; {len(ADVERSARIAL)} kinds"))
    rows.append(Row("verifier", "1 MB adversarial, median",
                    sorted(result["adversarial_s"].values())[len(ADVERSARIAL) // 2], "s"))
    return rows
