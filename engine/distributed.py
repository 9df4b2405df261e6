"""Multi-process training through ``accelerate launch``: the launcher parent and what each rank sees.

The parent (``realm-engine train|resume --launcher accelerate``) is the run's engine process:
it holds the run lock, its pid is the one in ``status.json`` (so ``stop``, ``cancel`` and the
liveness check work unchanged), and it starts ``accelerate launch … -m engine.worker PROJECT RUN``
in a session of its own so that a Ctrl-C reaches only the parent. It turns its own SIGINT /
SIGTERM into the same control requests the GUI writes, which every rank reads at each step end
and agrees on (``RunContext.agreed_request``). Each rank has its own process group, so killing
the launcher alone would leave them running: the parent tracks the rank pids (each rank writes
``runs/<run>/ranks/rank-N.json``) and ends every one that outlives the launcher, after a grace
period. A rank whose parent dies cancels itself (``engine.worker``).

Ranks: rank 0 writes events, status and markers; the others read the run folder and write
nothing (``RankView``, ``SilentEvents``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .events import ERROR, RUN_FINISHED, EventWriter
from .fsutil import atomic_write_json
from .runs import LIVE_STATES, RunFolder, RunLock, pid_alive

OWNER_ENV = "REALM_ENGINE_OWNER_PID"  # the launcher parent's pid, for the ranks' watchdog and status.json
ECHO_ENV = "REALM_ENGINE_ECHO"  # "1": rank 0 echoes events on stdout (--json)
CANCEL_GRACE_S = 30.0  # a cancelled rank that has not left by then is killed
END_GRACE_S = 10.0  # ranks still alive once the launcher is gone get SIGTERM, then SIGKILL after this


class RankView(RunFolder):
    """The run folder as a rank other than 0 sees it: it reads everything and writes nothing shared."""

    rank: int = 1

    def write_status(self, **fields) -> dict:
        return {}

    def clear_request(self) -> None:
        pass

    @property
    def traceback_path(self) -> Path:
        return self.path / f"traceback-rank{self.rank}.txt"


class SilentEvents(EventWriter):
    """The event writer of ranks other than 0: events are built but never written."""

    def __init__(self, path, run: str, echo: bool = False):  # never touches the log rank 0 is writing
        self.path, self.run, self.echo = Path(path), run, False

    def emit(self, type: str, **fields) -> dict:
        return {"type": type, "run": self.run, **fields}


@dataclass(frozen=True)
class Rank:
    """This process's place in a multi-process run (from the environment torch's launcher sets)."""

    rank: int
    world_size: int
    owner_pid: int | None  # None on the other nodes of a multi-node run (their launcher is not ours)
    echo: bool = False

    @classmethod
    def from_env(cls) -> Rank:
        owner = os.environ.get(OWNER_ENV)
        return cls(rank=int(os.environ.get("RANK", 0)), world_size=int(os.environ.get("WORLD_SIZE", 1)),
                   owner_pid=int(owner) if owner else None, echo=os.environ.get(ECHO_ENV) == "1")

    def view(self, run: RunFolder) -> RunFolder:
        if self.rank == 0:
            return run
        view = RankView(run.project, run.name)
        view.rank = self.rank
        return view

    def events(self, run: RunFolder, echo: bool) -> EventWriter:
        writer = EventWriter if self.rank == 0 else SilentEvents
        return writer(run.events, run.name, echo=echo or self.echo)

    def register(self, run: RunFolder) -> None:
        """Tell the launcher parent which process to end if it must (host-qualified: multi-node runs
        share the run folder, and a pid means nothing on another machine)."""
        atomic_write_json(run.ranks_dir / f"rank-{self.rank}.json",
                          {"rank": self.rank, "pid": os.getpid(), "host": socket.gethostname()})


def local_rank_pids(run: RunFolder) -> list[int]:
    """Pids of the ranks of this run that live on this machine."""
    pids = []
    for path in sorted(run.ranks_dir.glob("rank-*.json")):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if info.get("host") == socket.gethostname():
            pids.append(int(info["pid"]))
    return pids


def accelerate_command(project: Path, run: RunFolder, num_processes: int, config_file: str | None) -> list[str]:
    """The ``accelerate launch`` command line. Without a config file: N processes on this machine
    (``--multi_gpu`` also gives N gloo processes on a CPU-only machine; ``--cpu`` would give one)."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if config_file:
        cmd += ["--config_file", config_file]
        if num_processes > 1:  # else the config's own num_processes holds
            cmd += ["--num_processes", str(num_processes)]
    else:
        cmd += [*(["--multi_gpu"] if num_processes > 1 else []), "--num_processes", str(num_processes),
                "--main_process_port", "0", "--mixed_precision", "no", "--dynamo_backend", "no"]
    return [*cmd, "-m", "engine.worker", str(project), run.name]


