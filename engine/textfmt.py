"""Text for a terminal: aligned tables and short durations, as the CLI and the demo print them.

Both print the same evaluation table (before/after in the demo, one row in ``eval``), so its
header and row live here too: one look for one result, wherever it is shown.
"""

from __future__ import annotations

EVAL_HEADER = ["model", "n", "acc (no routes)", "acc (routes)", "autonomy gap", "format fail"]


def table(rows: list[list], header: list[str]) -> str:
    """Left-aligned columns under a dashed rule, two spaces apart."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def duration(seconds: float) -> str:
    """``1h05m`` from an hour on, else ``4m07s``."""
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def eval_row(summary: dict) -> list:
    """One evaluation summary (``eval``'s summary.json) as a row under ``EVAL_HEADER``."""
    return [summary["model"], summary["n"], f"{summary['accuracy_without_routes']:.3f}",
            f"{summary['accuracy_with_routes']:.3f}", f"{summary['autonomy_gap']:+.3f}",
            f"{summary['format_failure_rate']:.3f}"]
