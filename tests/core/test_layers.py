"""The layers of DESIGN.md rule 6, enforced: import-linter's contracts (pyproject.toml) pass, the
engine has no import cycle, and the modules the GUI reads load no ML library when imported.

``lint-imports`` sees every import, the lazy ones inside functions too; the subprocess check
below is the runtime half (an ``importlib`` call or a plugin would escape a static check).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ML = ("torch", "transformers", "trl", "peft", "datasets", "accelerate")
QT = ("PySide6", "shiboken6", "pyqtgraph")
TORCH_FREE = ("engine.errors", "engine.fsutil", "engine.config", "engine.events", "engine.runs", "engine.project",
              "engine.data.problems", "engine.data.history", *sorted(f"engine.method.{p.stem}" for p in (REPO / "engine" / "method").glob("*.py")))


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), "install the test extra: pip install -e '.[test]' (it brings import-linter)"
    result = run(str(lint), "--no-cache")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_engine_has_no_import_cycle():
    result = run(sys.executable, "scripts/import-cycles", "engine")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" 0 cycles") == 2, result.stdout  # between modules, and between parts


def test_the_shared_lower_layers_load_no_ml_library_and_no_qt():
    script = (f"import sys\nfor name in {TORCH_FREE!r}: __import__(name)\n"
              f"print(sorted(m for m in {ML + QT!r} if m in sys.modules))")
    result = run(sys.executable, "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
