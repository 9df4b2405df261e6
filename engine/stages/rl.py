"""Stage ``rl``: MRPV + EAAI reinforcement learning on TRL's GRPOTrainer.

The change to TRL is ``MRPVTrainer._generate_and_score_completions``: before TRL generates,
the step's rows are rewritten by ``MRPVPlanner`` (hinted prompt groups get candidate routes,
the rest the bare question). ``_generate_single_turn`` sizes the static KV cache when rollouts
are compiled (see ``rollout_engine``). Both are private hooks, so trl is pinned in
pyproject.toml and a test checks they still exist with the signatures we override.
"""

from __future__ import annotations

import contextlib

from ..errors import UserError
from ..events import LOG, ROLLOUT_PLAN, WARNING
from ..method.mrpv import MRPVPlanner
from ..method.prompts import student_user_text
from ..hf.models import render_prompt
from .context import RunCallback, RunContext
from .rollout_engine import (cache_length, compiler_error, compiles_rollouts, disable_compiled_generation,
                             enable_compiled_generation, rollout_engine_args)
from ..hf.sampling import fast_cpu_sampling
from .training import prepare_model, run_trainer, save_final, score_labelled_tokens_only, trainer_args

from trl import GRPOTrainer
from trl.trainer.utils import RepeatSampler


class EpochSeededSampler(RepeatSampler):
    """TRL's prompt sampler draws every epoch's order from one generator that advances per epoch.
    A run resumed in a later epoch skips the earlier epochs without drawing them, so it would
    replay the first epoch's order. Seeded by (seed, epoch), the order no longer depends on
    the epochs this process happened to draw."""

    epoch = 0

    def set_epoch(self, epoch: int) -> None:  # called by the Trainer (through accelerate) every epoch
        self.epoch = epoch

    def __iter__(self):
        if self.shuffle:
            self.generator.manual_seed((self.seed or 0) + self.epoch)
        return super().__iter__()


class MRPVTrainer(GRPOTrainer):
    """GRPO whose prompts follow the EAAI plan of the current step."""

    def __init__(self, *args, planner: MRPVPlanner, events=None, samples_per_step: int = 2,
                 rollout_engine: str = "transformers", **kwargs):
        super().__init__(*args, **kwargs)
        self.planner = planner
        self.events = events
        self.samples_per_step = samples_per_step
        sharded_by = "DeepSpeed" if self.is_deepspeed_enabled else "FSDP" if self.is_fsdp_enabled else None
        self.compiled_rollouts = not self.use_vllm and compiles_rollouts(
            rollout_engine, self.accelerator.device.type, sharded_by is not None)
        if self.compiled_rollouts:
            enable_compiled_generation(self.generation_config, self.accelerator.device.type)
            self._say(LOG, level="info", message="rollouts: compiled generation with a static KV cache "
                                                   "(the first step compiles it, about 30 s on a GPU)")
        elif not self.use_vllm:
            why = f" (the model is sharded by {sharded_by}: auto compiles only unsharded models)" if (
                sharded_by and rollout_engine == "auto") else ""
            self._say(LOG, level="info", message=f"rollouts: eager generation{why}")

    def _get_train_sampler(self, dataset=None):
        trl = super()._get_train_sampler(dataset)
        return EpochSeededSampler(trl.data_source, trl.mini_repeat_count, trl.batch_size, trl.repeat_count,
                                  shuffle=trl.shuffle, seed=trl.seed)

    def _say(self, kind: str, **fields) -> None:
        if self.events is not None and self.accelerator.is_main_process:
            self.events.emit(kind, **fields)

    def _generate_single_turn(self, prompt_ids, *args, **kwargs):
        # On a CPU, torch.multinomial over a 262k-token vocabulary costs more than the decode step itself
        with fast_cpu_sampling() if self.accelerator.device.type == "cpu" else contextlib.nullcontext():
            return self._generate_rollouts(prompt_ids, *args, **kwargs)

    def _generate_rollouts(self, prompt_ids, *args, **kwargs):
        if not self.compiled_rollouts:
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)
        import torch

        longest = max(len(ids) for ids in prompt_ids)
        self.generation_config.max_cache_len = cache_length(longest, self.max_completion_length)
        try:
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)
        except (torch._dynamo.exc.TorchDynamoException, RuntimeError) as error:
            # Eager generation is the fallback: a model or machine the compiler can't handle still trains.
            # A real fault (say, out of memory) comes back from the eager retry as it would have anyway.
            self.compiled_rollouts = False
            disable_compiled_generation(self.generation_config)
            cause = compiler_error(error)
            first_line = (str(cause).strip().splitlines() or [""])[0][:200]
            self._say(WARNING, message=f"compiled rollouts failed ({type(cause).__name__}: {first_line}); "
                                         "generating eagerly from now on (set rl.rollout_engine = \"transformers\" "
                                         "to skip the attempt)")
            return super()._generate_single_turn(prompt_ids, *args, **kwargs)

    def _generate_and_score_completions(self, inputs):
        step = self.state.global_step
        inputs, plan = self.planner.rewrite(inputs, step)
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["fade/p"].append(plan.p)
        self._metrics[mode]["fade/hinted_fraction"].append(plan.hinted_fraction)
        output = super()._generate_and_score_completions(inputs)
        groups = [{"problem_id": g.problem_id, "hinted": g.hinted, "k": len(g.candidate_labels)}
                  for g in plan.groups.values()]
        if self.accelerator.num_processes > 1:  # each rank planned its own prompts: rank 0 logs them all
            from accelerate.utils import gather_object

            groups = gather_object(groups)
        self._say(ROLLOUT_PLAN, stage="rl", step=step, p=plan.p, groups=groups)
        if self.events is not None and self.accelerator.is_main_process:
            self._emit_samples(step, inputs)
        return output

    def _emit_samples(self, step: int, inputs: list[dict]) -> None:
        """Best and worst completion of the step as bounded `sample` events (of rank 0's own prompts)."""
        n = len(inputs)
        world = self.accelerator.num_processes

        def mine(logged) -> list:  # TRL logs every rank's rows, rank 0's first: ours lead the step's n * world
            return list(logged)[-n * world:][:n]

        completions = mine(self._logs["completion"])
        rewards = {name: mine(values) for name, values in self._logs["rewards"].items()}
        if self.samples_per_step <= 0 or len(completions) != n:
            return
        weights = dict(zip(self.reward_func_names, self.reward_weights.tolist()))
        totals = [sum(weights[name] * (rewards[name][i] if rewards[name][i] == rewards[name][i] else 0.0)
                      for name in rewards) for i in range(n)]
        order = sorted(range(n), key=lambda i: totals[i])
        picks = [(order[-1], "best"), (order[0], "worst")][: self.samples_per_step]
        for i, rank in picks:
            row = inputs[i]
            self.events.sample("rl", step, row["prompt"], completions[i],
                               {name: rewards[name][i] for name in rewards} | {"total": totals[i]},
                               row["hinted"], rank=rank, problem_id=row["problem_id"])


