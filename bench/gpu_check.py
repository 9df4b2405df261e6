"""GPU check (issue 6): our engine against plain TRL, side by side in one run, on one GPU.

    python bench/gpu_check.py            # H100/H200: Qwen2.5-0.5B shape, random bf16 weights, ~5 min
    python bench/gpu_check.py --tiny     # CPU smoke run of the same code (a tiny shape, seconds)

Needs no network: the model is random-init (shape, not weights, sets throughput) and the
tokenizer is a local BPE. ``scripts/gpu-check`` installs the wheels the GPU machine lacks and runs
this. It prints one table and writes ``$OUT/gpu_check.json`` (or ``bench/gpu_check.json``).

What it runs, in this order, each section timed and caught on its own:
- ``peak``: bf16 matmul TFLOP/s, the denominator of MFU;
- ``grpo_plain``: plain TRL GRPOTrainer as a TRL user runs it (TRL's fp32 load under bf16
  autocast, full fine-tuning, eager generation): 8 prompts x 8 completions x 256 tokens;
- ``grpo_ours``: ``realm-engine train --recipe grpo`` on the same prompts and batch, full
  fine-tuning, our defaults (bf16 weights, compiled static-cache rollouts);
- ``sft_plain`` / ``sft_ours``: plain TRL SFTTrainer and our ``distill`` stage (recipe ``rft``)
  on the same prompt/completion rows.
Step time for ours comes from our own event log (one ``progress`` event per step); generation
time and tokens from a timer around TRL's generation hook, for both trainers alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for _path in (REPO, REPO / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
os.environ.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error",
                   "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"})

FULL = dict(matmul_n=8192, hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
            num_key_value_heads=2, vocab_size=151936, prompts=8, generations=8, completion=256, grpo_steps=6,
            sft_batch=8, sft_length=1024, sft_steps=10)
TINY = dict(matmul_n=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=1000, prompts=2, generations=2, completion=16, grpo_steps=3,
            sft_batch=2, sft_length=128, sft_steps=3)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_memory_gib() -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None


def reset_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def median_after_first(values: list[float]) -> float | None:
    """The first step compiles and warms caches: it is reported apart, not in the median."""
    tail = values[1:] or values
    return round(statistics.median(tail), 3) if tail else None


class GenerationClock:
    """Seconds and completion tokens spent in TRL's generation hook of one trainer class."""

    def __init__(self):
        self.calls: list[tuple[float, int]] = []

    def wrap(self, trainer_class) -> None:
        original = trainer_class._generate_single_turn
        clock = self

        def timed(self, *args, **kwargs):
            sync()
            start = time.perf_counter()
            completion_ids, logprobs = original(self, *args, **kwargs)
            sync()
            clock.calls.append((time.perf_counter() - start, sum(len(ids) for ids in completion_ids)))
            return completion_ids, logprobs

        trainer_class._generate_single_turn = timed

    def figures(self) -> dict:
        tail = self.calls[1:] or self.calls
        seconds = sum(s for s, _ in tail)
        return {"gen_s_first": round(self.calls[0][0], 2) if self.calls else None,
                "gen_s_median": median_after_first([s for s, _ in self.calls]),
                "gen_tok_s": round(sum(n for _, n in tail) / seconds, 1) if seconds else None}


def measure_peak(shape: dict) -> dict:
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    n = shape["matmul_n"]
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    sync()
    start, iterations = time.perf_counter(), 10
    for _ in range(iterations):
        a @ b
    sync()
    seconds = (time.perf_counter() - start) / iterations
    return {"matmul_bf16_tflops": float(f"{2 * n**3 / seconds / 1e12:.3g}")}


