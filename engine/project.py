"""The project folder: creating one, and every path in it.

Layout (DESIGN.md): realm.toml, data/problems.parquet (earlier versions in data/history/),
routes/routes.parquet (and routes/history/), runs/<run>/,
eval/base/ (the base model's evaluation), exports/<name>/, logs/ (saved tracebacks). Every
module that needs one of these paths asks here, so the layout is written down once; what lies
inside a run folder (config.toml, checkpoints/<stage>/, stages/<stage>/final/, eval/, …) is
``runs.RunFolder``'s, reached through ``run_folder``.

The user's cache (the converted default model, saved tracebacks outside a project) is here too:
``REALM_CACHE`` moves all of it.

Plain Python only: the GUI imports this module.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .config import CONFIG_FILE, DEFAULT_MODEL, Config, load_config, save_config
from .errors import UserError
from .fsutil import PidLock, file_digest
from .runs import RUNS_DIR, SNAPSHOT, RunFolder

PROBLEMS_FILE = Path("data") / "problems.parquet"
REJECTS_FILE = Path("data") / "rejects.jsonl"  # rows refused by an import with --skip-bad
DATA_HISTORY_DIR = Path("data") / "history"  # problem tables an import replaced (engine.data.history)
ROUTES_FILE = Path("routes") / "routes.parquet"
PARTIAL_ROUTES_FILE = Path("routes") / "partial.jsonl"  # the route sampler's crash-safe journal
ROUTES_HISTORY_DIR = Path("routes") / "history"  # route tables a routes import replaced
DATA_LOCK_FILE = Path("data") / ".lock"  # held by `import` and `routes` while they write (DataLock)
SNAPSHOT_FILES = (PROBLEMS_FILE, ROUTES_FILE)  # what a run freezes when it starts (snapshot_data)
REWARD_BENCH_FILE = Path("routes") / "reward_bench.json"  # `realm-engine rewards`: the last reward bench
BASE_EVAL_DIR = Path("eval") / "base"
EVAL_SUMMARY = "summary.json"  # in an eval folder (the base's, or a run's ``eval_dir``)
EVAL_LEDGER = "ledger.jsonl"  # one line per held-out problem, in the same folder
EXPORTS_DIR = "exports"
LOGS_DIR = "logs"
SUBDIRS = ("data", "routes", RUNS_DIR, "eval", EXPORTS_DIR, LOGS_DIR)

DEMO_DIR = Path(__file__).resolve().parents[1] / "assets" / "demo"
"""The bundled demo's problems, routes and rulebook (shipped beside ``engine/``)."""
BENEFITS_DIR = Path(__file__).resolve().parents[1] / "assets" / "benefits"
"""The second bundled domain (Harbor City housing benefit, multiple choice)."""


def init_project(path: str | Path, *, name: str | None = None, model: str | None = None,
                 answer_type: str | None = None) -> Path:
    """Create a project folder with a default, valid realm.toml. Refuses to overwrite one."""
    path = Path(path)
    if (path / CONFIG_FILE).exists():
        raise UserError(f"{path / CONFIG_FILE}: already exists (this folder is a project)")
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: exists and is not a folder")
    cfg = Config()
    cfg.project.name = name or path.resolve().name
    if model:
        cfg.model.name = model
    if answer_type:
        cfg.data.answer_type = answer_type
    try:
        for sub in SUBDIRS:
            (path / sub).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{path}: cannot create project folder ({err.strerror})") from None
    save_config(path, cfg)
    return path


def is_project(path: str | Path) -> bool:
    return (Path(path) / CONFIG_FILE).exists()


def open_project(path: str | Path) -> tuple[Path, Config]:
    """(folder, validated config) of an existing project."""
    path = Path(path)
    if not is_project(path):
        raise UserError(f"{path}: not a ReaLM project (no {CONFIG_FILE})", hint="create one with `realm-engine init DIR`")
    return path, load_config(path)


# ----------------------------------------------------------------------------- inside a project


def _path_in_project(relative: str | Path, name: str, doc: str):
    """``fn(project) -> project / relative``: one small function per place in the layout."""
    def path(project: str | Path) -> Path:
        return Path(project) / relative

    path.__name__ = path.__qualname__ = name
    path.__doc__ = doc
    return path


