"""Cold start: how long a user waits for the CLI, the GUI module and the main window.

Each figure is the median wall time of fresh subprocesses, interpreter start included, as a
user meets it. The window is built and shown offscreen with a throwaway settings file, so the
user's saved layout is neither read nor changed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .common import Row, wall_time

MAIN_WINDOW = """
import sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from realm_studio.main_window import QtMainWindow
app = QApplication(sys.argv[:1])
window = QtMainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.show()
app.processEvents()
window.close()
"""


def commands(settings_file: Path) -> dict[str, list[str]]:
    return {
        "python -m engine --help": [sys.executable, "-m", "engine", "--help"],
        "import realm_studio.app": [sys.executable, "-c", "import realm_studio.app"],
        "main window shown (offscreen)": [sys.executable, "-c", MAIN_WINDOW, str(settings_file)],
        "python -c pass (interpreter only)": [sys.executable, "-c", "pass"],
    }


def measure(repeats: int = 3) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        return {name: wall_time(command, repeats) for name, command in commands(Path(tmp) / "s.ini").items()}


def run() -> list[Row]:
    return [Row("cold_start", name, seconds, "s", "median of 3 fresh processes")
            for name, seconds in measure(3).items()]
