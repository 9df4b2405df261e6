"""The Train panel: settings are validated like the engine does, and a run's event log shows
up, point for point, in the live plots, the sample table and the log pane."""

from __future__ import annotations

import pytest

from engine.events import EventWriter
from engine.runs import RunFolder
from realm_studio.panels.qt_train_panel import QtTrainPanel
from realm_studio.run_watcher import RunWatcher
from realm_studio.widgets.qt_live_metrics import QtLiveMetrics


@pytest.fixture
def panel(qtbot, engine_client, project):
    panel = QtTrainPanel(engine_client)
    qtbot.addWidget(panel)
    panel.set_project(project)
    yield panel
    panel.shutdown()


def write_run(project, name="r1"):
    """A run as a live engine writes it: a status file and an event log."""
    run = RunFolder(project, name)
    run.write_status(state="running", pid=None, step=0)
    return run, EventWriter(run.events, name)


@pytest.mark.parametrize("key, text, error", [
    ("rl.max_steps", "0", "rl.max_steps: must be >= 1"),
    ("rl.max_steps", "ten", "rl.max_steps: must be an integer"),
    ("rl.learning_rate", "-1", "rl.learning_rate: must be in (0.0, 1.0]"),
    ("rl.learning_rate", "1e9", "rl.learning_rate: must be in (0.0, 1.0]"),
    ("rl.num_generations", "1", "rl.num_generations: must be >= 2"),
])
def test_bad_setting_shows_one_line_and_blocks_start(panel, key, text, error):
    panel.form.fields[key].setText(text)
    assert error in panel.form.error_label.text()
    assert "\n" not in panel.form.error_label.text()
    assert not panel.start_button.isEnabled()
    assert panel.start_run("realm-zero", panel.form.overrides()) is None


def test_changed_settings_become_set_overrides_in_the_shown_command(panel, project):
    panel.form.use_config()  # realm.toml's sizes, not the ones offered for a CPU
    panel.form.recipe.setCurrentText("realm-zero")
    panel.form.fields["rl.max_steps"].setText("50")
    panel.form.fields["model.name"].setText("Qwen/Qwen2.5-0.5B-Instruct")
    assert panel.form.overrides() == ["model.name=\"Qwen/Qwen2.5-0.5B-Instruct\"", "rl.max_steps=50"]
    assert panel.form.error_label.text() == ""
    assert panel.start_button.isEnabled()
    command = panel.form.command_label.text()
    assert command.startswith(f"realm-engine train {project} --recipe realm-zero")
    assert "--set rl.max_steps=50" in command


def test_watcher_turns_the_event_log_into_plot_points_and_sample_rows(qtbot, panel, project):
    run, writer = write_run(project)
    written_loss, written_p, samples = [], [], []
    for step in range(1, 31):
        metrics = {"loss": 1.0 / step, "reward": step * 0.1, "rewards/correctness/mean": 0.5,
                   "fade/p": 1 - step / 30, "fade/hinted_fraction": 0.5}
        writer.emit("metrics", stage="rl", step=step, metrics=metrics)
        writer.emit("progress", stage="rl", step=step, total=30, eta_s=30 - step, throughput=2.0)
        written_loss.append(metrics["loss"])
        written_p.append(metrics["fade/p"])
        if step % 10 == 0:
            sample = {"stage": "rl", "step": step, "prompt": f"Q{step}", "completion": f"A{step}",
                      "rewards": {"correctness": 1.0}, "hinted": step == 10, "rank": "best"}
            writer.sample(**{k: v for k, v in sample.items() if k != "rank"}, rank="best")
            samples.append(sample)
        writer.log(f"step {step} done")
    with open(run.events, "ab") as handle:
        handle.write(b'{"type": "metrics", "step": 99, "metr')  # a crash mid-write

    watcher = panel.attach("r1")
    panel.metrics.redraw()
    x, y = panel.metrics.plot_of("loss").data("rl: loss")
    assert list(x) == list(range(1, 31)) and list(y) == written_loss
    assert list(panel.metrics.plot_of("fade/p").data("rl: fade/p")[1]) == written_p
    assert panel.metrics.plot_of("loss").curve_point_count("rl: loss") == 30
    assert "rl: rewards/correctness/mean" in panel.metrics.plot_of("reward").series
    assert [row[0] for row in panel.samples.row_texts()] == ["10", "20", "30"]
    assert [row[4:] for row in panel.samples.row_texts()] == [[s["prompt"], s["completion"]] for s in samples]
    assert panel.samples.row_texts()[0][2] == "hinted"
    assert panel.log.toPlainText().splitlines()[-1] == "step 30 done"
    assert (panel.progress.value(), panel.progress.maximum()) == (30, 30)
    assert watcher.skipped_lines == 0  # the cut line is incomplete: not read yet, not an error

    with open(run.events, "ab") as handle:  # the next complete line makes the cut one garbage
        handle.write(b"\n")
    writer.emit("metrics", stage="rl", step=31, metrics={"loss": 0.01})
    qtbot.waitUntil(lambda: panel.metrics.plot_of("loss").series["rl: loss"].size == 31, timeout=5000)
    assert watcher.skipped_lines == 1