problems_path = _path_in_project(PROBLEMS_FILE, "problems_path", "The canonical problem table.")
rejects_path = _path_in_project(REJECTS_FILE, "rejects_path", "Rows the last import refused (--skip-bad).")
routes_path = _path_in_project(ROUTES_FILE, "routes_path", "The route table.")
data_history_dir = _path_in_project(DATA_HISTORY_DIR, "data_history_dir", "Problem tables an import replaced.")
routes_history_dir = _path_in_project(ROUTES_HISTORY_DIR, "routes_history_dir", "Route tables an import replaced.")
reward_bench_path = _path_in_project(REWARD_BENCH_FILE, "reward_bench_path", "The last reward bench's table.")
partial_routes_path = _path_in_project(PARTIAL_ROUTES_FILE, "partial_routes_path", "The route sampler's journal.")
runs_dir = _path_in_project(RUNS_DIR, "runs_dir", "The folder of every run.")
base_eval_dir = _path_in_project(BASE_EVAL_DIR, "base_eval_dir", "The base model's evaluation.")
exports_dir = _path_in_project(EXPORTS_DIR, "exports_dir", "Where exports go by default.")
logs_dir = _path_in_project(LOGS_DIR, "logs_dir", "Tracebacks of internal errors.")


def run_folder(project: str | Path, name: str) -> RunFolder:
    """One run's folder (its stage results, checkpoints, eval, log: see ``RunFolder``)."""
    return RunFolder(Path(project), name)


# ----------------------------------------------------------------------------- the user's cache


def cache_root() -> Path:
    """``$REALM_CACHE``, else ~/.cache/realm-studio."""
    return Path(os.environ.get("REALM_CACHE", Path.home() / ".cache" / "realm-studio"))


def default_model_dir(cache_dir: Path | None = None) -> Path:
    """Where the bundled default model is converted to (``cache_dir`` replaces <cache>/models)."""
    return (cache_dir or cache_root() / "models") / DEFAULT_MODEL


def gguf_cache_dir(model_name: str) -> Path:
    """Where a GGUF package assembles its model file (shared with llama.cpp servers in tests)."""
    return cache_root() / "gguf" / model_name


def crash_logs_dir(project: str | Path | None) -> Path:
    """Where an internal error's traceback is saved: the project's logs/, else the cache's."""
    if project is not None and is_project(project):
        return logs_dir(project)
    return cache_root() / LOGS_DIR


# ----------------------------------------------------------------------------- shared use


class DataLock(PidLock):
    """One writer of a project's data at a time (``import``, ``routes``): a second one, from another
    terminal or a second studio, is refused with what holds the project. Training does not take it:
    a run reads the snapshot it took when it started (``snapshot_data``)."""

    def __init__(self, project: str | Path, verb: str):
        super().__init__(Path(project) / DATA_LOCK_FILE, verb)

    def busy(self, pid: int, doing: str) -> UserError:
        return UserError(f"{self.path.parent.parent}: `{doing or 'an engine'}` (engine process {pid}) is changing "
                         "this project's data", hint="wait for it to finish, or stop it")


def snapshot_data(project: str | Path, run: RunFolder) -> dict[str, str]:
    """Freeze the problems and routes a run starts with in ``runs/<run>/snapshot/`` and return
    their digests ({relative path: sha256}, "" for a file the project does not have yet), which
    ``train`` writes into the run's frozen config.

    An import or a routes run while the run trains then changes the project, not the run: it
    trains and resumes on what it started with. The snapshot is a hard link (free: every writer
    of these files replaces them by a rename, leaving the run's copy as it was), or a copy where
    the file system has none; ``run_data`` checks the digests before the run reads it.
    """
    digests = {}
    for relative in SNAPSHOT_FILES:
        source, frozen = Path(project) / relative, run.snapshot / relative
        if not source.exists():
            digests[relative.as_posix()] = ""
            continue
        try:
            frozen.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, frozen)
            except OSError:
                shutil.copy2(source, frozen)
        except OSError as err:
            raise UserError(f"{frozen}: cannot write ({err.strerror or err})") from None
        digests[relative.as_posix()] = file_digest(frozen)
    return digests


def run_data(project: str | Path, run: RunFolder) -> Path:
    """The folder a run reads its problems and routes from (laid out like a project): its snapshot,
    once its digests match the frozen config; the project itself for a run from before snapshots."""
    recorded = run.config_table().get(SNAPSHOT) if run.config.exists() else None
    if not isinstance(recorded, dict):
        return Path(project)
    for relative, digest in recorded.items():
        frozen = run.snapshot / relative
        if digest and (not frozen.is_file() or file_digest(frozen) != digest):
            state = "missing" if not frozen.is_file() else "changed"
            raise UserError(f"{frozen}: {state} since run {run.name!r} started (sha256 {digest}); the run trains "
                            "only on the data it started with", hint="restore that file, or start a new run")
    return run.snapshot
