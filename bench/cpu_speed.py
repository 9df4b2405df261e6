"""CPU speed of the default model: distillation tokens/s, RL step time, evaluation problems/s.

    python bench/cpu_speed.py [--steps 8] [--rl-steps 3] [--eval-problems 20] [--out PATH]

Three configurations of the same engine on the bundled demo domain, one after the other in this
process, with the same data, seed and settings:

* ``before``: fp32 weights, TRL's own CPU fallback for the LM head, ``torch.multinomial``
  sampling (what the engine did until the CPU work of issue 11);
* ``fp32``: fp32 weights with the compact LM head and inverse-CDF sampling;
* ``default``: what ``model.dtype = auto`` picks on this CPU (bf16 where it computes bf16
  natively), with the compact head and inverse-CDF sampling.

Reported: each figure per configuration, the ratio default / before, and the loss check: the
per-step distillation losses of ``default`` against ``fp32`` (same batches), whose largest
relative difference should stay within the loss's own step-to-step noise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, machine  # noqa: E402

VARIANTS = {"before": ("float32", False), "fp32": ("float32", True), "default": ("auto", True)}


@contextlib.contextmanager
def engine_as(new_paths: bool):
    """The engine with (True) or without (False) the compact LM head and inverse-CDF sampling."""
    if new_paths:
        yield
        return
    from engine.hf import generation
    from engine.stages import distill, rl

    patches = [(distill, "score_labelled_tokens_only", lambda *a, **k: None),
               (rl, "score_labelled_tokens_only", lambda *a, **k: None),
               (generation, "fast_cpu_sampling", contextlib.nullcontext),
               (rl, "fast_cpu_sampling", contextlib.nullcontext)]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    for module, name, value in patches:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def demo_project(folder: Path, model: str | None) -> Path:
    from engine.config import load_config, save_config
    from engine.demo.run import DOMAINS, prepare_project

    project = prepare_project(folder, DOMAINS["parcels"], {}, say=lambda _: None)
    if model:
        cfg = load_config(project)
        cfg.model.name = model
        save_config(project, cfg)
    return project


def _step_times(run_dir: Path, stage: str) -> list[float]:
    from engine.events import PROGRESS, read_events

    stamps = [e["ts"] for e in read_events(run_dir / "events.jsonl") if e["type"] == PROGRESS and e["stage"] == stage]
    return [b - a for a, b in zip(stamps, stamps[1:])]


def measure_variant(project: Path, name: str, *, steps: int, rl_steps: int, eval_problems: int) -> dict:
    from engine.events import METRICS, read_events
    from engine.launch import train
    from engine.runs import RunFolder
    from engine.stages.evaluate import evaluate

    dtype, new_paths = VARIANTS[name]
    common = [f"model.dtype={json.dumps(dtype)}", "distill.save_steps=1000", "distill.max_length=1024", "rl.save_steps=1000"]
    with engine_as(new_paths):
        distill = f"speed-distill-{name}"
        train(project, "rft", distill, overrides=[*common, f"distill.max_steps={steps}", "distill.batch_size=4",
                                                 "distill.max_routes_per_problem=1"])
        logged = [e["metrics"] for e in read_events(RunFolder(project, distill).events) if e["type"] == METRICS]
        losses = [m["loss"] for m in logged if "loss" in m]
        tokens = max(m.get("num_tokens", 0) for m in logged)
        # progress events follow each step: their gaps time steps 2..N (the first warms up)
        distill_s = sum(_step_times(RunFolder(project, distill).path, "distill"))
        per_step_tokens = tokens / steps

        rl_run = f"speed-rl-{name}"
        train(project, "grpo", rl_run, overrides=[*common, f"rl.max_steps={rl_steps + 1}", "rl.num_generations=4",
                                                 "rl.prompts_per_step=1"], origin=f"{distill}:distill")
        rl_step_s = statistics.median(_step_times(RunFolder(project, rl_run).path, "rl"))

        start = time.perf_counter()
        evaluate(project, distill, overrides=[f"eval.max_problems={eval_problems}", "eval.max_problems_with_routes=1",
                                              "eval.batch_size=20", "eval.max_new_tokens=200"])
        eval_s = time.perf_counter() - start
    return {"distill_tokens_per_s": per_step_tokens * (steps - 1) / distill_s, "losses": losses,
            "rl_step_s": rl_step_s, "eval_problems_per_s": eval_problems / eval_s}


def measure(*, steps: int = 8, rl_steps: int = 3, eval_problems: int = 20, model: str | None = None,
            variants=tuple(VARIANTS), folder: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        project = demo_project(Path(folder or tmp) / "project", model)
        return {name: measure_variant(project, name, steps=steps, rl_steps=rl_steps, eval_problems=eval_problems)
                for name in variants}


def loss_check(result: dict) -> dict:
    """How far the default's per-step losses lie from fp32's (same batches), judged against the fp32
    loss's own step-to-step noise (the median relative change between neighbouring steps). The
    curve matches when its mean relative difference is within that noise; the largest single
    difference is reported beside it."""
    fp32, default = result["fp32"]["losses"], result["default"]["losses"]
    differences = [abs(a - b) / a for a, b in zip(fp32, default)]
    noise = statistics.median(abs(b - a) / a for a, b in zip(fp32, fp32[1:]))
    mean = statistics.mean(differences)
    return {"mean_relative_difference": mean, "max_relative_difference": max(differences), "step_noise": noise,
            "within_noise": mean <= noise}


def rows(result: dict) -> list[Row]:
    out = []
    for metric, unit, higher_is_better in (("distill_tokens_per_s", "tokens/s", True), ("rl_step_s", "s", False),
                                           ("eval_problems_per_s", "problems/s", True)):
        for name in result:
            out.append(Row("cpu_speed", f"{metric} ({name})", result[name][metric], unit))
        if "before" in result and "default" in result:
            ratio = result["default"][metric] / result["before"][metric]
            out.append(Row("cpu_speed", f"{metric}: default / before", ratio if higher_is_better else 1 / ratio, "x",
                           "speed-up"))
    if "fp32" in result and "default" in result:
        check = loss_check(result)
        out.append(Row("cpu_speed", "loss: default vs fp32, mean relative difference",
                       check["mean_relative_difference"], "", f"largest {check['max_relative_difference']:.4f}; "
                       f"step-to-step noise {check['step_noise']:.4f}: "
                       f"{'within' if check['within_noise'] else 'OUTSIDE'} noise"))
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.run_all import format_table

    parser = argparse.ArgumentParser(prog="bench/cpu_speed.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8, help="distillation steps per configuration")
    parser.add_argument("--rl-steps", type=int, default=3, help="timed RL steps per configuration (one more warms up)")
    parser.add_argument("--eval-problems", type=int, default=20)
    parser.add_argument("--model", help="model folder or hub id (default: the bundled Gemma 3 270M)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    info = machine()
    result = measure(steps=args.steps, rl_steps=args.rl_steps, eval_problems=args.eval_problems, model=args.model)
    table = rows(result)
    print(format_table(table, info))
    if args.out:
        args.out.write_text(json.dumps({"machine": info, "result": result, "rows": [r.as_dict() for r in table]},
                                       indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
