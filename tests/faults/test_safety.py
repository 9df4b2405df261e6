"""Nothing runs that the user did not enable, nothing unpickles arbitrary objects, nothing local
leaks into an export.

- Model folders that ship their own code (``auto_map``) are refused with a one-line hint while
  ``model.trust_remote_code`` is off; their code is never imported.
- User verifier code runs only inside the engine, in a child process with a time limit: that is
  tested in tests/method/test_python_verifier.py and not repeated here.
- Resuming a checkpoint: transformers 5.24's Trainer loads the optimizer, scheduler, scaler and
  RNG state with ``torch.load(..., weights_only=True)`` (the RNG file under an allowlist of numpy
  types); weights come from safetensors; trainer_state.json is JSON. So a poisoned checkpoint
  fails to load instead of running code. Checked both statically and with a poisoned file.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from fault_testkit import one_line
from stage_testkit import make_project

from engine.cli import main
from engine.launch import train
from engine.runs import RunFolder

EVIL_CODE = """from pathlib import Path
Path({marker!r}).write_text("remote code ran")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    return make_project(tmp_path_factory.mktemp("safety") / "proj", tiny_model_dir)


@pytest.fixture(scope="module")
def finished_run(project) -> RunFolder:
    assert train(project, "grpo", "safe", overrides=[]) == "finished"
    return RunFolder(project, "safe")


def _custom_code_model(tiny: Path, folder: Path, marker: Path) -> Path:
    shutil.copytree(tiny, folder)
    (folder / "evil.py").write_text(EVIL_CODE.format(marker=str(marker)))
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="evil-custom", architectures=["EvilForCausalLM"],
                  auto_map={"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.EvilForCausalLM"})
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("verb", ["eval", "routes"])
def test_a_model_with_its_own_code_is_refused_and_its_code_never_runs(project, tiny_model_dir, tmp_path, verb, capsys):
    marker = tmp_path / "MARKER"
    model = _custom_code_model(tiny_model_dir, tmp_path / "custom-model", marker)
    toml = project / "realm.toml"
    original = toml.read_text()
    try:
        toml.write_text(original.replace(f'name = "{tiny_model_dir}"', f'name = "{model}"', 1))
        argv = ["eval", str(project), "--base"] if verb == "eval" else \
            ["routes", str(project), "--source", f"model:{model}", "--k", "1"]
        capsys.readouterr()
        assert main(argv) == 2
        line = one_line(capsys.readouterr().err)
    finally:
        toml.write_text(original)
    assert "trust_remote_code" in line and "custom-model" in line, line
    assert not marker.exists(), "code from the model folder ran"


def test_the_trainer_loads_every_checkpoint_state_with_weights_only():
    """Fails if a transformers upgrade starts unpickling checkpoint files again."""
    import transformers.trainer as trainer_module

    source = Path(trainer_module.__file__).read_text()
    calls = re.findall(r"torch\.load\((.*?)\)\n", source, flags=re.S)
    assert calls, "the Trainer no longer calls torch.load: re-check how it resumes"
    assert all("weights_only=True" in call for call in calls), [c for c in calls if "weights_only=True" not in c]


class _Poison:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "unpickled code ran"))


@pytest.mark.parametrize("poisoned", ["rng_state.pth", "optimizer.pt"])
def test_resuming_a_poisoned_checkpoint_runs_none_of_its_code(project, finished_run, tmp_path, poisoned):
    """A copy of a finished run set back to its step-2 checkpoint, one state file replaced by a
    pickle that writes a marker when unpickled."""
    name = f"poisoned-{poisoned.split('.')[0].replace('_', '-')}"
    shutil.copytree(finished_run.path, project / "runs" / name)
    run = RunFolder(project, name)
    shutil.rmtree(run.path / "stages")
    for checkpoint in (run.checkpoints / "rl").glob("checkpoint-*"):
        if checkpoint.name != "checkpoint-2":
            shutil.rmtree(checkpoint)
    run.write_status(state="paused", step=2)
    marker = tmp_path / "MARKER"
    torch.save(_Poison(marker), run.checkpoints / "rl" / "checkpoint-2" / poisoned)

    rc = main(["resume", str(project), "--run", name])
    assert not marker.exists(), f"resuming unpickled {poisoned}"
    assert rc == 2 and run.read_status()["state"] == "failed"  # one-line "damaged or unsafe" error


def test_an_export_holds_no_local_path_or_user_name(project, finished_run, tiny_model_dir, tmp_path):
    out = tmp_path / "export"
    assert main(["export", str(project), "--run", finished_run.name, "--out", str(out)]) == 0
    local = {str(project.resolve()), str(Path(tiny_model_dir).resolve()), str(tmp_path.resolve()), str(Path.home())}
    files = [f for f in out.rglob("*") if f.is_file()]
    assert {f.name for f in files} >= {"config.json", "README.md", "model.safetensors"}
    for file in files:
        data = file.read_bytes()
        leaked = [p for p in local if p.encode() in data]
        assert not leaked, f"{file.name} contains {leaked}"
