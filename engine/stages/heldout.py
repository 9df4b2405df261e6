"""The held-out learning curve: accuracy on a fixed held-out subset while a stage trains.

Training loss says how well the model copies its training routes; what a user cares about is
how often it answers problems it has never seen. Every ``eval.every_steps`` optimizer steps, and
at a stage's first and last step, the model answers the first ``eval.curve_problems`` problems
of the evaluation split greedily, without and with candidate routes, and the three figures are
logged as ``metrics`` events (``eval/accuracy_without_routes``, ``eval/accuracy_with_routes``,
``eval/autonomy_gap``) that the Train panel plots. With ``eval.keep_best`` the adapter of the
best step (accuracy without routes, the first best on a tie) is kept in ``stages/<stage>/best``
and becomes the stage's result.
"""

from __future__ import annotations

import json
import shutil

from transformers import TrainerCallback

from ..runs import COMPLETE, is_complete, mark_complete
from .context import RunContext
from .evaluate import eval_problems, heldout_accuracy, routes_by_problem

BEST = "best"
CURVE_KEY = "eval/accuracy_without_routes"  # what "best" means


class HeldOutCurve(TrainerCallback):
    def __init__(self, ctx: RunContext, stage: str, tokenizer):
        from dataclasses import replace

        self.ctx, self.stage, self.tokenizer = ctx, stage, tokenizer
        cfg = ctx.cfg
        # the curve's subset: the first curve_problems of the split, all shown with routes too
        self.cfg = replace(cfg, eval=replace(cfg.eval, max_problems=cfg.eval.curve_problems, max_problems_with_routes=0))
        self.problems = eval_problems(ctx.data, self.cfg)
        self.routes = routes_by_problem(ctx.data)
        self.best_dir = ctx.run.stage_dir(stage) / BEST
        self.best = _read_best(self.best_dir)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0:  # where the stage starts from (not again on resume)
            self._measure(state, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.ctx.cfg.eval.every_steps == 0 or state.global_step == state.max_steps:
            self._measure(state, model)

    def _measure(self, state, model) -> None:
        import torch

        if not state.is_world_process_zero:
            return  # one rank measures; the others wait for it at the next step's collective
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                metrics = heldout_accuracy(model, self.tokenizer, self.cfg, self.ctx.project, self.problems,
                                           self.routes)
        finally:
            model.train(was_training)
        self.ctx.metrics(self.stage, state.global_step, {k: v for k, v in metrics.items() if v is not None})
        if self.ctx.cfg.eval.keep_best and state.global_step > 0 and (
                self.best is None or metrics[CURVE_KEY] > self.best["accuracy"]):
            self._keep(model, state.global_step, metrics[CURVE_KEY])

    def _keep(self, model, step: int, accuracy: float) -> None:
        shutil.rmtree(self.best_dir, ignore_errors=True)
        self.best_dir.mkdir(parents=True)
        model.save_pretrained(self.best_dir)
        self.tokenizer.save_pretrained(self.best_dir)
        mark_complete(self.best_dir, stage=self.stage, step=step, accuracy=accuracy)
        self.best = {"step": step, "accuracy": accuracy}
        self.ctx.events.log(f"{self.stage}: best held-out accuracy so far, {100 * accuracy:.1f} % at step {step} "
                            f"(kept in {self.best_dir})")


def _read_best(folder) -> dict | None:
    if not is_complete(folder):
        return None
    marker = json.loads((folder / COMPLETE).read_text(encoding="utf-8"))
    return {"step": marker["step"], "accuracy": marker["accuracy"]}


def best_result(ctx: RunContext, stage: str):
    """The kept best adapter folder of a stage when ``eval.keep_best`` asked for it, else None."""
    folder = ctx.run.stage_dir(stage) / BEST
    return folder if ctx.cfg.eval.keep_best and is_complete(folder) else None
