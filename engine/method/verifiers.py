"""Answer verifiers: find the final answer in a model's free text and compare it with the gold one.

Every route, reward and evaluation in ReaLM rests on these labels, so they follow one rule set
(docs/METHOD.md §3) for all answer types:

1. The final answer is the LAST explicit marker in the text: an ``Answer: …`` /
   ``Final answer: …`` / ``The answer is …`` line (or a ``## Final Answer`` heading with the
   answer on the next line), or ``\\boxed{…}``, whichever comes later.
2. Without a marker each type has a fallback: choice → the last choice letter written in an
   unmistakable form ("(B)", "B)", "B.", "option B", "**B**"), a last line that is only a letter,
   or a last line that is exactly one choice's text; number → the last number in the text;
   text and regex → the whole reply, when it is a single line.
3. Not finding an answer, or finding an ambiguous one ("B or C"), is ``unparsed``: a format
   failure, never counted as a wrong answer.

Pure Python (no torch, no Qt): the GUI imports it for its live preview. The one piece that runs
user code, :class:`PythonVerifier`, lives in :mod:`engine.method.python_verifier` and runs that
code in a worker process, never in this one.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

import regex

from ..config import ANSWER_TYPES, ROUTE_LABELS
from ..errors import UserError
from .markers import ANSWER_LABEL
from .numbers import first_number, format_number, last_number, numbers_close
from .python_verifier import PythonVerifier

__all__ = ["LABELS", "Verdict", "PythonVerifier", "extract_final_answer", "normalise_text",
           "normalise_gold", "verify", "verify_problem"]

LABELS = ROUTE_LABELS
_MAX_ANSWER_CHARS = 2000  # a final answer is short
REGEX_TIMEOUT_S = 1.0  # a user's pattern may backtrack for ever ("(a|aa)+$"): past this the answer is unparsed
_NO_ANSWER = "no final answer found"


@dataclass(frozen=True)
class Verdict:
    label: str  # "positive" | "negative" | "unparsed"
    extracted: str | None  # the final answer found, normalised ("B", "12.5", "paris")
    reason: str = ""  # short and human: "12 != 15", "no final answer found"

    @property
    def correct(self) -> bool:
        return self.label == "positive"


# ----------------------------------------------------------------------------- finding the answer

_MARKER = re.compile(
    rf"\b{ANSWER_LABEL}"  # Answer: / Final answer: / **Answer**: (the answer line's own label)
    r"|\b(?:the\s+)?(?:final\s+|correct\s+)?answer\s+(?:is|would\s+be)\b\s*:?"  # The answer is …
    r"|^[ \t]*#{1,6}[ \t]*(?:final[ \t]+)?answer[ \t]*$",  # a "## Final Answer" heading
    re.IGNORECASE | re.MULTILINE,
)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_NEXT_LINE = re.compile(r"\n\s*(\S[^\n]*)")
_WRAPPERS = re.compile(r"\\(?:boxed|fbox|text|textbf|textit|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？]")


def _boxed_content(text: str, open_brace: int) -> str | None:
    """The text inside the braces opened at ``open_brace`` (nested braces allowed), if closed."""
    depth = 0
    for i in range(open_brace, min(len(text), open_brace + _MAX_ANSWER_CHARS)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_brace + 1 : i]
    return None


def _last_boxed(text: str) -> tuple[int, str] | None:
    # Only the last few: a megabyte of unclosed "\boxed{" must not cost a scan per brace.
    for match in list(_BOXED.finditer(text))[-3:][::-1]:
        content = _boxed_content(text, match.end() - 1)
        if content is not None:
            return match.start(), content
    return None


def _marker_content(text: str, end: int) -> str:
    """The rest of the marker's line, or the next non-empty line when the marker ends its line."""
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    content = text[end : min(line_end, end + _MAX_ANSWER_CHARS)]
    if not _clean(content):
        following = _NEXT_LINE.match(text, line_end)
        content = following.group(1)[:_MAX_ANSWER_CHARS] if following else ""
    return content


