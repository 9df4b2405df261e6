"""Colours that follow the system's light or dark palette, for plots and highlighted text.

Nothing in the app hard-codes a white or black background: plots take the window's base and
text colours, and the few signal colours (an error, a warning) are picked to read on both.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

ERROR_STYLE = "color: #d1242f"  # red that reads on light and dark backgrounds
WARNING_BANNER = "background: #fff1c2; color: #4d3800; border: 1px solid #d4a72c; padding: 6px"
ERROR_BANNER = "background: #ffe3e1; color: #5c0a07; border: 1px solid #d1242f; padding: 6px"


@dataclass(frozen=True)
class PlotColours:
    background: QColor
    foreground: QColor
    marker: QColor  # stage boundaries, the autonomous tail's label


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def plot_colours(palette: QPalette) -> PlotColours:
    """The plot colours of ``palette``: its base (the background of views) and its text."""
    dark = is_dark(palette)
    return PlotColours(background=palette.color(QPalette.ColorRole.Base),
                       foreground=palette.color(QPalette.ColorRole.Text),
                       marker=QColor("#8cb4ff") if dark else QColor("#3c5aa6"))
