"""``realm-engine demo``: the whole method on the bundled domain, start to finish.

Creates (or reuses) a demo project, imports the Northwind Parcel problems and routes,
evaluates the base model, runs ``realm-r1`` (guided distillation, then MRPV + EAAI), evaluates
again, exports, and prints the before/after table. ``--quick`` is sized for a laptop CPU
(minutes); the default run is sized to show a real gain and wants a GPU.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..config import load_config, save_config
from ..events import DEMO_DONE
from ..project import DEMO_DIR, exports_dir, init_project, is_project, problems_path, routes_path
from ..textfmt import EVAL_HEADER, eval_row, table

# Settings per size: every key is an ordinary config key, so the run's config.toml shows them.
QUICK = {  # sized for a 2-core CPU: about ten minutes, the one-time model conversion included
    "eval.max_problems": 6, "eval.max_new_tokens": 128, "eval.batch_size": 12,
    "distill.max_steps": 6, "distill.batch_size": 2, "distill.learning_rate": 5e-4, "distill.max_length": 256,
    "rl.max_steps": 2, "rl.num_generations": 2, "rl.prompts_per_step": 1, "rl.max_completion_length": 96,
    "rl.learning_rate": 2e-5, "rl.save_steps": 2, "fade.k_show": 2,
}
FULL = {
    "eval.max_problems": 0, "eval.max_new_tokens": 200, "eval.batch_size": 16,
    "distill.max_steps": -1, "distill.epochs": 3.0, "distill.batch_size": 8, "distill.learning_rate": 3e-4,
    "distill.max_length": 384, "rl.max_steps": 200, "rl.num_generations": 8, "rl.prompts_per_step": 4,
    "rl.max_completion_length": 200, "rl.learning_rate": 1e-5, "rl.save_steps": 25,
}


def _configure(project: Path, sizes: dict) -> None:
    cfg = load_config(project)
    cfg.project.name = "northwind-parcel-demo"
    cfg.data.answer_type = "number"
    cfg.data.number_tolerance = 1e-6
    cfg.data.rulebook = str(DEMO_DIR / "rulebook.md")
    for key, value in sizes.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    save_config(project, cfg)


def run_demo(folder: Path | None, *, quick: bool, reporter) -> dict:
    from ..data.importers import import_problems
    from ..launch import train
    from ..routes.generate import generate_routes
    from ..stages.evaluate import evaluate
    from ..stages.export import export_run

    t0 = time.time()
    project = Path(folder or "realm-demo").resolve()
    say = reporter.info
    if not is_project(project):
        init_project(project, name="northwind-parcel-demo", answer_type="number")
        say(f"created demo project {project}")
    _configure(project, QUICK if quick else FULL)
    if not problems_path(project).exists():
        report = import_problems(project, str(DEMO_DIR / "problems.jsonl"), seed=0)
        say(f"imported {report.imported} problems ({report.train} train, {report.test} test)")
    if not routes_path(project).exists():
        s = generate_routes(project, f"file:{DEMO_DIR / 'routes.jsonl'}")
        say(f"routes: {s.routes} ({s.positives} positive, {s.negatives} negative, {s.contrastive} contrastive problems)")

    progress = lambda stage: (lambda done, total, eta: reporter.progress(stage, done, total, eta))  # noqa: E731
    say("evaluating the base model …")
    before = evaluate(project, None, progress=progress("eval"))
    run = f"demo-{'quick' if quick else 'full'}-{time.strftime('%Y%m%d-%H%M%S')}"
    say(f"training run {run} (realm-r1: guided distillation, then MRPV + EAAI) …")
    state = train(project, "realm-r1", run, overrides=[], echo=False)
    if state != "finished":
        say(f"run {run} ended {state}; resume it with `realm-engine resume {project} --run {run}`")
        return {"state": state}
    say("evaluating the trained model …")
    after = evaluate(project, run, progress=progress("eval"))
    exported = export_run(project, run, exports_dir(project) / run)
    minutes = (time.time() - t0) / 60
    rows = table([eval_row(before), eval_row(after)], EVAL_HEADER)
    reporter.event(DEMO_DONE, before=before, after=after, export=exported, minutes=round(minutes, 2))
    if not reporter.as_json:
        print(f"\nReaLM demo — Northwind Parcel fees, held-out problems ({'quick' if quick else 'full'} run)\n")
        print(rows)
        print(f"\nexport: {exported['path']} (re-scored {exported['rescore']['agree']}/{exported['rescore']['total']})")
        print(f"wall time: {minutes:.1f} min. Browse it: realm-studio --project {project}")
    return {"before": before, "after": after, "export": exported, "minutes": minutes}
