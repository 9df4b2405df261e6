"""``realm-engine demo``: the whole method on a bundled domain, start to finish, measured.

Creates (or reuses) a demo project, imports the domain's problems and routes, evaluates the base
model, trains ``realm-r1`` (guided distillation, then MRPV + EAAI), evaluates again with exactly
the same settings, exports, and prints the before/after table: every accuracy with its 95 %
interval, and the gain with the interval of the paired difference. The medium and full sizes
train the distillation as a run of its own and branch the RL stage from it (``--from``), so the
table also shows what distillation alone reached and what RL added.

Every setting below is an ordinary config key (the run's ``config.toml`` shows them) and was
chosen on a validation slice of the training split, never on the held-out problems
(docs/EFFICACY.md tells how).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import load_config, save_config
from ..errors import UserError
from ..events import DEMO_DONE
from ..method.stats import paired_difference_interval
from ..project import BENEFITS_DIR, DEMO_DIR, EVAL_LEDGER, exports_dir, init_project, is_project, problems_path, routes_path
from ..textfmt import EVAL_HEADER, duration, eval_row, table


@dataclass(frozen=True)
class Domain:
    folder: Path
    project_name: str
    title: str
    answer_type: str


DOMAINS = {
    "parcels": Domain(DEMO_DIR, "northwind-parcel-demo", "Northwind Parcel shipping fees", "number"),
    "benefits": Domain(BENEFITS_DIR, "harbor-city-benefit-demo", "Harbor City housing benefit", "choice"),
}


@dataclass(frozen=True)
class Size:
    settings: dict
    distill_alone: bool  # evaluate the distilled model as a row of its own (one more evaluation)
    note: str
    extra: dict = field(default_factory=dict)


# Every size evaluates all held-out problems without routes; budgets of 0 come from the routes.
SIZES = {
    "quick": Size(  # a 2-core CPU: about 15 minutes from a fresh clone, install and model conversion included
        {"eval.max_problems": 0, "eval.max_problems_with_routes": 20, "eval.max_new_tokens": 0, "eval.batch_size": 30,
         "distill.max_steps": 100, "distill.batch_size": 4, "distill.learning_rate": 1e-3,
         "distill.max_routes_per_problem": 1, "distill.max_length": 384, "distill.save_steps": 50,
         "rl.max_steps": 3, "rl.num_generations": 4, "rl.prompts_per_step": 1, "rl.max_completion_length": 0,
         "rl.learning_rate": 5e-6, "rl.save_steps": 3, "fade.k_show": 2},
        distill_alone=False, note="sized for a 2-core CPU"),
    "medium": Size(  # a 2-core CPU: about 30 minutes (28 min 48 s measured, docs/EFFICACY.md)
        {"eval.max_problems": 0, "eval.max_problems_with_routes": 0, "eval.max_new_tokens": 0, "eval.batch_size": 30,
         "distill.max_steps": -1, "distill.epochs": 3.0, "distill.batch_size": 4, "distill.learning_rate": 1e-3,
         "distill.max_routes_per_problem": 1, "distill.max_length": 384, "distill.save_steps": 60,
         "rl.max_steps": 30, "rl.num_generations": 4, "rl.prompts_per_step": 2, "rl.max_completion_length": 0,
         # lr 1e-4 (LoRA): chosen on the validation slice (docs/EFFICACY.md); 5e-6 changed no answer
         "rl.learning_rate": 1e-4, "rl.save_steps": 10, "fade.k_show": 2},
        distill_alone=True, note="sized for a 2-core CPU"),
    "full": Size(  # a GPU
        {"eval.max_problems": 0, "eval.max_problems_with_routes": 0, "eval.max_new_tokens": 0, "eval.batch_size": 64,
         "distill.max_steps": -1, "distill.epochs": 3.0, "distill.batch_size": 8, "distill.learning_rate": 3e-4,
         "distill.max_length": 384, "rl.max_steps": 200, "rl.num_generations": 8, "rl.prompts_per_step": 4,
         "rl.max_completion_length": 0, "rl.learning_rate": 1e-5, "rl.save_steps": 25},
        distill_alone=True, note="sized for a GPU"),
}


def configure(project: Path, domain: Domain, settings: dict) -> None:
    """Write the domain's and the size's settings into the project's realm.toml."""
    cfg = load_config(project)
    cfg.project.name = domain.project_name
    cfg.data.answer_type = domain.answer_type
    cfg.data.rulebook = str(domain.folder / "rulebook.md")
    for key, value in settings.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    save_config(project, cfg)


def prepare_project(folder: Path | None, domain: Domain, settings: dict, say) -> Path:
    """The demo project, created and filled with the domain's problems and routes when new."""
    from ..data.importers import import_problems
    from ..routes.generate import generate_routes

    project = Path(folder or "realm-demo").resolve()
    if not is_project(project):
        init_project(project, name=domain.project_name, answer_type=domain.answer_type)
        say(f"created demo project {project}")
    configure(project, domain, settings)
    if not problems_path(project).exists():
        report = import_problems(project, str(domain.folder / "problems.jsonl"), seed=0)
        say(f"imported {report.imported} problems ({report.train} train, {report.test} test)")
    if not routes_path(project).exists():
        s = generate_routes(project, f"file:{domain.folder / 'routes.jsonl'}")
        say(f"routes: {s.routes} ({s.positives} positive, {s.negatives} negative, {s.contrastive} contrastive problems)")
    return project


