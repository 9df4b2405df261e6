"""Evaluation on the held-out split: greedy answers without routes and with routes.

*Autonomy gap* = accuracy with routes − accuracy without: what the model still needs the
external routes for. The per-problem ledger records both answers and, when the base model was
evaluated, its verdict, so flips (wrong → right, right → wrong) are visible problem by problem.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from ..config import Config, load_config
from ..errors import UserError
from ..fsutil import atomic_write_json, atomic_write_text
from ..method.prompts import mrpv_user_text, select_candidates, student_user_text
from ..method.seeded import stable_rng
from ..method.verifiers import PythonVerifier, verify_problem
from ..project import EVAL_LEDGER, EVAL_SUMMARY, base_eval_dir, problems_path, routes_path
from ..runs import finished_run


def eval_prompts(cfg: Config, problems, routes_by_id: dict) -> list[tuple[str, str | None, list[str]]]:
    """Per problem: (user text without routes, user text with routes or None, shown labels). Fixed seed."""
    out = []
    for p in problems:
        bare = student_user_text(p.question, p.choices)
        showable = [r for r in routes_by_id.get(p.id, []) if r[1] in ("positive", "negative")]
        if showable:
            chosen = select_candidates(showable, cfg.fade.k_show, stable_rng("eval", cfg.project.seed, p.id))
            out.append((bare, mrpv_user_text(p.question, [t for t, _ in chosen], p.choices), [l for _, l in chosen]))
        else:
            out.append((bare, None, []))
    return out


def _bias(values: list[str | None]) -> dict:
    seen = [v for v in values if v is not None]
    if not seen:
        return {"most_common": None, "share": 0.0}
    value, count = Counter(seen).most_common(1)[0]
    return {"most_common": value, "share": round(count / len(values), 4)}


def evaluate(project: Path, run: str | None = None, progress=None) -> dict:
    """Evaluate the base model (run=None) or a run's final model; write summary.json + ledger.jsonl."""
    from ..data.problems import read_problems
    from ..hf.generation import generate_texts
    from ..hf.models import render_prompt
    from ..hf.trained import load_trained
    from ..routes.store import read_routes

    project = Path(project)
    if run is None:
        cfg, chain, out_dir, label, step = load_config(project), [], base_eval_dir(project), "base", 0
    else:
        folder, _, cfg, chain = finished_run(project, run, "evaluate")
        out_dir, label = folder.eval_dir, run
        step = folder.read_status().get("step", 0)
    problems = [p for p in read_problems(problems_path(project)) if p.split == "test"]
    if cfg.eval.max_problems:
        problems = problems[: cfg.eval.max_problems]
    if not problems:
        raise UserError("eval: no held-out (test) problems", hint="re-import with --test-fraction > 0")
    routes_by_id: dict[str, list] = {}
    if routes_path(project).exists():
        for r in read_routes(project):
            routes_by_id.setdefault(r.problem_id, []).append((r.text, r.label))

    model, tokenizer, _, _ = load_trained(cfg, chain)
    prompts = eval_prompts(cfg, problems, routes_by_id)
    jobs = [(i, "without", bare) for i, (bare, _, _) in enumerate(prompts)]
    jobs += [(i, "with", hinted) for i, (_, hinted, _) in enumerate(prompts) if hinted is not None]
    answers: dict[tuple[int, str], str] = {}
    t0, bs = time.time(), cfg.eval.batch_size
    for start in range(0, len(jobs), bs):
        batch = jobs[start:start + bs]
        texts = [render_prompt(tokenizer, user, cfg.model.prompt_format) for _, _, user in batch]
        outs = generate_texts(model, tokenizer, texts, max_new_tokens=cfg.eval.max_new_tokens, temperature=0.0)
        for (i, kind, _), out in zip(batch, outs):
            answers[(i, kind)] = out[0]
        if progress:
            done = min(start + bs, len(jobs))
            progress(done, len(jobs), (time.time() - t0) / done * (len(jobs) - done))

    verifier = PythonVerifier(project, cfg.data.python_verifier, cfg.data.verifier_timeout_s) \
        if cfg.data.python_verifier else None
    base_ledger = _read_ledger(base_eval_dir(project) / EVAL_LEDGER) if run is not None else {}
    ledger, extracted_without = [], []
    try:
        for i, p in enumerate(problems):
            v_without = verify_problem(answers[(i, "without")], p, cfg.data, verifier)
            with_text = answers.get((i, "with"), answers[(i, "without")])
            v_with = verify_problem(with_text, p, cfg.data, verifier) if (i, "with") in answers else v_without
            extracted_without.append(v_without.extracted)
            ledger.append({"problem_id": p.id, "question": p.question, "answer": p.answer,
                           "correct_without": v_without.correct, "correct_with": v_with.correct,
                           "answer_without": v_without.extracted, "answer_with": v_with.extracted,
                           "label_without": v_without.label, "had_routes": (i, "with") in answers,
                           "base_correct_without": base_ledger.get(p.id), "completion_without": answers[(i, "without")][:2000]})
    finally:
        if verifier is not None:
            verifier.close()
    n = len(ledger)
    acc_without = sum(r["correct_without"] for r in ledger) / n
    acc_with = sum(r["correct_with"] for r in ledger) / n
    summary = {"model": label, "step": step, "n": n, "n_with_routes": sum(r["had_routes"] for r in ledger),
               "accuracy_without_routes": round(acc_without, 4), "accuracy_with_routes": round(acc_with, 4),
               "autonomy_gap": round(acc_with - acc_without, 4),
               "format_failure_rate": round(sum(r["label_without"] == "unparsed" for r in ledger) / n, 4),
               "answer_bias": _bias(extracted_without), "gold_bias": _bias([p.answer for p in problems]),
               "created": time.time()}
    if base_ledger:
        summary["flips"] = {"wrong_to_right": sum(1 for r in ledger if r["correct_without"] and r["base_correct_without"] is False),
                            "right_to_wrong": sum(1 for r in ledger if not r["correct_without"] and r["base_correct_without"])}
    atomic_write_text(out_dir / EVAL_LEDGER, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ledger))
    atomic_write_json(out_dir / EVAL_SUMMARY, summary)
    return summary


def _read_ledger(path: Path) -> dict[str, bool]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            out[row["problem_id"]] = bool(row["correct_without"])
        except (ValueError, KeyError):
            continue
    return out
