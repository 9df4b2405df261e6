"""How long will a run take here, and what settings finish in minutes on this machine?

The GUI does not import torch, so a GPU is told from the driver's files. The estimate scales
the seconds per step that an earlier run of the project measured (its ``progress`` events) by
how much work a step now asks for; without an earlier run it uses rough rates measured for a
270M model (docs: PITFALLS), and says which it used.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

from engine.config import RECIPE_STAGES, Config, describe_fields
from engine.errors import UserError
from engine.events import PROGRESS, number, read_events
from engine.runs import RunFolder, list_runs, read_run_config

# A newcomer's first run on a CPU: minutes, not hours (the demo's --quick is smaller still).
CPU_SIZED = {"distill.max_steps": 30, "rl.max_steps": 20, "rl.num_generations": 4, "rl.prompts_per_step": 2,
             "rl.max_completion_length": 128}
# Rough rates for a ~270M model: tokens generated / trained per second (2-core CPU, one GPU).
RATES = {"cpu": {"generate": 100.0, "train": 150.0}, "gpu": {"generate": 3000.0, "train": 6000.0}}
AUTO_LENGTH = 200  # a length of 0 means "from the data"; the demo's routes are about this long
MAX_TIMED_LOG = 8 * 1024 * 1024  # a longer event log is not read to time a step (the project opens fast)


def has_gpu() -> bool:
    """An NVIDIA or AMD GPU driver is present (what torch would find, without importing it)."""
    nvidia = Path("/proc/driver/nvidia/gpus")
    return (nvidia.is_dir() and any(nvidia.iterdir())) or Path("/dev/kfd").exists() or bool(shutil.which("nvidia-smi"))


def schema_defaults() -> dict[str, object]:
    return {f["key"]: f["default"] for f in describe_fields()}


def needs_cpu_sizing(cfg: Config, gpu: bool) -> bool:
    """A project still at the schema's sizes, on a machine without a GPU (or told to use the CPU)."""
    on_cpu = not gpu or cfg.model.device == "cpu"
    defaults = schema_defaults()
    return on_cpu and all(_value(cfg, key) == defaults[key] for key in CPU_SIZED)


def _value(cfg: Config, key: str):
    section, _, name = key.partition(".")
    return getattr(getattr(cfg, section), name)


def step_work(cfg: Config, stage: str) -> float:
    """Tokens one step of ``stage`` handles (generated and trained), a relative measure of work."""
    if stage == "distill":
        return cfg.distill.batch_size * cfg.distill.grad_accum * min(cfg.distill.max_length, 2 * AUTO_LENGTH)
    return cfg.rl.prompts_per_step * cfg.rl.num_generations * (cfg.rl.max_completion_length or AUTO_LENGTH)


def stage_steps(cfg: Config, stage: str, train_problems: int) -> int:
    if stage == "rl":
        return cfg.rl.max_steps
    if cfg.distill.max_steps > 0:
        return cfg.distill.max_steps
    examples = train_problems * cfg.distill.max_routes_per_problem
    return max(1, int(cfg.distill.epochs * examples / (cfg.distill.batch_size * cfg.distill.grad_accum)))


Timing = dict[str, tuple[float, float, str] | None]  # stage -> (s per step, work per step, run) or None


def measure_steps(project: Path | None) -> Timing:
    """Per stage, the seconds per step of the newest run of ``project`` that timed one."""
    return {stage: _measured(project, stage) if project else None for stage in ("distill", "rl")}


def _measured(project: Path, stage: str) -> tuple[float, float, str] | None:
    for listed in list_runs(project):
        run = RunFolder(project, listed["name"])
        if not run.events.exists() or run.events.stat().st_size > MAX_TIMED_LOG:
            continue
        stamps = [t for e in read_events(run.events, {PROGRESS})
                  if e.get("stage") == stage and (t := number(e.get("ts"))) is not None]
        gaps = [b - a for a, b in zip(stamps[1:], stamps[2:]) if b > a]  # the first step pays start-up
        if gaps:
            try:
                _recipe, cfg = read_run_config(run)
            except (OSError, ValueError, UserError):  # an unreadable config (TOML errors are ValueErrors): older runs
                continue
            return statistics.median(gaps), step_work(cfg, stage), run.name
    return None


def estimate(timing: Timing, cfg: Config, recipe: str, train_problems: int, gpu: bool) -> tuple[float, str]:
    """(seconds, how it was estimated) for a run of ``recipe`` with ``cfg``."""
    total, sources = 0.0, set()
    for stage in RECIPE_STAGES[recipe]:
        steps, work = stage_steps(cfg, stage, train_problems), step_work(cfg, stage)
        measured = timing.get(stage)
        if measured is not None:
            seconds, old_work, run = measured
            total += steps * seconds * work / max(old_work, 1.0)
            sources.add(f"timed on run {run}")
        else:
            rates = RATES["gpu" if gpu else "cpu"]
            rate = rates["train"] if stage == "distill" else 1 / (1 / rates["generate"] + 1 / rates["train"])
            total += steps * work / rate
            sources.add(f"a rough rate for a 270M model on {'a GPU' if gpu else 'this CPU'}")
    return total, " and ".join(sorted(sources))


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
