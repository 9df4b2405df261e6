"""A stand-in for ``EngineClient`` in panel tests: records each call, starts no process.

A test plays the engine's part by emitting ``sig_event`` / ``sig_finished`` on the job.
"""

from PySide6.QtCore import QObject, Signal


class FakeJob(QObject):
    sig_event = Signal(dict)
    sig_output = Signal(str)
    sig_finished = Signal(int)

    def __init__(self, args, parent=None):
        super().__init__(parent)
        self.args = list(args)
        self.error_line = ""
        self.stderr_lines: list[str] = []
        self.running = True
        self.terminated = False

    def start(self):
        self.running = True

    def is_running(self):
        return self.running

    def terminate(self, grace_ms: int = 10000):
        self.terminated = True

    def finish(self, code: int = 0, error_line: str = ""):
        self.running = False
        self.error_line = error_line.splitlines()[-1] if error_line else ""
        self.stderr_lines = error_line.splitlines()
        self.sig_finished.emit(code)


class FakeEngineClient(QObject):
    sig_state = Signal(str)
    state = "idle"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.jobs: list[FakeJob] = []

    def terminate_all(self, grace_ms: int = 3000):
        for job in self.jobs:
            job.terminate(grace_ms)

    def run(self, args):
        job = FakeJob(args, self)
        self.jobs.append(job)
        return job

