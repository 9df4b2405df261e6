"""Text for a terminal: aligned tables and short durations, as the CLI and the demo print them.

Both print the same evaluation table (before/after in the demo, one row in ``eval``), so its
header and row live here too: one look for one result, wherever it is shown.
"""

from __future__ import annotations

EVAL_HEADER = ["model", "n", "acc without routes [95 % CI]", "acc with routes [95 % CI]", "autonomy gap",
               "format fail"]


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


def accuracy_cell(summary: dict, which: str) -> str:
    """``"35.0 % [24.2, 47.6]"`` for ``which`` = "without_routes" | "with_routes" of an evaluation
    summary, with "(n=20)" when fewer problems were answered that way; "n/a" when none were."""
    part = summary.get(which)
    if not part:  # a summary written before intervals were recorded
        value = summary.get(f"accuracy_{which}")
        return "n/a" if value is None else f"{100 * value:.1f} %"
    if not part["n"]:
        return "n/a"
    low, high = part["interval"]
    cell = f"{100 * part['accuracy']:.1f} % [{100 * low:.1f}, {100 * high:.1f}]"
    return cell + (f" (n={part['n']})" if part["n"] != summary["n"] else "")


def eval_row(summary: dict) -> list:
    """One evaluation summary (``eval``'s summary.json) as a row under ``EVAL_HEADER``."""
    gap = summary.get("autonomy_gap")
    return [summary["model"], summary["n"], accuracy_cell(summary, "without_routes"),
            accuracy_cell(summary, "with_routes"), "n/a" if gap is None else f"{100 * gap:+.1f} pts",
            f"{100 * summary['format_failure_rate']:.1f} %"]


REWARD_HEADER = ["reward", "weight", "on", "n (pos/neg/unp)", "mean pos", "mean neg", "mean unp", "AUC", "abstained",
                 "errors", "bad output", "ms/call"]


def reward_rows(result: dict) -> list[list]:
    """The reward bench (``rewards``' reward_bench.json) as rows under ``REWARD_HEADER``: one per
    function and set (stored routes, fresh samples), AUC of the separation the function is meant to make."""
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    rows = []
    for entry in result["functions"]:
        for set_name, auc_key in (("routes", "auc"), ("samples", "auc_samples")):
            part = entry[set_name]
            if not part["calls"]:
                continue
            counts = "/".join(str(len(part["scores"].get(label, []))) for label in ("positive", "negative", "unparsed"))
            rows.append([entry["name"], f"{entry['weight']:g}", set_name, counts,
                         *(fmt(part["mean"].get(label)) for label in ("positive", "negative", "unparsed")),
                         fmt(entry[auc_key]), part["abstained"], part["errors"], part["bad_outputs"],
                         fmt(part["ms_per_call"])])
    return rows