def _marked_answer(text: str) -> str | None:
    """The raw text of the last explicit final-answer marker (line or \\boxed), if any."""
    last_marker = None
    for last_marker in _MARKER.finditer(text):
        pass
    boxed = _last_boxed(text)
    if boxed and (last_marker is None or boxed[0] > last_marker.start()):
        return boxed[1]
    if last_marker is None:
        return None
    return _marker_content(text, last_marker.end())


def _clean(answer: str) -> str:
    """Drop the dressing around an answer: markdown emphasis, LaTeX wrappers, math delimiters."""
    s = answer.strip()
    for _ in range(3):  # \boxed{\text{…}} nests
        s = _WRAPPERS.sub(r"\1", s)
    s = s.replace("**", "").replace("__", "").replace("`", "")
    s = s.strip().lstrip(":：").strip()
    for opening, closing in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(s) > len(opening) + len(closing) and s.startswith(opening) and s.endswith(closing):
            s = s[len(opening) : -len(closing)].strip()
    return s


def _first_sentence(s: str) -> str:
    """Cut the chatter after the answer: "Paris. Hope this helps!" → "Paris"."""
    end = _SENTENCE_END.search(s)
    return (s[: end.start()] if end else s).strip()


def _single_line_reply(text: str) -> str | None:
    """A reply that is just one line is its own final answer ("Paris")."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:_MAX_ANSWER_CHARS] if len(lines) == 1 else None


# ----------------------------------------------------------------------------- per answer type

_LETTER_FORMS = re.compile(
    r"\(\s*([A-Z])\s*\)"  # (B)
    r"|\*\*\(?([A-Z])\)?\*\*"  # **B**
    r"|\b(?i:option|choice|letter)\s+\(?([A-Z])\b"  # option B
    r"|\b([A-Z])\)"  # B)
    r"|\b([A-Z])\.(?=\s|$)"  # B.
)
_BARE_LETTER = re.compile(r"(?<![\w'’])([A-Z])(?![\w'’])")
_LEADING_LETTER = re.compile(r"\(?([A-Z])(?:[).:,]|\s|$)")
_SECOND_LETTER = re.compile(r"\)?\s*(?:(?i:or|and)\b|/|,|&|\|)\s*\(?([A-Z])(?![\w'’])")
_LONE_LETTER = re.compile(r"\W*\(?([A-Z])\)?[.:]?\W*")
_OPTION_WORD = re.compile(r"(?i:option|choice|letter)\s+")


def _letters(choices: list[str] | None) -> str:
    """The valid choice letters: A.. up to the number of choices (all 26 when none are given)."""
    return string.ascii_uppercase[: len(choices)] if choices else string.ascii_uppercase


def _choice_by_text(answer: str, choices: list[str] | None) -> str | None:
    wanted = normalise_text(answer)
    hits = [i for i, choice in enumerate(choices or []) if normalise_text(choice) == wanted]
    return chr(ord("A") + hits[0]) if len(hits) == 1 else None


def _choice_in_answer(answer: str, choices: list[str] | None) -> tuple[str | None, str]:
    """The one choice letter a marked answer names; several different letters are ambiguous."""
    valid = _letters(choices)
    s = _OPTION_WORD.sub("", _first_sentence(_clean(answer)), count=1)
    lone = _LONE_LETTER.fullmatch(s.upper())  # "c" alone is a letter too
    if lone and lone.group(1) in valid:
        return lone.group(1), ""
    by_text = _choice_by_text(s, choices)
    if by_text:
        return by_text, ""
    lead = _LEADING_LETTER.match(s)
    if lead and lead.group(1) in valid:
        second = _SECOND_LETTER.match(s, lead.end(1))
        if second and second.group(1) in valid and second.group(1) != lead.group(1):
            return None, f"ambiguous answer {s[:40]!r}"
        return lead.group(1), ""
    found = {m.group(1) for m in _BARE_LETTER.finditer(s) if m.group(1) in valid}
    found |= {letter for m in _LETTER_FORMS.finditer(s) for letter in m.groups() if letter and letter in valid}
    if len(found) == 1:
        return found.pop(), ""
    return None, (f"ambiguous answer {s[:40]!r}" if found else f"no choice letter in {s[:40]!r}")


def _choice_fallback(text: str, choices: list[str] | None) -> str | None:
    """No marker: a last line that is only a letter or one option's text, else the last letter
    written in an unmistakable form ("(B)", "B)", "B.", "option B", "**B**")."""
    valid = _letters(choices)
    last_line = text.strip().rsplit("\n", 1)[-1][:_MAX_ANSWER_CHARS]
    lone = _LONE_LETTER.fullmatch(_clean(last_line))
    if lone and lone.group(1) in valid:
        return lone.group(1)
    by_text = _choice_by_text(_first_sentence(_clean(last_line)), choices)
    if by_text:
        return by_text
    letter = None
    for match in _LETTER_FORMS.finditer(text):
        letter = next((g for g in match.groups() if g and g in valid), letter)
    return letter


def _number_in_answer(answer: str) -> float | None:
    """The number a marked answer states: "x = 5" → 5, "5 + 7 = 12" → 12, "12 (since …)" → 12."""
    s = _clean(answer)
    clause = re.split(r"[.!?;](?=\s|$)|\s\(", s, maxsplit=1)[0]
    for part in (clause, s):
        after_equals = part.rsplit("=", 1)[-1]
        for candidate in (after_equals, part):
            value = first_number(candidate)
            if value is not None:
                return value
    return None


def normalise_text(s: str) -> str:
    """Text answers compare after NFKC, case folding, dropping punctuation and a leading article."""
    s = unicodedata.normalize("NFKC", s).casefold()
    kept = []
    for ch in s:
        category = unicodedata.category(ch)
        if category == "Pd" or ch in "/_":
            kept.append(" ")  # "new-york" reads as "new york"
        elif not category.startswith("P"):
            kept.append(ch)
    words = "".join(kept).split()
    if len(words) > 1 and words[0] in ("a", "an", "the"):
        words = words[1:]
    return " ".join(words)


def _extract(text: str | None, answer_type: str, choices: list[str] | None) -> tuple[str | None, str]:
    """(answer, why none was found) for one completion."""
    if text is None or not text.strip():
        return None, "empty completion"
    marked = _marked_answer(text)
    if answer_type == "choice":
        if marked is not None:
            return _choice_in_answer(marked, choices)
        letter = _choice_fallback(text, choices)
        return letter, "" if letter else _NO_ANSWER
    if answer_type == "number":
        value = _number_in_answer(marked) if marked is not None else last_number(text)
        return (format_number(value), "") if value is not None else (None, "no number in the answer")
    if answer_type not in ANSWER_TYPES:
        raise UserError(f"answer type {answer_type!r} is unknown (use {', '.join(ANSWER_TYPES[:-1])} or {ANSWER_TYPES[-1]})")
    raw = marked if marked is not None else _single_line_reply(text)
    answer = _first_sentence(_clean(raw)).strip("\"'“”‘’") if raw is not None else ""
    if not answer:
        return None, _NO_ANSWER
    return (normalise_text(answer) if answer_type == "text" else answer), ""


def extract_final_answer(text: str, answer_type: str, *, choices: list[str] | None = None) -> str | None:
    """The final answer in ``text``, normalised for its type, or None when there is none."""
    return _extract(text, answer_type, choices)[0]


# ----------------------------------------------------------------------------- comparing


def normalise_gold(gold: str, answer_type: str, *, choices: list[str] | None = None) -> str:
    """The gold answer in the form extracted answers take; UserError when it cannot be one.

    Importers call it to reject a bad gold answer up front instead of mid-run.
    """
    if answer_type == "choice":
        lone = _LONE_LETTER.fullmatch(_clean(gold).upper())
        if lone and lone.group(1) in _letters(choices):
            return lone.group(1)
        by_text = _choice_by_text(gold, choices)
        if by_text:
            return by_text
        raise UserError(f"gold answer {gold!r} is neither a choice letter ({_letters(choices)[-1]} at most) "
                        "nor the text of one choice")
    if answer_type == "number":
        value = _number_in_answer(gold)
        if value is None:
            raise UserError(f"gold answer {gold!r} is not a number")
        return format_number(value)
    if answer_type == "text":
        return normalise_text(gold)
    return gold


def verify(text: str, gold: str, answer_type: str, *, choices: list[str] | None = None,
           tolerance: float = 1e-6, pattern: str = "",
           python_verifier: PythonVerifier | None = None) -> Verdict:
    """Label one completion positive, negative or unparsed against ``gold``."""
    if answer_type == "python":
        return _verify_python(text, gold, python_verifier)
    expected = normalise_gold(gold, answer_type, choices=choices)
    compiled = _compile(pattern or gold) if answer_type == "regex" else None
    extracted, why_none = _extract(text, answer_type, choices)
    if extracted is None:
        return Verdict("unparsed", None, why_none)
    if answer_type == "number":
        right = numbers_close(float(extracted), float(expected), tolerance)
        return Verdict("positive" if right else "negative", extracted, "" if right else f"{extracted} != {expected}")
    if compiled is not None:
        try:
            right = compiled.fullmatch(extracted, timeout=REGEX_TIMEOUT_S) is not None
        except TimeoutError:
            return Verdict("unparsed", extracted, f"the pattern {compiled.pattern[:60]!r} ran past "
                                                  f"{REGEX_TIMEOUT_S:g} s on this answer (it backtracks)")
        why = "" if right else f"{extracted[:60]!r} does not match {compiled.pattern[:60]!r}"
        return Verdict("positive" if right else "negative", extracted, why)
    right = extracted == expected
    return Verdict("positive" if right else "negative", extracted, "" if right else f"{extracted[:60]} != {expected[:60]}")


def _compile(pattern: str) -> regex.Pattern:
    """A user's pattern (realm.toml's data.regex, or a regex gold answer from a data file),
    compiled by the ``regex`` module: Python's own syntax, and a match that can be timed out."""
    try:
        return regex.compile(pattern)
    except regex.error as err:
        raise UserError(f"regex {pattern!r} is not a valid regular expression ({err})") from None


