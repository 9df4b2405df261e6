"""realm.toml: typed, validated, every problem reported on its own line."""

from __future__ import annotations

import pytest

from engine.config import Config, apply_overrides, config_from_dict, describe_fields, load_config, save_config
from engine.errors import UserError
from engine.method.recipes import STAGES, apply_recipe
from engine.project import init_project


def test_init_writes_a_config_that_loads_back_identically(tmp_path):
    init_project(tmp_path / "p", model="some/model", answer_type="number")
    cfg = load_config(tmp_path / "p")
    assert cfg.model.name == "some/model" and cfg.data.answer_type == "number"
    save_config(tmp_path / "p", cfg)
    assert load_config(tmp_path / "p") == cfg
    for sub in ("data", "routes", "runs", "eval", "exports", "logs"):
        assert (tmp_path / "p" / sub).is_dir()


@pytest.mark.parametrize("raw, expected", [
    ({"fade": {"start": 1.5}}, "fade.start: must be in [0.0, 1.0], got 1.5"),
    ({"rl": {"learning_rate": -1}}, "rl.learning_rate: must be in (0.0, 1.0], got -1.0"),
    ({"rl": {"learning_rate": 1e9}}, "rl.learning_rate: must be in (0.0, 1.0], got 1000000000.0"),
    ({"rl": {"max_steps": 2.5}}, "rl.max_steps: must be an integer, got 2.5"),
    ({"rl": {"num_generations": True}}, "rl.num_generations: must be an integer, got True"),
    ({"model": {"lora": "yes"}}, "model.lora: must be true or false, got 'yes'"),
    ({"fade": {"schedule": "sigmoid"}}, "fade.schedule: must be one of constant, linear, cosine, exponential, staircase, custom"),
    ({"fade": {"schedule": "custom", "points": [[0, 1], [0.5, 1.2]]}}, "fade.points: progress and p must each be in [0, 1]"),
    ({"fade": {"points": [[0.5, 1], [0.2, 0]]}}, "fade.points: progress values must strictly increase"),
    ({"fade": {"points": [[0, 1]]}}, "fade.points: must be a list of at least two [progress, p] pairs"),
    ({"fade": {"k_show": 2, "k_show_min": 3}}, "fade.k_show_min: must be <= fade.k_show (2), got 3"),
    ({"data": {"answer_type": "python"}}, "data.python_verifier: required when data.answer_type = 'python'"),
    ({"data": {"regex": "("}}, "data.regex: not a valid regular expression"),
    ({"rl": {"top_p": 0}}, "rl.top_p: must be in (0.0, 1.0], got 0.0"),
    ({"rl": {"top_k": -1}}, "rl.top_k: must be >= 0, got -1"),
    ({"train": {"optimizer": "sgd"}}, "train.optimizer: must be one of auto, adamw_torch, adamw_torch_fused"),
    ({"rl": {"lr": 1}}, "rl.lr: unknown key"),
    ({"training": {}}, "training: unknown section"),
    ({"rl": 3}, "rl: must be a table"),
])
def test_each_invalid_value_is_named_with_its_reason(raw, expected):
    with pytest.raises(UserError) as err:
        config_from_dict(raw, source="realm.toml")
    assert f"realm.toml: {expected}" in str(err.value)


def test_all_problems_are_reported_at_once_one_per_line():
    with pytest.raises(UserError) as err:
        config_from_dict({"fade": {"start": 2}, "rl": {"beta": -1, "typo": 1}}, source="realm.toml")
    lines = str(err.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("realm.toml: ") for line in lines)


@pytest.mark.parametrize("text, reason", [("[rl\nmax_steps=1", "invalid TOML"), (b"\xff\xfe bad", "not UTF-8")])
def test_unreadable_config_files_are_one_line_errors(tmp_path, text, reason):
    path = tmp_path / "realm.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(UserError, match=reason):
        load_config(tmp_path)


def test_overrides_are_typed_and_validated():
    cfg = apply_overrides(Config(), ["rl.max_steps=7", "fade.schedule=linear", "model.name=org/model"])
    assert (cfg.rl.max_steps, cfg.fade.schedule, cfg.model.name) == (7, "linear", "org/model")
    with pytest.raises(UserError, match="rl.max_steps: must be >= 1"):
        apply_overrides(Config(), ["rl.max_steps=0"])
    with pytest.raises(UserError, match="expected section.key=value"):
        apply_overrides(Config(), ["max_steps"])


@pytest.mark.parametrize("recipe", list(STAGES))
def test_recipes_pin_only_what_they_promise(recipe):
    cfg = apply_recipe(Config(), recipe)
    if recipe == "grpo":
        assert (cfg.fade.schedule, cfg.fade.start, cfg.fade.end) == ("constant", 0.0, 0.0)
    elif recipe == "always-routes":
        assert (cfg.fade.schedule, cfg.fade.start) == ("constant", 1.0)
    elif recipe == "positives-only":
        assert cfg.rl.candidate_mix == "positives-only"
    else:
        assert cfg == Config()


def test_every_key_is_described_for_the_gui():
    keys = {d["key"]: d for d in describe_fields()}
    assert keys["fade.start"]["lo"] == 0.0 and keys["fade.start"]["hi"] == 1.0
    assert all(d["help"] for d in keys.values())


def test_the_auto_optimizer_is_the_fused_adamw_on_a_gpu_only():
    from engine.stages.training import optimizer

    assert optimizer("auto", on_gpu=True) == "adamw_torch_fused"
    assert optimizer("auto", on_gpu=False) == "adamw_torch"  # the fused kernel is a CUDA one
    assert optimizer("adamw_torch", on_gpu=True) == "adamw_torch"  # a user's choice stands
