"""Every project path from one place, and the user's cache wherever REALM_CACHE points."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import project as pj
from engine.errors import UserError


def test_the_project_layout_is_the_documented_one(tmp_path):
    p = tmp_path / "proj"
    assert pj.problems_path(p) == p / "data" / "problems.parquet"
    assert pj.rejects_path(p) == p / "data" / "rejects.jsonl"
    assert pj.routes_path(p) == p / "routes" / "routes.parquet"
    assert pj.partial_routes_path(p) == p / "routes" / "partial.jsonl"
    assert pj.runs_dir(p) == p / "runs" and pj.run_folder(p, "r1").path == p / "runs" / "r1"
    assert pj.base_eval_dir(p) / pj.EVAL_SUMMARY == p / "eval" / "base" / "summary.json"
    assert pj.exports_dir(p) == p / "exports" and pj.logs_dir(p) == p / "logs"


def test_the_old_names_of_moved_paths_still_import():
    from engine.data.importers import REJECTS_FILE
    from engine.data.problems import PROBLEMS_FILE
    from engine.demo import DEMO_DIR
    from engine.routes.store import PARTIAL_FILE, ROUTES_FILE

    assert (PROBLEMS_FILE, REJECTS_FILE) == (pj.PROBLEMS_FILE, pj.REJECTS_FILE)
    assert (ROUTES_FILE, PARTIAL_FILE) == (pj.ROUTES_FILE, pj.PARTIAL_ROUTES_FILE)
    assert DEMO_DIR == pj.DEMO_DIR and (DEMO_DIR / "problems.jsonl").is_file()


def test_the_cache_follows_realm_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REALM_CACHE", str(tmp_path / "cache"))
    assert pj.cache_root() == tmp_path / "cache"
    assert pj.default_model_dir() == tmp_path / "cache" / "models" / "gemma3-270m"
    assert pj.gguf_cache_dir("m") == tmp_path / "cache" / "gguf" / "m"
    assert pj.crash_logs_dir(tmp_path / "not-a-project") == tmp_path / "cache" / "logs"
    monkeypatch.delenv("REALM_CACHE")
    assert pj.cache_root() == Path.home() / ".cache" / "realm-studio"


def test_crash_logs_go_into_a_project_when_there_is_one(tmp_path):
    project = pj.init_project(tmp_path / "p")
    assert pj.crash_logs_dir(project) == project / "logs"
    assert pj.open_project(project)[0] == project
    with pytest.raises(UserError, match="not a ReaLM project"):
        pj.open_project(tmp_path)
