"""One rank of a multi-process run: ``accelerate launch … -m engine.worker PROJECT RUN``.

Started by ``engine.distributed.launch_accelerate`` (or by hand on the other nodes of a
multi-node run, see assets/accelerate/README.md). Every rank runs the same stages; only rank 0
writes to the run folder.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from .distributed import CANCEL_GRACE_S, Rank
from .errors import UserError
from .launch import execute
from .runs import RunFolder, pid_alive


def watch_owner(owner_pid: int) -> None:
    """When the launcher parent dies (even by SIGKILL), cancel this rank; if it has not left after
    the grace period (stuck in a collective with a dead peer), end it."""
    def watch():
        while pid_alive(owner_pid):
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)  # the run's handler turns it into a cancel at the next step end
        time.sleep(CANCEL_GRACE_S)
        os._exit(1)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    project, run_name = argv if argv is not None else sys.argv[1:]
    rank = Rank.from_env()
    run = RunFolder(Path(project), run_name)
    rank.register(run)
    if rank.owner_pid is not None:
        watch_owner(rank.owner_pid)
    try:
        state = execute(run.project, run, rank=rank)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 1 if state == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
