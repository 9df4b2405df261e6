"""The fade-curve editor: presets, mouse edits of the custom curve, and the save round trip."""

import pytest
from fake_engine_client import FakeEngineClient
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine.config import load_config
from engine.method.fade import curve, fade_p
from realm_studio.panels.qt_fade_panel import QtFadePanel


@pytest.fixture
def panel(qtbot, project):
    panel = QtFadePanel(FakeEngineClient())
    qtbot.addWidget(panel)
    panel.set_project(project)
    panel.resize(1000, 600)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def pixel(panel, x: float, y: float) -> QPoint:
    """Viewport pixel of data point (x, y) on the plot."""
    scene = panel.editor.view_box.mapViewToScene(QPointF(x, y))
    return panel.editor.plot.mapFromScene(scene)


def mouse(panel, kind, at: QPoint, button=Qt.MouseButton.LeftButton, held=Qt.MouseButton.NoButton):
    viewport = panel.editor.plot.viewport()
    event = QMouseEvent(kind, QPointF(at), QPointF(viewport.mapToGlobal(at)), button, held,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag(panel, start: tuple[float, float], end: tuple[float, float], steps: int = 8):
    """Press on a data point, move in steps with the button held, release."""
    left = Qt.MouseButton.LeftButton
    a, b = pixel(panel, *start), pixel(panel, *end)
    mouse(panel, QEvent.Type.MouseButtonPress, a, left, left)
    for i in range(1, steps + 1):
        mouse(panel, QEvent.Type.MouseMove, a + (b - a) * (i / steps), Qt.MouseButton.NoButton, left)
    mouse(panel, QEvent.Type.MouseButtonRelease, b, left, Qt.MouseButton.NoButton)


def choose_custom(panel, points):
    panel.schedule.setCurrentText("custom")
    panel._on_points_edited(points)


def test_presets_change_the_plotted_curve(panel):
    curves = {}
    for preset in ("constant", "linear", "cosine", "exponential", "staircase"):
        panel.schedule.setCurrentText(preset)
        xs, ys = panel.editor.plotted_curve()
        assert (xs, ys) == curve(panel.fade, len(xs))
        curves[preset] = tuple(round(y, 6) for y in ys)
    assert len(set(curves.values())) == 5
    panel.params["stairs"].setValue(2)  # staircase parameters redraw it
    assert tuple(round(y, 6) for y in panel.editor.plotted_curve()[1]) != curves["staircase"]
    assert not panel.params["half_life"].isEnabled()


def test_fade_fraction_moves_the_shaded_tail(panel):
    panel.schedule.setCurrentText("linear")
    panel.params["fade_fraction"].setValue(0.5)
    assert panel.editor.tail.isVisible()
    assert panel.editor.tail.getRegion() == pytest.approx((0.5, 1.0), abs=0.003)
    panel.params["end"].setValue(0.2)  # p never reaches 0: no autonomous tail
    assert not panel.editor.tail.isVisible()


def test_drag_moves_a_point_and_save_round_trips(panel, qtbot, project):
    choose_custom(panel, [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    drag(panel, (0.5, 0.5), (0.3, 0.8))
    moved = panel.fade.points[1]
    assert moved == pytest.approx([0.3, 0.8], abs=0.02)
    assert panel.fade.points[0] == [0.0, 1.0] and panel.fade.points[2] == [1.0, 0.0]
    with qtbot.waitSignal(panel.sig_changed):
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    saved = load_config(project).fade
    assert saved.schedule == "custom"
    assert saved.points == panel.fade.points
    xs, ys = panel.editor.plotted_curve()
    assert [fade_p(saved, x) for x in xs] == pytest.approx(ys)
    for x, y in saved.points:
        assert fade_p(saved, x) == pytest.approx(y)


def test_drag_is_clamped_to_the_unit_square_and_between_neighbours(panel):
    choose_custom(panel, [[0.0, 1.0], [0.5, 0.5], [0.7, 0.2], [1.0, 0.0]])
    drag(panel, (0.5, 0.5), (0.95, 1.3))  # past its right neighbour and above the plot
    x, y = panel.fade.points[1]
    assert y == 1.0
    assert 0.5 < x < 0.7
    drag(panel, (1.0, 0.0), (1.3, -0.3))  # the last point cannot leave [0, 1]
    assert panel.fade.points[3] == [1.0, 0.0]
    xs = [p[0] for p in panel.fade.points]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


def test_double_click_adds_and_right_click_removes_a_point(panel, qtbot):
    choose_custom(panel, [[0.0, 1.0], [1.0, 0.0]])
    at = pixel(panel, 0.4, 0.3)
    qtbot.mouseDClick(panel.editor.plot.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert len(panel.fade.points) == 3
    assert panel.fade.points[1] == pytest.approx([0.4, 0.3], abs=0.02)
    qtbot.mouseClick(panel.editor.plot.viewport(), Qt.MouseButton.RightButton, pos=pixel(panel, *panel.fade.points[1]))
    assert panel.fade.points == [[0.0, 1.0], [1.0, 0.0]]
    qtbot.mouseClick(panel.editor.plot.viewport(), Qt.MouseButton.RightButton, pos=pixel(panel, 1.0, 0.0))
    assert len(panel.fade.points) == 2  # never fewer than two


def test_preview_and_route_count_fade(panel, project):
    panel.schedule.setCurrentText("constant")
    panel.params["start"].setValue(0.5)
    assert "1.00 at 0%" in panel.preview.text()  # 0.5 × rl.prompts_per_step (2)
    assert "about 200 of 400 prompts" in panel.preview.text()
    panel.params["k_show"].setValue(4)
    panel.params["k_show_min"].setValue(1)
    assert "Routes shown per hinted prompt: 4 → 1" in panel.preview.text()
    panel.save()
    fade = load_config(project).fade
    assert (fade.schedule, fade.start, fade.k_show, fade.k_show_min) == ("constant", 0.5, 4, 1)


def _loader_says(panel, fade) -> str:
    """What loading a realm.toml holding ``fade`` would report (one line, without the file name)."""
    import dataclasses

    from engine.config import config_from_dict
    from engine.errors import UserError

    raw = dataclasses.replace(load_config(panel.project_dir), fade=fade).to_dict()
    with pytest.raises(UserError) as refused:
        config_from_dict(raw)
    return str(refused.value).split(": ", 2)[2]


def test_every_edit_is_checked_like_the_loader_and_the_problem_shows_beside_its_field(panel):
    import dataclasses

    choose_custom(panel, [[0.0, 1.0], [0.5, 0.5], [0.5, 0.0]])  # two points at the same progress
    expected = _loader_says(panel, panel.fade)
    assert expected == "progress values must strictly increase"
    assert panel.problems == {"fade.points": expected}
    assert panel.problem_labels["points"].text() == expected
    assert not panel.save_button.isEnabled(), "an invalid section must not be saved"
    assert all(not label.text() for key, label in panel.problem_labels.items() if key != "points")

    choose_custom(panel, [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    assert panel.problems == {} and panel.problem_labels["points"].text() == ""
    assert panel.save_button.isEnabled()

    panel._show(dataclasses.replace(panel.fade, schedule="linear", start=1.5))  # a value no spin box offers
    assert panel.problem_labels["start"].text() == _loader_says(panel, panel.fade) == "must be in [0.0, 1.0], got 1.5"
    row = panel.problem_labels["start"].parentWidget()
    assert panel.params["start"].parentWidget() is row, "the message sits beside the field it is about"
    assert not panel.save_button.isEnabled()
