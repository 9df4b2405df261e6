"""Earlier versions of a project's tables (``data/history/``, ``routes/history/``): nothing a user
made is lost to an import.

Before an import replaces ``problems.parquet`` (or a routes import replaces routes), the table
as it was is copied here under a timestamped name. ``undo`` puts the newest copy back and keeps
the table it replaces as a copy in turn, so an undo can itself be undone.

Plain Python: the GUI lists the copies (``snapshots``) to offer Undo.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import UserError
from ..fsutil import atomic_write_bytes


def snapshots(history: Path, name: str) -> list[Path]:
    """The kept copies of table ``name`` (e.g. "problems.parquet"), oldest first."""
    return sorted(history.glob(f"*-{name}")) if history.is_dir() else []


def keep(table: Path, history: Path) -> Path | None:
    """Copy ``table`` into ``history`` (a name that sorts by time); None when there is no table."""
    if not table.exists():
        return None
    made = not history.exists()
    now = time.time_ns()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now / 1e9))
    copy = history / f"{stamp}-{now % 10**9:09d}-{table.name}"
    try:
        history.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(copy, table.read_bytes())
    except (OSError, UserError) as err:  # a full disk, a read-only project: nothing is replaced then
        if made and history.is_dir() and not any(history.iterdir()):
            history.rmdir()
        reason = err.strerror if isinstance(err, OSError) else str(err).rpartition("(")[2].rstrip(")")
        raise UserError(f"{table}: cannot write its copy to {history} before replacing it ({reason})") from None
    return copy


def undo(table: Path, history: Path) -> Path:
    """Put the newest kept copy back in place of ``table`` (kept in turn); return the copy used."""
    copies = snapshots(history, table.name)
    if not copies:
        raise UserError(f"{table.name}: nothing to undo (no earlier version in {history})")
    newest = copies[-1]
    keep(table, history)
    atomic_write_bytes(table, newest.read_bytes())
    newest.unlink()
    return newest


def kept_at(copy: Path) -> str:
    """When a copy was made, as "2026-12-04 12:03:11" (read from its name)."""
    day, clock = copy.name.split("-")[:2]
    return f"{day[:4]}-{day[4:6]}-{day[6:]} {clock[:2]}:{clock[2:4]}:{clock[4:]}"