def build_model(folder: Path, shape: dict) -> int:
    """Random-init Qwen2-shaped bf16 model + the tests' local BPE tokenizer in ``folder``; its parameter count."""
    import torch
    from tiny_model import make_tiny_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

    make_tiny_model(folder)  # the tokenizer (and a tiny model, replaced below)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = Qwen2Config(**{k: shape[k] for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                                  "num_attention_heads", "num_key_value_heads", "vocab_size")},
                         max_position_embeddings=32768, tie_word_embeddings=True, rope_theta=1e6,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def make_bench_project(folder: Path, model_dir: Path, shape: dict) -> Path:
    """A project of addition problems with long routes: each SFT row fills most of ``sft_length``
    and none is longer (the distill stage refuses a max_length that cuts every row)."""
    from stage_testkit import make_project
    from transformers import AutoTokenizer

    settings = {"model.device": "auto", "model.lora": False, "rl.num_generations": shape["generations"],
                "rl.prompts_per_step": shape["prompts"], "rl.max_completion_length": shape["completion"],
                "rl.max_steps": shape["grpo_steps"], "rl.save_steps": 10_000, "rl.learning_rate": 1e-6,
                "rl.samples_per_step": 2, "distill.batch_size": shape["sft_batch"],
                "distill.max_length": shape["sft_length"], "distill.max_steps": shape["sft_steps"],
                "distill.save_steps": 10_000, "distill.learning_rate": 1e-5}
    project = make_project(folder, model_dir, n=64 * shape["prompts"], settings=settings)
    routes_file = folder / "routes.jsonl"  # re-imported from the same file: the long routes replace the short
    rows = [json.loads(line) for line in routes_file.read_text().splitlines()]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    line_tokens = max(len(tokenizer(f"Step 100: recheck {row['text'].splitlines()[0]}\n")["input_ids"]) for row in rows)
    from engine.config import load_config
    from engine.stages.distill import distill_rows

    bare = distill_rows([{"problem": p, "text": "Answer: 1000"} for p in _train_problems(project)], tokenizer,
                        load_config(project).model.prompt_format)
    prompt_tokens = max(len(tokenizer(row["prompt"] + row["completion"])["input_ids"]) for row in bare)
    lines = max(1, int(0.95 * shape["sft_length"] - prompt_tokens) // line_tokens)
    with routes_file.open("w") as out:
        for row in rows:
            body = "\n".join(f"Step {k}: recheck {row['text'].splitlines()[0]}" for k in range(1, lines + 1))
            out.write(json.dumps({**row, "text": body + "\n" + row["text"]}) + "\n")
    from engine.routes.generate import generate_routes

    generate_routes(project, f"file:{routes_file}")
    return project


def step_times_from_events(run_dir: Path, stage: str) -> list[float]:
    from engine.events import read_events

    stamps = [e["ts"] for e in read_events(run_dir / "events.jsonl", {"progress"}) if e.get("stage") == stage]
    return [round(b - a, 3) for a, b in zip(stamps, stamps[1:])]


def metric_series(run_dir: Path, stage: str, name: str) -> list[float]:
    from engine.events import read_events

    return [e["metrics"][name] for e in read_events(run_dir / "events.jsonl", {"metrics"})
            if e.get("stage") == stage and name in e.get("metrics", {})]


def _train_problems(project: Path) -> list:
    from engine.data.problems import read_problems
    from engine.project import problems_path

    return [p for p in read_problems(problems_path(project)) if p.split == "train"]


def grpo_rows(project: Path, tokenizer) -> list[dict]:
    """The very prompts our rl stage trains on (the fade is off in recipe grpo), for plain TRL."""
    from engine.config import load_config
    from engine.hf.models import render_prompt
    from engine.stages.rl import rl_rows

    prompt_format = load_config(project).model.prompt_format
    rows = rl_rows(_train_problems(project), lambda text: render_prompt(tokenizer, text, prompt_format))
    return [{"prompt": row["prompt"], "answer": row["answer"]} for row in rows]


def sft_rows(project: Path, tokenizer) -> list[dict]:
    """The very rows our distill stage (recipe rft) trains on, for plain TRL."""
    from engine.config import load_config
    from engine.routes.generate import read_routes
    from engine.stages.distill import distill_examples, distill_rows

    cfg = load_config(project)
    examples = distill_examples(_train_problems(project), read_routes(project), guided_only=False,
                                per_problem=cfg.distill.max_routes_per_problem, seed=cfg.project.seed)
    return distill_rows(examples, tokenizer, cfg.model.prompt_format)


def step_timer():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds: list[float] = []
            self.tokens: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            sync()
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            sync()
            self.seconds.append(time.perf_counter() - self.start)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "num_tokens" in logs:
                self.tokens.append(logs["num_tokens"])

    return StepTimer()


def quiet(trainer) -> None:
    """No per-step log dict on stdout: the check prints one table."""
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def plain_grpo(project: Path, model_dir: Path, shape: dict, work: Path) -> dict:
    import re

    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    class PlainGRPO(GRPOTrainer):
        pass

    clock = GenerationClock()
    clock.wrap(PlainGRPO)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def correct(completions, answer, **_):
        return [1.0 if (m := re.findall(r"-?\d+", c)) and m[-1] == a else 0.0 for c, a in zip(completions, answer)]

    args = GRPOConfig(output_dir=str(work / "plain-grpo"), num_generations=shape["generations"],
                      per_device_train_batch_size=shape["prompts"] * shape["generations"],
                      max_completion_length=shape["completion"], bf16=torch.cuda.is_available(),
                      use_cpu=not torch.cuda.is_available(), beta=0.0, learning_rate=1e-6,
                      max_steps=shape["grpo_steps"], logging_steps=1, report_to=[], save_strategy="no", seed=0,
                      disable_tqdm=True)
    timer = step_timer()
    trainer = PlainGRPO(model=str(model_dir), reward_funcs=[correct], args=args,
                        train_dataset=Dataset.from_list(grpo_rows(project, tokenizer)), processing_class=tokenizer,
                        callbacks=[timer])
    quiet(trainer)
    dtype = str(next(trainer.model.parameters()).dtype)
    trainer.train()
    del trainer
    return {"step_s_first": round(timer.seconds[0], 2), "step_s_median": median_after_first(timer.seconds),
            **clock.figures(), "param_dtype": dtype, "peak_mem_gib": peak_memory_gib()}


def our_grpo(project: Path, shape: dict) -> dict:
    from engine.launch import train
    from engine.runs import RunFolder
    from engine.stages.rl import MRPVTrainer

    clock = GenerationClock()
    original = MRPVTrainer._generate_single_turn
    clock.wrap(MRPVTrainer)
    try:
        state = train(project, "grpo", "gpu-grpo", overrides=[])
    finally:
        MRPVTrainer._generate_single_turn = original
    run_dir = RunFolder(project, "gpu-grpo").path
    seconds = step_times_from_events(run_dir, "rl")
    return {"state": state, "step_s_median": median_after_first(seconds), **clock.figures(),
            "compiled": any("compiled generation" in e.get("message", "") for e in _events(run_dir, "log")),
            "warnings": [e["message"] for e in _events(run_dir, "warning")], "peak_mem_gib": peak_memory_gib()}


def _events(run_dir: Path, kind: str) -> list[dict]:
    from engine.events import read_events

    return read_events(run_dir / "events.jsonl", {kind})


def plain_sft(project: Path, model_dir: Path, shape: dict, work: Path, n_params: int, peak: float | None) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    args = SFTConfig(output_dir=str(work / "plain-sft"), per_device_train_batch_size=shape["sft_batch"],
                     bf16=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available(),
                     max_steps=shape["sft_steps"], max_length=shape["sft_length"], logging_steps=1, report_to=[],
                     save_strategy="no", learning_rate=1e-5, seed=0, disable_tqdm=True, completion_only_loss=True)
    timer = step_timer()
    trainer = SFTTrainer(model=str(model_dir), args=args, train_dataset=Dataset.from_list(sft_rows(project, tokenizer)),
                         processing_class=tokenizer, callbacks=[timer])
    quiet(trainer)
    trainer.train()
    del trainer
    return sft_figures(timer.seconds, timer.tokens, n_params, peak)


def our_sft(project: Path, n_params: int, peak: float | None, run: str = "gpu-sft", overrides: list[str] = ()) -> dict:
    from engine.launch import train
    from engine.runs import RunFolder

    state = train(project, "rft", run, overrides=list(overrides))
    run_dir = RunFolder(project, run).path
    return {"state": state, **sft_figures(step_times_from_events(run_dir, "distill"),
                                          metric_series(run_dir, "distill", "num_tokens"), n_params, peak)}


def sft_figures(seconds: list[float], cumulative_tokens: list[float], n_params: int, peak: float | None) -> dict:
    """Tokens/s from TRL's cumulative ``num_tokens`` (real tokens, padding excluded) and MFU = 6 N tok/s / peak."""
    step = median_after_first(seconds)
    per_step = [b - a for a, b in zip(cumulative_tokens, cumulative_tokens[1:])]
    tokens = statistics.median(per_step) if per_step else None
    tok_s = tokens / step if tokens and step else None
    mfu = 6 * n_params * tok_s / (peak * 1e12) if tok_s and peak else None
    return {"step_s_median": step, "tokens_per_step": tokens, "tok_s": round(tok_s, 1) if tok_s else None,
            "mfu": round(mfu, 3) if mfu is not None else None, "peak_mem_gib": peak_memory_gib()}


# The SFT tuning candidates, one change at a time on the same rows: (what, batch as a multiple of
# the shape's sft_batch, our overrides; None: plain TRL's SFTTrainer, the fair comparison at the
# larger batch, measured before the compiled variant so that a long compile cannot cost it).
# "fused" is what train.optimizer = auto picks on a GPU.
SFT_VARIANTS = (
    ("plain_adamw", 1, ['train.optimizer="adamw_torch"']),
    ("fused_adamw", 1, ['train.optimizer="adamw_torch_fused"']),
    ("fused_adamw", 4, ['train.optimizer="adamw_torch_fused"']),
    ("plain_trl", 4, None),
    ("fused_adamw_compiled", 4, ['train.optimizer="adamw_torch_fused"', "train.compile=true"]),
)


def sft_tuning(project: Path, model_dir: Path, shape: dict, work: Path, n_params: int, peak: float | None) -> dict:
    """Each of SFT_VARIANTS in turn; one variant's failure is recorded and the next one still runs."""
    figures = {}
    for what, factor, overrides in SFT_VARIANTS:
        batch = factor * shape["sft_batch"]
        label = f"b{batch}_{what}"
        reset_memory()
        try:
            if overrides is None:
                figures[label] = plain_sft(project, model_dir, {**shape, "sft_batch": batch}, work / label, n_params, peak)
            else:
                figures[label] = our_sft(project, n_params, peak, run=f"sft-{label.replace('_', '-')}",
                                         overrides=[f"distill.batch_size={batch}", *overrides])
        except Exception as error:  # noqa: BLE001 - one variant's failure must not hide the others
            figures[label] = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
        log(f"   {label}: {json.dumps(figures[label])}")
    return figures


def run_section(results: dict, name: str, fn, *args) -> None:
    reset_memory()
    log(f"== {name}")
    start = time.perf_counter()
    try:
        results[name] = fn(*args)
    except Exception as error:  # noqa: BLE001 - one broken section must not hide the others' figures
        results[name] = {"error": f"{type(error).__name__}: {str(error)[:300]}",
                         "where": traceback.format_exc().strip().splitlines()[-3:]}
    results[name]["section_s"] = round(time.perf_counter() - start, 1)
    log(f"   {json.dumps(results[name])[:600]}")


def table(results: dict, info: dict) -> str:
    def get(section: str, key: str):
        value = results.get(section, {}).get(key)
        return "-" if value is None else value

    plain, ours = get("grpo_plain", "step_s_median"), get("grpo_ours", "step_s_median")
    ratio = round(ours / plain, 3) if isinstance(plain, float) and isinstance(ours, float) else "-"
    rows = [("GRPO step (median after step 1), s", plain, ours),
            ("GRPO first step / generation, s", get("grpo_plain", "gen_s_first"), get("grpo_ours", "gen_s_first")),
            ("GRPO generation tok/s", get("grpo_plain", "gen_tok_s"), get("grpo_ours", "gen_tok_s")),
            ("GRPO peak memory, GiB", get("grpo_plain", "peak_mem_gib"), get("grpo_ours", "peak_mem_gib")),
            ("SFT tokens/s", get("sft_plain", "tok_s"), get("sft_ours", "tok_s")),
            ("SFT MFU (6N tok/s / measured peak)", get("sft_plain", "mfu"), get("sft_ours", "mfu")),
            ("SFT peak memory, GiB", get("sft_plain", "peak_mem_gib"), get("sft_ours", "peak_mem_gib"))]
    lines = [f"{info['device']} · torch {info['torch']} · transformers {info['transformers']} · trl {info['trl']} · "
             f"{info['date']} · {info['params_m']} M params · peak bf16 matmul {get('peak', 'matmul_bf16_tflops')} TFLOP/s",
             "", "| figure | plain TRL | ours |", "|---|---:|---:|"]
    lines += [f"| {label} | {a} | {b} |" for label, a, b in rows]
    lines.append(f"| **GRPO step ratio ours / plain** (target <= 0.25) | | **{ratio}** |")
    tuning = results.get("sft_tuning", {})
    if tuning:
        lines += ["", f"| SFT variant (same rows, up to {info['shape']['sft_length']} tokens) | step, s | tokens/s | MFU | peak memory, GiB |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {label} | {r.get('step_s_median', '-')} | {r.get('tok_s', '-')} | {r.get('mfu', '-')} | "
                  f"{r.get('peak_mem_gib', '-')} |" for label, r in tuning.items() if isinstance(r, dict)]
    errors = [f"{name}: {r['error']}" for name, r in results.items() if "error" in r]
    errors += [f"sft_tuning {label}: {r['error']}" for label, r in tuning.items() if isinstance(r, dict) and "error" in r]
    return "\n".join(lines + [""] + errors)


SECTIONS = ("grpo_plain", "grpo_ours", "sft_plain", "sft_ours", "sft_tuning")  # after the matmul peak, in this order
DEFAULT_SECTIONS = SECTIONS[:4]  # the side-by-side check; sft_tuning on request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny shape on any device (a smoke run)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/realm-gpu-check"), help="scratch folder")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default: $OUT/gpu_check.json)")
    parser.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                        help="comma-separated sections after the matmul peak (also: sft_tuning)")
    args = parser.parse_args(argv)
    wanted = args.sections.split(",")
    if unknown := [name for name in wanted if name not in SECTIONS]:
        parser.error(f"--sections: unknown {', '.join(unknown)} (known: {', '.join(SECTIONS)})")
    import shutil

    import torch
    import transformers
    import trl

    shape = TINY if args.tiny else FULL
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    model_dir = args.work / "model"
    n_params = build_model(model_dir, shape)
    project = make_bench_project(args.work / "project", model_dir, shape)
    info = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU", "torch": torch.__version__,
            "transformers": transformers.__version__, "trl": trl.__version__, "date": time.strftime("%Y-%m-%d %H:%M UTC"),
            "params_m": round(n_params / 1e6, 1), "shape": shape}
    log(json.dumps(info))
    results: dict[str, dict] = {}
    run_section(results, "peak", measure_peak, shape)
    peak = results["peak"].get("matmul_bf16_tflops")
    sections = {"grpo_plain": (plain_grpo, project, model_dir, shape, args.work),
                "grpo_ours": (our_grpo, project, shape),
                "sft_plain": (plain_sft, project, model_dir, shape, args.work, n_params, peak),
                "sft_ours": (our_sft, project, n_params, peak),
                "sft_tuning": (sft_tuning, project, model_dir, shape, args.work, n_params, peak)}
    for name in wanted:
        run_section(results, name, *sections[name])
    report = table(results, info)
    print("\n" + report, flush=True)
    out = args.out or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT") else REPO / "bench" / "gpu_check.json")
    out.write_text(json.dumps({"info": info, "results": results, "table": report}, indent=1, default=str))
    log(f"wrote {out}")
    return 0 if not any("error" in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