def test_dead_engine_shows_interrupted_and_offers_resume(qtbot, panel, project):
    run, writer = write_run(project)
    writer.log("loading model")
    writer.emit("error", message="CUDA out of memory", hint="lower rl.num_generations")
    run.write_status(state="running", pid=2 ** 22 + 12345)  # no such process
    panel.attach("r1")
    assert "interrupted" in panel.run_label.text()
    assert panel.resume_button.isEnabled() and not panel.stop_button.isEnabled()
    assert "CUDA out of memory" in panel.log.toPlainText()


def test_ingesting_100k_metric_events_keeps_every_point(qtbot, project):
    metrics_view = QtLiveMetrics()
    qtbot.addWidget(metrics_view)
    run, writer = write_run(project)
    lines = [f'{{"v":1,"ts":0,"type":"metrics","run":"r1","stage":"rl","step":{i},'
             f'"metrics":{{"loss":{i * 0.5},"reward":{i % 7}}}}}\n' for i in range(100_000)]
    run.events.write_text("".join(lines))
    watcher = RunWatcher(run)
    watcher.sig_metrics.connect(metrics_view.add_metrics)
    first = watcher.poll()
    assert 0 < first < 100_000  # a long history streams in over several ticks: the window never freezes
    total = first
    while (more := watcher.poll()):
        total += more
    assert total == 100_000
    metrics_view.redraw()
    x, y = metrics_view.plot_of("loss").data("rl: loss")
    assert len(x) == 100_000 and x[-1] == 99_999 and y[-1] == 99_999 * 0.5
    assert metrics_view.plot_of("reward").curve_point_count("rl: reward") == 100_000


def test_a_series_of_one_point_is_drawn_as_a_dot_until_it_becomes_a_line(qtbot):
    from realm_studio.widgets.qt_live_plot import QtLivePlot

    plot = QtLivePlot("Loss")
    qtbot.addWidget(plot)
    plot.append("loss", 1, 0.5)
    plot.redraw()
    assert plot.curve_symbol("loss") == "o", "a one-step run must not look empty"
    plot.append("loss", 2, 0.4)
    plot.redraw()
    assert plot.curve_symbol("loss") is None


def test_a_series_longer_than_its_cap_is_halved_keeping_its_spikes_and_its_last_point():
    """A run of days: the plot's buffer stays bounded, x keeps growing, and the extremes (a loss
    spike, the best reward) and the newest point are still drawn."""
    import numpy as np

    from realm_studio.widgets.qt_live_plot import SeriesBuffer

    buffer = SeriesBuffer(max_points=4096)
    for step in range(100_000):
        buffer.append(step, 100.0 if step == 61_234 else -5.0 if step == 7 else np.sin(step / 50))
    assert buffer.size <= 4096 and len(buffer._x) <= 4096
    assert np.all(np.diff(buffer.x) > 0)
    assert buffer.y.max() == 100.0 and buffer.y.min() == -5.0
    assert buffer.x[0] < 100 and (buffer.x[-1], buffer.y[-1]) == (99_999, np.sin(99_999 / 50))
    buffer.truncate_before(50_000.0)  # a resumed run replays from its checkpoint
    assert buffer.x[-1] < 50_000