def _verdicts(folder: Path) -> list[bool]:
    import json

    return [json.loads(line)["correct_without"] for line in (folder / EVAL_LEDGER).read_text(encoding="utf-8").splitlines()]


def run_demo(folder: Path | None, *, size: str = "quick", domain: str = "parcels", reporter,
             rl_steps: int | None = None) -> dict:
    from ..launch import train
    from ..runs import RunFolder, read_run_config
    from ..stages.evaluate import evaluate
    from ..stages.export import export_run

    t0, say = time.time(), reporter.info
    plan, where = SIZES[size], DOMAINS[domain]
    if rl_steps is not None and rl_steps < 1:
        raise UserError(f"--max-steps {rl_steps}: the demo needs at least one RL step", hint="pass --max-steps 1 or more")
    settings = plan.settings if rl_steps is None else {**plan.settings, "rl.max_steps": rl_steps}
    project = prepare_project(folder, where, settings, say)
    progress = lambda stage: (lambda done, total, eta: reporter.progress(stage, done, total, eta))  # noqa: E731
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run, rows, labels = f"demo-{size}-{stamp}", [], []

    def add_row(label: str, summary: dict) -> dict:
        """Each row is said as soon as it is measured: a demo stopped later still told what it found."""
        rows.append(summary)
        labels.append(label)
        _, n, without, with_routes, gap, _ = eval_row(summary)
        say(f"{label}: {without} without routes, {with_routes} with routes on {n} held-out problems (gap {gap})")
        return summary

    say("evaluating the base model …")
    before = add_row("base model, untrained", evaluate(project, None, progress=progress("eval")))
    if plan.distill_alone:
        distilled = f"{run}-distill"
        say(f"training run {distilled} (guided CoT distillation) …")
        if train(project, "rft", distilled, overrides=[]) != "finished":
            return _stopped(project, distilled, say)
        add_row(f"distilled ({_steps(RunFolder(project, distilled), 'distill')} steps)",
                evaluate(project, distilled, progress=progress("eval")))
        say(f"training run {run} (MRPV + EAAI from the distilled model) …")
        state = train(project, "realm-r1", run, overrides=[], origin=f"{distilled}:distill")
    else:
        say(f"training run {run} (realm-r1: guided CoT distillation, then MRPV + EAAI) …")
        state = train(project, "realm-r1", run, overrides=[])
    if state != "finished":
        return _stopped(project, run, say)
    say("evaluating the trained model …")
    _, cfg = read_run_config(RunFolder(project, run))
    after = add_row(f"realm-r1 ({_recipe_steps(project, run)}, {cfg.rl.num_generations} completions per prompt)",
                    evaluate(project, run, progress=progress("eval")))
    exported = export_run(project, run, exports_dir(project) / run)
    minutes = (time.time() - t0) / 60
    gain = after["accuracy_without_routes"] - before["accuracy_without_routes"]
    low, high = paired_difference_interval(_verdicts(project / "eval" / "base"), _verdicts(RunFolder(project, run).eval_dir))
    reporter.event(DEMO_DONE, before=before, after=after, rows=rows, export=exported, minutes=round(minutes, 2),
                   gain_without_routes=round(gain, 4), gain_interval=[low, high])
    if not reporter.as_json:
        print(f"\nReaLM demo — {where.title}: {before['n']} held-out problems, greedy ({size} size, {plan.note})\n")
        print(table([[label, *eval_row(summary)[1:]] for label, summary in zip(labels, rows)], EVAL_HEADER))
        print(f"\ngain without routes, realm-r1 over the base model: {100 * gain:+.1f} points "
              f"(95 % interval of the paired difference: {100 * low:+.1f} to {100 * high:+.1f})")
        print(f"export: {exported['path']} (re-scored {exported['rescore']['agree']}/{exported['rescore']['total']})")
        print(f"wall time: {duration(minutes * 60)}. Browse it: realm-studio --project {project}")
    return {"before": before, "after": after, "rows": rows, "export": exported, "minutes": minutes, "gain": gain}


def _steps(run, stage: str) -> int:
    import json

    from ..runs import COMPLETE

    return json.loads((run.final_dir(stage) / COMPLETE).read_text(encoding="utf-8")).get("step", 0)


def _recipe_steps(project: Path, name: str) -> str:
    from ..runs import RunFolder, trained_chain

    parts = []
    for final in trained_chain(RunFolder(project, name), ("distill", "rl")):
        stage = final.parent.name
        parts.append(f"{_steps(RunFolder(project, final.parents[2].name), stage)} "
                     f"{'distillation' if stage == 'distill' else 'MRPV + EAAI'} steps")
    return " + ".join(parts)


def _stopped(project: Path, run: str, say) -> dict:
    say(f"run {run} did not finish; resume it with `realm-engine resume {project} --run {run}`")
    return {"state": "stopped", "run": run}
