"""The Data panel: the import wizard's dry-run preview, refused rows, import, problem table."""

import json

import pytest
from fake_engine_client import FakeEngineClient
from PySide6.QtCore import Qt

from engine.data.problems import PROBLEMS_FILE, Problem, write_problems
from realm_studio.panels.qt_data_panel import QtDataPanel, sniff_columns

PREVIEW = {
    "type": "import_preview", "fmt": "jsonl",
    "problems": [
        {"id": "q-1", "question": "2+2?", "answer": "4", "answer_type": "number", "choices": None, "rules": None,
         "split": "train"},
        {"id": "q-2", "question": "Capital of France?", "answer": "B", "answer_type": "choice",
         "choices": ["Rome", "Paris"], "rules": None, "split": "test"},
    ],
    "rejected": [{"file": "qa.jsonl", "row": 3, "reason": "question: empty"}],
    "counts": {"ok": 2, "rejected": 1},
}


@pytest.fixture
def qa_file(tmp_path):
    path = tmp_path / "qa.jsonl"
    rows = [{"prompt": "2+2?", "target": 4, "options": None}, {"prompt": "3+3?", "target": 6, "options": None},
            {"prompt": "", "target": 1, "options": None}, {"prompt": "5+5?", "target": 10, "options": None}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def make_panel(qtbot, project, engine):
    panel = QtDataPanel(engine)
    qtbot.addWidget(panel)
    panel.statuses = []
    panel.sig_status.connect(panel.statuses.append)
    panel.set_project(project)
    panel.show()
    return panel


@pytest.fixture
def panel(qtbot, project):
    return make_panel(qtbot, project, FakeEngineClient())


def type_file(qtbot, panel, path):
    qtbot.keyClicks(panel.file_edit, str(path))
    qtbot.waitUntil(lambda: bool(panel.engine.jobs) and not panel._preview_timer.isActive(), timeout=5000)


def test_typing_a_file_runs_one_debounced_dry_run(panel, qtbot, project, qa_file):
    panel._preview_timer.setInterval(60_000)  # the user is still typing…
    qtbot.keyClicks(panel.file_edit, str(qa_file))
    assert panel.engine.jobs == [] and panel._preview_timer.isActive()
    panel._preview_timer.setInterval(0)  # …and pauses
    qtbot.waitUntil(lambda: bool(panel.engine.jobs), timeout=5000)
    assert len(panel.engine.jobs) == 1  # one dry run for the whole typed path, not one per key
    assert panel.engine.jobs[0].args == ["import", str(project), str(qa_file), "--test-fraction", "0.2",
                                         "--skip-bad", "--dry-run"]
    assert [panel.map_combos["question"].itemText(i) for i in range(4)] == ["(auto)", "prompt", "target", "options"]


def test_preview_event_fills_the_table_and_the_refused_rows(panel, qtbot, qa_file):
    type_file(qtbot, panel, qa_file)
    panel.engine.jobs[-1].sig_event.emit(PREVIEW)
    model = panel.preview_model
    assert model.rowCount() == 2
    assert [model.index(1, c).data() for c in range(model.columnCount())] == [
        "q-2", "Capital of France?", "B", "choice", "Rome | Paris", "test"]
    assert [panel.refused.item(i).text() for i in range(panel.refused.count())] == ["qa.jsonl:3: question: empty"]
    assert panel.detected.text() == "format: jsonl · 2 problems ready · 1 refused"
    assert panel.import_button.isEnabled()
    qtbot.mouseClick(panel.skip_bad, Qt.MouseButton.LeftButton)  # refuse to import with bad rows…
    qtbot.waitUntil(lambda: len(panel.engine.jobs) == 2 and not panel._preview_timer.isActive(), timeout=5000)
    panel.engine.jobs[-1].sig_event.emit(PREVIEW)
    assert not panel.import_button.isEnabled()  # …so Import waits until the file is fixed


def test_mapping_change_reruns_the_dry_run_and_drops_the_stale_one(panel, qtbot, qa_file):
    type_file(qtbot, panel, qa_file)
    first = panel.engine.jobs[0]
    panel.map_combos["question"].setCurrentText("prompt")
    panel.map_combos["answer"].setCurrentText("target")
    panel.answer_type.setCurrentText("number")
    qtbot.waitUntil(lambda: len(panel.engine.jobs) == 2 and not panel._preview_timer.isActive(), timeout=5000)
    assert first.terminated
    args = panel.engine.jobs[1].args
    assert args[args.index("--map") + 1] == "question=prompt,answer=target"
    assert args[args.index("--answer-type") + 1] == "number"
    assert panel.command.text().startswith("realm-engine import ")
    assert "--dry-run" not in panel.command.text() and "--map question=prompt,answer=target" in panel.command.text()
    first.sig_event.emit(PREVIEW)  # a late event of the dropped run is ignored
    assert panel.preview_model.rowCount() == 0


def test_failed_dry_run_shows_the_engine_error(panel, qtbot, qa_file):
    type_file(qtbot, panel, qa_file)
    panel.engine.jobs[-1].finish(2, "qa.jsonl: no column 'nope' (columns: prompt, target, options)")
    assert "no column 'nope'" in panel.error.text()
    assert not panel.import_button.isEnabled()


def test_problem_table_and_split_counts(qtbot, project):
    problems = [Problem(id=f"p{i}", question=f"q{i}", answer="1", split="test" if i < 3 else "train")
                for i in range(10)]
    write_problems(project / PROBLEMS_FILE, problems)
    panel = make_panel(qtbot, project, FakeEngineClient())
    assert panel.problems_model.rowCount() == 10
    assert panel.split_counts.text() == "10 problems (7 train / 3 test)"
    assert panel.statuses[-1] == "10 problems (7 train / 3 test)"


@pytest.mark.parametrize(
    "name, text, columns",
    [("a.jsonl", '{"q": 1, "a": 2}\n{"q": 3, "extra": 4}\n', ["q", "a", "extra"]),
     ("a.csv", "question,answer\n1,2\n", ["question", "answer"]),
     ("a.jsonl", "not json\n", []),
     ("missing.csv", None, [])],
)
def test_sniff_columns(tmp_path, name, text, columns):
    if text is not None:
        (tmp_path / name).write_text(text)
    assert sniff_columns(str(tmp_path / name)) == columns


def test_real_engine_preview_then_import(qtbot, project, qa_file, engine_client):
    """The real ``realm-engine import --dry-run --json`` and then the import itself."""
    panel = make_panel(qtbot, project, engine_client)
    panel.map_combos["question"].setCurrentText("prompt")
    panel.map_combos["answer"].setCurrentText("target")
    panel.file_edit.setText(str(qa_file))
    qtbot.waitUntil(lambda: panel.import_button.isEnabled() or bool(panel.error.text()), timeout=60000)
    assert panel.error.text() == ""
    assert panel.preview_model.rowCount() == 3
    assert panel.refused.count() == 1 and panel.refused.item(0).text().startswith(f"{qa_file}:3: ")
    with qtbot.waitSignal(panel.sig_changed, timeout=60000):
        qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    assert panel.problems_model.rowCount() == 3
    assert panel.statuses[-1].startswith("3 problems (")


# ----------------------------------------------------------------------------- nothing a user made is lost

def find_dialog(panel):
    from PySide6.QtWidgets import QMessageBox

    dialogs = [d for d in panel.findChildren(QMessageBox) if d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def test_import_into_a_project_with_problems_asks_replace_or_append_with_the_counts(panel, qtbot, project, qa_file):
    write_problems(project / PROBLEMS_FILE, [Problem(id=f"p{i}", question="?", answer="1") for i in range(40)])
    panel.set_project(project)
    type_file(qtbot, panel, qa_file)
    panel.engine.jobs[-1].sig_event.emit({**PREVIEW, "counts": {"ok": 2, "rejected": 1, "existing": 40, "clashes": 0}})
    assert "the project has 40" in panel.detected.text()
    qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    dialog = find_dialog(panel)
    assert "already has 40 problems" in dialog.text() and "This file has 2" in dialog.text()
    assert "Append: 2 are added (42 in all)" in dialog.informativeText()
    assert len(panel.engine.jobs) == 1  # nothing is written before the user answers
    cancel = dialog.button(dialog.StandardButton.Cancel)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert len(panel.engine.jobs) == 1
    qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    dialog = find_dialog(panel)
    append = next(b for b in dialog.buttons() if b.text() == "Append")
    qtbot.mouseClick(append, Qt.MouseButton.LeftButton)
    assert panel.engine.jobs[-1].args[-1] == "--append" and "--dry-run" not in panel.engine.jobs[-1].args
    assert panel.command.text().endswith("--skip-bad --append")


def test_undo_import_runs_import_undo_when_an_earlier_table_was_kept(panel, qtbot, project):
    from engine.data.history import keep
    from engine.project import data_history_dir

    assert not panel.undo_button.isEnabled()
    write_problems(project / PROBLEMS_FILE, [Problem(id="p1", question="?", answer="1")])
    keep(project / PROBLEMS_FILE, data_history_dir(project))
    panel.set_project(project)
    assert panel.undo_button.isEnabled() and "kept at" in panel.undo_button.toolTip()
    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
    assert panel.engine.jobs[-1].args == ["import", str(project), "--undo"]
    with qtbot.waitSignal(panel.sig_changed):
        panel.engine.jobs[-1].finish(0)
