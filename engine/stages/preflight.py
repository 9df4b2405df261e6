"""``realm-engine preflight``: one dry training step per stage, at its worst case, before a long run.

Each stage of the recipe runs for exactly one step through the same code a run uses (the same
trainer, LoRA, dtype, gradient checkpointing, device), in a scratch run folder that is deleted
afterwards, on its heaviest input:

- distill: a batch of the longest distillation examples (cut at ``distill.max_length`` as training cuts them);
- rl: the problems with the longest routes, every prompt showing its ``fade.k_show`` longest
  routes (p = 1), and every completion forced to ``rl.max_completion_length`` tokens (no early EOS).

It measures the step's seconds and the peak memory (GPU: allocated by torch; CPU: the process's
peak resident memory), hence an ETA for the whole run, an upper bound since real completions often
end early. When a step fails for memory, or its peak is near the device's memory, the warning
names the settings to change.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
from pathlib import Path

from ..config import RECIPE_STAGES, apply_overrides, load_config
from ..errors import UserError
from ..events import PROGRESS, STAGE_STARTED, EventWriter, read_events
from ..method.recipes import apply_recipe
from ..routes.budgets import data_budgets
from ..runs import RunFolder

FULL = 0.9  # a peak above this share of the device's memory is "will not fit" (fragmentation, other processes)
NO_SAVE = 10**9  # save_steps: a dry step writes no checkpoint


def preflight(project: Path, recipe: str, overrides: list[str], progress=None) -> dict:
    """Dry-run one step of each stage of ``recipe``; return per stage seconds, peak memory, steps and
    the run's ETA, with one warning line per stage that will not fit."""
    from .context import RunContext

    project = Path(project)
    cfg = apply_recipe(apply_overrides(load_config(project), overrides), recipe)
    cfg, _ = data_budgets(project, cfg)  # budgets of 0 become what `train` would freeze
    stages = RECIPE_STAGES[recipe]
    scratch = Path(tempfile.mkdtemp(prefix="realm-preflight-"))
    results, device = [], None
    try:
        for i, stage in enumerate(stages):
            if progress:
                progress(i, len(stages), None)
            run = RunFolder(scratch, f"preflight-{stage}")
            ctx = RunContext(project=project, run=run, cfg=_one_step(cfg), recipe=recipe,
                             events=EventWriter(run.events, run.name))
            device = _device(cfg)
            results.append(_dry_step(ctx, stage, stages[:i], device, _run_steps(cfg, ctx, stage)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if progress:
        progress(len(stages), len(stages), None)
    eta = sum(r["seconds_per_step"] * r["steps"] for r in results if r["seconds_per_step"] is not None)
    return {"recipe": recipe, "device": device, "device_memory_gib": round(_device_memory(device) / 2**30, 2),
            "stages": results, "eta_s": round(eta, 1) if all(r["fits"] for r in results) else None,
            "warnings": [r["warning"] for r in results if r["warning"]]}


def _one_step(cfg):
    """The run's config, one step per stage, no checkpoint and no held-out curve (it evaluates at a
    stage's first and last step: in a one-step dry run, twice, and the step would be timed with it)."""
    return dataclasses.replace(
        cfg, distill=dataclasses.replace(cfg.distill, max_steps=1, save_steps=NO_SAVE),
        rl=dataclasses.replace(cfg.rl, max_steps=1, save_steps=NO_SAVE, samples_per_step=0),
        fade=dataclasses.replace(cfg.fade, schedule="constant", start=1.0),
        eval=dataclasses.replace(cfg.eval, every_steps=0, keep_best=False))


def _dry_step(ctx, stage: str, before: tuple[str, ...], device: str, steps: int) -> dict:
    error = None
    _reset_peak(device)
    try:
        if stage == "distill":
            from .distill import project_examples, run_distill

            run_distill(ctx, _longest_examples(ctx, project_examples(ctx)))
        else:
            from .rl import rl_data, run_rl

            run_rl(ctx, before, data=_longest_rl_data(ctx, *rl_data(ctx)),
                   generation_kwargs={"min_new_tokens": ctx.cfg.rl.max_completion_length})
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        error = "out of memory"
    peak, total = _peak(device), _device_memory(device)
    seconds = _step_seconds(ctx.run) if error is None else None
    fits = error is None and peak <= FULL * total
    return {"stage": stage, "seconds_per_step": seconds, "steps": steps, "peak_gib": round(peak / 2**30, 2),
            "completion_tokens": ctx.cfg.rl.max_completion_length if stage == "rl" else None,
            "fits": fits, "warning": None if fits else _advice(ctx.cfg, stage, peak, total, error)}


def _run_steps(cfg, ctx, stage: str) -> int:
    """How many optimizer steps the real run's stage takes (``cfg``: the run's config, not the dry one)."""
    if stage == "rl":
        return cfg.rl.max_steps
    if cfg.distill.max_steps > 0:
        return cfg.distill.max_steps
    from .distill import project_examples

    per_epoch = math.ceil(len(project_examples(ctx)) / (cfg.distill.batch_size * cfg.distill.grad_accum))
    return math.ceil(per_epoch * cfg.distill.epochs)


def _longest_examples(ctx, examples: list[dict]) -> list[dict]:
    if not examples:
        raise UserError("distill: no positive routes for training problems",
                        hint="generate routes first with `realm-engine routes`")
    longest = max(examples, key=lambda ex: len(ex["text"]))
    return [longest] * ctx.cfg.distill.batch_size * ctx.cfg.distill.grad_accum


def _longest_rl_data(ctx, problems: list, routes: dict) -> tuple[list, dict]:
    """The ``prompts_per_step`` problems whose ``k_show`` longest routes are longest, with only those routes."""
    k = ctx.cfg.fade.k_show
    shown = {pid: sorted((r for r in rs if r[1] in ("positive", "negative")), key=lambda r: -len(r[0]))[:k]
             for pid, rs in routes.items()}
    ranked = sorted(problems, key=lambda p: -(len(p.question) + sum(len(t) for t, _ in shown.get(p.id, []))))
    chosen = ranked[: ctx.cfg.rl.prompts_per_step]
    return chosen, {p.id: shown[p.id] for p in chosen if shown.get(p.id)}


def _step_seconds(run: RunFolder) -> float | None:
    """From the stage's start to the end of its first step, as the run's own events say."""
    events = read_events(run.events, {STAGE_STARTED, PROGRESS})
    start = next((e["ts"] for e in events if e["type"] == STAGE_STARTED), None)
    end = next((e["ts"] for e in events if e["type"] == PROGRESS), None)
    return round(end - start, 2) if start is not None and end is not None else None


def _advice(cfg, stage: str, peak: float, total: float, error: str | None) -> str:
    need = "ran out of memory" if error else f"needs {peak / 2**30:.1f} GiB of {total / 2**30:.1f} GiB"
    if stage == "rl":
        knobs = (f"lower rl.prompts_per_step ({cfg.rl.prompts_per_step}) or rl.num_generations "
                 f"({cfg.rl.num_generations}), or shorten rl.max_completion_length ({cfg.rl.max_completion_length})")
    else:
        knobs = f"lower distill.batch_size ({cfg.distill.batch_size}) or distill.max_length ({cfg.distill.max_length})"
    extra = [] if cfg.model.gradient_checkpointing else ["set model.gradient_checkpointing = true"]
    extra += [] if cfg.model.lora else ["set model.lora = true"]
    return f"{stage}: one step {need}: {knobs}" + (f", or {' or '.join(extra)}" if extra else "")


# ----------------------------------------------------------------------------- the device


def _device(cfg) -> str:
    from ..hf.models import pick_device

    return pick_device(cfg.model)


def _device_memory(device: str) -> float:
    if device == "cuda":
        import torch

        return float(torch.cuda.get_device_properties(0).total_memory)
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024.0
    return math.inf


def _reset_peak(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
    else:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # Linux: start VmHWM (peak RSS) afresh
        except OSError:
            pass


def _peak(device: str) -> float:
    if device == "cuda":
        import torch

        return float(torch.cuda.max_memory_allocated())
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024.0
    return 0.0


def _out_of_memory(err: BaseException) -> bool:
    text = str(err).lower()
    return isinstance(err, MemoryError) or "out of memory" in text or "can't allocate memory" in text
