"""Evaluate you can read (issue 13, item 7): a readable question column, the answers of a clicked
problem side by side, the base model's own ledger, runs newest first with failed ones marked,
progress while an evaluation runs, and the accuracies as bars with their intervals."""

from __future__ import annotations

import json
import time

import pytest
from fake_engine_client import FakeEngineClient
from PySide6.QtCore import Qt

from engine.project import base_eval_dir
from engine.runs import RunFolder
from realm_studio.panels.qt_eval_panel import QtEvalPanel

QUESTION = "A member ships a 7.5 kg fragile parcel to zone C on a Saturday. What is the fee in EUR?"


def write_eval(folder, accuracy, rows, n=2):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps({
        "n": n, "accuracy_without_routes": accuracy, "accuracy_with_routes": 1.0, "autonomy_gap": 1.0 - accuracy,
        "without_routes": {"correct": round(accuracy * n), "n": n, "accuracy": accuracy, "interval": [0.1, 0.9]},
        "with_routes": {"correct": n, "n": n, "accuracy": 1.0, "interval": [0.34, 1.0]}, "format_failure_rate": 0.0}))
    (folder / "ledger.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def row(pid, correct, completion, base=None):
    return {"problem_id": pid, "question": QUESTION, "answer": "22.5", "correct_without": correct,
            "answer_without": "22.5" if correct else "19", "correct_with": True, "base_correct_without": base,
            "completion_without": completion, "completion_with": completion + " (with routes)"}


@pytest.fixture
def project_with_evals(project):
    write_eval(base_eval_dir(project), 0.0, [row("q1", False, "base says 19"), row("q2", False, "base says 7")])
    old = RunFolder(project, "older")
    old.write_status(state="failed", pid=None, started=time.time() - 100)
    new = RunFolder(project, "newer")
    new.write_status(state="finished", pid=None, started=time.time())
    write_eval(new.eval_dir, 0.5, [row("q1", True, "run says 22.5", base=False), row("q2", False, "run says 8",
                                                                                     base=False)])
    return project


@pytest.fixture
def panel(qtbot, project_with_evals):
    panel = QtEvalPanel(FakeEngineClient())
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.set_project(project_with_evals)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_runs_are_newest_first_failed_ones_marked_and_the_base_has_its_own_ledger(panel):
    items = [panel.run_combo.itemText(i) for i in range(panel.run_combo.count())]
    assert items == ["newer", "✗ older (failed)", "Base model"]
    assert panel.selected_run() == "newer"
    panel.run_combo.setCurrentIndex(2)
    assert panel.selected_run() == "" and len(panel.ledger) == 2
    assert [panel.ledger_table.item(r, 4).text() for r in range(2)] == ["✗", "✗"]
    assert not panel.eval_run_button.isEnabled() and panel.eval_base_button.isEnabled()


def test_the_question_column_takes_the_room_and_a_click_shows_both_models_answers(panel, qtbot):
    widths = [panel.ledger_table.columnWidth(c) for c in range(panel.ledger_table.columnCount())]
    assert widths[1] == max(widths) and widths[1] > 3 * widths[4], widths
    qtbot.mouseClick(panel.ledger_table.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.ledger_table.visualItemRect(panel.ledger_table.item(0, 1)).center())
    texts = {key: box.toPlainText() for key, box in panel.completions.texts.items()}
    assert texts[("base", "without")] == "base says 19" and texts[("run", "without")] == "run says 22.5"
    assert texts[("run", "with")] == "run says 22.5 (with routes)"
    assert panel.completions.boxes[("run", "without")].title() == "newer — without routes ✓"
    assert "gold answer 22.5" in panel.completions.question.text()


def test_accuracy_bars_carry_the_summaries_intervals(panel):
    assert panel.chart.bars[("run", "without routes")] == (0.5, 0.1, 0.9)
    assert panel.chart.bars[("base", "with routes")] == (1.0, 0.34, 1.0)


def test_an_evaluation_shows_its_progress(panel, qtbot):
    qtbot.mouseClick(panel.eval_base_button, Qt.MouseButton.LeftButton)
    job = panel.engine.jobs[-1]
    assert job.args[:3] == ["eval", str(panel.project_dir), "--base"] and panel.progress.isVisible()
    job.sig_event.emit({"type": "progress", "stage": "eval", "step": 3, "total": 12})
    assert (panel.progress.value(), panel.progress.maximum()) == (3, 12)
    job.finish(0)
    assert not panel.progress.isVisible()
