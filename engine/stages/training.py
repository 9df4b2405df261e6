"""Model preparation and trainer settings shared by the distill and rl stages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..config import Config
from ..errors import DiskFull, UserError, first_line
from ..fsutil import ensure_free_space, folder_bytes, is_disk_full
from ..hf.models import (SAVE_SLACK_BYTES, autocast_bf16, load_model, load_tokenizer, pick_device, resolve_model,
                         training_dtype, weights_bytes)
from ..hf.trained import load_chain
from ..runs import COMPLETE, is_complete, latest_checkpoint, mark_complete, trained_chain
from .context import RESUME_HINT, RunContext


def prepare_model(ctx: RunContext, stages_before: tuple[str, ...]):
    """(model, tokenizer, peft_config, device): base weights + earlier stages of this run merged in."""
    cfg = ctx.cfg
    path = resolve_model(cfg.model.name, progress=lambda msg: ctx.events.log(msg))
    device = pick_device(cfg.model)
    tokenizer = load_tokenizer(cfg.model, path)
    model = load_model(cfg.model, path, device=device, dtype=training_dtype(cfg.model, device))
    model = load_chain(model, trained_chain(ctx.run, stages_before))
    model.train()
    peft_config = None
    if cfg.model.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=cfg.model.lora_r, lora_alpha=cfg.model.lora_alpha, lora_dropout=cfg.model.lora_dropout,
                                 target_modules="all-linear", task_type="CAUSAL_LM")
    return model, tokenizer, peft_config, device


def trainer_args(ctx: RunContext, stage: str, device: str, *, save_steps: int) -> dict:
    """Keyword arguments common to SFTConfig and GRPOConfig."""
    cfg: Config = ctx.cfg
    on_gpu = device == "cuda"
    return dict(
        output_dir=str(ctx.checkpoint_dir(stage)),
        seed=cfg.project.seed,
        data_seed=cfg.project.seed,
        use_cpu=not on_gpu,
        bf16=autocast_bf16(cfg.model, device),
        fp16=False,
        logging_steps=1,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=3,
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        gradient_checkpointing=cfg.model.gradient_checkpointing,
        lr_scheduler_type="linear",
        warmup_steps=0,
        optim=optimizer(cfg.train.optimizer, on_gpu),
        torch_compile=cfg.train.compile,
    )


def optimizer(choice: str, on_gpu: bool) -> str:
    """The fused AdamW updates every parameter in one kernel: on a GPU the per-tensor launches of
    the plain one are a fixed cost per step that a small model's step cannot hide."""
    if choice == "auto":
        return "adamw_torch_fused" if on_gpu else "adamw_torch"
    return choice


def score_labelled_tokens_only(trainer, device: str, *, temperature: float = 1.0, outputs: tuple[str, ...]) -> None:
    """On a CPU, give the trainer's model the compact LM head (``hf/lm_head.py``): TRL's CPU
    fallback scores every position through fp32 copies of the output layer."""
    if device != "cpu":
        return
    from peft import PeftModel

    from ..hf.lm_head import install_compact_lm_head

    model = trainer.model.get_base_model() if isinstance(trainer.model, PeftModel) else trainer.model
    install_compact_lm_head(model, temperature=temperature, outputs=outputs)


def save_final(ctx: RunContext, stage: str, trainer) -> Path:
    """The stage's result (adapter or full model) in stages/<stage>/final, marked complete last:
    the last step's model, or the best held-out step's with ``eval.keep_best``."""
    from .heldout import best_result

    final = ctx.final_dir(stage)
    if trainer.is_world_process_zero():
        best = best_result(ctx, stage)
        needed = folder_bytes(best) if best is not None else \
            weights_bytes(trainer.model, trainable_only=ctx.cfg.model.lora) + SAVE_SLACK_BYTES
        ensure_free_space(final.parent, needed, f"the result of {stage}", hint=RESUME_HINT)
        if best is not None:
            shutil.rmtree(final, ignore_errors=True)
            shutil.copytree(best, final)
            (final / COMPLETE).unlink()  # re-marked below, with the stage's last step too
            step = json.loads((best / COMPLETE).read_text(encoding="utf-8"))["step"]
            mark_complete(final, stage=stage, step=step, kept="best", last_step=trainer.state.global_step)
        else:
            final.mkdir(parents=True, exist_ok=True)
            trainer.model.save_pretrained(final)
            trainer.processing_class.save_pretrained(final)
            mark_complete(final, stage=stage, step=trainer.state.global_step)
    return final


def run_trainer(ctx: RunContext, stage: str, trainer) -> None:
    """Train, resuming from the stage's newest complete checkpoint when there is one.

    Checkpoint state files are loaded with ``weights_only=True`` by the Trainer, so a damaged or
    tampered file is refused by the unpickler; that becomes a one-line, actionable error.
    """
    import pickle

    if ctx.cfg.eval.every_steps:
        from .heldout import HeldOutCurve

        trainer.add_callback(HeldOutCurve(ctx, stage, trainer.processing_class))
    found = latest_checkpoint(ctx.checkpoint_dir(stage))
    try:
        trainer.train(resume_from_checkpoint=str(found) if found else None)
    except UserError:
        raise
    except Exception as err:
        if is_disk_full(err):
            raise _disk_filled_up(ctx, stage, err) from None
        if found is None or not isinstance(err, (pickle.UnpicklingError, EOFError, RuntimeError)) or \
                not _is_load_error(err):
            raise
        raise UserError(f"{found}: checkpoint is damaged or unsafe to load ({type(err).__name__})",
                        hint="delete that folder to resume from the previous checkpoint") from None


def _disk_filled_up(ctx: RunContext, stage: str, err: Exception) -> DiskFull:
    """The disk filled up under the run (a checkpoint being saved, most likely): the checkpoint it
    cut short is removed (it has no COMPLETE marker, so it would never be resumed from, and it
    holds the space the user needs), and the run pauses at its last complete checkpoint."""
    folder = ctx.checkpoint_dir(stage)
    for partial in folder.glob("checkpoint-*"):
        if not is_complete(partial):
            shutil.rmtree(partial, ignore_errors=True)
    return DiskFull(f"{folder}: the disk filled up while the run wrote there ({first_line(err)})", hint=RESUME_HINT)


def _is_load_error(err: Exception) -> bool:
    text = str(err)
    return isinstance(err, (EOFError,)) or "Weights only load failed" in text or "unpickl" in text.lower() \
        or "PytorchStreamReader" in text
