"""The prompts of the ReaLM method and the helpers that fill them.

Three user texts, one per role:
- ``route_user_text``: route sampling and the (rules-guided) teacher;
- ``student_user_text``: the same task without rules (distillation student, unhinted RL
  prompts, evaluation), so what the student learns is what it is asked at inference;
- ``mrpv_user_text``: the hinted RL prompt, with candidate routes to check (MRPV).

Candidate labels are used only for scoring: no function here ever renders them.
"""

from __future__ import annotations

import math
import random
import re
import string

from ..errors import UserError
from .markers import ANSWER_LINE, STEP_MARKER, last_answer_line  # noqa: F401  (last_answer_line: read from here too)

ANSWER_INSTRUCTION = 'Finish with a line "Answer: <final answer>".'
PLAIN_SUFFIX = "\n\nReasoning:"
CANDIDATES_HEADER = "Candidate solutions (some may be wrong):"

_CHOICE_INSTRUCTION = 'Finish with a line "Answer: <letter>" giving the letter of the correct option.'
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_VERDICT = re.compile(
    r"candidate\s*#?\s*(\d+)\s*[:\-–—]?\s*(?:is\s+)?(not\s+)?(incorrect|correct|wrong|right)\b",
    re.IGNORECASE,
)


def format_question(question: str, choices: list[str] | None) -> str:
    """The question, followed by its options as ``A. …`` lines when it has any."""
    if not choices:
        return question.strip()
    if len(choices) > len(string.ascii_uppercase):
        raise UserError(f"question has {len(choices)} choices; at most 26 are supported: {question[:60]!r}")
    options = "\n".join(f"{letter}. {choice}" for letter, choice in zip(string.ascii_uppercase, choices))
    return f"{question.strip()}\n{options}"


def route_user_text(question: str, choices: list[str] | None = None, rules: str | None = None) -> str:
    """The task as posed to a route source; with ``rules`` it is the guided teacher prompt."""
    parts = []
    if rules and rules.strip():
        parts.append(f"Rules and expert knowledge:\n{rules.strip()}")
    parts.append(f"Question:\n{format_question(question, choices)}")
    parts.append(f"Solve the problem step by step. {_answer_instruction(choices)}")
    return "\n\n".join(parts)


def student_user_text(question: str, choices: list[str] | None = None) -> str:
    """The same task without rules: what the student sees in training and at inference."""
    return route_user_text(question, choices)


def mrpv_user_text(question: str, candidates: list[str], choices: list[str] | None = None) -> str:
    """The hinted prompt: the question, the candidate routes (unlabelled), and the MRPV task."""
    if not candidates:
        raise ValueError("mrpv_user_text needs at least one candidate (use student_user_text otherwise)")
    shown = "\n\n".join(f"Candidate {i}:\n{text.strip()}" for i, text in enumerate(candidates, 1))
    task = (
        "Check each candidate step by step. For each one write a line "
        '"Candidate i: correct" or "Candidate i: wrong at step N". '
        f"Then give your own step-by-step reasoning. {_answer_instruction(choices)}"
    )
    return "\n\n".join([f"Question:\n{format_question(question, choices)}", CANDIDATES_HEADER, shown, task])


def plain_prompt(user_text: str) -> str:
    """The prompt for a model without a chat template: the user text, a blank line, then
    ``Reasoning:`` for the model to continue (base models follow a cue better than a request)."""
    return user_text + PLAIN_SUFFIX


def split_steps(text: str) -> list[str]:
    """Split a route into steps, for the length fade and for display.

    - When some lines start with a step marker (``Step 3:``, ``3.``, ``3)``), each marker
      opens a step and the lines after it belong to it (text before the first marker is a
      step of its own).
    - Otherwise each non-empty line is a step; a single line is split into sentences.
    - An ``Answer: …`` line is always a step of its own.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not any(STEP_MARKER.match(line) for line in lines):
        if len(lines) == 1:
            return [s for s in _SENTENCE_END.split(lines[0]) if s]
        return lines
    steps: list[list[str]] = []
    for line in lines:
        opens_step = STEP_MARKER.match(line) or ANSWER_LINE.match(line)
        if opens_step or not steps or ANSWER_LINE.match(steps[-1][0]):
            steps.append([line])
        else:
            steps[-1].append(line)
    return ["\n".join(step) for step in steps]


def truncate_route(text: str, fraction: float) -> str:
    """The first ceil(fraction · n) reasoning steps of a route, one per line.

    ``fraction >= 1`` returns the route unchanged. Otherwise the ``Answer:`` line is dropped
    (a cut route must not give its answer away) and at least one step is kept when
    ``fraction > 0``; ``fraction <= 0`` gives "".
    """
    if fraction >= 1.0:
        return text
    if fraction <= 0.0:
        return ""
    body = [step for step in split_steps(text) if not ANSWER_LINE.match(step)]
    keep = max(math.ceil(fraction * len(body)), 1)
    return "\n".join(body[:keep])


def select_candidates(
    routes: list[tuple[str, str]], k: int, rng: random.Random, *, positives_only: bool = False
) -> list[tuple[str, str]]:
    """Up to ``k`` of a problem's labelled routes to show, in random order.

    ``routes`` are (text, label) pairs; unparsed routes are never shown. With k ≥ 2 the
    draw holds at least one positive and one negative when both exist (the contrast MRPV
    learns from); the rest are drawn at random. ``positives_only`` (the baseline) draws
    positives only. Deterministic for a seeded ``rng`` and a given route order.
    """
    positives = [i for i, (_, label) in enumerate(routes) if label == "positive"]
    negatives = [i for i, (_, label) in enumerate(routes) if label == "negative"]
    pool = positives if positives_only else positives + negatives
    chosen: list[int] = []
    if not positives_only and k >= 2 and positives and negatives:
        chosen = [rng.choice(positives), rng.choice(negatives)]
    rest = [i for i in pool if i not in chosen]
    chosen += rng.sample(rest, min(max(k - len(chosen), 0), len(rest)))
    rng.shuffle(chosen)
    return [routes[i] for i in chosen]


def parse_verdicts(completion: str, n_candidates: int) -> dict[int, bool]:
    """Candidate number (1-based) → judged correct, from lines like ``Candidate 2: wrong at step 3``.

    Tolerant of case, markdown emphasis and ``incorrect``/``right``/``not correct``. The
    first verdict on a candidate counts; numbers outside 1..n_candidates are ignored.
    """
    verdicts: dict[int, bool] = {}
    for match in _VERDICT.finditer(re.sub(r"[*_`]", "", completion)):
        index = int(match.group(1))
        if 1 <= index <= n_candidates and index not in verdicts:
            positive = match.group(3).lower() in ("correct", "right")
            verdicts[index] = positive != bool(match.group(2))
    return verdicts


def _answer_instruction(choices: list[str] | None) -> str:
    return _CHOICE_INSTRUCTION if choices else ANSWER_INSTRUCTION
