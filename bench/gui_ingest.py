"""GUI ingestion: the Train panel re-opening a run whose ``events.jsonl`` holds 100,000 metric events.

This is the worst case of the event-log design: a long run, a window opened late, and the
whole history read from offset 0 through ``RunWatcher`` into the live plots. Each event carries
the metric names TRL really logs (about 25), so the log is as large as a real one. Timed in an
offscreen Qt child process: the bench process never imports Qt.

* time to first plot: opening the project (the panel follows its newest run) until the loss
  curve shows its first point;
* events/s: events read, dispatched and drawn (loss curve complete) per second;
* peak RSS of the child with the whole history in the plots.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from .common import Row, peak_rss_mb, run_child

TRL_METRICS = ["loss", "grad_norm", "learning_rate", "num_tokens", "completions/mean_length",
               "completions/min_length", "completions/max_length", "completions/clipped_ratio",
               "completions/mean_terminated_length", "rewards/correctness/mean", "rewards/correctness/std",
               "rewards/format/mean", "rewards/format/std", "reward", "reward_std", "frac_reward_zero_std",
               "entropy", "clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean",
               "fade/p", "fade/hinted_fraction", "step_time", "epoch", "tokens_per_s"]


def write_run(project: Path, run_name: str, n_events: int) -> Path:
    """A project with one finished run whose log holds ``n_events`` metrics events."""
    from engine.project import init_project
    from engine.runs import RunFolder

    init_project(project)
    run = RunFolder(project, run_name)
    run.path.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    with open(run.events, "w", encoding="utf-8") as handle:  # one write: an EventWriter flushes per event
        for step in range(1, n_events + 1):
            metrics = {name: round(rng.random(), 6) for name in TRL_METRICS}
            handle.write(json.dumps({"v": 1, "ts": 1.7e9 + step, "type": "metrics", "run": run_name,
                                     "stage": "rl", "step": step, "metrics": metrics}) + "\n")
    run.write_status(state="finished", pid=None, step=n_events)
    return project


def child(project: Path, n_events: int) -> dict:
    """Open the project in the Train panel (it follows the newest run) until every loss point is drawn."""
    from PySide6.QtWidgets import QApplication

    from realm_studio.engine_client import EngineClient
    from realm_studio.panels.qt_train_panel import QtTrainPanel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    panel = QtTrainPanel(EngineClient())
    panel.resize(1200, 800)
    panel.show()
    app.processEvents()
    loss_plot = panel.metrics.plot_of("loss")

    def drawn() -> int:
        return loss_plot.curve_point_count("rl: loss") if "rl: loss" in loss_plot.series else 0

    start = time.perf_counter()
    panel.set_project(project)
    first_plot = None
    while drawn() < n_events:
        app.processEvents()
        if first_plot is None and drawn() > 0:
            first_plot = time.perf_counter() - start
        time.sleep(0.001)
    total = time.perf_counter() - start
    panel.shutdown()
    panel.close()
    return {"first_plot_s": first_plot if first_plot is not None else total, "all_s": total,
            "events_per_s": n_events / total, "peak_rss_mb": peak_rss_mb()}


def measure(n_events: int = 100_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        project = write_run(Path(tmp) / "project", "long-run", n_events)
        size_mb = (project / "runs" / "long-run" / "events.jsonl").stat().st_size / 1e6
        result = run_child("gui_ingest", str(project), str(n_events))
    return {**result, "log_mb": size_mb}


def run(quick: bool = False) -> list[Row]:
    n = 20_000 if quick else 100_000
    result = measure(n)
    note = f"{n:,} metrics events, {result['log_mb']:.0f} MB log, project opened after the run"
    return [
        Row("gui_ingest", "time to first plot", result["first_plot_s"], "s", note),
        Row("gui_ingest", "ingest + draw", result["events_per_s"], "events/s"),
        Row("gui_ingest", "peak RSS, GUI child", result["peak_rss_mb"], "MB"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("project", type=Path)
    parser.add_argument("n_events", type=int)
    args = parser.parse_args()
    print(json.dumps(child(args.project, args.n_events)))
