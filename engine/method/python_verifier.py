"""Custom answer checks written by the user in Python, run in a separate worker process.

User code is named in the config as ``file.py:function`` and called as
``fn(completion: str, gold: str) -> bool | None`` (None: cannot tell → ``unparsed``).
It runs in a worker process (multiprocessing, spawn context) so that an infinite loop, a crash
or a stray ``print`` cannot stall or corrupt the engine: each call has a time limit, and a call
that overruns kills the worker; the next call starts a fresh one. Only the engine creates a
``PythonVerifier``; the GUI never runs user code.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import sys
import threading
from pathlib import Path

from ..errors import UserError

_LOAD_TIMEOUT_S = 30.0  # starting Python and importing the user's file; slow on a busy machine


def _one_line(err: BaseException) -> str:
    message = str(err).strip().splitlines()
    return f"{type(err).__name__}: {message[0]}" if message else type(err).__name__


def _load_function(path: str, function_name: str):
    folder = str(Path(path).parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the user's file can import its neighbours
    spec = importlib.util.spec_from_file_location(f"realm_user_verifier_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function_name, None)


def _as_reply(result) -> tuple[str, bool | str | None]:
    if result is None or isinstance(result, bool):
        return "ok", result
    if type(result).__name__ == "bool_":  # numpy's bool
        return "ok", bool(result)
    return "error", f"verifier returned {str(result)[:40]!r}, expected True, False or None"


def _serve(conn, path: str, function_name: str) -> None:
    """Worker loop: load the function once, then answer (completion, gold) requests until None."""
    sys.stdout = sys.stderr  # the engine's stdout may carry the event stream: keep user prints off it
    try:
        fn = _load_function(path, function_name)
    except (Exception, SystemExit) as err:
        conn.send(("error", _one_line(err)))
        return
    if not callable(fn):
        conn.send(("error", f"{Path(path).name} has no function {function_name!r}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            conn.send(_as_reply(fn(*request)))
        except (Exception, SystemExit) as err:
            conn.send(("error", _one_line(err)))


class PythonVerifier:
    """The user's ``file.py:function`` (path relative to the project folder), with a time limit.

    Loads the file at once, so a missing file or function is a ``UserError`` naming the spec
    before any training starts. Use as a context manager, or call ``close()``.
    """

    def __init__(self, project_dir, spec: str, timeout_s: float = 2.0):
        file_part, _, function_name = spec.rpartition(":")
        if not file_part or not function_name:
            raise UserError(f"python verifier {spec!r}: must look like 'file.py:function'")
        self.spec = spec
        self.path = (Path(project_dir) / file_part).resolve()
        self.function_name = function_name
        self.timeout_s = timeout_s
        if not self.path.is_file():
            raise UserError(f"python verifier {spec!r}: file {self.path} not found")
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._process = None
        self._conn = None
        self._start()

    def _start(self) -> None:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child_end, str(self.path), self.function_name),
                                        name="realm-python-verifier", daemon=True)
        process.start()
        child_end.close()
        self._process, self._conn = process, parent_end
        if not parent_end.poll(_LOAD_TIMEOUT_S):
            self._stop()
            raise UserError(f"python verifier {self.spec!r}: did not load within {_LOAD_TIMEOUT_S:g}s")
        try:
            status, message = parent_end.recv()
        except EOFError:
            status, message = "error", f"worker exited with code {process.exitcode}"
        if status != "ready":
            self._stop()
            raise UserError(f"python verifier {self.spec!r}: {message}")

    def _stop(self) -> None:
        """End the worker: politely when it is idle, by kill when it is not."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is None:
            return
        try:
            conn.send(None)
        except OSError:
            pass
        process.join(0.5)
        if process.is_alive():
            process.kill()
            process.join()
        conn.close()

    def judge(self, completion: str, gold: str) -> tuple[bool | None, str]:
        """(the function's answer, why it has none): None with a reason on error or timeout."""
        with self._lock:
            if self._process is None:
                self._start()
            try:
                self._conn.send((completion, gold))
                if not self._conn.poll(self.timeout_s):
                    self._process.kill()  # stuck in user code: no polite way out
                    self._stop()
                    return None, f"verifier timed out after {self.timeout_s:g}s"
                status, value = self._conn.recv()
            except (EOFError, OSError):
                self._process.join(1.0)
                code = self._process.exitcode
                self._stop()
                return None, f"verifier process died (exit code {code})"
        return (value, "") if status == "ok" else (None, value)

    def __call__(self, completion: str, gold: str) -> bool | None:
        return self.judge(completion, gold)[0]

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> PythonVerifier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
