"""GUI test helpers: offscreen Qt, a project on disk, and a check that nothing keeps running.

Every GUI test must end with no QTimer active and no QThread/QProcess running (a leaked timer
or child process is how a real window would keep polling or keep an engine alive).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def no_qt_activity_left(qapp):
    """Fail a test that leaves a timer active, a thread running or a process alive."""
    yield
    from PySide6.QtCore import QCoreApplication, QEvent, QProcess, QThread, QTimer
    from shiboken6 import isValid

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    leaks = []
    for obj in gc.get_objects():
        if not isinstance(obj, (QTimer, QThread, QProcess)) or not isValid(obj):
            continue
        if isinstance(obj, QTimer) and obj.isActive():
            leaks.append(f"active QTimer (parent {type(obj.parent()).__name__})")
        elif isinstance(obj, QThread) and obj.isRunning():
            leaks.append("running QThread")
        elif isinstance(obj, QProcess) and obj.state() != QProcess.ProcessState.NotRunning:
            leaks.append(f"running QProcess {obj.arguments()}")
    assert not leaks, "left behind: " + "; ".join(leaks)


@pytest.fixture
def project(tmp_path) -> Path:
    """A project folder as `realm-engine init` leaves it: realm.toml and the empty folders."""
    from engine.config import Config, save_config

    folder = tmp_path / "proj"
    for sub in ("data", "routes", "runs"):
        (folder / sub).mkdir(parents=True)
    cfg = Config()
    cfg.project.name = "demo"
    save_config(folder, cfg)
    return folder


@pytest.fixture
def engine_client(qtbot):
    from realm_studio.engine_client import EngineClient

    client = EngineClient()
    yield client
    client.terminate_all(grace_ms=500)


@pytest.fixture
def settings(tmp_path):
    """A private settings file, so tests never touch the user's recent projects."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
