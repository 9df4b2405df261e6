"""Seeded randomness that is the same in every process: one hash, four uses.

Python's ``hash()`` is salted per process and ``random.Random(tuple)`` hashes with it, so a
decision drawn that way differs between ranks, between a run and its resume, and between two
imports of the same file. Every seeded decision of the method therefore comes from SHA-256 of
its parts instead: the import's split and choice shuffle, the fade's hint decision, the
candidates drawn for a hinted prompt, and the routes an evaluation shows.

The parts are joined with ``sep`` exactly as each caller always has (the bytes hashed decide
every split and draw already on disk, so they must never change).
"""

from __future__ import annotations

import hashlib
import random


def stable_int(*parts: object, sep: str = "|") -> int:
    """A 64-bit integer from SHA-256 of ``sep.join(parts)``: the same in every process."""
    digest = hashlib.sha256(sep.join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stable_uniform(*parts: object, sep: str = "|") -> float:
    """A number in [0, 1) from ``stable_int``."""
    return stable_int(*parts, sep=sep) / 2.0**64


def stable_rng(*parts: object, sep: str = "|") -> random.Random:
    """A ``random.Random`` seeded with ``stable_int``."""
    return random.Random(stable_int(*parts, sep=sep))