def rl_rows(problems, render) -> list[dict]:
    """The GRPO dataset: one row per training problem, its bare (unhinted) prompt plus what the
    planner and the reward functions read."""
    return [{"prompt": render(student_user_text(p.question, p.choices)), "problem_id": p.id, "answer": p.answer,
             "answer_type": p.answer_type, "choices": p.choices} for p in problems]


def rl_data(ctx: RunContext) -> tuple[list, dict[str, list[tuple[str, str]]]]:
    """(training problems, their routes as (text, label) per problem id)."""
    from ..data.problems import read_problems
    from ..project import problems_path, routes_path
    from ..routes.store import read_routes

    problems = [p for p in read_problems(problems_path(ctx.data)) if p.split == "train"]
    if not problems:
        raise UserError("rl: no training problems", hint="import data first with `realm-engine import`")
    routes: dict[str, list[tuple[str, str]]] = {}
    train_ids = {p.id for p in problems}
    for route in read_routes(ctx.data) if routes_path(ctx.data).exists() else []:
        if route.problem_id in train_ids:
            routes.setdefault(route.problem_id, []).append((route.text, route.label))
    return problems, routes


def run_rl(ctx: RunContext, stages_before: tuple[str, ...], data: tuple | None = None,
           generation_kwargs: dict | None = None) -> None:
    """Train the stage on the project's problems and routes (``data``, ``generation_kwargs``: the
    pre-flight's worst case instead: the longest prompts, completions forced to full length)."""
    from datasets import Dataset
    from trl import GRPOConfig

    from ..method.rewards import make_reward_functions
    from ..method.verifiers import PythonVerifier

    cfg = ctx.cfg
    engine_args = rollout_engine_args(cfg.rl)  # before loading anything: a missing vLLM is reported at once
    problems, routes = rl_data(ctx) if data is None else data
    if not routes and cfg.fade.start > 0:
        ctx.events.emit(WARNING, message="no routes: every prompt is unhinted (run `realm-engine routes` first)")

    model, tokenizer, peft_config, device = prepare_model(ctx, stages_before)

    def render(user_text: str) -> str:
        return render_prompt(tokenizer, user_text, cfg.model.prompt_format)

    planner = MRPVPlanner(cfg.fade, seed=cfg.project.seed, max_steps=cfg.rl.max_steps, render=render,
                          questions={p.id: (p.question, p.choices) for p in problems}, routes=routes,
                          positives_only=cfg.rl.candidate_mix == "positives-only")
    rows = rl_rows(problems, render)
    verifier = None
    if cfg.data.python_verifier:
        verifier = PythonVerifier(ctx.project, cfg.data.python_verifier, cfg.data.verifier_timeout_s)
    reward_funcs, weights = make_reward_functions(cfg.data, cfg.rl, python_verifier=verifier)
    args = GRPOConfig(
        **trainer_args(ctx, "rl", device, save_steps=cfg.rl.save_steps),
        learning_rate=cfg.rl.learning_rate,
        max_steps=cfg.rl.max_steps,
        per_device_train_batch_size=cfg.rl.prompts_per_step * cfg.rl.num_generations,
        gradient_accumulation_steps=1,
        num_generations=cfg.rl.num_generations,
        max_completion_length=cfg.rl.max_completion_length,
        temperature=cfg.rl.temperature,
        top_p=cfg.rl.top_p,
        top_k=cfg.rl.top_k,
        beta=cfg.rl.beta,
        reward_weights=weights,
        log_completions=False,
        remove_unused_columns=False,
        **({"generation_kwargs": generation_kwargs} if generation_kwargs else {}),
        **engine_args,
    )
    trainer = MRPVTrainer(model=model, reward_funcs=reward_funcs, args=args, train_dataset=Dataset.from_list(rows),
                          processing_class=tokenizer, peft_config=peft_config, callbacks=[RunCallback(ctx, "rl")],
                          planner=planner, events=ctx.events, samples_per_step=cfg.rl.samples_per_step,
                          rollout_engine=cfg.rl.rollout_engine)
    score_labelled_tokens_only(trainer, device, temperature=cfg.rl.temperature, outputs=("log_probs", "entropy"))
    callback = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, RunCallback))
    try:
        run_trainer(ctx, "rl", trainer)
    finally:
        if verifier is not None:
            verifier.close()
    if callback.stopped:
        return
    save_final(ctx, "rl", trainer)
