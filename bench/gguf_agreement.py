"""GGUF export on a trained default model: do llama.cpp's f16, q8_0 and q4_k_m files answer as the safetensors model does?

    python bench/gguf_agreement.py PROJECT RUN [--problems N]   # e.g. the project `realm-engine demo --quick` made

The run's merged model (float32) answers the project's held-out problems greedily, as evaluation
asks them; the same model is converted by llama.cpp's converter (f16, q8_0) and quantizer
(q4_k_m), each file loaded in llama.cpp (llama-cpp-python) and asked the same prompts. Prints the
agreement of final answers (as the verifier reads them) and of whole replies, and the accuracy of
each, as a markdown table. Not part of ``run_all.py``: on 2 CPU cores it takes about half an hour
for 60 problems. This is ``realm-engine export --format gguf``'s own check, on every held-out problem.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUANTS = ("q4_k_m", "q8_0", "f16")  # f16 last: without native CPU flags (PITFALLS) llama.cpp's f16 kernels are the slowest


def main() -> None:
    import torch

    from engine.data.problems import read_problems
    from engine.hf.trained import load_trained
    from engine.project import problems_path
    from engine.runs import finished_run
    from engine.stages.gguf import agreement, convert, gguf_replies, reference_replies

    parser = argparse.ArgumentParser()
    parser.add_argument("project")
    parser.add_argument("run")
    parser.add_argument("--problems", type=int, default=0, help="0: every held-out problem")
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: every core; 1 on a busy machine)")
    args = parser.parse_args()
    project = Path(args.project)
    _, _, cfg, chain = finished_run(project, args.run, "export")
    problems = [p for p in read_problems(problems_path(project)) if p.split == "test"]
    problems = problems[: args.problems] if args.problems else problems
    model, tokenizer, _, _ = load_trained(cfg, chain, dtype=torch.float32)
    t0 = time.time()
    reference = reference_replies(model, tokenizer, cfg, problems)
    print(f"safetensors (float32, transformers): {len(problems)} replies in {time.time() - t0:.0f} s", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hf_dir = Path(tmp) / "hf"
        model.save_pretrained(hf_dir)
        tokenizer.save_pretrained(hf_dir)
        for quant in QUANTS:
            path = Path(tmp) / f"model-{quant}.gguf"
            convert(hf_dir, path, quant)
            t0 = time.time()
            result = agreement(cfg, problems, reference, gguf_replies(path, cfg, problems, args.threads))
            seconds = time.time() - t0
            n = result["total"]
            rows.append((quant, path.stat().st_size / 2**20, result["answers_agree"], result["texts_agree"], n,
                         sum(r["correct_gguf"] for r in result["problems"]),
                         sum(r["correct_safetensors"] for r in result["problems"]), seconds))
            print(f"| {quant} | {rows[-1][1]:.0f} | {result['answers_agree']}/{n} | {result['texts_agree']}/{n} | "
                  f"{rows[-1][5]}/{n} | {rows[-1][6]}/{n} | {seconds:.0f} s |", flush=True)
    print(f"\n{len(problems)} held-out problems, greedy, eval.max_new_tokens = {cfg.eval.max_new_tokens}\n")
    print("| GGUF | size (MiB) | same final answer | same whole reply | accuracy GGUF | accuracy safetensors | llama.cpp time |")
    print("|---|---|---|---|---|---|---|")
    for quant, size, answers, texts, n, right, right_ref, seconds in rows:
        print(f"| {quant} | {size:.0f} | {answers}/{n} ({answers / n:.0%}) | {texts}/{n} ({texts / n:.0%}) | "
              f"{right}/{n} | {right_ref}/{n} | {seconds:.0f} s |")


if __name__ == "__main__":
    main()
