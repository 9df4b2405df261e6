"""Run folders: layout, ``status.json``, the single-writer lock, stage results, checkpoints, the listing.

Everything that knows what lies inside ``runs/<run>/`` is here: the frozen config and its
recipe, each stage's result (``stages/<stage>/final``), each stage's checkpoints
(``checkpoints/<stage>/checkpoint-N``) and the ``COMPLETE`` marker that makes either of them
count (written last, so a folder a kill cut short is never resumed from or loaded), and where
the data the run trains on lies (``snapshot/``, made by ``project.snapshot_data``).

A run's state on disk is the truth. ``status.json`` says what the engine last claimed; when
it claims ``running`` but its process is gone, readers report ``interrupted`` — that is how
both the CLI and the GUI tell a killed run from a live one.

Plain Python only: the GUI imports this module.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .config import RECIPE_STAGES, STAGES, Config, config_from_dict
from .errors import UserError
from .fsutil import PidLock, atomic_write_json, atomic_write_text, pid_alive  # noqa: F401  (pid_alive: read from here)

RUNS_DIR = "runs"
COMPLETE = "COMPLETE"  # marker written once a checkpoint or a stage result is fully on disk
LIVE_STATES = ("queued", "running", "stopping")
STATES = ("queued", "running", "paused", "stopping", "finished", "failed", "interrupted", "cancelled",
          "unknown")  # unknown: status.json is damaged
_NUMBER_FIELDS = ("step", "total_steps", "started", "updated", "eta_s")
SNAPSHOT = "snapshot"  # runs/<run>/snapshot/: the problems and routes a run trains on; its digests in config.toml
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_run_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise UserError(f"run name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


@dataclass
class RunFolder:
    """Paths of one run; creating the object touches nothing on disk."""

    project: Path
    name: str

    def __post_init__(self):
        self.project = Path(self.project)
        check_run_name(self.name)

    @property
    def path(self) -> Path:
        return self.project / RUNS_DIR / self.name

    config = property(lambda self: self.path / "config.toml")
    status_path = property(lambda self: self.path / "status.json")
    events = property(lambda self: self.path / "events.jsonl")
    samples = property(lambda self: self.path / "samples.jsonl")
    checkpoints = property(lambda self: self.path / "checkpoints")
    eval_dir = property(lambda self: self.path / "eval")
    lock_path = property(lambda self: self.path / "engine.lock")
    control_path = property(lambda self: self.path / "control")
    traceback_path = property(lambda self: self.path / "traceback.txt")
    engine_log = property(lambda self: self.path / "engine.log")  # stdout/stderr of a --detach-ed engine
    snapshot = property(lambda self: self.path / SNAPSHOT)  # laid out like a project: data/, routes/
    ranks_dir = property(lambda self: self.path / "ranks")  # one file per rank of a multi-process run

    def exists(self) -> bool:
        return self.path.is_dir()

    def stage_dir(self, stage: str) -> Path:
        return self.path / "stages" / stage

    def final_dir(self, stage: str) -> Path:
        """Where a finished stage's result (adapter or full model) lies."""
        return self.stage_dir(stage) / "final"

    def checkpoint_dir(self, stage: str) -> Path:
        """The stage's Trainer output folder: its ``checkpoint-N`` folders."""
        return self.checkpoints / stage

    def stage_finished(self, stage: str) -> bool:
        return is_complete(self.final_dir(stage))

    def finished_stages(self) -> list[str]:
        """Stages whose result is complete, in name order (enough to tell whether a run can be
        evaluated or exported without reading its config)."""
        return sorted(m.parent.parent.name for m in self.path.glob(f"stages/*/final/{COMPLETE}"))

    # -- frozen config --------------------------------------------------------------------

    def config_table(self) -> dict:
        """The frozen ``config.toml`` as TOML tables (with its ``recipe`` key), unvalidated."""
        return tomllib.loads(self.config.read_text(encoding="utf-8"))

    # -- status ---------------------------------------------------------------------------

    def read_status(self) -> dict:
        """The status with liveness applied: a 'running' run whose engine is gone is 'interrupted'.

        A damaged or hand-edited status.json reads as state 'unknown', and a field of the wrong
        type as absent, so readers (the listing, every panel) can trust what they get.
        """
        try:
            status = _typed_status(json.loads(self.status_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            status = {"state": "queued" if self.exists() else "missing", "step": 0}
        except (OSError, ValueError, RecursionError):
            status = _typed_status(None)
        if status["state"] in LIVE_STATES and not pid_alive(status.get("pid")):
            status["state"] = "interrupted"
        return status

    def write_status(self, durable: bool = True, **fields) -> dict:
        """Merge ``fields`` into status.json; per-step progress passes durable=False (see fsutil)."""
        status = {}
        try:
            status = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            pass
        status.update(fields, updated=round(time.time(), 3))
        atomic_write_json(self.status_path, status, durable=durable)
        return status

    # -- checkpoints ----------------------------------------------------------------------

    def checkpoint_labels(self) -> list[str]:
        """Complete checkpoints as 'stage/checkpoint-N', oldest first.

        A checkpoint is complete once its COMPLETE marker exists (written after the Trainer has
        saved everything); a folder without one was cut short by a kill and is never resumed from.
        """
        found = []
        for marker in self.checkpoints.glob(f"*/checkpoint-*/{COMPLETE}"):
            folder = marker.parent
            if folder.name.split("-")[-1].isdigit():
                found.append((marker.stat().st_mtime, int(folder.name.split("-")[-1]), f"{folder.parent.name}/{folder.name}"))
        return [label for _, _, label in sorted(found)]

    # -- control (GUI/CLI -> engine) --------------------------------------------------------

    def request(self, action: str) -> None:
        """Ask the engine to 'stop' (checkpoint, then exit) or 'cancel' (exit now)."""
        if action not in ("stop", "cancel"):
            raise ValueError(action)
        atomic_write_json(self.control_path, {"action": action, "ts": time.time()})

    def pending_request(self) -> str | None:
        try:
            return json.loads(self.control_path.read_text(encoding="utf-8")).get("action")
        except (FileNotFoundError, ValueError):
            return None

    def clear_request(self) -> None:
        try:
            self.control_path.unlink()
        except FileNotFoundError:
            pass


def _typed_status(raw) -> dict:
    """``raw`` with state a string, pid an int or None and the numeric fields numbers (a field
    that is not is dropped): what status.json holds whoever wrote it."""
    status = dict(raw) if isinstance(raw, dict) else {}
    if not isinstance(status.get("state"), str):
        status["state"] = "unknown"
    pid = status.get("pid")
    if not (isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2**31):
        status["pid"] = None
    for key in _NUMBER_FIELDS:
        value = status.get(key)
        if key in status and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
            del status[key]
    status.setdefault("step", 0)
    return status


def read_run_config(run: RunFolder) -> tuple[str, Config]:
    """(recipe, frozen Config) of a run: what ``train`` wrote, validated like realm.toml."""
    raw = run.config_table()
    recipe = raw.pop("recipe", None)
    raw.pop("from", None)  # `train --from RUN:STAGE`: see run_origin
    raw.pop(SNAPSHOT, None)  # the digests of the data the run trains on: see project.run_data
    if recipe not in RECIPE_STAGES:
        raise UserError(f"{run.config}: unknown recipe {recipe!r}")
    return recipe, config_from_dict(raw, source=str(run.config))


def is_complete(folder: Path) -> bool:
    return (folder / COMPLETE).exists()


def mark_complete(folder: Path, **info) -> None:
    """Write the COMPLETE marker (last, once everything else in ``folder`` is on disk)."""
    atomic_write_text(folder / COMPLETE, json.dumps({"ts": time.time(), **info}) + "\n")


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest *complete* HF checkpoint folder (a kill mid-save leaves an incomplete one: skipped)."""
    if not folder.is_dir():
        return None
    done = [c for c in folder.glob("checkpoint-*") if is_complete(c) and c.name.split("-")[-1].isdigit()]
    return max(done, key=lambda c: int(c.name.split("-")[-1]), default=None)


def parse_origin(text: str) -> tuple[str, str]:
    """``"RUN:STAGE"`` (``train --from``) as (run name, stage); a one-line refusal otherwise."""
    name, _, stage = (text or "").rpartition(":")
    if not name or stage not in STAGES:
        raise UserError(f"--from {text!r}: expected RUN:STAGE with STAGE one of {', '.join(STAGES)}, e.g. base:distill")
    return check_run_name(name), stage


def run_origin(run: RunFolder) -> tuple[str, str] | None:
    """(run, stage) a run was started from with ``train --from``, or None."""
    origin = run.config_table().get("from") if run.config.exists() else None
    return parse_origin(origin) if origin else None


def stages_to_run(recipe: str, origin_stage: str | None) -> tuple[str, ...]:
    """The recipe's stages a run trains itself: with ``--from RUN:STAGE``, those after STAGE (the
    earlier ones come from the other run, so every variant branches from the same model)."""
    stages = RECIPE_STAGES[recipe]
    if origin_stage is None:
        return stages
    return tuple(s for s in stages if STAGES.index(s) > STAGES.index(origin_stage))


def stage_owner(project: Path, name: str, stage: str) -> str | None:
    """The run whose folder holds ``stage``'s result as run ``name`` sees it: ``name`` itself when it
    trained the stage, the run it branched from when it inherited it, None when it has no such stage."""
    seen = set()
    while name not in seen:
        seen.add(name)
        run = RunFolder(project, name)
        if run.stage_finished(stage):
            return name
        origin = run_origin(run) if run.config.exists() else None
        if origin is None or STAGES.index(stage) > STAGES.index(origin[1]):
            return None
        name = origin[0]
    return None


def inherited_chain(run: RunFolder, _seen: frozenset = frozenset()) -> list[Path]:
    """The stage results a run started ``--from`` another run builds on: that run's chain up to
    and including the stage named (recursively, when that run was branched too)."""
    origin = run_origin(run)
    if origin is None:
        return []
    name, stage = origin
    source = RunFolder(run.project, name)
    if name in _seen or not source.config.exists():
        raise UserError(f"{run.config}: from = {name}:{stage}, but run {name!r} is missing (or loops back)")
    if not source.stage_finished(stage):
        raise UserError(f"run {name!r} has no finished {stage} stage to start from",
                        hint=f"let it finish, or pick a stage it finished ({', '.join(source.finished_stages()) or 'none'})")
    upto = STAGES[: STAGES.index(stage) + 1]  # a stage result in its own folder is one it trained itself
    return inherited_chain(source, _seen | {run.name}) + [source.final_dir(s) for s in upto if source.stage_finished(s)]


def trained_chain(run: RunFolder, stages: tuple[str, ...]) -> list[Path]:
    """Final weights a model of this run is built from, in order (adapters are applied on top of
    each other): the inherited chain (``train --from``), then the run's own finished ``stages``."""
    return inherited_chain(run) + [run.final_dir(stage) for stage in stages if run.stage_finished(stage)]


def finished_run(project: Path, run_name: str, verb: str) -> tuple[RunFolder, str, Config, list[Path]]:
    """(run folder, recipe, frozen config, chain of finished stage results) of a run to evaluate or export."""
    run = RunFolder(project, run_name)
    if not run.config.exists():
        raise UserError(f"run {run_name!r}: no such run in {run.path.parent}")
    recipe, cfg = read_run_config(run)
    status = run.read_status()
    if status["state"] in LIVE_STATES:  # its results are not what it will end with: a stage may be mid-way
        raise UserError(f"run {run_name!r} is still training (engine process {status['pid']}, step {status['step']}): "
                        f"{verb} it once it has finished or stopped", hint=f"stop it with `realm-engine stop "
                        f"{project} --run {run_name}`")
    if not any(run.stage_finished(stage) for stage in RECIPE_STAGES[recipe]):
        raise UserError(f"run {run_name!r} has no finished stage to {verb} yet",
                        hint="let it finish, or resume it with `realm-engine resume`")
    return run, recipe, cfg, trained_chain(run, RECIPE_STAGES[recipe])


def latest_weights(project: Path, run_name: str) -> tuple[str, Config, list[Path]]:
    """(label, frozen config, chain) of the newest weights a run has, for the playground: its
    finished stages, plus the newest complete checkpoint of the stage in progress, so a run can be
    tried while it trains. The label says which ("final", or "rl/checkpoint-40")."""
    run = RunFolder(project, run_name)
    if not run.config.exists():
        raise UserError(f"run {run_name!r}: no such run in {run.path.parent}")
    recipe, cfg = read_run_config(run)
    origin = run_origin(run)
    stages = stages_to_run(recipe, origin[1] if origin else None)  # a branched run inherits the others
    chain = trained_chain(run, stages)
    pending = [stage for stage in stages if not run.stage_finished(stage)]
    checkpoint = latest_checkpoint(run.checkpoint_dir(pending[0])) if pending else None
    if checkpoint is not None:
        return f"{pending[0]}/{checkpoint.name}", cfg, [*chain, checkpoint]
    if not chain:
        raise UserError(f"run {run_name!r} has no checkpoint yet", hint="wait for its first checkpoint")
    return ("final" if not pending else f"{chain[-1].parent.name}/final"), cfg, chain


class RunLock(PidLock):
    """One engine per run. A lock left by a dead process is taken over, not obeyed."""

    def __init__(self, run: RunFolder):
        super().__init__(run.lock_path)

    def busy(self, pid: int, doing: str) -> UserError:
        return UserError(f"{self.path.parent.name}: already running in engine process {pid}",
                         hint="stop it first with `realm-engine stop`")


def list_runs(project: str | Path) -> list[dict]:
    """Every run of a project with its live state, newest first."""
    root = Path(project) / RUNS_DIR
    out = []
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and _NAME_RE.match(child.name):
                run = RunFolder(project, child.name)
                status = run.read_status()
                out.append({"name": child.name, **status, "checkpoints": run.checkpoint_labels()})
    out.sort(key=lambda r: r.get("started") or r.get("updated") or 0, reverse=True)
    return out
