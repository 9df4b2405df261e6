"""Shared tools of the fault suite: engine subprocesses, waiting on events, killing, the process
tree read from /proc, and fingerprints of a project folder (to prove a fault lost nothing).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.events import read_events

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "TRANSFORMERS_VERBOSITY": "error"}
WAIT_S = 300  # a generous ceiling on a shared 2-core machine; not a timed assertion


def engine(*args, check_rc: int | None = 0, preexec_fn=None) -> subprocess.CompletedProcess:
    """Run ``python -m engine ARGS`` to the end, as a user does."""
    proc = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=REPO, timeout=600, preexec_fn=preexec_fn)
    if check_rc is not None:
        assert proc.returncode == check_rc, f"rc={proc.returncode}\nstdout:{proc.stdout[-2000:]}\nstderr:{proc.stderr[-3000:]}"
    return proc


SLOWED = """
import sys, time
from engine.stages import context
real = context.RunCallback.on_step_end
def slowed(*args, **kwargs):
    time.sleep(float(sys.argv[1]))
    return real(*args, **kwargs)
context.RunCallback.on_step_end = slowed
from engine.cli import main
sys.exit(main(sys.argv[2:]))
"""


def spawn_engine(*args, stdout_path: Path | None = None, step_s: float | None = None) -> subprocess.Popen:
    """Start ``python -m engine ARGS`` in its own session (so its whole tree can be signalled);
    its stdout goes to ``stdout_path`` when given, to be watched while it runs. ``step_s`` makes
    every training step last that much longer, so a test can act while a run is surely live."""
    stdout = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    head = ["-m", "engine"] if step_s is None else ["-c", SLOWED, str(step_s)]
    try:
        return subprocess.Popen([sys.executable, *head, *map(str, args)], env=ENV, cwd=REPO,
                                stdout=stdout, stderr=subprocess.PIPE, start_new_session=True)
    finally:
        if stdout_path:
            stdout.close()


KILL_AFTER = """
import importlib, os, signal, sys
module_name, attr = sys.argv[1].split(":")
module = importlib.import_module(module_name)
real = getattr(module, attr)
def die_after(*args, **kwargs):
    result = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(module, attr, die_after)
from engine.cli import main
sys.exit(main(sys.argv[2:]))
"""


def engine_killed_after(hook: str, *args) -> subprocess.CompletedProcess:
    """Run an engine verb that kill -9s itself right after ``hook`` ('module:function') first returns.

    A deterministic kill point: polling for a file and then killing races a fast engine.
    """
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER, hook, *map(str, args)], capture_output=True,
                          text=True, env=ENV, timeout=WAIT_S * 2)
    assert proc.returncode == -signal.SIGKILL, f"rc={proc.returncode}: {proc.stderr[-2000:]}"
    return proc


def wait_until(predicate, what: str, proc: subprocess.Popen | None = None):
    """Poll ``predicate`` until it returns something truthy; fail if the engine exits first."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"engine exited (rc={proc.returncode}) before {what}:\n{proc.stderr.read().decode()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def event_seen(run_dir: Path, type_: str, **match):
    """A predicate: the first event of ``type_`` whose fields include ``match``."""
    def find():
        return next((e for e in read_events(run_dir / "events.jsonl", {type_})
                     if all(e.get(k) == v for k, v in match.items())), None)
    return find


def kill9(proc: subprocess.Popen) -> None:
    """SIGKILL the engine's whole process group, as a crash or the OOM killer would."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


# ----------------------------------------------------------------------------- /proc


def _live_sessions() -> dict[int, int]:
    """{pid: session id} of every live process; a zombie holds no memory: it is gone."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                out[int(entry)] = int(fields[3])
    return out


def session_members(sid: int) -> set[int]:
    """Every live process of a session: an engine started with ``start_new_session`` and all its
    descendants, even those re-parented to init after their parent died (psutil is not available)."""
    return {pid for pid, session in _live_sessions().items() if session == sid}


# ----------------------------------------------------------------------------- fingerprints


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (by relative path): equal fingerprints, nothing changed."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            out[str(path.relative_to(folder)) + "/"] = "dir"
    return out


PROGRESS_BAR = re.compile(r"^\s*\S+\s+\[[# ]*\] \d+/\d+")


def one_line(stderr: str) -> str:
    """The single message line of a failed verb, progress bars aside (fails on a traceback or
    several lines, or on a message glued to the end of a progress bar)."""
    lines = [line for line in stderr.replace("\r", "\n").splitlines() if line.strip() and not PROGRESS_BAR.match(line)]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]
