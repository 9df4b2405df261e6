"""Run every benchmark and print one table with the machine it ran on.

    python bench/run_all.py [--quick] [--only NAME ...] [--out [PATH]]

``--quick`` shrinks the slow benchmarks (fewer RL rounds, 20,000 GUI events) to finish in about
two minutes; the full run takes a few. Results are written to a file only with ``--out``
(``bench/results.json`` unless a path follows).
Figures taken while other work loads the machine are noisy: the header shows the load average
at the start and at the end, so a reader can tell.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable as a package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cold_start, fuzz, gui_ingest, memory, rl_overhead, routes_scale, soak, verifier_speed  # noqa: E402
from bench.common import Row, machine  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"

# name -> fn(quick, scratch folder shared by the benchmarks of one suite run) -> rows
BENCHMARKS = {
    "rl_overhead": lambda quick, scratch: rl_overhead.run(quick),
    "verifier": lambda quick, scratch: verifier_speed.run(quick),
    "gui_ingest": lambda quick, scratch: gui_ingest.run(quick),
    "routes_browser": lambda quick, scratch: routes_scale.run(scratch),
    "cold_start": lambda quick, scratch: cold_start.run(),
    "memory": lambda quick, scratch: memory.run(scratch),
    "soak": lambda quick, scratch: soak.run(quick),  # the long ones: about 10 and 15 minutes on 2 cores
    "fuzz": lambda quick, scratch: fuzz.run(quick),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run_all.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (about two minutes in all)")
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, nargs="?", const=DEFAULT_OUT, metavar="PATH",
                        help="also write the results as JSON (default: bench/results.json)")
    return parser.parse_args(argv)


def format_value(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 0.01 else f"{value:.2e}"


def format_table(rows: list[Row], info: dict) -> str:
    """A Markdown table (pastes into docs/BENCHMARKS.md as it is), the machine stated above it."""
    lines = [f"Machine: {info['cpu']}, {info['cores']} cores · Python {info['python']} · torch {info['torch']} · "
             f"transformers {info['transformers']} · trl {info['trl']} · PySide6 {info['pyside6']}",
             f"Date: {info['date']} · load average (1 min) {info['load_avg_1m']} at start, "
             f"{info.get('load_avg_end', '?')} at end · {'quick' if info.get('quick') else 'full'} run, "
             f"{info.get('elapsed_s', 0):.0f} s",
             "",
             "| benchmark | metric | value | unit | note |",
             "|---|---|---:|---|---|"]
    lines += [f"| {r.bench} | {r.metric} | {format_value(r.value)} | {r.unit} | {r.note} |" for r in rows]
    return "\n".join(lines)


def run_benchmarks(names: list[str], quick: bool) -> tuple[list[Row], list[str]]:
    """All rows of the named benchmarks; a failing benchmark is reported and the others still run."""
    rows, failures = [], []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        for name in names:
            print(f"… {name}", file=sys.stderr, flush=True)
            start = time.perf_counter()
            try:
                rows += BENCHMARKS[name](quick, Path(scratch))
            except Exception as err:  # noqa: BLE001 (one broken benchmark must not hide the others)
                traceback.print_exc()
                failures.append(f"{name}: {err}")
            print(f"  {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return rows, failures


def main(argv: list[str] | None = None) -> int:
    import os

    args = parse_args(argv)
    info = machine() | {"quick": args.quick}
    start = time.perf_counter()
    rows, failures = run_benchmarks(args.only or list(BENCHMARKS), args.quick)
    info |= {"elapsed_s": time.perf_counter() - start, "load_avg_end": round(os.getloadavg()[0], 2)}
    print(format_table(rows, info))
    for failure in failures:
        print(f"FAILED {failure}")
    if args.out:
        args.out.write_text(json.dumps({"machine": info, "rows": [r.as_dict() for r in rows],
                                        "failures": failures}, indent=2) + "\n", encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
