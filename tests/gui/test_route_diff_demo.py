"""The route diff on the bundled demo: it flags the step the generator corrupted, shows the
question above the diff, and the problem list can be widened and shows the whole question."""

from __future__ import annotations

import pytest
from fake_engine_client import FakeEngineClient
from PySide6.QtCore import Qt

from engine.data.importers import import_problems
from engine.method.prompts import split_steps
from engine.project import DEMO_DIR, init_project
from engine.routes.generate import generate_routes
from realm_studio.panels.qt_routes_panel import QtRoutesPanel
from realm_studio.widgets.qt_route_diff import DIVERGENCE_COLOUR

KINDS = ("wrong_rule", "arithmetic_slip", "skipped_condition", "order_error")


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    folder = init_project(tmp_path_factory.mktemp("demo") / "proj", answer_type="number")
    import_problems(folder, str(DEMO_DIR / "problems.jsonl"))
    generate_routes(folder, f"file:{DEMO_DIR / 'routes.jsonl'}")
    return folder


def open_panel(qtbot, project) -> QtRoutesPanel:
    """The Routes page on ``project``, shown (clicks reach only shown widgets)."""
    panel = QtRoutesPanel(FakeEngineClient())
    qtbot.addWidget(panel)
    panel.set_project(project)
    panel.resize(1400, 800)
    panel.show()
    return panel


@pytest.fixture
def panel(qtbot, demo_project):
    return open_panel(qtbot, demo_project)


def negatives_by_kind(panel, wanted: int = 3) -> dict[str, list[tuple[int, int]]]:
    """(problem row, negative index) of the first few negatives of each error kind."""
    store, found = panel.model.store, {kind: [] for kind in KINDS}
    for row in range(len(store.problem_ids)):
        for index, route_row in enumerate(store.route_rows(row, "negative")):
            kind = store.route(route_row).meta["kind"]
            if len(found[kind]) < wanted:
                found[kind].append((row, index))
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_the_flagged_step_of_each_error_kind_is_the_one_the_generator_corrupted(panel, kind):
    for row, index in negatives_by_kind(panel)[kind]:
        panel.select_problem(row)
        panel.diff.combos[1].setCurrentIndex(index)
        positive, negative = panel.diff.shown_routes()
        corrupted = negative.meta["corrupted_step"]
        assert panel.diff.wrong_step == corrupted - 1, (negative.text, positive.text)
        assert f"{kind.replace('_', ' ')} at step {corrupted}" in panel.diff.summary.text()
        flagged = panel.diff.table.item(panel.diff.divergence_row, 1)
        steps = split_steps(negative.text)
        if corrupted <= len(steps):  # a step that is there (not one skipped at the very end)
            assert flagged.text() in (steps[corrupted - 1], "")  # "": a skipped step's row on its side
        assert panel.diff.table.item(panel.diff.divergence_row, 0).background().color() == DIVERGENCE_COLOUR


def test_picking_a_negative_picks_the_positive_worded_like_it(panel):
    panel.select_problem(0)
    for index in range(panel.diff.combos[1].count()):
        panel.diff.combos[1].setCurrentIndex(index)
        positive, negative = panel.diff.shown_routes()
        assert positive.text.startswith("Step 1:") == negative.text.startswith("Step 1:")


def test_the_question_is_shown_above_the_diff_and_in_full_on_hover(panel):
    panel.select_problem(4)
    question = panel.model.question(panel.proxy.mapToSource(panel.proxy.index(4, 0)).row())
    assert question in panel.diff.question.text() and panel.diff.question.isVisible()
    tip = panel.proxy.index(4, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert question in tip and tip.startswith("<p>")  # rich text: Qt wraps a long tooltip


def test_the_problem_list_can_be_widened_with_the_splitter(panel):
    before = panel.splitter.sizes()[0]
    panel.splitter.moveSplitter(before + 300, 1)  # what dragging the handle does (tests/gui/x_scenario.py drags it)
    assert panel.splitter.sizes()[0] > before + 200
    assert not panel.splitter.childrenCollapsible()


def test_importing_the_same_routes_file_again_asks_replace_or_add(qtbot, demo_project):
    from PySide6.QtWidgets import QMessageBox

    panel = open_panel(qtbot, demo_project)
    panel.source_kind.setCurrentText("file")
    panel.source_value.setText(str(DEMO_DIR / "routes.jsonl"))
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    dialog = next(d for d in panel.findChildren(QMessageBox) if d.isVisible())
    assert "has 1500 routes imported from this file before" in dialog.text()
    assert panel.engine.jobs == []  # nothing runs before the user answers
    qtbot.mouseClick(next(b for b in dialog.buttons() if b.text() == "Add"), Qt.MouseButton.LeftButton)
    assert panel.engine.jobs[-1].args[-1] == "--append"
