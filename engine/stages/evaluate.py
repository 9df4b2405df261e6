"""Evaluation on held-out problems: greedy answers without routes and with routes.

*Autonomy gap* = accuracy with routes − accuracy without: what the model still needs the
external routes for. Every accuracy comes with its 95 % Wilson interval (on 60 problems one
problem is 1.7 points). The per-problem ledger records both answers and, when the base model was
evaluated with the same settings, its verdict, so flips (wrong → right, right → wrong) are
visible problem by problem.

An accuracy means something only next to the settings it was measured with: the problems, the
token budget, the candidates shown. Every summary records them (``settings``), the base model is
evaluated with exactly a run's settings on request (``like``), and flips are counted only
against a base evaluation with the same settings. The ledger and the summary are written as one
transaction (``fsutil.atomic_write_files``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from pathlib import Path

from ..config import Config, apply_overrides, load_config
from ..errors import UserError, shown
from ..fsutil import atomic_write_files
from ..method.prompts import mrpv_user_text, select_candidates, student_user_text
from ..method.seeded import stable_rng
from ..method.stats import wilson_interval
from ..method.verifiers import PythonVerifier, verify_problem
from ..project import EVAL_LEDGER, EVAL_SUMMARY, base_eval_dir, problems_path
from ..runs import RunFolder, finished_run, read_run_config

EVAL_KEYS_ALSO = ("fade.k_show",)  # besides eval.*, the one key an evaluation may change (candidates shown)


def eval_overrides(overrides: list[str]) -> list[str]:
    """``eval --set`` values, refused unless they are eval.* keys or fade.k_show: the model's own
    settings are what was trained and cannot change at evaluation."""
    for text in overrides:
        key = text.split("=", 1)[0].strip()
        if not (key.startswith("eval.") or key in EVAL_KEYS_ALSO):
            raise UserError(f"eval --set {shown(text)}: only eval.* keys and fade.k_show can change for an evaluation")
    return list(overrides)


def eval_problems(project: Path, cfg: Config) -> list:
    """The problems an evaluation answers: ``eval.split``, the first ``eval.max_problems``."""
    from ..data.problems import read_problems

    problems = [p for p in read_problems(problems_path(project)) if cfg.eval.split in (p.split, "all")]
    if cfg.eval.max_problems:
        problems = problems[: cfg.eval.max_problems]
    if not problems:
        raise UserError(f"eval: no problems in the {cfg.eval.split} split",
                        hint="re-import with --test-fraction > 0, or evaluate another split with --split")
    return problems


def routes_by_problem(project: Path) -> dict[str, list[tuple[str, str]]]:
    from ..routes.store import read_routes

    by_id: dict[str, list] = {}
    for route in read_routes(project):
        by_id.setdefault(route.problem_id, []).append((route.text, route.label))
    return by_id


def eval_prompts(cfg: Config, problems, routes_by_id: dict) -> list[tuple[str, str | None, list[str]]]:
    """Per problem: (user text without routes, user text with routes or None, shown labels). Fixed
    seed; only the first ``eval.max_problems_with_routes`` problems that have routes get the second."""
    out, hinted = [], 0
    cap = cfg.eval.max_problems_with_routes or len(problems)
    for p in problems:
        bare = student_user_text(p.question, p.choices)
        showable = [r for r in routes_by_id.get(p.id, []) if r[1] in ("positive", "negative")]
        if showable and hinted < cap:
            hinted += 1
            chosen = select_candidates(showable, cfg.fade.k_show, stable_rng("eval", cfg.project.seed, p.id))
            out.append((bare, mrpv_user_text(p.question, [t for t, _ in chosen], p.choices), [l for _, l in chosen]))
        else:
            out.append((bare, None, []))
    return out


def eval_settings(cfg: Config, problems, prompts) -> dict:
    """What the accuracies depend on (besides the model): equal settings, comparable numbers."""
    ids = ",".join(p.id for p in problems)
    return {"split": cfg.eval.split, "n": len(problems), "n_with_routes": sum(h is not None for _, h, _ in prompts),
            "problems_digest": hashlib.sha256(ids.encode()).hexdigest()[:16],
            "max_new_tokens": cfg.eval.max_new_tokens, "k_show": cfg.fade.k_show, "seed": cfg.project.seed,
            "prompt_format": cfg.model.prompt_format}


def answer_problems(model, tokenizer, cfg: Config, prompts, progress=None) -> dict[tuple[int, str], str]:
    """Greedy completions: (problem index, "without" | "with") → text."""
    from ..hf.generation import generate_texts
    from ..hf.models import render_prompt

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
    return answers


def score(project: Path, cfg: Config, problems, answers: dict, base_ledger: dict) -> list[dict]:
    """One ledger row per problem: both answers, their verdicts, the base model's verdict."""
    verifier = PythonVerifier(project, cfg.data.python_verifier, cfg.data.verifier_timeout_s) \
        if cfg.data.python_verifier else None
    ledger = []
    try:
        for i, p in enumerate(problems):
            v_without = verify_problem(answers[(i, "without")], p, cfg.data, verifier)
            had_routes = (i, "with") in answers
            v_with = verify_problem(answers[(i, "with")], p, cfg.data, verifier) if had_routes else None
            ledger.append({"problem_id": p.id, "question": p.question, "answer": p.answer,
                           "correct_without": v_without.correct, "correct_with": v_with.correct if v_with else None,
                           "answer_without": v_without.extracted, "answer_with": v_with.extracted if v_with else None,
                           "label_without": v_without.label, "had_routes": had_routes,
                           "base_correct_without": base_ledger.get(p.id),
                           "completion_without": answers[(i, "without")][:2000],
                           "completion_with": answers[(i, "with")][:2000] if had_routes else None})
    finally:
        if verifier is not None:
            verifier.close()
    return ledger


