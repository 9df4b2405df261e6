"""BIG-bench JSON tasks (``task.json`` with an ``examples`` list) as raw rows.

Two example styles exist in the benchmark:

* ``{"input": …, "target": "…"}`` (or a list of acceptable targets: the first is the gold);
* ``{"input": …, "target_scores": {"option": score, …}}``: multiple choice, the options are
  the keys and the gold is the option with the highest score.

Each example becomes a row with the canonical columns ``question``, ``answer`` and, for the
multiple-choice style, ``choices``; the importer then checks, letters and shuffles them like
any other source. The task-level ``task_prefix`` (an instruction shared by all examples) is
put before each question. The other prompt-formatting keys (``example_input_prefix``, …) are
BIG-bench's own prompt layout and are ignored: our prompts have theirs.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from .readers import RawRow, RawTable, load_json_document

COLUMNS = ["question", "answer", "choices"]


def is_bigbench_task(document) -> bool:
    return isinstance(document, dict) and "examples" in document


def read_bigbench(path: Path) -> list[RawTable]:
    document = load_json_document(path)
    if not is_bigbench_task(document):
        raise UserError(f"{path}: not a BIG-bench task (no 'examples' list)")
    examples = document["examples"]
    if not isinstance(examples, list):
        raise UserError(f"{path}: 'examples' must be a list, got {type(examples).__name__}")
    prefix = document.get("task_prefix") or ""
    if not isinstance(prefix, str):
        raise UserError(f"{path}: 'task_prefix' must be text, got {type(prefix).__name__}")
    label = str(path)
    rows = []
    for number, example in enumerate(examples, start=1):
        try:
            values = example_to_row(example, prefix)
        except ValueError as err:
            rows.append(RawRow(label, number, None, str(err)))
        else:
            rows.append(RawRow(label, number, values))
    return [RawTable(label, path.stem, rows, COLUMNS)]


def example_to_row(example, prefix: str = "") -> dict:
    """One example as {question, answer[, choices]}; ValueError names what is wrong with it."""
    if not isinstance(example, dict):
        raise ValueError(f"example must be a JSON object, got {type(example).__name__}")
    question = example.get("input")
    if isinstance(question, str) and prefix.strip():
        question = f"{prefix.strip()}\n{question}"
    if "target_scores" in example:
        choices, gold = _gold_option(example["target_scores"])
        return {"question": question, "answer": gold, "choices": choices}
    if "target" in example:
        target = example["target"]
        if isinstance(target, list):
            if not target:
                raise ValueError("'target' is an empty list")
            target = target[0]  # the first acceptable answer is the gold
        return {"question": question, "answer": target}
    raise ValueError("example has neither 'target' nor 'target_scores'")


def _gold_option(scores) -> tuple[list[str], str]:
    if not isinstance(scores, dict):
        raise ValueError(f"'target_scores' must be an object of option: score, got {type(scores).__name__}")
    for option, score in scores.items():
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise ValueError(f"'target_scores' of option {option!r} must be a number, got {score!r}")
    if not scores:
        raise ValueError("'target_scores' is empty")
    best = max(scores.values())
    golds = [option for option, score in scores.items() if score == best]
    if len(golds) > 1:
        raise ValueError(f"several options share the highest score ({', '.join(map(repr, golds))})")
    return list(scores), golds[0]
