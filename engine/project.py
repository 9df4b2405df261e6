"""The project folder: creating one, and finding its parts.

Layout (DESIGN.md): realm.toml, data/problems.parquet, routes/routes.parquet, runs/<run>/,
eval/base/ (the base model's evaluation), exports/<name>/, logs/ (saved tracebacks).
"""

from __future__ import annotations

from pathlib import Path

from .config import CONFIG_FILE, Config, load_config, save_config
from .errors import UserError

SUBDIRS = ("data", "routes", "runs", "eval", "exports", "logs")


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


def open_project(path: str | Path) -> tuple[Path, Config]:
    """(folder, validated config) of an existing project."""
    path = Path(path)
    if not (path / CONFIG_FILE).exists():
        raise UserError(f"{path}: not a ReaLM project (no {CONFIG_FILE})", hint="create one with `realm-engine init DIR`")
    return path, load_config(path)


def problems_path(project: Path) -> Path:
    return Path(project) / "data" / "problems.parquet"


def routes_path(project: Path) -> Path:
    return Path(project) / "routes" / "routes.parquet"


def base_eval_dir(project: Path) -> Path:
    return Path(project) / "eval" / "base"
