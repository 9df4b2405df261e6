"""What every benchmark shares: result rows, the machine they ran on, timing and child processes.

Benchmarks that need Qt run their measured part in a child process (``python -m bench.<module>
--child …``) so the suite itself never imports Qt, and each child's peak memory is its own.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for _path in (REPO, REPO / "tests"):  # `python bench/run_all.py` puts only bench/ on sys.path
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false", "QT_QPA_PLATFORM": "offscreen"}
os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})


@dataclass
class Row:
    """One figure of the results table."""

    bench: str
    metric: str
    value: float
    unit: str
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def machine() -> dict:
    """CPU, cores, versions, date and load: the figures mean nothing without them."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": version("torch"), "transformers": version("transformers"), "trl": version("trl"),
            "pyside6": version("pyside6-essentials"), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def run_child(module: str, *args: str, timeout: float = 300) -> dict:
    """Run ``python -m bench.<module> --child args…`` offscreen; return the JSON of its last stdout line."""
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    proc = subprocess.run([sys.executable, "-m", f"bench.{module}", "--child", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"bench.{module} child failed (exit {proc.returncode}): " + " | ".join(tail))
    return json.loads(lines[-1])


def wall_time(command: list[str], repeats: int = 3) -> float:
    """Median wall time of a fresh subprocess (cold start as a user meets it)."""
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO)}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
    return median(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    Linux's ``VmHWM`` first: ``getrusage().ru_maxrss`` survives exec, so a child started by a
    big parent reports the parent's size at fork time (seen here: every child read 786 MB).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
