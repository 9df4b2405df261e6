"""Numbers as models write them, turned into floats.

Models write ``1,234.5``, ``−3`` (unicode minus), ``$12``, ``3/4``, ``1 1/2``, ``\\frac{3}{4}``,
``6.02e23``, ``1.5 \\times 10^{3}``, ``50%`` and ``12 kg.``. Anything around the number
(currency, units, a trailing period) is simply not part of the match, so it is dropped.

Choices made here (and relied on by the verifiers):
- A percent sign is a unit like any other: ``50%`` is 50, not 0.5 (gold "50" and "50%" agree).
- A comma is a thousands separator only in groups of three (``1,234``); ``3,5`` is two numbers
  (3 and 5): European decimal commas are not supported.
- ``1 1/2`` (one space) is a mixed fraction, 1.5.
- Number words ("twelve") are not numbers.
All scanning is done with regular expressions that cannot backtrack catastrophically, so a
megabyte of text is scanned in milliseconds.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator

ABS_TOL = 1e-9  # added to the relative tolerance so that 0 == 1e-12 and 0 == -0

_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\ufe63": "-", "\uff0d": "-", "\u2044": "/"})
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*([-+]?[\d.,]+)\s*\}\s*\{\s*([-+]?[\d.,]+)\s*\}")
_TIMES_TEN = re.compile(r"(\d)\s*(?:\\times|\\cdot|×|·|\*|x)\s*10\s*\^\s*\{?\s*([-+]?\d+)\s*\}?")
_LATEX_NOISE = re.compile(r"\{,\}|\\[,!; ]")  # 1{,}234 and thin spaces inside LaTeX numbers

_NUMBER = re.compile(
    r"""
    (?<![\w.])                                   # not the tail of a word, a version or a decimal
    (?P<sign>[-+])?
    (?:
        (?P<whole>\d+)\ (?P<num>\d+)/(?P<den>\d+)   # mixed fraction: 1 1/2
      | (?P<fnum>\d+)/(?P<fden>\d+)               # fraction: 3/4
      | (?P<dec>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)  # 1,234.5 / 12 / .5
        (?P<exp>[eE][-+]?\d+)?                    # 6.02e23
    )
    """,
    re.VERBOSE,
)


def _prepare(text: str) -> str:
    """Rewrite the spellings the number pattern does not know into ones it does."""
    text = unicodedata.normalize("NFKC", text).translate(_MINUS_SIGNS)
    if "\\" in text:
        text = _LATEX_NOISE.sub(lambda m: "," if m.group() == "{,}" else "", text)
        text = _LATEX_FRAC.sub(_frac_as_slash, text)
    return _TIMES_TEN.sub(r"\1e\2", text)


def _frac_as_slash(match: re.Match) -> str:
    # "1\frac{1}{2}" is a mixed number: keep a space so it reads as "1 1/2", not "11/2".
    before = match.string[match.start() - 1] if match.start() else ""
    return ("" if not before.isdigit() else " ") + f"{match.group(1)}/{match.group(2)}"


def _value(match: re.Match) -> float | None:
    sign = -1.0 if match.group("sign") == "-" else 1.0
    try:
        if match.group("whole") is not None:
            whole, num, den = (int(match.group(g)) for g in ("whole", "num", "den"))
            return sign * (whole + num / den)
        if match.group("fnum") is not None:
            return sign * int(match.group("fnum")) / int(match.group("fden"))
        return sign * float(match.group("dec").replace(",", "") + (match.group("exp") or ""))
    except (ZeroDivisionError, OverflowError, ValueError):  # 1/0; digits past int()'s limit
        return None


def iter_numbers(text: str) -> Iterator[float]:
    """Every number in ``text``, in reading order."""
    for match in _NUMBER.finditer(_prepare(text)):
        value = _value(match)
        if value is not None:
            yield value


def first_number(text: str) -> float | None:
    return next(iter_numbers(text), None)


def last_number(text: str) -> float | None:
    # Converts only from the end: a long reply may hold many thousands of numbers.
    for match in reversed(list(_NUMBER.finditer(_prepare(text)))):
        value = _value(match)
        if value is not None:
            return value
    return None


def numbers_close(a: float, b: float, tolerance: float) -> bool:
    """Equal within a relative ``tolerance`` plus a tiny absolute one (see ``ABS_TOL``)."""
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=ABS_TOL)


def format_number(value: float) -> str:
    """The normalised text of a number: ``12``, ``12.5``, ``0.75``, ``6.02e+23``."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.12g}"
