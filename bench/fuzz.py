"""The fuzz tests at a long budget: every test of tests/fuzz with ``REALM_FUZZ_SCALE`` times its
examples, exploring at random (the test suite replays a fixed, derandomized set), each case
timed through hypothesis's observability output.

    python -m bench.fuzz [--scale 20]

Figures: cases run per test (one parser or reader each), failing cases (a crash found: fix it
and keep the case as an ``@example``), and the slowest case with its test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from .common import OFFLINE_ENV, REPO, Row

FUZZ_TESTS = "tests/fuzz"


def measure(scale: float = 20, paths: tuple[str, ...] = (FUZZ_TESTS,)) -> dict:
    """Run the fuzz tests at ``scale`` times their budget; per test: cases, failures, slowest case."""
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as store:
        env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO), "REALM_FUZZ_SCALE": str(scale),
               "HYPOTHESIS_STORAGE_DIRECTORY": store, "HYPOTHESIS_EXPERIMENTAL_OBSERVABILITY": "1",
               "HYPOTHESIS_EXPERIMENTAL_OBSERVABILITY_NOCOVER": "1"}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths], cwd=REPO,
                              env=env, capture_output=True, text=True)
        lines = [line for f in Path(store).glob("observed/*testcases*.jsonl") for line in f.read_text().splitlines()]
    tests: dict[str, dict] = defaultdict(lambda: {"cases": 0, "failed": 0, "slowest_s": 0.0})
    for case in map(json.loads, lines):
        if case.get("type") != "test_case" or case.get("status") == "gave_up":
            continue
        test = tests[case["property"].split("::")[-1]]
        test["cases"] += 1
        test["failed"] += case["status"] == "failed"
        test["slowest_s"] = max(test["slowest_s"], case["timing"].get("execute:test", 0.0))
    summary = (proc.stdout.strip().splitlines() or [""])[-1]
    # pytest's short summary: "FAILED tests/fuzz/test_x.py::test_y - Error: first line", one per failing test
    failures = [line.removeprefix("FAILED ") for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
    return {"returncode": proc.returncode, "summary": summary, "tests": dict(tests), "failures": failures}


def run(quick: bool = False) -> list[Row]:
    scale = 2 if quick else 20
    result = measure(scale)
    tests = result["tests"]
    slowest = max(tests, key=lambda name: tests[name]["slowest_s"])
    rows = [Row("fuzz", "cases run", sum(t["cases"] for t in tests.values()), "cases",
                f"{len(tests)} tests at {scale}x the suite's budget: {result['summary']}"),
            Row("fuzz", "failing cases", sum(t["failed"] for t in tests.values()), "cases", "a crash's shrinking included"),
            Row("fuzz", "slowest case", tests[slowest]["slowest_s"], "s", slowest)]
    rows += [Row("fuzz", name, t["cases"], "cases",
                 f"slowest {t['slowest_s']:.3g} s" + (f", {t['failed']} failing" if t["failed"] else ""))
             for name, t in sorted(tests.items())]
    rows += [Row("fuzz", "crash found", 1, "test", failure[:300]) for failure in result["failures"]]
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=20)
    print(json.dumps(measure(parser.parse_args().scale), indent=2))
