"""What every training stage shares: the run context, the event/stop callback, model chains.

Stages are thin: they build a dataset, a TRL trainer and hand it ``RunCallback``, which turns
the Trainer's hooks into our events (progress, metrics, checkpoints), keeps ``status.json``
current, and honours stop/cancel requests between steps.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import TrainerCallback

from ..config import Config
from ..events import CHECKPOINT, METRICS, PROGRESS, STAGE_FINISHED, STAGE_STARTED, EventWriter
from ..runs import RunFolder

COMPLETE = "COMPLETE"  # marker written once a checkpoint is fully on disk
_REQUESTS = (None, "stop", "cancel")  # ordered: when ranks disagree the larger wins


@dataclass
class RunContext:
    project: Path
    run: RunFolder
    cfg: Config
    recipe: str
    events: EventWriter
    stop_signal: str | None = field(default=None)  # set by SIGINT (stop) / SIGTERM (cancel), or agreed by the ranks

    def stage_dir(self, stage: str) -> Path:
        return self.run.path / "stages" / stage

    def final_dir(self, stage: str) -> Path:
        return self.stage_dir(stage) / "final"

    def checkpoint_dir(self, stage: str) -> Path:
        return self.run.checkpoints / stage

    def requested(self) -> str | None:
        """'stop' or 'cancel' when the user asked (control file or signal), else None."""
        return self.stop_signal or self.run.pending_request()

    def agreed_request(self) -> str | None:
        """``requested()``, the same on every rank of a multi-process run (any rank's request counts,
        cancel over stop), so that all ranks leave at the same step and none waits in a collective."""
        import torch.distributed as dist

        request = self.requested()
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return request
        import torch

        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
        code = torch.tensor([_REQUESTS.index(request)], device=device)
        dist.all_reduce(code, op=dist.ReduceOp.MAX)
        self.stop_signal = _REQUESTS[int(code.item())]
        return self.stop_signal

    def sync_ranks(self) -> None:
        """Wait for every rank (rank 0 alone writes a stage's result, which the others then read)."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()

    def install_signal_handlers(self) -> dict:
        """Ctrl-C asks for a stop, SIGTERM for a cancel; returns the old handlers to restore."""
        def on_signal(signum, _frame):
            self.stop_signal = "stop" if signum == signal.SIGINT else "cancel"

        return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest *complete* HF checkpoint folder (a kill mid-save leaves an incomplete one: skipped)."""
    if not folder.is_dir():
        return None
    done = [c for c in folder.glob("checkpoint-*") if (c / COMPLETE).exists() and c.name.split("-")[-1].isdigit()]
    return max(done, key=lambda c: int(c.name.split("-")[-1]), default=None)


def trained_chain(ctx_run: RunFolder, stages: tuple[str, ...]) -> list[Path]:
    """Final weights of the finished stages of a run, in order (adapters are applied on top of each other)."""
    chain = []
    for stage in stages:
        final = ctx_run.path / "stages" / stage / "final"
        if (final / COMPLETE).exists():
            chain.append(final)
    return chain


def load_chain(model, chain: list[Path]):
    """Apply each stage's result: a LoRA adapter is merged in; a full model replaces the weights."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    for final in chain:
        if (final / "adapter_config.json").exists():
            model = PeftModel.from_pretrained(model, str(final)).merge_and_unload()
        else:
            device, dtype = model.device, model.dtype
            model = AutoModelForCausalLM.from_pretrained(str(final), dtype=dtype).to(device)
    return model.eval()


def finished_run(project: Path, run_name: str, verb: str):
    """(run folder, recipe, frozen config, chain of finished stage results) of a run to evaluate or export."""
    from ..errors import UserError
    from ..launch import read_run_config
    from ..method.recipes import STAGES

    run = RunFolder(project, run_name)
    if not run.config.exists():
        raise UserError(f"run {run_name!r}: no such run in {Path(project) / 'runs'}")
    recipe, cfg = read_run_config(run)
    chain = trained_chain(run, STAGES[recipe])
    if not chain:
        raise UserError(f"run {run_name!r} has no finished stage to {verb} yet",
                        hint="let it finish, or resume it with `realm-engine resume`")
    return run, recipe, cfg, chain


def load_trained(cfg: Config, chain: list[Path]):
    """(model with the chain applied, tokenizer, base model path, device) for inference."""
    from .models import load_model, load_tokenizer, pick_device, resolve_model

    path = resolve_model(cfg.model.name)
    device = pick_device(cfg.model)
    tokenizer = load_tokenizer(cfg.model, path)
    return load_chain(load_model(cfg.model, path, device=device), chain), tokenizer, path, device


def mark_complete(folder: Path, **info) -> None:
    from ..fsutil import atomic_write_text

    atomic_write_text(folder / COMPLETE, json.dumps({"ts": time.time(), **info}) + "\n")


class RunCallback(TrainerCallback):
    """Trainer hooks → events, status and stop/cancel handling for one stage."""

    def __init__(self, ctx: RunContext, stage: str):
        self.ctx = ctx
        self.stage = stage
        self.t0 = None
        self.first_step = 0
        self.last_tokens = None
        self.last_time = None
        self.stopped: str | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.t0 = time.time()
        self.first_step = state.global_step
        if state.is_world_process_zero:
            self.ctx.events.emit(STAGE_STARTED, stage=self.stage, total_steps=state.max_steps, start_step=state.global_step)
            self.ctx.run.write_status(stage=self.stage, step=state.global_step, total_steps=state.max_steps)

    def on_step_end(self, args, state, control, **kwargs):
        done = state.global_step - self.first_step
        elapsed = time.time() - self.t0
        rate = done / elapsed if elapsed > 0 and done else None
        eta = (state.max_steps - state.global_step) / rate if rate else None
        if state.is_world_process_zero:
            self.ctx.events.emit(PROGRESS, stage=self.stage, step=state.global_step, total=state.max_steps,
                                 eta_s=round(eta, 1) if eta is not None else None,
                                 throughput=round(rate, 4) if rate else None)
            self.ctx.run.write_status(durable=False, stage=self.stage, step=state.global_step, total_steps=state.max_steps,
                                      eta_s=eta)
        request = self.ctx.agreed_request()
        if request and state.global_step < state.max_steps:
            self.stopped = request
            control.should_training_stop = True
            control.should_save = request == "stop"  # stop: checkpoint first; cancel: keep the last one

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        metrics = {k: v for k, v in logs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        now = time.time()
        tokens = metrics.get("num_tokens")
        if tokens is not None and self.last_tokens is not None and now > self.last_time:
            metrics["tokens_per_s"] = (tokens - self.last_tokens) / (now - self.last_time)
        if tokens is not None:
            self.last_tokens, self.last_time = tokens, now
        self.ctx.events.emit(METRICS, stage=self.stage, step=state.global_step, metrics=metrics)

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            mark_complete(folder, step=state.global_step, stage=self.stage)
            self.ctx.events.emit(CHECKPOINT, stage=self.stage, step=state.global_step, path=str(folder))
            self.ctx.run.write_status(last_checkpoint=f"{self.stage}/{folder.name}")

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.ctx.events.emit(STAGE_FINISHED, stage=self.stage, step=state.global_step,
                                 stopped=self.stopped)
