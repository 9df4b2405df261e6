"""Starting and resuming training runs: the run folder, its lock, its status, its stages.

``train`` freezes the complete config (recipe applied, overrides applied) into
``runs/<run>/config.toml`` before any stage starts; ``resume`` reads it back, so a resumed run
uses exactly what the original used. Each stage resumes from its newest complete checkpoint;
finished stages are skipped.
"""

from __future__ import annotations

import os
import platform
import signal
import time
import traceback
from pathlib import Path

from . import __version__
from .config import RECIPE_STAGES, apply_overrides, config_to_toml, load_config
from .errors import UserError
from .events import ERROR, RUN_FINISHED, RUN_STARTED, EventWriter
from .fsutil import atomic_write_text
from .method.recipes import apply_recipe
from .runs import RunFolder, RunLock, read_run_config


def train(project: Path, recipe: str, run_name: str, *, overrides: list[str], max_steps: int | None = None,
          echo: bool = False, launcher: str = "python", num_processes: int = 1,
          accelerate_config: str | None = None) -> str:
    run = RunFolder(project, run_name)
    if run.config.exists():
        raise UserError(f"run {run_name!r} already exists", hint=f"resume it with `realm-engine resume {project} "
                        f"--run {run_name}` or pick another --run name")
    if max_steps is not None:
        overrides = [*overrides, f"rl.max_steps={max_steps}"]
        if recipe == "rft":
            overrides.append(f"distill.max_steps={max_steps}")
    cfg = apply_recipe(apply_overrides(load_config(project), overrides), recipe)
    if "rl" in RECIPE_STAGES[recipe]:
        from .stages.rollout_engine import rollout_engine_args

        rollout_engine_args(cfg.rl)  # a missing vLLM is refused before the run exists
    run.path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run.config, f'# run {run_name}: recipe {recipe}\nrecipe = "{recipe}"\n\n' + config_to_toml(cfg))
    run.write_status(state="queued", recipe=recipe, started=time.time(), pid=os.getpid(), step=0)
    if launcher == "accelerate":
        from .distributed import launch_accelerate

        return launch_accelerate(project, run, num_processes=num_processes, config_file=accelerate_config, echo=echo)
    return execute(project, run, echo=echo)


def resume(project: Path, run_name: str, *, echo: bool = False) -> str:
    run = RunFolder(project, run_name)
    if not run.config.exists():
        raise UserError(f"run {run_name!r}: no such run in {run.path.parent}")
    status = run.read_status()
    if status.get("state") == "finished":
        raise UserError(f"run {run_name!r} has already finished")
    launcher = status.get("launcher") or {}
    if launcher.get("name") == "accelerate":  # resume as it was started: same launcher, same processes
        from .distributed import launch_accelerate

        return launch_accelerate(project, run, num_processes=launcher["num_processes"],
                                 config_file=launcher.get("config_file"), echo=echo)
    return execute(project, run, echo=echo)


def execute(project: Path, run: RunFolder, *, echo: bool = False, rank=None) -> str:
    """Run (or continue) every unfinished stage of a run in this process; return the final state.

    ``rank`` (an ``engine.distributed.Rank``) marks one rank of a multi-process run: its launcher
    parent then holds the run lock and the control file, and only rank 0 writes to the run folder.
    """
    recipe, cfg = read_run_config(run)
    if rank is not None:
        return _run_stages(Path(project), rank.view(run), recipe, cfg, rank.events(run, echo),
                           owner_pid=rank.owner_pid, world_size=rank.world_size)
    with RunLock(run):
        run.clear_request()
        state = _run_stages(Path(project), run, recipe, cfg, EventWriter(run.events, run.name, echo=echo),
                            owner_pid=os.getpid(), world_size=1)
        run.clear_request()
        return state


def _run_stages(project: Path, run: RunFolder, recipe: str, cfg, events: EventWriter, *, owner_pid: int,
                world_size: int) -> str:
    from .stages.context import RunContext

    ctx = RunContext(project=project, run=run, cfg=cfg, recipe=recipe, events=events)
    old_handlers = ctx.install_signal_handlers()
    run.write_status(state="running", pid=owner_pid, recipe=recipe)
    events.emit(RUN_STARTED, recipe=recipe, config_digest=cfg.digest(), versions=_versions(),
                device=_device(), resumed=run.checkpoints.exists(), world_size=world_size)
    state = "finished"
    try:
        stages = RECIPE_STAGES[recipe]
        for i, stage in enumerate(stages):
            if run.stage_finished(stage):
                continue
            _run_stage(ctx, stage, stages[:i])
            ctx.sync_ranks()
            if not run.stage_finished(stage):  # stopped or cancelled between steps
                state = "paused" if ctx.requested() == "stop" else "cancelled"
                break
    except UserError as err:
        events.emit(ERROR, message=str(err), hint=err.hint)
        state = "failed"
        run.write_status(state=state, error=str(err))
        events.emit(RUN_FINISHED, state=state)
        raise
    except BaseException as err:
        path = run.traceback_path
        atomic_write_text(path, traceback.format_exc())
        events.emit(ERROR, message=f"{type(err).__name__}: {err}", traceback_path=str(path))
        state = "failed"
        run.write_status(state=state, error=f"{type(err).__name__}: {err}")
        events.emit(RUN_FINISHED, state=state)
        raise
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
    run.write_status(state=state, pid=None)
    events.emit(RUN_FINISHED, state=state)
    return state


def _run_stage(ctx, stage: str, before: tuple[str, ...]) -> None:
    if stage == "distill":
        from .stages.distill import run_distill

        run_distill(ctx)
    else:
        from .stages.rl import run_rl

        run_rl(ctx, before)


def _versions() -> dict:
    import importlib.metadata as md

    out = {"realm": __version__, "python": platform.python_version()}
    for pkg in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"
