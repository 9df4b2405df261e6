"""Starting and resuming training runs: the run folder, its lock, its status, its stages.

``train`` freezes the complete config (recipe applied, overrides applied) into
``runs/<run>/config.toml`` before any stage starts; ``resume`` reads it back, so a resumed run
uses exactly what the original used. Each stage resumes from its newest complete checkpoint;
finished stages are skipped.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import time
import traceback
from dataclasses import replace
from pathlib import Path

import tomli_w

from . import __version__
from .config import RECIPE_STAGES, apply_overrides, config_to_toml, load_config
from .errors import DiskFull, UserError
from .events import ERROR, RUN_FINISHED, RUN_STARTED, WARNING, EventWriter
from .fsutil import atomic_write_text
from .method.recipes import apply_recipe
from .project import run_data, snapshot_data
from .runs import SNAPSHOT, RunFolder, RunLock, parse_origin, read_run_config, run_origin, stage_owner, stages_to_run


def train(project: Path, recipe: str, run_name: str, *, overrides: list[str], max_steps: int | None = None,
          echo: bool = False, launcher: str = "python", num_processes: int = 1,
          accelerate_config: str | None = None, origin: str | None = None, on_warning=None,
          check_only: bool = False) -> str:
    """Freeze the run's config and run its stages; return the final state (``check_only``: only
    refuse what would be refused, touching nothing; ``train --detach`` asks before it detaches).

    ``origin`` (``--from RUN:STAGE``) starts from another run's finished stage: this run trains only
    the recipe's later stages, on that run's model (its ``[model]`` section is taken over, so the
    chain of adapters applies to the same base). Budgets of 0 are set from the project's routes
    before the config is frozen; ``on_warning(line)`` hears each budget set too short for them.
    """
    run = RunFolder(project, run_name)
    if run.config.exists():
        raise UserError(f"run {run_name!r} already exists", hint=f"resume it with `realm-engine resume {project} "
                        f"--run {run_name}` or pick another --run name")
    if max_steps is not None:
        overrides = [*overrides, f"rl.max_steps={max_steps}"]
        if recipe == "rft":
            overrides.append(f"distill.max_steps={max_steps}")
    cfg = apply_recipe(apply_overrides(load_config(project), overrides), recipe)
    if origin is not None:
        cfg, origin = _branch_from(project, origin, recipe, cfg, on_warning)
    if "rl" in RECIPE_STAGES[recipe]:
        from .stages.rollout_engine import rollout_engine_args

        rollout_engine_args(cfg.rl)  # a missing vLLM is refused before the run exists
    from .stages.trackers import require_tracker

    require_tracker(cfg.train.report_to)  # so is a missing tracker
    from .routes.budgets import data_budgets

    cfg, warnings = data_budgets(Path(project), cfg)
    if check_only:
        return "checked"
    header = f'# run {run_name}: recipe {recipe}\nrecipe = "{recipe}"\n'
    if origin is not None:
        header += f'from = "{origin}"\n'
    _create(Path(project), run, header + "\n" + config_to_toml(cfg))
    run.write_status(state="queued", recipe=recipe, started=time.time(), pid=os.getpid(), step=0)
    if warnings:
        log = EventWriter(run.events, run.name, echo=echo)
        for line in warnings:
            log.emit(WARNING, message=line)
            if on_warning:
                on_warning(line)
    if launcher == "accelerate":
        from .distributed import launch_accelerate

        return launch_accelerate(project, run, num_processes=num_processes, config_file=accelerate_config, echo=echo)
    return execute(project, run, echo=echo)


def _create(project: Path, run: RunFolder, config_text: str) -> None:
    """Create the run under its lock: the snapshot of the data it will train on, then its frozen
    config with the snapshot's digests. Of two ``train`` of one name exactly one creates it (the
    other is refused in one line, touching nothing), and a refusal on the way leaves no run folder."""
    created = not run.path.exists()
    run.path.mkdir(parents=True, exist_ok=True)
    with RunLock(run):
        if run.config.exists():
            raise UserError(f"run {run.name!r} already exists (another `train` created it just now)",
                            hint="pick another --run name")
        try:
            digests = snapshot_data(project, run)
            atomic_write_text(run.config, config_text + "\n" + tomli_w.dumps({SNAPSHOT: digests}))
        except UserError:
            shutil.rmtree(run.path if created else run.snapshot, ignore_errors=True)
            raise


def _branch_from(project: Path, origin: str, recipe: str, cfg, on_warning):
    """(``cfg``, origin as recorded) for a run started from ``origin`` ("RUN:STAGE"), or a one-line refusal."""
    name, stage = parse_origin(origin)
    source = RunFolder(project, name)
    if not source.config.exists():
        raise UserError(f"--from {origin}: no run {name!r} in {source.path.parent}")
    owner = stage_owner(project, name, stage)
    if owner is None:
        raise UserError(f"--from {origin}: run {name!r} has no finished {stage} stage",
                        hint=f"its finished stages: {', '.join(source.finished_stages()) or 'none yet'}")
    if owner != name and on_warning:  # recorded as where the weights are: the chain stays short
        on_warning(f"--from {origin}: run {name!r} inherited its {stage} stage from run {owner!r}; "
                   f"starting from {owner}:{stage}")
    if not stages_to_run(recipe, stage):
        raise UserError(f"--from {origin}: recipe {recipe} has no stage after {stage} to train "
                        f"(its stages: {', '.join(RECIPE_STAGES[recipe])})")
    _, source_cfg = read_run_config(source)
    if source_cfg.model != cfg.model and on_warning:
        on_warning(f"--from {origin}: model settings taken from run {name!r} ({source_cfg.model.name}), "
                   "whose adapters this run builds on")
    return replace(cfg, model=source_cfg.model), f"{owner}:{stage}"


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
    from .stages.trackers import Tracker

    ctx = RunContext(project=project, run=run, cfg=cfg, recipe=recipe, events=events, data=run_data(project, run),
                     tracker=Tracker(cfg, project, run))
    old_handlers = ctx.install_signal_handlers()
    run.write_status(state="running", pid=owner_pid, recipe=recipe)
    events.emit(RUN_STARTED, recipe=recipe, config_digest=cfg.digest(), versions=_versions(),
                device=_device(), resumed=run.checkpoints.exists(), world_size=world_size)
    state = "finished"
    try:
        stages = stages_to_run(recipe, (run_origin(run) or (None, None))[1])
        if "rl" in stages and not run.checkpoints.exists():  # before a fresh RL run: can the rewards tell right from wrong?
            from .stages.reward_bench import reward_warnings

            for line in reward_warnings(project, cfg, ctx.data):
                events.emit(WARNING, message=line)
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
        state = "paused" if isinstance(err, DiskFull) else "failed"  # a full disk: resumable once there is room
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
        ctx.tracker.close()
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
