"""Compiled rollouts on the bundled default model: the same tokens as eager, and what compiling costs.

    python bench/compiled_rollouts_gemma.py      # about 4 min on 2 CPU cores (the compile is most of it)

Gemma 3 270M (converted into the model cache on first use, as every run does), fp32,
LoRA r16 as the engine trains it, through ``MRPVTrainer._generate_single_turn``: eager
(``rl.rollout_engine = "transformers"``) against compiled (``"transformers-compiled"``, inductor).
Three batches of different prompt lengths, each on the same seed. Not part of ``run_all.py``:
the one-time compile takes minutes on a CPU. On the CPU the compiled path is not the default
(Gemma's 262k-token output layer is memory-bound here, so the gain is small); this checks that the
default model's architecture (sliding-window and global attention layers, PEFT-wrapped) compiles
and samples exactly as eager does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROMPTS = ["Question: A parcel weighs 3 kg and goes 120 km. What is the fee?\nAnswer step by step.",
           "Question: What is 17 + 25?\nLet us think.",
           "The Northwind rulebook says that a fragile parcel"]
COMPLETION_TOKENS = 32


def rollouts(setting: str, model_dir: str, tokenizer, batches, work: Path) -> tuple[list, list[float], bool]:
    """(completion ids per batch, seconds per batch, still compiled at the end)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig

    from engine.stages.rl import MRPVTrainer

    args = GRPOConfig(output_dir=str(work / setting), use_cpu=True, bf16=False, report_to=[],
                      per_device_train_batch_size=4, num_generations=2, max_completion_length=COMPLETION_TOKENS,
                      temperature=1.0, disable_tqdm=True)
    trainer = MRPVTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32),
                          reward_funcs=[lambda completions, **_: [0.0] * len(completions)], args=args,
                          train_dataset=Dataset.from_list([{"prompt": "unused"}]), processing_class=tokenizer,
                          planner=None, rollout_engine=setting,
                          peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
    outputs, seconds = [], []
    for prompt_ids in batches:
        torch.manual_seed(3)
        start = time.perf_counter()
        completion_ids, _ = trainer._generate_single_turn(prompt_ids, None, {}, 2)
        seconds.append(round(time.perf_counter() - start, 2))
        outputs.append(completion_ids)
    return outputs, seconds, trainer.compiled_rollouts


def main() -> int:
    import tempfile

    from transformers import AutoTokenizer

    from engine.hf.models import ensure_default_model

    model_dir = ensure_default_model(progress=print)  # converted once (about 1.6 min), then reused

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    encoded = [tokenizer(p, add_special_tokens=True)["input_ids"] for p in PROMPTS]
    batches = [[encoded[0], encoded[1]] * 2, [encoded[1], encoded[2]] * 2, [encoded[0], encoded[2]] * 2]
    with tempfile.TemporaryDirectory() as work:
        eager, eager_s, _ = rollouts("transformers", str(model_dir), tokenizer, batches, Path(work))
        compiled, compiled_s, still = rollouts("transformers-compiled", str(model_dir), tokenizer, batches, Path(work))
    same = sum(a == b for x, y in zip(eager, compiled) for a, b in zip(x, y))
    total = sum(len(x) for x in eager)
    print(f"eager    seconds per batch: {eager_s}")
    print(f"compiled seconds per batch: {compiled_s} (the first includes the compile; fell back: {not still})")
    print(f"identical completions: {same} of {total}")
    return 0 if same == total and still else 1


if __name__ == "__main__":
    sys.exit(main())