def _accuracy(rows: list[dict], key: str) -> dict:
    hits, n = sum(bool(r[key]) for r in rows), len(rows)
    low, high = wilson_interval(hits, n)
    return {"correct": hits, "n": n, "accuracy": round(hits / n, 4) if n else None,
            "interval": [round(low, 4), round(high, 4)]}


def summarize(label: str, step: int, ledger: list[dict], problems, settings: dict, base: dict | None) -> dict:
    """The summary.json of an evaluation: accuracies with intervals, gap, format failures, bias."""
    hinted = [r for r in ledger if r["had_routes"]]
    without, with_routes = _accuracy(ledger, "correct_without"), _accuracy(hinted, "correct_with")
    # the gap compares the two accuracies on the same problems: those answered both ways
    gap = (round(with_routes["accuracy"] - _accuracy(hinted, "correct_without")["accuracy"], 4) if hinted else None)
    n = len(ledger)
    summary = {"model": label, "step": step, "n": n, "n_with_routes": len(hinted),
               "accuracy_without_routes": without["accuracy"], "accuracy_with_routes": with_routes["accuracy"],
               "autonomy_gap": gap, "without_routes": without, "with_routes": with_routes,
               "format_failure_rate": round(sum(r["label_without"] == "unparsed" for r in ledger) / n, 4),
               "answer_bias": _bias([r["answer_without"] for r in ledger]), "gold_bias": _bias([p.answer for p in problems]),
               "settings": settings, "created": time.time()}
    if base is not None:
        summary["flips"] = {"wrong_to_right": sum(1 for r in ledger if r["correct_without"] and r["base_correct_without"] is False),
                            "right_to_wrong": sum(1 for r in ledger if not r["correct_without"] and r["base_correct_without"])}
    return summary


def _bias(values: list[str | None]) -> dict:
    seen = [v for v in values if v is not None]
    if not seen:
        return {"most_common": None, "share": 0.0}
    value, count = Counter(seen).most_common(1)[0]
    return {"most_common": value, "share": round(count / len(values), 4)}


def evaluate(project: Path, run: str | None = None, *, overrides: list[str] = (), like: str | None = None,
             progress=None, on_warning=None) -> dict:
    """Evaluate the base model (``run=None``) or a run's trained model; write summary + ledger.

    The base model is evaluated with the project's settings, or with exactly those of run
    ``like`` (its frozen config: same model, problems, budget, candidates). ``overrides`` are
    ``eval --set`` values. Returns the summary.
    """
    from ..hf.trained import load_trained
    from ..routes.budgets import data_budgets

    project = Path(project)
    if run is None:
        cfg = read_run_config(RunFolder(project, like))[1] if like else load_config(project)
        chain, out_dir, label, step = [], base_eval_dir(project), "base", 0
    else:
        folder, _, cfg, chain = finished_run(project, run, "evaluate")
        out_dir, label, step = folder.eval_dir, run, folder.read_status().get("step", 0)
    cfg = apply_overrides(cfg, eval_overrides(list(overrides)))
    problems = eval_problems(project, cfg)
    model, tokenizer, _, _ = load_trained(cfg, chain)
    cfg, warnings = data_budgets(project, cfg, tokenizer)
    for line in warnings:
        if on_warning:
            on_warning(line)
    prompts = eval_prompts(cfg, problems, routes_by_problem(project))
    settings = eval_settings(cfg, problems, prompts)
    answers = answer_problems(model, tokenizer, cfg, prompts, progress)
    base = read_evaluation(base_eval_dir(project)) if run is not None else None
    if base is not None and base[0].get("settings") != settings:
        base = None  # measured on other problems or with another budget: no flips to count
    ledger = score(project, cfg, problems, answers, base[1] if base else {})
    summary = summarize(label, step, ledger, problems, settings, base)
    atomic_write_files(out_dir, {EVAL_SUMMARY: json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                 EVAL_LEDGER: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ledger)})
    if run is not None:  # the run's tracker (train.report_to) gets its evaluation too
        from .trackers import Tracker

        tracker = Tracker(cfg, project, folder)
        tracker.log("eval", step, {k: v for k, v in summary.items() if k.startswith(("accuracy", "autonomy", "format"))
                                   and v is not None})
        tracker.close()
    return summary


def read_evaluation(folder: Path) -> tuple[dict, dict[str, bool]] | None:
    """(summary, problem id → correct without routes) of an evaluation folder, or None."""
    try:
        summary = json.loads((folder / EVAL_SUMMARY).read_text(encoding="utf-8"))
        lines = (folder / EVAL_LEDGER).read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return None
    verdicts = {}
    for line in lines:
        try:
            row = json.loads(line)
            verdicts[row["problem_id"]] = bool(row["correct_without"])
        except (ValueError, KeyError, TypeError):
            continue
    return summary, verdicts


def heldout_accuracy(model, tokenizer, cfg: Config, project: Path, problems, routes_by_id: dict) -> dict:
    """Accuracy without and with routes on ``problems`` (the training-time learning curve)."""
    prompts = eval_prompts(cfg, problems, routes_by_id)
    ledger = score(project, cfg, problems, answer_problems(model, tokenizer, cfg, prompts), {})
    summary = summarize("curve", 0, ledger, problems, {}, None)
    return {"eval/accuracy_without_routes": summary["accuracy_without_routes"],
            "eval/accuracy_with_routes": summary["accuracy_with_routes"],
            "eval/autonomy_gap": summary["autonomy_gap"]}
