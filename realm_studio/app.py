"""Entry point: ``realm-studio [--project DIR] [--screenshot PATH] [--panel NAME]``.

``--screenshot`` renders the window offscreen to a PNG and exits: docs and CI get real
pictures of the app without a display.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .xcb_check import missing_xcb_message, uses_xcb

SCREENSHOT_SIZE = (1400, 900)
SETTLE_MS = 600


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="realm-studio", description="ReaLM Studio desktop app")
    parser.add_argument("--project", type=Path, help="open this project folder")
    parser.add_argument("--screenshot", type=Path, metavar="PATH", help="save the window as a PNG and exit")
    parser.add_argument("--panel", metavar="NAME",
                        help="show this step: data, routes, fade, train, evaluate, export, runs or settings")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.screenshot:  # no window on screen, and no display needed
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if uses_xcb():
        missing = missing_xcb_message()
        if missing:  # Qt's own abort would blame the wrong library
            print(f"realm-studio: {missing}", file=sys.stderr)
            return 2
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .main_window import QtMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ReaLM Studio")
    app.setOrganizationName("ReaLM")
    settings = None
    if args.screenshot:  # a screenshot never reads or changes the user's saved layout
        settings = QSettings(str(args.screenshot.with_suffix(".ini")), QSettings.Format.IniFormat)
    window = QtMainWindow(settings=settings)
    if args.project and not window.open_project(args.project):
        print(f"realm-studio: {window.banner.text()}", file=sys.stderr)
        if args.screenshot:
            return 2
    if args.panel:
        if args.panel.lower() not in window.panels:
            print(f"realm-studio: --panel {args.panel}: unknown (known: {', '.join(window.panels)})", file=sys.stderr)
            return 2
        window.show_step(args.panel.lower())
    if args.screenshot:
        return save_screenshot(app, window, args.screenshot)
    window.show()
    return app.exec()


def save_screenshot(app, window, path: Path) -> int:
    from PySide6.QtCore import QTimer

    window.resize(*SCREENSHOT_SIZE)
    window.show()
    QTimer.singleShot(SETTLE_MS, app.quit)  # let layouts settle and live plots redraw once
    app.exec()
    path.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(path), "PNG")
    window.close()
    settings_file = Path(window.settings.fileName())
    settings_file.unlink(missing_ok=True)
    if not ok:
        print(f"realm-studio: {path}: cannot write the PNG", file=sys.stderr)
        return 1
    return 0
