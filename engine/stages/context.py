"""What every training stage shares: the run context and the event/stop callback.

Stages are thin: they build a dataset, a TRL trainer and hand it ``RunCallback``, which turns
the Trainer's hooks into our events (progress, metrics, checkpoints), keeps ``status.json``
current, and honours stop/cancel requests between steps.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import TrainerCallback

from ..config import Config
from ..events import CHECKPOINT, METRICS, PROGRESS, STAGE_FINISHED, STAGE_STARTED, EventWriter
from ..fsutil import ensure_free_space, folder_bytes
from ..hf.models import SAVE_SLACK_BYTES, weights_bytes
from ..runs import RunFolder, latest_checkpoint, mark_complete

_REQUESTS = (None, "stop", "cancel")  # ordered: when ranks disagree the larger wins
RESUME_HINT = "free some space there, then `realm-engine resume`: the run is paused at its last checkpoint"
LOG_HISTORY_KEPT = 100  # Trainer log entries a checkpoint's trainer_state.json keeps


@dataclass
class RunContext:
    project: Path
    run: RunFolder
    cfg: Config
    recipe: str
    events: EventWriter
    stop_signal: str | None = field(default=None)  # set by SIGINT (stop) / SIGTERM (cancel), or agreed by the ranks
    data: Path | None = None  # where the run's problems and routes are: its snapshot (project.run_data)
    tracker: object | None = field(default=None)  # trackers.Tracker: a copy of every metric (train.report_to)

    def __post_init__(self):
        if self.data is None:
            self.data = self.project

    def metrics(self, stage: str, step: int, metrics: dict) -> None:
        """A ``metrics`` event, and its copy to the run's tracker (``train.report_to``): every
        metric of a run goes through here, the trainer's and the held-out curve's alike."""
        self.events.emit(METRICS, stage=stage, step=step, metrics=metrics)
        if self.tracker is not None:
            self.tracker.log(stage, step, metrics)

    def final_dir(self, stage: str) -> Path:
        return self.run.final_dir(stage)

    def checkpoint_dir(self, stage: str) -> Path:
        return self.run.checkpoint_dir(stage)

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
        if control.should_save:  # the Trainer saves after this hook: refuse a checkpoint that would not fit
            ensure_free_space(self.ctx.checkpoint_dir(self.stage), self._checkpoint_bytes(kwargs.get("model")),
                              f"checkpoint-{state.global_step} of {self.stage}", hint=RESUME_HINT)
            # trainer_state.json would carry every step's logs (1 KB a step, in every checkpoint): the
            # history is in events.jsonl, a checkpoint keeps the last few
            del state.log_history[:-LOG_HISTORY_KEPT]

    def _checkpoint_bytes(self, model) -> int:
        """The size of the next checkpoint: the last one's, or for the first one the weights it
        saves (the adapter with LoRA, else the whole model), Adam's two states per trained weight
        (fp32) and the tokenizer, scheduler and RNG files."""
        last = latest_checkpoint(self.ctx.checkpoint_dir(self.stage))
        if last is not None:
            return folder_bytes(last)
        if model is None:
            return SAVE_SLACK_BYTES
        trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
        return weights_bytes(model, trainable_only=self.ctx.cfg.model.lora) + 8 * trained + SAVE_SLACK_BYTES

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
        self.ctx.metrics(self.stage, state.global_step, metrics)

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
