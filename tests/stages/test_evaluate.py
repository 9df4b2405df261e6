"""Evaluation: which problems, which settings, the intervals, and results written as one transaction."""

from __future__ import annotations

import json
import os

import pytest
from stage_testkit import make_project

from engine import fsutil
from engine.errors import UserError
from engine.project import EVAL_LEDGER, EVAL_SUMMARY, base_eval_dir
from engine.stages.evaluate import eval_overrides, evaluate


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("eval") / "proj", tiny_model_dir, n=12)  # 9 train, 3 test


def test_only_evaluation_settings_can_change_at_evaluation():
    assert eval_overrides(["eval.max_new_tokens=40", "fade.k_show=2"]) == ["eval.max_new_tokens=40", "fade.k_show=2"]
    with pytest.raises(UserError, match=r"only eval\.\* keys and fade\.k_show") as err:
        eval_overrides(["rl.max_steps=3"])
    assert "\n" not in str(err.value)


def test_split_problem_caps_and_settings_are_honoured_and_recorded(project):
    summary = evaluate(project, overrides=["eval.split=train", "eval.max_problems=5", "eval.max_problems_with_routes=2"])
    assert summary["n"] == 5 and summary["n_with_routes"] == 2
    assert summary["settings"]["split"] == "train" and summary["settings"]["n"] == 5
    assert summary["with_routes"]["n"] == 2 and summary["without_routes"]["n"] == 5
    low, high = summary["without_routes"]["interval"]
    assert 0.0 <= low <= summary["accuracy_without_routes"] <= high <= 1.0
    ledger = [json.loads(line) for line in (base_eval_dir(project) / EVAL_LEDGER).read_text().splitlines()]
    assert [r["had_routes"] for r in ledger] == [True, True, False, False, False]
    assert ledger[0]["completion_with"] is not None and ledger[4]["correct_with"] is None


def test_results_are_one_transaction(project, monkeypatch):
    evaluate(project)
    folder = base_eval_dir(project)
    before = {name: (folder / name).read_text() for name in (EVAL_SUMMARY, EVAL_LEDGER)}
    calls = []

    def fsync_then_fail(fd):  # the disk fails while the second file is written
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync_then_fail)
    with pytest.raises(UserError, match="No space left"):
        evaluate(project, overrides=["eval.max_problems=1"])
    monkeypatch.undo()
    assert {name: (folder / name).read_text() for name in before} == before  # the old pair, untouched
    assert sorted(p.name for p in folder.parent.iterdir()) == ["base"]  # no temp folder left behind


def test_atomic_write_files_replaces_the_whole_set(tmp_path):
    fsutil.atomic_write_files(tmp_path / "eval", {"a.json": "1", "b.jsonl": "1"})
    fsutil.atomic_write_files(tmp_path / "eval", {"a.json": "2", "b.jsonl": "2"})
    assert {p.name: p.read_text() for p in (tmp_path / "eval").iterdir()} == {"a.json": "2", "b.jsonl": "2"}
    assert [p.name for p in tmp_path.iterdir()] == ["eval"]
