"""Atomic file replacement: a reader (or a crash) never sees half a file.

Every file that is *replaced* goes through here (write temp in the same folder, rename).
``durable=True`` (the default) also fsyncs the file and its folder, so it survives a power
loss; files rewritten every training step (status.json) pass ``durable=False``: the rename is
still atomic for any process crash, including kill -9, and a step stays cheap. Append-only
logs use ``append_line``: flushed per line (kill -9 safe), fsynced only when asked.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .errors import DiskFull, UserError

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
            raise (DiskFull if is_disk_full(err) else UserError)(f"{path}: cannot write ({err.strerror or err})") from err
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


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (16 hex digits: enough to tell two versions of one file apart)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class PidLock:
    """One process at a time: a file created exclusively, holding its owner's pid and what it is
    doing (``4242 import``). A lock left by a dead process is taken over, not obeyed. Where the
    file cannot be created at all (a read-only folder) no one can write there either: the lock
    is skipped and the write itself says what is wrong."""

    def __init__(self, path: str | os.PathLike, doing: str = ""):
        self.path = Path(path)
        self.doing = doing

    def busy(self, pid: int, doing: str) -> UserError:
        """The refusal when a live process holds the lock (subclasses say what it holds)."""
        return UserError(f"{self.path}: held by engine process {pid}" + (f" ({doing})" if doing else ""))

    def holder(self) -> tuple[int, str]:
        """(pid, what it is doing) of the lock's owner; (0, "") when there is none."""
        try:
            pid, _, doing = self.path.read_text().strip().partition(" ")
        except OSError:
            return 0, ""
        return (int(pid) if pid.isdigit() else 0), doing

    def acquire(self) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid, doing = self.holder()
                if pid_alive(pid) and pid != os.getpid():
                    raise self.busy(pid, doing) from None
                self.path.unlink(missing_ok=True)  # stale lock from a dead process
                continue
            except OSError:
                return
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{os.getpid()} {self.doing}".strip())
            return
        raise UserError(f"{self.path}: could not take the lock")

    def release(self) -> None:
        if self.holder()[0] == os.getpid():
            self.path.unlink(missing_ok=True)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


# ----------------------------------------------------------------------------- disk space

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # full disk, quota, file-size limit
# torch and safetensors report a failed write in their message only
DISK_FULL_TEXTS = ("No space left on device", "Disk quota exceeded", "File too large", "file write failed",
                   "StorageFull", "FileTooLarge")


def free_bytes(folder: str | os.PathLike) -> int:
    """Free space for us in the file system ``folder`` is (or will be) on."""
    path = Path(folder).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def size_text(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def ensure_free_space(folder: str | os.PathLike, needed: int, what: str, hint: str) -> None:
    """Refuse, before it starts, a write of about ``needed`` bytes into ``folder`` that would not
    fit (a tenth more is asked for what cannot be foreseen): failing half-way would waste the work
    and leave a partial folder. The refusal names the size and the place."""
    want, free = int(needed * 1.1), free_bytes(folder)
    if free < want:
        raise DiskFull(f"{what} needs about {size_text(want)} free in {folder}, only {size_text(free)} left", hint=hint)


def is_disk_full(err: BaseException | None) -> bool:
    """Whether ``err``, or an error it was raised from, means the disk, a quota or a file-size
    limit ran out."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS:
            return True
        if any(text in str(err) for text in DISK_FULL_TEXTS):
            return True
        err = err.__cause__ or err.__context__
    return False


def folder_bytes(folder: str | os.PathLike) -> int:
    """Bytes of the files under ``folder`` (0 when it does not exist)."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
