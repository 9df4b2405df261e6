"""Which part of ReaLM helps: one shared distillation, every RL variant from it, equal budgets.

    python bench/efficacy.py --project DIR [--size quick|medium|full] [--domain parcels|benefits]
                             [--set KEY=VALUE ...] [--only VARIANT ...] [--shared RUN]
                             [--reuse VARIANT=RUN ...] [--out docs/EFFICACY.md]

Variants, all evaluated with the same settings on every held-out problem of the domain:

* ``base``: the untrained model;
* ``rft``: the shared distillation alone (SFT on the positive routes);
* ``grpo``, ``realm-r1``, ``always-routes``, ``positives-only``: RL branched from that
  distillation (``train --from eff-rft:distill``), with the same RL steps, generations and
  learning rate: plain GRPO (never shows routes), MRPV + EAAI (routes faded out), MRPV without
  fading, MRPV showing only positive routes;
* ``realm-zero``: MRPV + EAAI from the base model, same RL budget.

The size's settings are the demo's (``engine.demo.run.SIZES``), plus a held-out learning curve
every ``eval.every_steps`` steps. A variant already trained and evaluated in the project is
reused, so an interrupted medium run continues where it stopped. Writes a Markdown report (the
table with 95 % intervals, the paired difference of each variant against ``rft``) and a PNG of
every variant's held-out curve beside it. ``--shared`` takes an rft run already in the project as
the shared distillation (a medium demo's ``…-distill`` run) and ``--reuse`` a finished run as a
variant (the demo's realm-r1 run), so a demo and its ablation share their training.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHARED = "eff-rft"  # the shared distillation every RL variant branches from


@dataclass(frozen=True)
class Variant:
    name: str
    recipe: str | None  # None: the base model
    branched: bool  # RL from the shared distillation
    what: str


VARIANTS = (
    Variant("base", None, False, "the untrained model"),
    Variant("rft", "rft", False, "distillation alone (SFT on positive routes)"),
    Variant("grpo", "grpo", True, "distillation → plain GRPO (routes never shown)"),
    Variant("realm-r1", "realm-r1", True, "distillation → MRPV + EAAI (routes faded out)"),
    Variant("always-routes", "always-routes", True, "distillation → MRPV without fading (p = 1)"),
    Variant("positives-only", "positives-only", True, "distillation → MRPV with positive routes only"),
    Variant("realm-zero", "realm-zero", False, "MRPV + EAAI from the base model"),
)
CURVE = {"quick": {"eval.every_steps": 25, "eval.curve_problems": 20},
         "medium": {"eval.every_steps": 30, "eval.curve_problems": 30},
         "full": {"eval.every_steps": 50, "eval.curve_problems": 60}}
CURVE_KEYS = ("eval/accuracy_without_routes", "eval/accuracy_with_routes")


def run_names(shared: str | None = None, reuse: dict[str, str] | None = None) -> dict[str, str]:
    """The run of each trained variant: ``eff-<variant>``, the shared distillation ``eff-rft``,
    unless another run of the project stands in for it."""
    names = {v.name: SHARED if v.recipe == "rft" else f"eff-{v.name}" for v in VARIANTS if v.recipe}
    if shared:
        names["rft"] = shared
    return {**names, **(reuse or {})}


def parse_sets(pairs: list[str]) -> dict:
    """``KEY=VALUE`` pairs with TOML-ish values (numbers, true/false, strings)."""
    out = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            out[key] = json.loads(text.lower() if text.lower() in ("true", "false") else text)
        except ValueError:
            out[key] = text
    return out


def measure(project: Path, variant: Variant, names: dict[str, str], say) -> dict:
    """Train (unless done) and evaluate (unless done) one variant; its evaluation summary."""
    from engine.launch import train
    from engine.project import base_eval_dir
    from engine.runs import RunFolder
    from engine.stages.evaluate import evaluate, read_evaluation

    if variant.recipe is None:
        done = read_evaluation(base_eval_dir(project))
        return done[0] if done else evaluate(project, None)
    name = names[variant.name]
    run = RunFolder(project, name)
    if run.read_status().get("state") != "finished":
        origin = f"{names['rft']}:distill" if variant.branched else None
        say(f"training {name} ({variant.what}) …")
        started = time.time()
        if train(project, variant.recipe, name, overrides=[], origin=origin) != "finished":
            raise SystemExit(f"run {name} did not finish; rerun this benchmark to resume it")
        say(f"  trained in {(time.time() - started) / 60:.1f} min")
    done = read_evaluation(run.eval_dir)
    return done[0] if done else evaluate(project, name)


def curve(project: Path, variant: Variant, names: dict[str, str]) -> dict[str, list[tuple[int, float]]]:
    """The variant's held-out curve by RL step (the distillation's curve for ``rft``)."""
    from engine.events import read_events
    from engine.runs import RunFolder

    if variant.recipe is None:
        return {}
    events = read_events(RunFolder(project, names[variant.name]).events, {"metrics"})
    stage = "distill" if variant.recipe == "rft" else "rl"
    return {key: [(e["step"], e["metrics"][key]) for e in events
                  if e.get("stage") == stage and e["metrics"].get(key) is not None]
            for key in CURVE_KEYS}


def verdicts(project: Path, variant: Variant, names: dict[str, str]) -> list[bool]:
    from engine.project import base_eval_dir
    from engine.runs import RunFolder
    from engine.stages.evaluate import read_evaluation

    folder = base_eval_dir(project) if variant.recipe is None else RunFolder(project, names[variant.name]).eval_dir
    by_problem = read_evaluation(folder)[1]
    return [by_problem[k] for k in sorted(by_problem)]


def report(project: Path, size: str, domain: str, summaries: dict, names: dict[str, str], minutes: float,
           png: str | None) -> str:
    from engine.method.stats import paired_difference_interval, wilson_interval
    from engine.textfmt import accuracy_cell

    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f} %"

    def points(x):  # a difference of two accuracies
        return "n/a" if x is None else f"{100 * x:+.1f} pts"

    lines = [f"### {domain}, size {size} ({time.strftime('%Y-%m-%d')}, {minutes:.0f} min on this machine)", "",
             "| variant | what it is | acc without routes [95 % CI] | acc with routes [95 % CI] | autonomy gap | "
             "format failures [95 % CI] | most common answer | vs rft without routes (paired 95 % CI) |",
             "|---|---|---|---|---|---|---|---|"]
    reference = verdicts(project, VARIANTS[1], names) if "rft" in summaries else None
    for variant in VARIANTS:
        s = summaries.get(variant.name)
        if s is None:
            continue
        n = s["n"]
        fails = round((s.get("format_failure_rate") or 0) * n)
        low, high = wilson_interval(fails, n)
        bias = s.get("answer_bias") or {}
        versus = ""
        if reference and variant.name != "rft":
            mine = verdicts(project, variant, names)
            if len(mine) == len(reference):
                d_low, d_high = paired_difference_interval(reference, mine)
                diff = sum(mine) / n - sum(reference) / n
                versus = f"{100 * diff:+.1f} ({100 * d_low:+.1f} to {100 * d_high:+.1f})"
        lines.append(f"| {variant.name} | {variant.what} | {accuracy_cell(s, 'without_routes')} | "
                     f"{accuracy_cell(s, 'with_routes')} | {points(s.get('autonomy_gap'))} | "
                     f"{pct(s.get('format_failure_rate'))} [{100 * low:.1f}, {100 * high:.1f}] | "
                     f"{bias.get('most_common')!r} ({pct(bias.get('share'))}) | {versus} |")
    settings = next(iter(summaries.values())).get("settings", {})
    lines += ["", f"{settings.get('n')} held-out problems ({settings.get('n_with_routes')} also with routes), greedy, "
                  f"{settings.get('max_new_tokens')} new tokens, K = {settings.get('k_show')}; problems digest "
                  f"`{settings.get('problems_digest')}`. Project: `{project}`."]
    if png:
        lines += ["", f"![held-out learning curves]({png})"]
    return "\n".join(lines) + "\n"


def plot_curves(curves: dict[str, dict], path: Path) -> bool:
    """One PNG: accuracy without routes (solid) and with routes (dashed) by step, per variant."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        import pyqtgraph as pg
        import pyqtgraph.exporters
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication
    except ImportError:
        return False
    app = QApplication.instance() or QApplication([])  # noqa: F841 - pyqtgraph needs one
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    plot = pg.PlotWidget(title="held-out accuracy during training (solid: without routes, dashed: with)")
    plot.resize(900, 520)
    plot.addLegend(offset=(10, 10))
    plot.setLabel("bottom", "step (of the variant's own stage)")
    plot.setLabel("left", "held-out accuracy")
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.setYRange(0, 1)
    palette = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
    for i, (name, series) in enumerate(curves.items()):
        color = palette[i % len(palette)]
        for key, style in zip(CURVE_KEYS, (Qt.SolidLine, Qt.DashLine)):
            points = series.get(key) or []
            if points:
                xs, ys = zip(*points)
                plot.plot(list(xs), list(ys), pen=pg.mkPen(color, width=2, style=style), symbol="o", symbolSize=5,
                          symbolBrush=color, name=name if style == Qt.SolidLine else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    exporter = pyqtgraph.exporters.ImageExporter(plot.plotItem)
    exporter.parameters()["width"] = 1100
    exporter.export(str(path))
    return path.exists()


def main(argv: list[str] | None = None) -> int:
    from engine.demo.run import DOMAINS, SIZES, prepare_project

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, required=True, help="project folder (created from the domain if new)")
    parser.add_argument("--size", choices=tuple(SIZES), default="quick")
    parser.add_argument("--domain", choices=tuple(DOMAINS), default="parcels")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting over the size's")
    parser.add_argument("--only", nargs="+", choices=[v.name for v in VARIANTS], help="measure only these variants")
    parser.add_argument("--shared", metavar="RUN", help="a finished rft run of the project as the shared distillation")
    parser.add_argument("--reuse", action="append", default=[], metavar="VARIANT=RUN",
                        help="a finished run of the project as that variant (same RL budget)")
    parser.add_argument("--out", type=Path, default=None, help="Markdown report (default: PROJECT/efficacy.md)")
    args = parser.parse_args(argv)
    say = lambda text: print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)  # noqa: E731
    started = time.time()
    settings = {**SIZES[args.size].settings, **CURVE[args.size], **parse_sets(args.set)}
    project = prepare_project(args.project, DOMAINS[args.domain], settings, say)
    names = run_names(args.shared, dict(pair.split("=", 1) for pair in args.reuse))
    summaries, curves = {}, {}
    for variant in VARIANTS:
        if args.only and variant.name not in args.only:
            continue
        summaries[variant.name] = measure(project, variant, names, say)
        curves[variant.name] = curve(project, variant, names)
        say(f"{variant.name}: {json.dumps({k: summaries[variant.name].get(k) for k in ('accuracy_without_routes', 'accuracy_with_routes')})}")
    out = args.out or project / "efficacy.md"
    png = out.with_name(f"efficacy-{args.domain}-{args.size}.png")
    drawn = plot_curves({k: v for k, v in curves.items() if v}, png)
    text = report(project, args.size, args.domain, summaries, names, (time.time() - started) / 60,
                  png.name if drawn else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)
    (project / f"efficacy-{args.size}.json").write_text(json.dumps({"summaries": summaries, "curves": curves}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
