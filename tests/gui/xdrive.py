"""Drive the studio on a real X server the way a user does: xdotool moves the real pointer and
presses real keys (XTEST events the X server delivers to the window, through Qt's xcb plugin),
ImageMagick's ``import`` takes the screen. Used by ``x_scenario.py``, inside the app's process:
it knows where each widget is, and waits for what the user would wait for.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QWidget

SETTLE_S = 0.15  # after an event, let the app handle it


class ScenarioFailed(AssertionError):
    pass


class Driver:
    def __init__(self, app: QApplication, shots: Path):
        self.app, self.shots = app, Path(shots)
        self.shots.mkdir(parents=True, exist_ok=True)
        self.steps: list[dict] = []
        self._started = time.monotonic()

    # -- time -----------------------------------------------------------------------------

    def wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def wait_until(self, condition, what: str, timeout_s: float = 240.0) -> None:
        end = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > end:
                raise ScenarioFailed(f"waited {timeout_s:.0f} s for: {what}")
            self.wait(0.05)

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            raise ScenarioFailed(what)

    def step(self, name: str, **facts) -> None:
        """Record a step of the scenario (the report the test reads)."""
        self.steps.append({"step": name, "t": round(time.monotonic() - self._started, 1), **facts})

    # -- the real pointer and keyboard ----------------------------------------------------

    def _xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=30)
        self.wait(SETTLE_S)

    def point(self, widget: QWidget, at: QPoint | None = None) -> tuple[int, int]:
        """Screen coordinates of ``at`` (widget coordinates; default its centre)."""
        self.wait_until(lambda: widget.isVisible(), f"{type(widget).__name__} to be visible", 30)
        spot = widget.mapToGlobal(at if at is not None else widget.rect().center())
        return spot.x(), spot.y()

    def click(self, widget: QWidget, at: QPoint | None = None, button: int = 1, double: bool = False) -> None:
        x, y = self.point(widget, at)
        self._xdotool("mousemove", "--sync", str(x), str(y))
        self._xdotool("click", *(["--repeat", "2", "--delay", "80"] if double else []), str(button))

    def drag(self, widget: QWidget, start: QPoint, end: QPoint) -> None:
        (x0, y0), (x1, y1) = self.point(widget, start), self.point(widget, end)
        self._xdotool("mousemove", "--sync", str(x0), str(y0))
        self._xdotool("mousedown", "1")
        for k in range(1, 6):
            self._xdotool("mousemove", "--sync", str(x0 + (x1 - x0) * k // 5), str(y0 + (y1 - y0) * k // 5))
        self._xdotool("mouseup", "1")

    def key(self, *keys: str) -> None:
        self._xdotool("key", "--delay", "40", *keys)

    def type(self, text: str) -> None:
        self._xdotool("type", "--delay", "15", text)

    def fill(self, edit: QWidget, text: str) -> None:
        """Click a line edit, select what is in it and type ``text`` over it."""
        self.click(edit)
        self.key("ctrl+a", "BackSpace")
        self.type(text)
        self.wait_until(lambda: edit.text() == text, f"the field to read {text!r} (it reads {edit.text()!r})", 10)

    def choose(self, combo, text: str) -> None:
        """Open a combo box with the pointer and click the item ``text`` in its list."""
        index = combo.findText(text)
        self.check(index >= 0, f"no item {text!r} in the combo")
        self.click(combo)
        view = combo.view()
        self.wait_until(lambda: view.isVisible(), "the combo's list to open", 10)
        rect = view.visualRect(view.model().index(index, 0))
        self.click(view.viewport(), rect.center())
        self.wait_until(lambda: combo.currentText() == text, f"the combo to show {text!r}", 10)

    def shot(self, name: str) -> Path:
        """The whole X screen as a PNG, as a user sees it."""
        self.wait(0.4)  # let plots redraw on their timers
        path = self.shots / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=60)
        self.step(f"screenshot {name}", path=str(path))
        return path

    def report(self, path: Path, ok: bool, error: str = "") -> None:
        path.write_text(json.dumps({"ok": ok, "error": error, "steps": self.steps}, indent=1), encoding="utf-8")
