"""The Train panel's pre-flight check: ``realm-engine preflight`` with the settings about to be started.

One dry step per stage at its worst case (``engine/stages/preflight.py``) gives seconds per step,
peak memory and so an ETA before a long run; a setting that will not fit is named in one red line.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from engine.events import PREFLIGHT_DONE

from ..engine_client import EngineClient, EngineJob


def format_estimate(result: dict) -> str:
    """``rl: 190.0 s/step × 200 · ETA ≤ 10h33m · peak 3.5 of 23.5 GiB (cpu)``."""
    stages = ", ".join(f"{s['stage']}: {s['seconds_per_step']:.1f} s/step × {s['steps']}" for s in result["stages"]
                       if s["seconds_per_step"] is not None)
    peak = max((s["peak_gib"] for s in result["stages"]), default=0.0)
    eta = result["eta_s"]
    when = f"ETA ≤ {int(eta // 3600)}h{int(eta % 3600 // 60):02d}m" if eta is not None else "will not fit"
    return f"{stages} · {when} · peak {peak:.1f} of {result['device_memory_gib']:.1f} GiB ({result['device']})"


class QtPreflight(QWidget):
    """A button that dry-runs the run about to start, and the estimate it gives."""

    sig_result = Signal(dict)
    """The engine's preflight result (stages, eta_s, warnings)."""

    def __init__(self, engine: EngineClient, preflight_args: Callable[[], list[str] | None],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.engine = engine
        self.preflight_args = preflight_args
        self.job: EngineJob | None = None
        self.result: dict | None = None
        self.button = QPushButton("Pre-flight check", clicked=self.check,
                                  toolTip="One dry training step per stage at its worst case: time, memory, ETA")
        self.label = QLabel("Check time and memory before a long run", wordWrap=True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.label, 1)

    def check(self) -> EngineJob | None:
        args = self.preflight_args()
        if args is None or self.job is not None:
            return None
        self.result = None
        self.label.setStyleSheet("")
        self.label.setText("one dry step per stage … (minutes on a CPU)")
        self.button.setEnabled(False)
        self.job = self.engine.run(args)
        self.job.sig_event.connect(self._on_event)
        self.job.sig_finished.connect(self._on_finished)
        return self.job

    def _on_event(self, event: dict) -> None:
        if event.get("type") == PREFLIGHT_DONE:
            self.result = event

    def _on_finished(self, code: int) -> None:
        job, self.job = self.job, None
        self.button.setEnabled(True)
        if self.result is None:
            self.label.setStyleSheet("color: #d1242f")
            self.label.setText(job.error_line or f"the pre-flight check failed (exit {code})")
            return
        warnings = self.result["warnings"]
        self.label.setStyleSheet("color: #d1242f" if warnings else "")
        self.label.setText("\n".join([format_estimate(self.result), *warnings]))
        self.sig_result.emit(self.result)

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.terminate(2000)