def launch_accelerate(project: Path, run: RunFolder, *, num_processes: int, config_file: str | None = None,
                      echo: bool = False) -> str:
    """Run every unfinished stage of ``run`` on ``num_processes`` ranks; return the final state."""
    if num_processes < 1:
        raise UserError(f"--num-processes: must be at least 1, got {num_processes}")
    if config_file:
        if not Path(config_file).is_file():
            raise UserError(f"--accelerate-config {config_file}: no such file", hint="see assets/accelerate/")
        config_file = str(Path(config_file).resolve())
    with RunLock(run):
        run.clear_request()
        shutil.rmtree(run.ranks_dir, ignore_errors=True)
        run.write_status(state="running", pid=os.getpid(), launcher={
            "name": "accelerate", "num_processes": num_processes, "config_file": config_file})
        env = {**os.environ, OWNER_ENV: str(os.getpid()), ECHO_ENV: "1" if echo else "",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                           os.environ.get("PYTHONPATH")]))}
        launcher = subprocess.Popen(accelerate_command(Path(project).resolve(), run, num_processes, config_file),
                                    env=env, start_new_session=True)
        requests: list[str] = []
        old_handlers = {sig: signal.signal(sig, lambda signum, _f: requests.append(
            "stop" if signum == signal.SIGINT else "cancel")) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            _wait(launcher, run, requests)
        finally:
            _end_all(launcher, run)
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
        state = _settle(run, launcher.returncode, echo)
        run.clear_request()
        return state


def _wait(launcher: subprocess.Popen, run: RunFolder, requests: list[str]) -> None:
    """Until the launcher exits, or a cancelled run overstays its grace period."""
    cancel_deadline = None
    while launcher.poll() is None:
        if requests:  # our own SIGINT/SIGTERM: pass it on the way the GUI would
            run.request(requests.pop())
            requests.clear()
        if cancel_deadline is None and run.pending_request() == "cancel":
            cancel_deadline = time.monotonic() + CANCEL_GRACE_S
        if cancel_deadline is not None and time.monotonic() > cancel_deadline:
            return
        time.sleep(0.2)


def _end_all(launcher: subprocess.Popen, run: RunFolder) -> None:
    """End the launcher and every local rank still alive: SIGTERM, then SIGKILL after a grace period."""
    ranks = [pid for pid in local_rank_pids(run) if pid_alive(pid)]
    if launcher.poll() is None:
        _signal_group(launcher.pid, signal.SIGTERM)
    for pid in ranks:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + END_GRACE_S
    while (launcher.poll() is None or any(map(pid_alive, ranks))) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in filter(pid_alive, ranks):
        _signal(pid, signal.SIGKILL)
    if launcher.poll() is None:
        _signal_group(launcher.pid, signal.SIGKILL)
        launcher.wait()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _settle(run: RunFolder, returncode: int, echo: bool) -> str:
    """The run's final state; when the ranks ended without writing one, the parent writes it."""
    state = run.read_status().get("state")
    if state not in LIVE_STATES:
        return state
    events = EventWriter(run.events, run.name, echo=echo)
    if run.pending_request() == "cancel":
        state = "cancelled"
        run.write_status(state=state, pid=None)
    else:
        state = "failed"
        message = f"the training processes ended (accelerate exit code {returncode}) before the run did"
        events.emit(ERROR, message=message)
        run.write_status(state=state, pid=None, error=message)
    events.emit(RUN_FINISHED, state=state)
    return state
