"""The one seeded hash reproduces, bit for bit, the four it replaced: splits, shuffles, hint
decisions and candidate draws already on disk (or in a run being resumed) must not change."""

import hashlib
import random

import pytest

from engine.method.seeded import stable_int, stable_rng, stable_uniform


def _old_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@pytest.mark.parametrize("seed, key", [(0, "q1"), (7, "northwind-0042"), (123456, "é/ü ~ id")])
def test_each_former_hash_is_reproduced(seed, key):
    # data.importers: split and choice shuffle
    assert stable_uniform(seed, "split", key, sep="\0") == _old_int(f"{seed}\0split\0{key}") / 2**64
    assert stable_rng(seed, "shuffle", key, sep="\0").random() == random.Random(_old_int(f"{seed}\0shuffle\0{key}")).random()
    # method.fade.hint_decision, at step 5
    assert stable_uniform(seed, 5, key, sep="\x1f") == _old_int(f"{seed}\x1f5\x1f{key}") / 2.0**64
    # method.mrpv candidates, at step 5, and stages.evaluate
    assert stable_rng("candidates", seed, 5, key).random() == random.Random(_old_int(f"candidates|{seed}|5|{key}")).random()
    assert stable_rng("eval", seed, key).random() == random.Random(_old_int(f"eval|{seed}|{key}")).random()


def test_uniform_is_in_the_unit_interval_and_parts_matter():
    values = [stable_uniform(0, i, "p") for i in range(200)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert len(set(values)) == 200
    assert stable_int(1, "a") != stable_int(1, "b") != stable_int(2, "b")
