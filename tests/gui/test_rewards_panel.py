"""The Rewards panel runs the real reward bench through the engine and shows its table and histograms."""

from __future__ import annotations

from stage_testkit import make_project

from realm_studio.panels.qt_rewards_panel import QtRewardsPanel


def test_the_bench_runs_in_the_engine_and_its_table_and_histograms_show(qtbot, engine_client, tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "proj", tiny_model_dir)
    panel = QtRewardsPanel(engine_client)
    qtbot.addWidget(panel)
    panel.set_project(project)
    assert panel.result is None and "No reward bench yet" in panel.warnings.text()
    assert panel.command.text() == f"realm-engine rewards {project}"
    panel.samples.setValue(2)
    assert panel.command.text().endswith("--samples 2 --model base")
    job = panel.run_bench()
    with qtbot.waitSignal(job.sig_finished, timeout=300_000) as finished:
        pass
    assert finished.args == [0], job.error_line
    assert [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())] == ["correctness", "format",
                                                                                      "language"]
    assert panel.table.item(0, 2).text() == "1.000"  # correctness tells the positive routes from the negative ones
    assert panel.result["samples"] == 2 and "Every reward separates" in panel.warnings.text()
    assert len(panel.plots.ci.items) == 6  # three functions x (stored routes, fresh samples)
    panel.shutdown()
