"""Model loading and prompt rendering: chat template when the model has one, plain text otherwise."""

from __future__ import annotations

import json
import random

import pytest

from engine.config import FadeSection, ModelSection
from engine.errors import UserError
from engine.method.mrpv import MRPVPlanner
from engine.hf.models import load_model, load_tokenizer, render_prompt, resolve_model

ROUTES = {"q1": [("Step 1: 1 + 2 = 3.\nAnswer: 3", "positive"), ("Step 1: 1 + 2 = 4.\nAnswer: 4", "negative")],
          "q2": [("Step 1: 2 + 3 = 5.\nAnswer: 5", "positive")]}


def _planner(tokenizer, fade: FadeSection) -> MRPVPlanner:
    return MRPVPlanner(fade, seed=0, max_steps=10, render=lambda text: render_prompt(tokenizer, text),
                       questions={"q1": ("What is 1 + 2?", None), "q2": ("What is 2 + 3?", None)}, routes=ROUTES)


@pytest.mark.parametrize("chat", [False, True])
def test_hinted_prompts_show_the_routes_in_the_models_own_format(chat, tiny_model_dir, tiny_chat_model_dir):
    tokenizer = load_tokenizer(ModelSection(), str(tiny_chat_model_dir if chat else tiny_model_dir))
    plan = _planner(tokenizer, FadeSection(schedule="constant", start=1.0)).plan(0, ["q1", "q1", "q2"])
    hinted = plan.groups["q1"]
    assert hinted.hinted and sorted(hinted.candidate_labels) == ["negative", "positive"]
    assert all(text in hinted.prompt for text, _ in ROUTES["q1"])
    assert "positive" not in hinted.prompt and "negative" not in hinted.prompt  # labels stay hidden
    if chat:
        assert hinted.prompt.startswith("<|user|>") and hinted.prompt.endswith("<|assistant|>")
    else:
        assert "<|user|>" not in hinted.prompt and hinted.prompt.rstrip().endswith("Reasoning:")


def test_unhinted_prompts_show_no_route(tiny_model_dir):
    tokenizer = load_tokenizer(ModelSection(), str(tiny_model_dir))
    plan = _planner(tokenizer, FadeSection(schedule="constant", start=0.0, end=0.0)).plan(3, ["q1", "q2"])
    for group in plan.groups.values():
        assert not group.hinted and group.candidate_labels == []
        assert not any(text in group.prompt for routes in ROUTES.values() for text, _ in routes)
    assert plan.hinted_fraction == 0.0


def test_every_copy_of_a_prompt_group_gets_the_same_prompt(tiny_model_dir):
    tokenizer = load_tokenizer(ModelSection(), str(tiny_model_dir))
    planner = _planner(tokenizer, FadeSection(schedule="constant", start=0.5, end=0.5))
    rows = [{"problem_id": pid, "prompt": "x"} for pid in ["q1"] * 4 + ["q2"] * 4]
    random.shuffle(rows)
    for step in range(10):
        rewritten, _ = planner.rewrite(rows, step)
        for pid in ("q1", "q2"):
            assert len({json.dumps([r["prompt"], r["hinted"], r["candidate_labels"]]) for r in rewritten
                        if r["problem_id"] == pid}) == 1


def test_local_model_folders_are_checked_before_loading(tmp_path, tiny_model_dir):
    with pytest.raises(UserError, match="no such folder"):
        resolve_model(str(tmp_path / "missing"))
    (tmp_path / "no-tok").mkdir()
    (tmp_path / "no-tok" / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    with pytest.raises(UserError, match="has no tokenizer"):
        resolve_model(str(tmp_path / "no-tok"))
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    (odd / "tokenizer.json").write_text((tiny_model_dir / "tokenizer.json").read_text())
    with pytest.raises(UserError, match="unsupported architecture"):
        load_model(ModelSection(name=str(odd), device="cpu"), resolve_model(str(odd)))


@pytest.mark.parametrize("settings, device, cpu_bf16, weights, autocast", [
    ({"lora": False}, "cuda", True, "float32", True),  # full fine-tuning: fp32 master weights, bf16 autocast computes
    ({"lora": False, "dtype": "bfloat16"}, "cuda", True, "bfloat16", True),  # the user's explicit choice wins
    ({"lora": True}, "cuda", True, "bfloat16", True),  # LoRA: a bf16 frozen base, fp32 adapters
    ({"lora": False}, "cpu", True, "float32", True),  # a bf16 CPU computes full fine-tuning under autocast
    ({"lora": True}, "cpu", True, "bfloat16", False),  # ... and holds LoRA's frozen base in bf16
    ({"lora": True}, "cpu", False, "float32", False),  # a CPU without native bf16 stays in fp32
    ({"lora": False}, "cpu", False, "float32", False),
    ({"lora": True, "dtype": "float32"}, "cpu", True, "float32", False),
])
def test_training_dtype_and_autocast_follow_the_device(settings, device, cpu_bf16, weights, autocast, monkeypatch):
    import torch

    from engine.hf import models

    monkeypatch.setattr(models, "cpu_has_bf16", lambda: cpu_bf16)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert models.training_dtype(ModelSection(**settings), device) == getattr(torch, weights)
    assert models.autocast_bf16(ModelSection(**settings), device) is autocast


def test_this_cpu_kind_computes_bf16_natively():
    """The machines CI runs on (AMD EPYC with AVX512-BF16) take the bf16 path, so the suite tests it."""
    from engine.hf.models import cpu_has_bf16

    flags = open("/proc/cpuinfo").read()
    assert cpu_has_bf16() is (" avx512_bf16" in flags or " amx_bf16" in flags)


def test_the_output_layer_gets_a_contiguous_input_in_loaded_and_merged_models(tiny_model_dir, tmp_path):
    """generate slices the last position (a strided view); on a CPU a bf16 linear with that input
    and a frozen weight copies the weight once per row (10 GB for Gemma 3 at batch 30)."""
    import torch

    from engine.hf.trained import load_chain

    seen = []
    for model in (load_model(ModelSection(device="cpu"), str(tiny_model_dir)),
                  load_chain(load_model(ModelSection(device="cpu"), str(tiny_model_dir)), [tiny_model_dir])):
        head = model.get_output_embeddings()
        head.register_forward_pre_hook(lambda _m, args: seen.append(args[0].is_contiguous()))
        hidden = torch.randn(3, 5, head.in_features, dtype=head.weight.dtype)[:, -1:, :]
        assert not hidden.is_contiguous()
        head(hidden)
    assert seen == [True, True]
