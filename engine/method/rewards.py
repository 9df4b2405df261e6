"""The RL rewards as TRL reward functions: correctness, format, verdict, language.

TRL calls each as ``fn(prompts=…, completions=…, completion_ids=…, trainer_state=…, **columns)``
where every dataset column arrives as a list with one entry per completion. The rollout rows
carry ``problem_id``, ``answer``, ``answer_type``, ``choices``, ``hinted`` and
``candidate_labels`` (the labels of the candidates shown, in prompt order; empty when not
hinted). Each function returns one float per completion, or None to abstain (TRL then
leaves that completion out of the function's mean). TRL logs ``rewards/<__name__>/mean``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from ..config import DataSection, RLSection
from ..errors import UserError
from .markers import last_answer_line
from .prompts import parse_verdicts
from .verifiers import extract_final_answer, verify


def make_reward_functions(
    data_cfg: DataSection, rl_cfg: RLSection, python_verifier: Callable | None = None
) -> tuple[list[Callable], list[float]]:
    """The reward functions with a weight > 0, and their weights (for ``GRPOConfig.reward_weights``)."""

    def correctness(completions, answer, answer_type=None, choices=None, **_) -> list[float]:
        """1.0 when the verifier labels the completion positive, else 0.0 (unparsed included)."""
        rows = _rows(completions, answer_type=answer_type, choices=choices, answer=answer)
        return [
            1.0 if verify(text, row["answer"], _type(row), choices=row["choices"],
                          tolerance=data_cfg.number_tolerance, pattern=data_cfg.regex,
                          python_verifier=python_verifier).label == "positive" else 0.0
            for text, row in rows
        ]

    def format(completions, answer_type=None, choices=None, hinted=None, candidate_labels=None, **_) -> list[float]:
        """Whether the completion keeps the form the prompt asked for.

        Unhinted: 1.0 if its last ``Answer:`` line holds an answer the verifier can read,
        else 0.0. Hinted with n candidates shown: half for that answer line, half times the
        share of the n candidates given a verdict line (partial credit).
        """
        scores = []
        for text, row in _rows(completions, answer_type=answer_type, choices=choices,
                               hinted=hinted, candidate_labels=candidate_labels):
            line = last_answer_line(text)
            answered = line is not None and extract_final_answer(line, _type(row), choices=row["choices"]) is not None
            shown = len(row["candidate_labels"] or []) if row["hinted"] else 0
            if shown:
                scores.append(0.5 * answered + 0.5 * len(parse_verdicts(text, shown)) / shown)
            else:
                scores.append(float(answered))
        return scores

    def verdict(completions, hinted=None, candidate_labels=None, **_) -> list[float | None]:
        """None when not hinted; else the share of shown candidates judged right
        (``correct`` for a positive, ``wrong`` for a negative; a missing verdict is wrong)."""
        scores: list[float | None] = []
        for text, row in _rows(completions, hinted=hinted, candidate_labels=candidate_labels):
            labels = row["candidate_labels"] or []
            if not row["hinted"] or not labels:
                scores.append(None)
                continue
            judged = parse_verdicts(text, len(labels))
            hits = sum(judged.get(i) == (label == "positive") for i, label in enumerate(labels, 1))
            scores.append(hits / len(labels))
        return scores

    def language(prompts, completions, **_) -> list[float]:
        """1.0 when every letter of the completion is in a writing system its prompt uses, else 0.0.

        A correctness reward alone pays a right answer whatever its words: on a multilingual
        model a rollout that says "no शुल्क" for "no surcharge" is paid in full, and RL spreads
        it (measured: docs/EFFICACY.md). DeepSeek-R1 adds a language-consistency reward for the
        same reason; this one needs no language list, only the prompt's own scripts.
        """
        return [float(writing_systems(_completion_text(completion)) <= writing_systems(_completion_text(prompt)))
                for prompt, completion in zip(prompts, completions)]

    def _type(row: dict) -> str:
        return row["answer_type"] or data_cfg.answer_type

    weighted = [(correctness, rl_cfg.reward_correctness), (format, rl_cfg.reward_format),
                (verdict, rl_cfg.reward_verdict), (language, rl_cfg.reward_language)]
    kept = [(fn, weight) for fn, weight in weighted if weight > 0]
    if not kept:
        raise UserError("rl.reward_correctness, rl.reward_format, rl.reward_verdict, rl.reward_language: "
                        "at least one must be > 0")
    return [fn for fn, _ in kept], [weight for _, weight in kept]


def writing_systems(text: str) -> set[str]:
    """The scripts of ``text``'s letters, by the first word of each one's Unicode name
    (LATIN, CYRILLIC, DEVANAGARI, CJK, HIRAGANA …); digits, signs and spaces have none."""
    return {unicodedata.name(ch, "UNKNOWN").split(" ")[0] for ch in text if ch.isalpha()}


def _rows(completions: list, **columns: list | None) -> list[tuple[str, dict]]:
    """Pair each completion's text with its row's columns (a missing column reads as None)."""
    return [
        (_completion_text(completion), {name: (values[i] if values is not None else None)
                                        for name, values in columns.items()})
        for i, completion in enumerate(completions)
    ]


def _completion_text(completion) -> str:
    """A completion as text: TRL passes a string, or a message list for conversational data."""
    if isinstance(completion, str):
        return completion
    return "".join(message.get("content") or "" for message in completion)
