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
import shutil
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


def atomic_write_files(folder: str | os.PathLike, files: dict[str, str]) -> None:
    """Replace ``folder`` by one holding exactly ``files`` (name -> text), all of them or none.

    The files are written and fsynced in a sibling temp folder, which then takes ``folder``'s
    place in one step: Linux's ``renameat2(RENAME_EXCHANGE)`` swaps the two folders atomically,
    so a reader sees the old set or the new set, never one new file beside an old one (an
    evaluation's ledger and summary must agree). Where the exchange is unavailable, two renames
    leave a window of a few microseconds with no folder at all, never a mixed one.
    """
    folder = Path(folder)
    tmp = None  # the folder to delete on the way out: the new one if unused, else the old one
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
        os.chmod(tmp, 0o777 & ~_UMASK)
        for name, text in files.items():
            with open(tmp / name, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_dir(tmp)
        if not folder.exists():
            os.rename(tmp, folder)
            tmp = None
        elif not _exchange(tmp, folder):  # after an exchange tmp holds the old files
            old = tmp.with_name(tmp.name + ".old")
            os.rename(folder, old)
            os.rename(tmp, folder)
            tmp = old
        _fsync_dir(folder.parent)
    except OSError as err:
        raise UserError(f"{folder}: cannot write ({err.strerror or err})") from err
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0