def _verify_python(text: str, gold: str, python_verifier: PythonVerifier | None) -> Verdict:
    if python_verifier is None:
        raise UserError("answer type 'python' needs a Python verifier (set data.python_verifier)")
    if text is None or not text.strip():
        return Verdict("unparsed", None, "empty completion")
    extracted = extract_final_answer(text, "python")
    if isinstance(python_verifier, PythonVerifier):
        result, why = python_verifier.judge(text, gold)
    else:  # any fn(completion, gold) -> bool | None, e.g. a stand-in in tests or the bench
        result, why = python_verifier(text, gold), ""
    if result is None:
        return Verdict("unparsed", extracted, why or "verifier could not decide")
    return Verdict("positive" if result else "negative", extracted, "" if result else "verifier said wrong")


def verify_problem(text: str, problem, data_cfg, python_verifier: PythonVerifier | None = None) -> Verdict:
    """``verify`` with the gold, type and choices of ``problem`` and the settings of ``data_cfg``."""
    try:
        return verify(text, problem.answer, problem.answer_type or data_cfg.answer_type,
                      choices=problem.choices, tolerance=data_cfg.number_tolerance,
                      pattern=data_cfg.regex, python_verifier=python_verifier)
    except UserError as err:
        raise UserError(f"problem {problem.id}: {err}") from None
