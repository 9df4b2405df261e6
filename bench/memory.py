"""Peak memory (RSS) of the two processes a user runs, each measured in a fresh child process.

* engine: a tiny-model ``realm-zero`` run (the rl stage) through ``engine.launch.train``, in
  process, so the figure is the engine's own: torch, transformers, TRL and the trainer;
* GUI: the main window with a project of 200,000 routes open on the Routes step.

``ru_maxrss`` of the child itself (``RUSAGE_SELF``), read as it finishes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .common import Row, peak_rss_mb, run_child


def engine_child(folder: Path) -> dict:
    import torch

    from engine.launch import train
    from stage_testkit import make_project
    from tiny_model import make_tiny_model

    torch.set_num_threads(1)  # the machine is shared; memory does not depend on it
    project = make_project(folder / "project", make_tiny_model(folder / "model"))
    state = train(project, "realm-zero", "mem", overrides=[])
    return {"state": state, "peak_rss_mb": peak_rss_mb()}


def gui_child(project: Path) -> dict:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from realm_studio.main_window import QtMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        window = QtMainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1400, 900)
        window.show()
        opened = window.open_project(project)
        window.show_step("routes")
        app.processEvents()
        routes = window.panels["routes"].model.rowCount()
        window.close()
    return {"opened": opened, "problems_shown": routes, "peak_rss_mb": peak_rss_mb()}


def measure(routes_project: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        engine = run_child("memory", "engine", tmp)
    gui = run_child("memory", "gui", str(routes_project))
    return {"engine": engine, "gui": gui}


def run(folder: Path) -> list[Row]:
    from .routes_scale import make_routes_project

    routes_project = folder / "routes-project"
    if not routes_project.exists():  # the routes benchmark made it already when both run
        make_routes_project(routes_project)
    result = measure(routes_project)
    return [
        Row("memory", "engine: tiny-model rl stage", result["engine"]["peak_rss_mb"], "MB",
            f"realm-zero run, state {result['engine']['state']}"),
        Row("memory", "GUI: main window + 200k routes", result["gui"]["peak_rss_mb"], "MB",
            f"Routes step, {result['gui']['problems_shown']:,} problems listed"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("which", choices=("engine", "gui"))
    parser.add_argument("path", type=Path)
    args = parser.parse_args()
    result = engine_child(args.path) if args.which == "engine" else gui_child(args.path)
    print(json.dumps(result))
