"""Soak: a simulated long RL run, 100,000 steps of the real event stream, and what stays bounded.

The stream comes from the engine's own code, only the model is missing: ``RunCallback``'s hooks
(a ``progress`` event and a status.json write every step, ``metrics`` from ``on_log`` with the
25 metric names TRL logs, a ``checkpoint`` every ``save_steps``) and the rl stage's
``rollout_plan`` and best/worst ``sample`` events. A step takes about a millisecond, so days of
events fit in minutes. What is measured:

* the log: events, bytes written, bytes on disk once rotated and compressed, parts;
* status.json: checked against the last event at every 1,000th step (state, step, total);
* a reader following the run (polled while it is written) and one replaying it afterwards;
* the GUI's peak RSS (Train panel, offscreen child) following the run live while it is written,
  and re-attaching to the whole history afterwards.

Checkpoint disk use needs the Trainer's own rotation, so ``checkpoint_soak`` measures it on a
real tiny-model run (tests/faults/test_long_run.py checks both with fewer steps).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from .common import OFFLINE_ENV, REPO, Row, peak_rss_mb, run_child
from .gui_ingest import TRL_METRICS

PROMPT = ("Question: A parcel of {kg} kg goes to zone {zone}. The base fee is 14 EUR; each kg over 2 costs 4 EUR; "
          "zone D adds 20 %. What is the fee?\nCandidate routes:\n") + "Step 1: base fee 14 EUR. Step 2: ... " * 6
COMPLETION = "Step 1: the base fee is 14 EUR.\nStep 2: {extra} kg over 2, so {extra} * 4 = {surcharge} EUR.\n" \
             "Step 3: zone D adds 20 %.\nAnswer: {answer}\n"


def write_run(project: Path, run_name: str, steps: int, *, part_bytes: int | None = None, save_steps: int = 1000,
              every: int = 1000, on_every=None) -> dict:
    """Write ``steps`` RL steps of events into a new run of ``project`` (created if needed), as
    the engine would; ``on_every(step)`` is called every ``every`` steps (checks, a follower's poll).
    Returns the run's figures."""
    from transformers import TrainerControl, TrainerState

    from engine.config import Config
    from engine.events import PART_BYTES, ROLLOUT_PLAN, RUN_FINISHED, RUN_STARTED, EventWriter
    from engine.project import init_project, is_project
    from engine.runs import RunFolder
    from engine.stages.context import RunCallback, RunContext

    if not is_project(project):
        init_project(project)
    run = RunFolder(project, run_name)
    run.path.mkdir(parents=True)
    events = EventWriter(run.events, run.name, part_bytes=part_bytes or PART_BYTES)
    ctx = RunContext(project=project, run=run, cfg=Config(), recipe="realm-zero", events=events)
    callback = RunCallback(ctx, "rl")
    args, control = SimpleNamespace(output_dir=str(run.checkpoint_dir("rl"))), TrainerControl()
    state = TrainerState(max_steps=steps)
    rng = random.Random(0)
    run.write_status(state="running", pid=os.getpid(), recipe="realm-zero", started=time.time())
    events.emit(RUN_STARTED, recipe="realm-zero", config_digest="soak", versions={}, device="none", resumed=False,
                world_size=1)
    callback.on_train_begin(args, state, control)
    started = time.perf_counter()
    for step in range(1, steps + 1):
        groups = [{"problem_id": f"p{rng.randrange(500)}", "hinted": rng.random() < 0.5, "k": 3} for _ in range(2)]
        events.emit(ROLLOUT_PLAN, stage="rl", step=step - 1, p=round(1 - step / steps, 4), groups=groups)
        for rank in ("best", "worst"):
            kg = rng.randrange(3, 30)
            text = COMPLETION.format(extra=kg - 2, surcharge=4 * (kg - 2), answer=14 + 4 * (kg - 2))
            events.sample("rl", step - 1, PROMPT.format(kg=kg, zone="D"), text, {"correctness": rng.random(),
                          "format": 1.0, "total": rng.random()}, groups[0]["hinted"], rank=rank,
                          problem_id=groups[0]["problem_id"])
        state.global_step = step
        callback.on_step_end(args, state, control)
        callback.on_log(args, state, control, logs={name: round(rng.random(), 6) for name in TRL_METRICS})
        if step % save_steps == 0:
            folder = Path(args.output_dir) / f"checkpoint-{step}"
            folder.mkdir(parents=True)
            callback.on_save(args, state, control)
        if on_every and step % every == 0:
            on_every(step)
    callback.on_train_end(args, state, control)
    run.write_status(state="finished", pid=None)
    events.emit(RUN_FINISHED, state="finished")
    seconds = time.perf_counter() - started
    parts = sorted(run.path.glob("events.*.jsonl*"))
    on_disk = sum(p.stat().st_size for p in parts) + run.events.stat().st_size
    return {"steps": steps, "seconds": seconds, "parts": len(parts), "live_bytes": run.events.stat().st_size,
            "disk_bytes": on_disk}


def raw_size(log: Path) -> tuple[int, int]:
    """(events, uncompressed bytes) of a whole rotated log."""
    from engine.events import EventTailer

    count = sum(1 for _ in EventTailer(log).drain(8 * 1024 * 1024))
    total = log.stat().st_size
    for part in log.parent.glob(f"{log.stem}.*{log.suffix}*"):
        if part.suffix == ".gz":
            with gzip.open(part, "rb") as handle:
                total += sum(len(block) for block in iter(lambda: handle.read(1 << 20), b""))
        else:
            total += part.stat().st_size
    return count, total


# ----------------------------------------------------------------------------- checkpoints


def checkpoint_usage(run) -> dict:
    """The run's checkpoint folders (every stage), its kept best results, and their bytes on disk."""
    from engine.fsutil import folder_bytes

    folders = [c for c in run.checkpoints.glob("*/checkpoint-*") if c.is_dir()]
    best = [b for b in run.path.glob("stages/*/best") if b.is_dir()]
    return {"checkpoints": len(folders), "best": len(best), "bytes": sum(map(folder_bytes, folders + best))}


def checkpoint_soak(folder: Path, model_dir: Path, steps: int) -> list[dict]:
    """A real tiny-model GRPO run checkpointing every step, with the held-out curve keeping its
    best: the checkpoint usage right after each save (the Trainer has rotated by then)."""
    from stage_testkit import make_project

    from engine.cli import main
    from engine.runs import RunFolder
    from engine.stages import context

    project = make_project(folder / "proj", model_dir, settings={"rl.save_steps": 1, "eval.every_steps": 2,
                                                                 "eval.keep_best": True, "eval.curve_problems": 2})
    run, usage, real = RunFolder(project, "checkpoints"), [], context.RunCallback.on_save

    def on_save(self, args, state, control, **kwargs):
        result = real(self, args, state, control, **kwargs)
        usage.append({"step": state.global_step, **checkpoint_usage(run)})
        return result
    context.RunCallback.on_save = on_save
    try:
        assert main(["train", str(project), "--recipe", "grpo", "--run", run.name, "--max-steps", str(steps)]) == 0
    finally:
        context.RunCallback.on_save = real
    return usage


# ----------------------------------------------------------------------------- the GUI child


def child(project: Path, run_name: str, until_steps: int, live: bool) -> dict:
    """The Train panel following ``run_name`` (live: while another process writes it) until its
    last step is plotted; RSS sampled once a second."""
    from PySide6.QtWidgets import QApplication

    from realm_studio.engine_client import EngineClient
    from realm_studio.panels.qt_train_panel import QtTrainPanel
    from realm_studio.widgets.qt_live_metrics import series_name

    app = QApplication.instance() or QApplication(sys.argv[:1])
    panel = QtTrainPanel(EngineClient())
    panel.resize(1200, 800)
    panel.show()
    deadline = time.monotonic() + 3600
    while live and not (project / "runs" / run_name / "events.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    start = time.perf_counter()
    panel.set_project(project)
    panel.attach(run_name)
    loss, name = panel.metrics.plot_of("loss"), series_name("rl", "loss")  # each stage's loss is a series of its own
    samples, last = [], time.perf_counter()

    def last_step() -> float:
        return loss.series[name].x[-1] if name in loss.series and loss.series[name].size else 0

    while last_step() < until_steps and time.monotonic() < deadline:
        app.processEvents()
        if time.perf_counter() - last > 1:
            samples.append(_rss_mb())
            last = time.perf_counter()
        time.sleep(0.005)
    seconds = time.perf_counter() - start
    panel.metrics.redraw()
    points = loss.curve_point_count(name)
    panel.shutdown()
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "rss_samples_mb": samples, "loss_points_drawn": points,
            "last_step": last_step()}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ----------------------------------------------------------------------------- the soak


def measure(steps: int = 100_000, part_bytes: int | None = None) -> dict:
    from engine.events import iter_events
    from engine.runs import RunFolder

    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        project = Path(tmp) / "project"
        env = {**OFFLINE_ENV, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
        follower = subprocess.Popen([sys.executable, "-m", "bench.soak", "--child", str(project), "soak", str(steps),
                                     "live"], cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
        run = RunFolder(project, "soak")
        checks = {"status_checks": 0, "status_mismatches": 0}

        def check_status(step: int) -> None:
            status = run.read_status()
            checks["status_checks"] += 1
            if (status["state"], status["step"], status.get("total_steps")) != ("running", step, steps):
                checks["status_mismatches"] += 1
        figures = write_run(project, "soak", steps, part_bytes=part_bytes, on_every=check_status)
        live_gui = json.loads(follower.communicate(timeout=3600)[0].strip().splitlines()[-1])
        events, raw_bytes = raw_size(run.events)
        replay_start = time.perf_counter()
        replayed = sum(1 for _ in iter_events(run.events))
        replay_s = time.perf_counter() - replay_start
        reattach = run_child("soak", str(project), "soak", str(steps), "replay", timeout=3600)
        final = run.read_status()
    return {**figures, **checks, "events": events, "raw_bytes": raw_bytes, "replayed": replayed, "replay_s": replay_s,
            "final_state": final["state"], "gui_live": live_gui, "gui_reattach": reattach}


def checkpoint_figures(steps: int) -> dict:
    """``checkpoint_soak`` in a scratch folder, with the tiny test model."""
    from tiny_model import make_tiny_model

    with tempfile.TemporaryDirectory(prefix="bench-checkpoints-") as tmp:
        usage = checkpoint_soak(Path(tmp), make_tiny_model(Path(tmp) / "model"), steps)
    return {"steps": steps, "usage": usage, "max_checkpoints": max(u["checkpoints"] for u in usage),
            "max_best": max(u["best"] for u in usage), "max_mb": max(u["bytes"] for u in usage) / 1e6,
            "first_mb": usage[0]["bytes"] / 1e6}


def run(quick: bool = False) -> list[Row]:
    steps = 20_000 if quick else 100_000
    r = measure(steps)
    c = checkpoint_figures(10 if quick else 40)
    note = f"{steps:,} RL steps, {r['events']:,} events"
    return [
        Row("soak", "checkpoint folders, most at once", c["max_checkpoints"], "",
            f"tiny model, {c['steps']} steps saving every step; plus {c['max_best']} best"),
        Row("soak", "checkpoint disk use, most", c["max_mb"], "MB", f"{c['first_mb']:.2f} MB after the first save"),
        Row("soak", "events written", r["events"], "events", note),
        Row("soak", "log written", r["raw_bytes"] / 1e6, "MB", f"{r['parts']} rotated parts + the live log"),
        Row("soak", "log on disk", r["disk_bytes"] / 1e6, "MB", "parts gzip-compressed"),
        Row("soak", "live log at the end", r["live_bytes"] / 1e6, "MB"),
        Row("soak", "status.json checks failed", r["status_mismatches"], "", f"of {r['status_checks']}"),
        Row("soak", "replay (iter_events)", r["replay_s"], "s", f"{r['replayed']:,} events"),
        Row("soak", "GUI peak RSS, following live", r["gui_live"]["peak_rss_mb"], "MB",
            f"last step plotted {r['gui_live']['last_step']:,.0f}"),
        Row("soak", "GUI peak RSS, re-attach to the history", r["gui_reattach"]["peak_rss_mb"], "MB",
            f"{r['gui_reattach']['seconds']:.0f} s to the last step"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="python -m bench.soak [--steps N]: the soak's figures as JSON")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--child", nargs=4, metavar=("PROJECT", "RUN", "STEPS", "MODE"), help="(the GUI child)")
    args = parser.parse_args()
    if args.child:
        project, run_name, steps, mode = args.child
        print(json.dumps(child(Path(project), run_name, int(steps), mode == "live")))
    else:
        print(json.dumps(measure(args.steps), indent=2))
