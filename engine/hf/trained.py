"""A run's trained model for inference: the base model with each finished stage's result applied.

Evaluation and export load a run this way, and training starts a later stage from the earlier
ones the same way (``stages.training.prepare_model``). Which folders form the chain is run-folder
knowledge (``runs.trained_chain``); here they become weights.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config


def load_chain(model, chain: list[Path]):
    """Apply each stage's result: a LoRA adapter is merged in; a full model replaces the weights."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from .models import contiguous_head_input

    for final in chain:
        if (final / "adapter_config.json").exists():
            model = PeftModel.from_pretrained(model, str(final)).merge_and_unload()
        else:
            device, dtype = model.device, model.dtype
            model = AutoModelForCausalLM.from_pretrained(str(final), dtype=dtype).to(device)
            contiguous_head_input(model)
    return model.eval()


def load_trained(cfg: Config, chain: list[Path], dtype=None):
    """(model with the chain applied, tokenizer, base model path, device) for inference; ``dtype``
    overrides the config's (a GGUF export is converted from, and compared with, float32 weights)."""
    from .models import load_model, load_tokenizer, pick_device, resolve_model

    path = resolve_model(cfg.model.name)
    device = pick_device(cfg.model)
    tokenizer = load_tokenizer(cfg.model, path)
    return load_chain(load_model(cfg.model, path, device=device, dtype=dtype), chain), tokenizer, path, device
