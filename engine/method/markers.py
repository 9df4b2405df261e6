"""The two marks a reader looks for in a route or completion: the ``Answer:`` line and step numbers.

Every prompt ends with 'Finish with a line "Answer: <final answer>"', and four places read
that line back: generation stops once it is written (``hf.generation``), the format reward
checks it is there (``rewards``), the length fade drops it from a cut route (``prompts``), and
the verifier takes the final answer from it (``verifiers``). They used to carry three patterns
that disagreed (``__Answer__:`` or a full-width colon counted for one and not another); all of
them now build on ``ANSWER_LABEL`` below, so they read the same answer from the same text
(tests/method/test_markers.py is the table that shows it).

The step marker (``Step 3:``, ``3.``, ``3)``, optionally in markdown emphasis) splits a route
into steps for the length fade and for the route diff.

Plain Python: the GUI imports it through ``prompts`` and ``route_diff``.
"""

from __future__ import annotations

import re

# "Answer:", "Final answer:", "**Answer**:", "__Answer__:", "Answer：" (full-width colon), any case.
ANSWER_LABEL = r"(?:final\s+)?answer\s*[*_]*\s*[:：]"

ANSWER_LINE = re.compile(rf"^\s*[*_]*\s*{ANSWER_LABEL}", re.IGNORECASE)
"""A line that opens with the answer label (``match`` it against one line)."""

COMPLETE_ANSWER_LINE = re.compile(rf"(?:^|\n)\s*[*_]*\s*{ANSWER_LABEL}[^\n]*\S[^\n]*\n", re.IGNORECASE)
"""An answer line with something after the label and its newline written: a reply that has one
is finished (``search`` it in a whole text)."""

STEP_MARKER = re.compile(r"^\s*(?:[*#_]+\s*)?(?:step\s*\d+\s*[:.)]|\d+\s*[.)](?:\s|$))", re.IGNORECASE)
"""A line that opens a numbered step (``match`` it against one line)."""

STEP_MARKER_PREFIX = re.compile(STEP_MARKER.pattern + r"[*_]*\s*", re.IGNORECASE)
"""The step marker with the emphasis and space after it: what to strip to compare two steps."""


def is_answer_line(line: str) -> bool:
    return ANSWER_LINE.match(line) is not None


def last_answer_line(text: str) -> str | None:
    """The last ``Answer: …`` line of a completion (the one a reader takes), or None."""
    lines = [line for line in text.splitlines() if is_answer_line(line)]
    return lines[-1].strip() if lines else None


def complete_answer_line_end(text: str) -> int | None:
    """Where the first complete answer line of ``text`` ends (after its newline), or None."""
    match = COMPLETE_ANSWER_LINE.search(text)
    return match.end() if match else None
