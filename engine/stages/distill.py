"""Stage ``distill``: guided CoT distillation (and the ``rft`` baseline) with TRL's SFTTrainer.

The teacher saw the rules ("guided" routes); the student is trained on ``question → route``
*without* the rules, loss on the completion only, so the domain knowledge has to move into
the weights. ``rft`` is the same SFT on every verified-positive route, guided or not.
"""

from __future__ import annotations

import random

from ..errors import UserError
from ..events import WARNING
from ..method.prompts import student_user_text
from ..hf.models import render_prompt
from .context import RunContext
from .training import prepare_model, run_trainer, save_final, score_labelled_tokens_only, trainer_args


def distill_examples(problems, routes, *, guided_only: bool, per_problem: int, seed: int) -> list[dict]:
    """(question, choices, route) triples for SFT: positives of train problems, guided first."""
    by_id = {p.id: p for p in problems if p.split == "train"}
    chosen: dict[str, list] = {}
    for route in routes:
        if route.label == "positive" and route.problem_id in by_id:
            chosen.setdefault(route.problem_id, []).append(route)
    rng = random.Random(seed)
    examples = []
    for pid, group in sorted(chosen.items()):
        if guided_only and any(r.guided for r in group):
            group = [r for r in group if r.guided]
        rng.shuffle(group)
        for route in group[:per_problem]:
            examples.append({"problem": by_id[pid], "text": route.text})
    return examples


def distill_rows(examples: list[dict], tokenizer, prompt_format: str) -> list[dict]:
    """SFT rows: the student's prompt (no rules) and the route as the completion, ending in EOS."""
    eos = tokenizer.eos_token or ""
    return [{"prompt": render_prompt(tokenizer, student_user_text(ex["problem"].question, ex["problem"].choices),
                                     prompt_format),
             "completion": " " + ex["text"].strip() + ("" if ex["text"].endswith(eos) else eos)}
            for ex in examples]


def check_lengths(ctx: RunContext, rows: list[dict], tokenizer) -> None:
    """Refuse a ``distill.max_length`` that no example fits, warn about one that cuts some: a cut
    route loses its ``Answer:`` line, so the student never learns to finish (TRL truncates silently)."""
    lengths = [len(tokenizer(row["prompt"] + row["completion"])["input_ids"]) for row in rows]
    limit = ctx.cfg.distill.max_length
    cut = sum(n > limit for n in lengths)
    fix = f"set distill.max_length to at least {max(lengths)}"
    if cut == len(rows):
        raise UserError(f"distill.max_length = {limit} tokens is shorter than every example "
                        f"(prompt and route: {min(lengths)} to {max(lengths)} tokens): {fix}")
    if cut:
        ctx.events.emit(WARNING, message=f"distill.max_length = {limit} tokens cuts {cut} of {len(rows)} examples "
                                         f"before their end (the longest is {max(lengths)} tokens): {fix}")


def project_examples(ctx: RunContext) -> list[dict]:
    """The distillation examples of the run's project and recipe."""
    from ..data.problems import read_problems
    from ..project import problems_path
    from ..routes.store import read_routes

    return distill_examples(read_problems(problems_path(ctx.data)), read_routes(ctx.data),
                            guided_only=ctx.recipe != "rft", per_problem=ctx.cfg.distill.max_routes_per_problem,
                            seed=ctx.cfg.project.seed)


def run_distill(ctx: RunContext, examples: list[dict] | None = None) -> None:
    """Train the stage on the project's examples (``examples``: the pre-flight's worst-case batch instead)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from .context import RunCallback

    cfg = ctx.cfg
    worst_case = examples is not None
    examples = project_examples(ctx) if examples is None else examples
    if not examples:
        raise UserError("distill: no positive routes for training problems",
                        hint="generate routes first with `realm-engine routes`")
    model, tokenizer, peft_config, device = prepare_model(ctx, stages_before=())
    rows = distill_rows(examples, tokenizer, cfg.model.prompt_format)
    if not worst_case:  # the pre-flight's batch is the longest example, cut at max_length as training cuts it
        check_lengths(ctx, rows, tokenizer)
    ctx.events.log(f"distill: {len(rows)} examples from {len({ex['problem'].id for ex in examples})} problems")
    args = SFTConfig(
        **trainer_args(ctx, "distill", device, save_steps=cfg.distill.save_steps),
        learning_rate=cfg.distill.learning_rate,
        num_train_epochs=cfg.distill.epochs,
        max_steps=cfg.distill.max_steps,
        per_device_train_batch_size=cfg.distill.batch_size,
        gradient_accumulation_steps=cfg.distill.grad_accum,
        max_length=cfg.distill.max_length,
        completion_only_loss=True,
        packing=cfg.distill.packing,
    )
    callback = RunCallback(ctx, "distill")
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[callback])
    score_labelled_tokens_only(trainer, device, outputs=("log_probs", "entropy", "is_top1"))
    run_trainer(ctx, "distill", trainer)
    if callback.stopped:
        return
    save_final(ctx, "distill", trainer)
