"""The bundled default model: Gemma 3 270M shipped as a GGUF package, converted once into the cache."""

from __future__ import annotations

import json

import pytest

from engine.errors import UserError
from engine.hf import models


def test_a_finished_conversion_is_reused_and_an_interrupted_one_is_not(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(models, "convert_gguf", lambda gguf, target: calls.append(target) or target)
    target = tmp_path / "models" / "gemma3-270m"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")  # a kill mid-conversion: no COMPLETE marker
    models.ensure_default_model(tmp_path / "models", gguf_path=tmp_path / "x.gguf")
    assert calls == [target]
    (target / "COMPLETE").write_text("done")
    assert models.ensure_default_model(tmp_path / "models", gguf_path=tmp_path / "x.gguf") == target
    assert calls == [target]  # not converted again


def test_a_missing_model_package_is_a_one_line_hint(tmp_path, monkeypatch):
    import importlib

    real = importlib.import_module

    def no_package(name, *args):
        if name == models.DEFAULT_GGUF_PACKAGE:
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_package)
    with pytest.raises(UserError, match="default model package is not installed.*model.name"):
        models.ensure_default_model(tmp_path / "models")


@pytest.mark.slow
def test_the_real_gguf_converts_into_a_normal_trainable_hf_folder(tmp_path, monkeypatch):
    """One real conversion (about 1.5 min on 2 cores): checksum-verified assembly, quantizer dropped."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("REALM_CACHE", str(tmp_path / "cache"))
    folder = models.ensure_default_model(progress=lambda msg: None)
    assert (folder / "COMPLETE").exists() and (folder / "model.safetensors").exists()
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"].startswith("gemma3")
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert not getattr(model, "is_quantized", False)
    ids = tokenizer("The quick brown fox jumps over the lazy dog. Paris is the capital of France.", return_tensors="pt")
    with torch.no_grad():
        loss = model(**ids, labels=ids["input_ids"]).loss.item()
    assert loss < 6.0, loss  # real weights: random ones score about ln(262144) = 12.5
    assert any(p.requires_grad for p in model.parameters())  # trainable: no quantizer left
