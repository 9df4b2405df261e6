"""How close is ``realm-engine preflight`` to a real run? The estimate, then the run, back to back.

    python bench/preflight_vs_run.py PROJECT [--recipe realm-r1] [--set k=v …]   # e.g. the demo project

Pre-flight dry-runs one worst-case step per stage; then the same recipe with the same settings
trains for real, and each stage's measured seconds per step (from the run's own ``progress``
events: the first step, and the mean of the rest) are printed beside the estimate, as markdown.
Back to back, so both see the same machine load. Not part of ``run_all.py``: a CPU takes tens
of minutes on the default model.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def measured(run) -> dict[str, list[float]]:
    """Seconds of each step per stage: stage start to step 1, then step to step."""
    from engine.events import PROGRESS, STAGE_STARTED, read_events

    out: dict[str, list[float]] = {}
    last: dict[str, float] = {}
    for event in read_events(run.events, {STAGE_STARTED, PROGRESS}):
        stage = event["stage"]
        if event["type"] == STAGE_STARTED:
            last[stage] = event["ts"]
        else:
            out.setdefault(stage, []).append(event["ts"] - last[stage])
            last[stage] = event["ts"]
    return out


def main() -> None:
    from engine.launch import train
    from engine.runs import RunFolder
    from engine.stages.preflight import preflight

    parser = argparse.ArgumentParser()
    parser.add_argument("project")
    parser.add_argument("--recipe", default="realm-r1")
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    project = Path(args.project)
    t0 = time.time()
    estimate = preflight(project, args.recipe, args.set)
    print(f"pre-flight: {time.time() - t0:.0f} s, ETA {estimate['eta_s']:.0f} s", flush=True)
    name = f"preflight-check-{time.strftime('%H%M%S')}"
    t0 = time.time()
    state = train(project, args.recipe, name, overrides=args.set)
    wall = time.time() - t0
    steps = measured(RunFolder(project, name))
    print(f"\nrun {name} ({args.recipe}): {state} in {wall:.0f} s\n")
    print("| stage | steps | pre-flight s/step (worst case) | measured: first step | measured: mean of the rest | "
          "pre-flight stage time | measured stage time |")
    print("|---|---|---|---|---|---|---|")
    for s in estimate["stages"]:
        real = steps.get(s["stage"], [])
        rest = statistics.mean(real[1:]) if len(real) > 1 else None
        print(f"| {s['stage']} | {s['steps']} | {s['seconds_per_step']:.1f} | {real[0]:.1f} | "
              f"{'-' if rest is None else f'{rest:.1f}'} | {s['seconds_per_step'] * s['steps']:.0f} s | {sum(real):.0f} s |")
    print(f"\nwhole run: pre-flight ETA {estimate['eta_s']:.0f} s, measured training {sum(map(sum, steps.values())):.0f} s "
          f"(wall {wall:.0f} s with model loading); peak memory "
          + ", ".join(f"{s['stage']} {s['peak_gib']:.2f} GiB" for s in estimate["stages"]))


if __name__ == "__main__":
    main()
