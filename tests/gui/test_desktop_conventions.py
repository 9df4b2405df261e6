"""Desktop conventions (issue 13, item 10): plots follow the light or dark palette, empty pages
say what to do next, long labels are cut at a whole word with the full text on hover, and a
label that changes length never moves the buttons beside it."""

from __future__ import annotations

import pytest
from fake_engine_client import FakeEngineClient
from PySide6.QtGui import QColor, QPalette

from realm_studio.main_window import QtMainWindow
from realm_studio.widgets.qt_elided_label import QtElidedLabel, elide_words
from realm_studio.widgets.qt_fade_editor import QtFadeEditor
from realm_studio.widgets.qt_live_plot import QtLivePlot


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.Base, "#17181a"),
                         (QPalette.ColorRole.Text, "#e8eaed"), (QPalette.ColorRole.WindowText, "#e8eaed")):
        palette.setColor(role, QColor(colour))
    return palette


@pytest.mark.parametrize("make", [QtFadeEditor, lambda: QtLivePlot("Loss", "loss")])
def test_plots_follow_a_dark_palette_and_a_switch_back(qtbot, make):
    widget = make()
    qtbot.addWidget(widget)
    graphics = widget.plot if isinstance(widget, QtFadeEditor) else widget.graphics
    widget.setPalette(dark_palette())  # the system switches to dark
    assert graphics.backgroundBrush().color() == QColor("#17181a")
    axis = graphics.getPlotItem().getAxis("left") if isinstance(widget, QtFadeEditor) else \
        widget.plot_item.getAxis("left")
    assert axis.textPen().color() == QColor("#e8eaed")
    widget.setPalette(QPalette())
    assert graphics.backgroundBrush().color() == QPalette().color(QPalette.ColorRole.Base)


def test_every_page_says_what_to_do_when_there_is_no_project(qtbot, settings):
    window = QtMainWindow(engine=FakeEngineClient(), settings=settings)
    qtbot.addWidget(window)
    assert window.panels["data"].split_counts.text().startswith("Create or open a project first")
    assert window.panels["routes"].diff.summary.text().startswith("Create or open a project first")
    assert window.panels["train"].form.error_label.text().startswith("Create or open a project first")
    assert window.panels["evaluate"].ledger_label.text().startswith("Create or open a project first")
    assert window.panels["export"].exports_label.text().startswith("Create or open a project first")
    assert window.panels["runs"].details.text() == "Create or open a project first"
    assert window.panels["settings"].empty.text().startswith("Create or open a project first")
    for panel in window.panels.values():
        panel.shutdown()


def test_a_project_without_data_says_import_data_first(qtbot, project, settings):
    window = QtMainWindow(engine=FakeEngineClient(), settings=settings)
    qtbot.addWidget(window)
    window.open_project(project)
    assert window.panels["routes"].diff.summary.text().startswith("Import data first")
    assert window.panels["data"].split_counts.text().startswith("No problems yet: import a file")
    assert window.panels["export"].exports_label.text().startswith("Nothing to export yet")
    for panel in window.panels.values():
        panel.shutdown()


def test_a_long_label_is_cut_at_a_whole_word_with_the_full_text_on_hover(qtbot):
    assert elide_words("Run: r1 — interrupted (the engine process is gone)", lambda t: len(t) <= 25) == \
        "Run: r1 — interrupted …"
    label = QtElidedLabel()
    qtbot.addWidget(label)
    label.resize(160, 20)
    text = "Run: realm-r1-20261204 — interrupted (the engine process is gone: killed or crashed)"
    label.setText(text)
    assert label.toolTip() == text and label.text() == text
    shown = label.shown_text()
    cut = shown.removesuffix(" …")
    assert shown.endswith(" …") and text.startswith(cut) and text[len(cut)] in " :;,—-"  # a whole word


def test_buttons_stay_put_when_a_state_label_changes_length(qtbot, project, settings):
    window = QtMainWindow(engine=FakeEngineClient(), settings=settings)
    qtbot.addWidget(window)
    window.open_project(project)
    window.show_step("train")
    window.show()
    qtbot.waitExposed(window)
    train = window.panels["train"]
    before = [b.geometry() for b in (train.start_button, train.resume_button)]
    train.run_label.setText("Run: x")
    train.eta_label.setText("")
    qtbot.wait(20)
    train.run_label.setText("Run: a-very-long-run-name-20261204-101010 — interrupted (the engine process is gone: "
                            "killed or crashed; Resume continues from the last checkpoint)")
    train.eta_label.setText("ETA 1h 02m · 0.0123 steps/s")
    qtbot.wait(20)
    assert [b.geometry() for b in (train.start_button, train.resume_button)] == before
    for panel in window.panels.values():
        panel.shutdown()
