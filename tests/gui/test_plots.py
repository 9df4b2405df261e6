"""Plots a user can read (issue 13, item 5): legends clear of the curves, units, whole steps,
one step axis with stage markers, a series per stage, identical series told apart, hover values,
smoothing, log scale, PNG/CSV export, the no-learning-signal warning, and best/worst tints that
mean something."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt

from engine.events import EventWriter
from engine.runs import RunFolder
from realm_studio.panels.qt_train_panel import QtTrainPanel
from realm_studio.widgets.qt_live_metrics import QtLiveMetrics
from realm_studio.widgets.qt_live_plot import StepAxis
from realm_studio.widgets.qt_sample_table import RANK_COLORS, QtSampleTable


@pytest.fixture
def dashboard(qtbot):
    view = QtLiveMetrics()
    qtbot.addWidget(view)
    view.resize(1200, 900)
    view.show()
    return view


def two_stage_run(view):
    """distill for 4 steps (loss falling), then rl for 4 (loss 0, p and hinted share equal)."""
    view.mark_stage("distill", 0)
    for step in range(1, 5):
        view.add_metrics(step, "distill", {"loss": 2.0 / step, "learning_rate": 5e-4})
    view.mark_stage("rl", 4)
    for step in range(5, 9):
        view.add_metrics(step, "rl", {"loss": 0.0, "fade/p": 1.0, "fade/hinted_fraction": 1.0})
    view.redraw()


def test_legends_sit_below_the_plot_area_and_axes_say_what_they_show(dashboard, qtbot):
    two_stage_run(dashboard)
    qtbot.wait(50)
    for plot in dashboard.plots.values():
        assert plot.plot_item.getAxis("bottom").labelText == "step"
        assert plot.plot_item.getAxis("left").labelText
    plot = dashboard.plot_of("loss")
    legend, area = plot.legend.sceneBoundingRect(), plot.plot_item.vb.sceneBoundingRect()
    assert legend.top() >= area.bottom(), "the legend must not cover the curves"
    assert dashboard.plot_of("completions/mean_length").plot_item.getAxis("left").labelText == "tokens"


def test_the_step_axis_has_whole_steps_only():
    axis = StepAxis("bottom")
    for spacing, values in axis.tickValues(0.0, 3.0, 600):
        assert spacing >= 1 or not values
        assert all(float(v).is_integer() for v in values)
    assert axis.tickStrings([1.0, 2.0], 1, 1) == ["1", "2"]


def test_each_stage_is_a_series_of_its_own_on_one_step_axis_with_a_marker_where_rl_begins(dashboard):
    two_stage_run(dashboard)
    plot = dashboard.plot_of("loss")
    assert set(plot.series) == {"distill: loss", "rl: loss"}
    assert list(plot.data("distill: loss")[0]) == [1, 2, 3, 4] and list(plot.data("rl: loss")[0]) == [5, 6, 7, 8]
    assert plot.stage_markers() == {"rl": 4.5}  # the first stage needs none
    assert all(p.stage_markers() == {"rl": 4.5} for p in dashboard.plots.values())
    dashboard.plot_of("fade/p").plot_item.setXRange(5, 6)  # one step axis: every plot follows
    assert dashboard.plot_of("loss").plot_item.viewRange()[0] == pytest.approx(
        dashboard.plot_of("fade/p").plot_item.viewRange()[0])


def test_series_with_identical_values_stay_distinguishable_and_hover_shows_both(dashboard):
    two_stage_run(dashboard)
    plot = dashboard.plot_of("fade/p")
    pens = [plot.curve_pen(name) for name in plot.series]
    assert pens[0].style() != pens[1].style() and pens[0].color() != pens[1].color()
    assert plot.curve_symbol("rl: fade/hinted_fraction") is not None  # its points are marked as well
    assert plot.hover_text(6.2) == "step 6: rl: fade/p 1 · rl: fade/hinted_fraction 1"


def test_a_legend_click_hides_its_curve(dashboard, qtbot):
    two_stage_run(dashboard)
    plot = dashboard.plot_of("loss")
    sample = plot.legend.items[0][0]
    sample.mouseClickEvent(type("Click", (), {"button": lambda self: Qt.MouseButton.LeftButton,
                                               "accept": lambda self: None})())
    assert not plot._curves["distill: loss"].isVisible()
    assert "distill" not in plot.hover_text(2)


def test_smoothing_and_log_scale_change_the_drawing_never_the_data(dashboard, tmp_path):
    two_stage_run(dashboard)
    plot = dashboard.plot_of("loss")
    dashboard.smoothing.setValue(90)
    drawn = plot._curves["distill: loss"].getOriginalDataset()[1]
    assert list(plot.data("distill: loss")[1]) == [2.0, 1.0, 2 / 3, 0.5]
    assert drawn[1] == pytest.approx(0.9 * 2.0 + 0.1 * 1.0)
    dashboard.log_scale.setChecked(True)
    assert plot.plot_item.ctrl.logYCheck.isChecked()
    dashboard.export_csv(tmp_path / "m.csv")
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert {"plot": "Loss", "series": "distill: loss", "step": "1", "value": "2.0"} in rows
    assert len([r for r in rows if r["series"] == "rl: loss"]) == 4
    assert dashboard.export_png(tmp_path / "m.png") and (tmp_path / "m.png").stat().st_size > 1000


def write_rl_steps(project, rows):
    run = RunFolder(project, "r1")
    run.write_status(state="running", pid=None, step=0)
    writer = EventWriter(run.events, "r1")
    for step, metrics in enumerate(rows, 1):
        writer.emit("metrics", stage="rl", step=step, metrics=metrics)
    return run


def test_a_run_without_learning_signal_shows_a_warning_with_what_usually_fixes_it(qtbot, engine_client, project):
    flat = {"frac_reward_zero_std": 1.0, "grad_norm": 0.0, "loss": 0.0}
    write_rl_steps(project, [flat] * 6)
    panel = QtTrainPanel(engine_client)
    qtbot.addWidget(panel)
    panel.set_project(project)
    assert panel.signal_banner.isVisibleTo(panel)
    text = panel.signal_banner.text()
    assert text.startswith("No learning signal") and "distil first" in text and "rl.num_generations" in text
    assert "rl.temperature" in text and "rl.max_completion_length" in text
    panel.shutdown()
    write_rl_steps(project, [flat] * 3 + [{"frac_reward_zero_std": 0.5, "grad_norm": 0.3}] * 3)
    panel.set_project(project.parent)  # another folder, then back: the warning follows the new history
    panel.set_project(project)
    assert not panel.signal_banner.isVisibleTo(panel)
    panel.shutdown()


def test_best_and_worst_are_tinted_only_when_their_rewards_differ(qtbot):
    table = QtSampleTable()
    qtbot.addWidget(table)
    same = {"stage": "rl", "step": 1, "run_step": 7, "prompt": "p", "completion": "c", "hinted": False}
    table.add_sample({**same, "rank": "best", "rewards": {"correctness": 0.0}})
    table.add_sample({**same, "rank": "worst", "rewards": {"correctness": 0.0}})
    colour = lambda row: table.model.data(table.model.index(row, 0), Qt.ItemDataRole.BackgroundRole)  # noqa: E731
    assert colour(0) is None and colour(1) is None  # every completion scored alike: no best, no worst
    step2 = {**same, "step": 2, "run_step": 8}
    table.add_sample({**step2, "rank": "best", "rewards": {"correctness": 1.0}})
    table.add_sample({**step2, "rank": "worst", "rewards": {"correctness": 0.0}})
    assert colour(2) == RANK_COLORS["best"] and colour(3) == RANK_COLORS["worst"]
    assert table.row_texts()[0][0] == "7"  # the run's step, as on the plots


def test_the_held_out_curve_has_the_first_plot_with_its_three_series(dashboard):
    """eval/* metrics (eval.every_steps) are the curve users care about: their own plot, first."""
    dashboard.mark_stage("distill", 0)
    for step in (10, 20, 30):
        dashboard.add_metrics(step, "distill", {"loss": 1.0 / step, "eval/accuracy_without_routes": step / 100,
                                               "eval/accuracy_with_routes": step / 50, "eval/autonomy_gap": step / 100})
    dashboard.redraw()
    plot = dashboard.plot_of("eval/accuracy_without_routes")
    assert plot is not dashboard.plot_of("loss")
    assert set(plot.series) == {"distill: eval/accuracy_without_routes", "distill: eval/accuracy_with_routes",
                                "distill: eval/autonomy_gap"}
    assert list(plot.data("distill: eval/accuracy_with_routes")[1]) == pytest.approx([0.2, 0.4, 0.6])
    assert next(iter(dashboard.plots.values())) is plot
