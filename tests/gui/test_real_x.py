"""The studio on a real X server, driven by real mouse and keyboard events (issue 13, item 12).

Each test starts its own Xvfb and runs ``x_scenario.py`` in a process of its own with Qt's xcb
platform: xdotool moves the pointer and types, the X server delivers the events, Qt handles them
as a user's. Locally the tests skip when Xvfb, xdotool or ImageMagick is missing; CI installs
them (scripts/test), and there a missing one fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_gui_e2e import kill_engines
from x_project import make_x_project

HERE = Path(__file__).resolve().parent
TOOLS = ("Xvfb", "xdotool", "import")
SCENARIO_TIMEOUT_S = 1500  # the whole main path with real engines on 2 shared cores


@pytest.fixture
def x_display():
    """A fresh Xvfb display; the environment a process needs to open windows on it."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install xvfb xdotool imagemagick)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as handle:
        display = handle.readline().strip()
    env = {**os.environ, "DISPLAY": f":{display}", "QT_QPA_PLATFORM": "xcb",
           "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    yield env
    server.terminate()
    server.wait(10)


def run_scenario(env, mode: str, project: Path, out: Path) -> dict:
    try:
        proc = subprocess.run([sys.executable, str(HERE / "x_scenario.py"), mode, str(project), str(out)], env=env,
                              capture_output=True, text=True, timeout=SCENARIO_TIMEOUT_S)
    finally:
        kill_engines(project)
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    assert proc.returncode == 0 and report.get("ok"), (report.get("error") or proc.stderr[-3000:], report.get("steps"))
    return report


def test_the_app_opens_on_a_real_display_and_follows_the_pointer(x_display, tmp_path, tiny_model_dir):
    project = make_x_project(tmp_path / "proj", tiny_model_dir)
    report = run_scenario(x_display, "smoke", project, tmp_path / "out")
    assert [s["step"] for s in report["steps"]][:2] == ["opened the project with File › Open", "visited every page"]
    assert (tmp_path / "out" / "smoke.png").stat().st_size > 20_000


@pytest.mark.slow
def test_the_main_path_with_a_real_mouse_and_keyboard(x_display, tmp_path, tiny_model_dir):
    """Open → routes → fade → train → stop → resume → evaluate → export, as a user clicks it."""
    project = make_x_project(tmp_path / "proj", tiny_model_dir)
    report = run_scenario(x_display, "main-path", project, tmp_path / "out")
    steps = [s["step"] for s in report["steps"] if not s["step"].startswith("screenshot")]
    assert steps == ["opened the project with File › Open", "imported routes and read a diff", "saved a linear fade",
                     "started and stopped a realm-r1 run", "resumed the run to the end",
                     "evaluated base and run, opened a problem's answers", "exported the run"]
    for name in ("routes", "fade", "train", "evaluate", "export"):
        assert (tmp_path / "out" / f"{name}.png").stat().st_size > 20_000
    assert (tmp_path / "out" / "exported" / "config.json").exists()
