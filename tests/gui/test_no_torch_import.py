"""Rule 1 of the design: the GUI process never loads the ML stack (fast start-up, and a CUDA
crash can never take the window down)."""

import subprocess
import sys

FORBIDDEN = ("torch", "transformers", "trl", "peft", "datasets", "accelerate")

SCRIPT = f"""
import sys
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from engine.config import Config, save_config
import realm_studio
from realm_studio.main_window import QtMainWindow

project = Path(sys.argv[1])
for sub in ("data", "routes", "runs"):
    (project / sub).mkdir(parents=True, exist_ok=True)
save_config(project, Config())
app = QApplication([])
window = QtMainWindow(settings=QSettings(str(project / "s.ini"), QSettings.Format.IniFormat))
assert window.open_project(project)
for key in window.panels:
    window.show_step(key)
    app.processEvents()
loaded = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)
print("LOADED", loaded)
window.close()
"""


def test_building_the_main_window_loads_no_ml_library(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "p")], capture_output=True,
                            text=True, timeout=120, env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout, result.stdout
