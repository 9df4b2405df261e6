"""Routes browser at scale: a 200,000-route ``routes.parquet`` in the Routes panel.

The parent writes the project (20 routes for each of 10,000 problems, labels mixed so some
problems are contrastive and some are not); an offscreen Qt child times what a user waits for:

* load: the panel opening the project (first load + table shown), then ``RouteStore.load`` again;
* filter: "contrastive only", then a text search (the first one builds the search index);
* select: clicking a problem until its routes are in the diff view.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import Row, peak_rss_mb, run_child

ROUTES_PER_PROBLEM = 20
STEP_TEXT = "Step {i}: the base fee is {a} EUR and the surcharge {b} EUR per kg over 2 kg, so {a} + {b} * 3 = {c}.\n"


def make_routes_project(folder: Path, n_routes: int = 200_000) -> Path:
    """A project whose routes.parquet holds ``n_routes`` routes of CoT length (~300 chars)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from engine.data.problems import PROBLEMS_FILE, Problem, write_problems
    from engine.project import init_project

    init_project(folder, answer_type="number")
    n_problems = max(n_routes // ROUTES_PER_PROBLEM, 1)
    write_problems(folder / PROBLEMS_FILE, [Problem(id=f"q{i}", question=f"What is the fee for parcel {i}?",
                                                    answer=str(i), answer_type="number", split="train")
                                            for i in range(n_problems)])
    rng = np.random.default_rng(0)
    problem = np.arange(n_routes) % n_problems
    # Per problem, the chance a route is right varies, so label mixes (and contrastive flags) vary too.
    right = rng.random(n_routes) < (problem % 10) / 10
    unparsed = rng.random(n_routes) < 0.05
    label = np.where(unparsed, "unparsed", np.where(right, "positive", "negative"))
    texts = ["".join(STEP_TEXT.format(i=s, a=r % 7 + 2, b=r % 5 + 1, c=r % 7 + 2 + 3 * (r % 5 + 1))
                     for s in (1, 2, 3)) + f"Answer: {r % 97}" for r in range(n_routes)]
    table = pa.table({
        "id": [f"r{r}" for r in range(n_routes)],
        "problem_id": [f"q{p}" for p in problem],
        "text": texts,
        "final_answer": [None if u else str(r % 97) for r, u in enumerate(unparsed)],
        "label": label.tolist(),
        "source": ["model:bench"] * n_routes,
        "temperature": np.full(n_routes, 0.8),
        "guided": np.zeros(n_routes, dtype=bool),
        "created": np.full(n_routes, 1_700_000_000, dtype=np.int64),
    })
    (folder / "routes").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "routes" / "routes.parquet")
    return folder


def child(project: Path) -> dict:
    from PySide6.QtWidgets import QApplication

    from realm_studio.engine_client import EngineClient
    from realm_studio.models.routes_model import RouteStore
    from realm_studio.panels.qt_routes_panel import QtRoutesPanel

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def timed(action) -> float:
        start = time.perf_counter()
        action()
        app.processEvents()  # the view repaints what changed
        return time.perf_counter() - start

    panel = QtRoutesPanel(EngineClient())
    panel.resize(1200, 800)
    panel.show()
    app.processEvents()
    open_s = timed(lambda: panel.set_project(project))  # first: pays pyarrow's imports, as a user does
    store_s = timed(lambda: RouteStore.load(project))
    n_problems = panel.model.rowCount()
    contrastive_s = timed(lambda: panel.contrastive_only.setChecked(True))
    shown_contrastive = panel.proxy.rowCount()
    panel.contrastive_only.setChecked(False)
    search_s = timed(lambda: panel.search.setText("parcel 123"))
    shown_search = panel.proxy.rowCount()
    select_s = timed(lambda: panel.select_problem(0))
    panel.close()
    return {"store_load_s": store_s, "open_s": open_s, "filter_contrastive_s": contrastive_s,
            "filter_text_s": search_s, "select_s": select_s, "problems": n_problems,
            "contrastive_rows": shown_contrastive, "search_rows": shown_search, "peak_rss_mb": peak_rss_mb()}


def measure(folder: Path, n_routes: int = 200_000) -> dict:
    project = make_routes_project(folder / "routes-project", n_routes)
    return run_child("routes_scale", str(project))


def run(folder: Path) -> list[Row]:
    result = measure(folder)
    note = f"200,000 routes, {result['problems']:,} problems"
    return [
        Row("routes_browser", "open project in panel", result["open_s"], "s",
            f"{note}; first load + model + table shown"),
        Row("routes_browser", "RouteStore.load again", result["store_load_s"], "s", "warm: imports done, file cached"),
        Row("routes_browser", "filter: contrastive only", result["filter_contrastive_s"], "s",
            f"{result['contrastive_rows']:,} rows shown"),
        Row("routes_browser", "filter: text search", result["filter_text_s"], "s",
            f"first search (builds index); {result['search_rows']:,} rows"),
        Row("routes_browser", "select a problem", result["select_s"], "s", "routes into the diff view"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("project", type=Path)
    print(json.dumps(child(parser.parse_args().project)))
