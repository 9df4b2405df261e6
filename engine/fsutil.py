"""Atomic file replacement: a reader (or a crash) never sees half a file.

Every file that is *replaced* goes through here (write temp in the same folder, rename).
``durable=True`` (the default) also fsyncs the file and its folder, so it survives a power
loss; files rewritten every training step (status.json) pass ``durable=False``: the rename is
still atomic for any process crash, including kill -9, and a step stays cheap. Append-only
logs use ``append_line``: flushed per line (kill -9 safe), fsynced only when asked.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .errors import UserError

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                durable: bool = True) -> Iterator[IO]:
    """Open a temp file beside ``path``; on a clean exit it replaces ``path`` atomically."""
    path = Path(path)
    binary = "b" in mode
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a replaced file keeps normal permissions
    except OSError as err:
        raise UserError(f"{path}: cannot write ({err.strerror or err})") from err
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise UserError(f"{path}: cannot write ({err.strerror or err})") from err
        raise


def atomic_write_text(path: str | os.PathLike, text: str, durable: bool = True) -> None:
    with atomic_open(path, "w", durable=durable) as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb", encoding=None) as handle:
        handle.write(data)


def atomic_write_json(path: str | os.PathLike, obj, durable: bool = True) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", durable=durable)


def atomic_write_parquet(path: str | os.PathLike, table) -> None:
    """Write a pyarrow Table atomically (pyarrow imported lazily: the GUI may not need it)."""
    import pyarrow.parquet as pq

    with atomic_open(path, "wb", encoding=None) as handle:
        pq.write_table(table, handle)


def append_line(path: str | os.PathLike, line: str, durable: bool = False) -> None:
    """Append one line and flush it to the OS: the log survives a kill right after."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()
        if durable:
            os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
