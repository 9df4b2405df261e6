"""The vLLM rollout setting and the shipped accelerate configs (fast: nothing is launched)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from engine.config import RLSection
from engine.errors import UserError
from engine.stages.rollout_engine import rollout_engine_args

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "accelerate"
REAL_FIND_SPEC = importlib.util.find_spec


def vllm_installed(monkeypatch, installed: bool) -> None:
    """Pretend vLLM is (or is not) importable; every other module is looked up for real."""
    def find_spec(name, *args):
        return (object() if installed else None) if name == "vllm" else REAL_FIND_SPEC(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.parametrize("engine", ["vllm-server", "vllm-colocate"])
def test_asking_for_vllm_without_it_is_one_line_naming_the_setting(monkeypatch, engine):
    vllm_installed(monkeypatch, False)
    with pytest.raises(UserError) as err:
        rollout_engine_args(RLSection(rollout_engine=engine))
    message = str(err.value)
    assert "\n" not in message and f"rl.rollout_engine = '{engine}'" in message and "pip install vllm" in message


@pytest.mark.parametrize("engine, expected", [
    ("transformers", {}), ("auto", {}), ("transformers-compiled", {}),
    ("vllm-server", {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "http://gpu7:8000"}),
    ("vllm-colocate", {"use_vllm": True, "vllm_mode": "colocate"}),
])
def test_rollout_engine_becomes_trl_settings(monkeypatch, tmp_path, engine, expected):
    from trl import GRPOConfig

    vllm_installed(monkeypatch, True)
    args = rollout_engine_args(RLSection(rollout_engine=engine, vllm_server_url="http://gpu7:8000"))
    assert args == expected
    config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to=[], **args)  # TRL knows every name
    assert all(getattr(config, key) == value for key, value in args.items())


def test_train_refuses_vllm_before_the_run_exists(monkeypatch, tmp_path):
    from engine.config import load_config, save_config
    from engine.launch import train
    from engine.project import init_project

    vllm_installed(monkeypatch, False)
    project = tmp_path / "proj"
    init_project(project, model="unused", answer_type="number")
    cfg = load_config(project)
    cfg.rl.rollout_engine = "vllm-server"
    save_config(project, cfg)
    with pytest.raises(UserError, match="needs vLLM"):
        train(project, "realm-zero", "v", overrides=[], launcher="accelerate", num_processes=2)
    assert not (project / "runs" / "v").exists(), "the run name stays free for a corrected retry"


@pytest.mark.parametrize("name, distributed_type", [
    ("ddp.yaml", "MULTI_GPU"), ("deepspeed_zero2.yaml", "DEEPSPEED"), ("deepspeed_zero3.yaml", "DEEPSPEED"),
    ("fsdp.yaml", "FSDP"),
])
def test_shipped_accelerate_configs_load_in_accelerate(name, distributed_type):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(ASSETS / name))
    assert config.distributed_type == distributed_type and config.num_machines == 1
