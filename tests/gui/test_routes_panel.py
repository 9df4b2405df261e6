"""The Routes browser over a 200,000-route project: list, filters, side-by-side diff, generation."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_engine_client import FakeEngineClient
from PySide6.QtCore import Qt

from engine.config import Config, save_config
from engine.data.problems import Problem, write_problems
from engine.method.prompts import split_steps
from engine.method.route_diff import first_divergence
from realm_studio.panels.qt_routes_panel import QtRoutesPanel
from realm_studio.widgets.qt_route_diff import ANSWER_COLOURS, DIVERGENCE_COLOUR

N_PROBLEMS, K = 25_000, 8  # 200,000 routes


def route_label(problem: int, r: int) -> str:
    """Four kinds of problem: all positive, all negative, contrastive, unparsed + negative."""
    kind = problem % 4
    if kind == 0:
        return "positive"
    if kind == 1:
        return "negative"
    if kind == 2:
        return "positive" if r < 3 else "negative" if r < 6 else "unparsed"
    return "unparsed" if r < 2 else "negative"


def route_text(problem: int, answer: int) -> str:
    return f"Step 1: read p{problem}\nStep 2: compute\nStep 3: result {answer}\nAnswer: {answer}"


@pytest.fixture(scope="module")
def big_project(tmp_path_factory):
    project = tmp_path_factory.mktemp("routes-project")
    save_config(project, Config())
    write_problems(project / "data" / "problems.parquet",
                   [Problem(id=f"p{p}", question=f"How many in case {p}?", answer=str(p)) for p in range(N_PROBLEMS)])
    rows = {"id": [], "problem_id": [], "text": [], "final_answer": [], "label": []}
    for p in range(N_PROBLEMS):
        for r in range(K):
            label = route_label(p, r)
            answer = p if label == "positive" else p + 1
            rows["id"].append(f"p{p}-r{r}")
            rows["problem_id"].append(f"p{p}")
            rows["text"].append(route_text(p, answer) + f"\n(route {r})")
            rows["final_answer"].append("" if label == "unparsed" else str(answer))
            rows["label"].append(label)
    table = pa.table(rows).take(np.random.default_rng(0).permutation(N_PROBLEMS * K))  # routes interleaved
    n = len(table)
    table = (table.append_column("source", pa.array(["model:tiny"] * n))
                  .append_column("temperature", pa.array(np.full(n, 0.8)))
                  .append_column("guided", pa.array(np.zeros(n, dtype=bool)))
                  .append_column("created", pa.array(np.zeros(n))))
    (project / "routes").mkdir()
    pq.write_table(table, project / "routes" / "routes.parquet")
    return project


@pytest.fixture
def panel(qtbot, big_project):
    panel = QtRoutesPanel(FakeEngineClient())
    qtbot.addWidget(panel)
    statuses = []
    panel.sig_status.connect(statuses.append)
    panel.set_project(big_project)
    panel.statuses = statuses
    panel.show()  # clicks reach only shown widgets
    return panel


def row_of(panel, problem_id: str) -> int:
    matches = panel.proxy.match(panel.proxy.index(0, 0), Qt.ItemDataRole.DisplayRole, problem_id, 1,
                                Qt.MatchFlag.MatchExactly)
    assert matches, problem_id
    return matches[0].row()


def test_lists_every_problem_with_its_counts(panel):
    assert panel.model.rowCount() == N_PROBLEMS
    assert panel.statuses[-1] == f"{N_PROBLEMS * K} routes · {N_PROBLEMS} problems ({N_PROBLEMS // 4} contrastive)"
    row = row_of(panel, "p6")  # kind 2: 3 positive, 3 negative, 2 unparsed
    cells = [panel.proxy.index(row, c).data() for c in range(6)]
    assert cells == ["p6", "How many in case 6?", 3, 3, 2, "yes"]
    row = row_of(panel, "p7")
    assert [panel.proxy.index(row, c).data() for c in (2, 3, 4, 5)] == [0, 6, 2, ""]


@pytest.mark.parametrize(
    "contrastive, positives, text, expected",
    [
        (True, False, "", N_PROBLEMS // 4),
        (False, True, "", N_PROBLEMS // 2),
        (False, False, "case 1234?", 1),
        (False, False, "P24999", 1),  # ids match case-blind (p2499 would match ten)
        (False, True, "case 1233?", 0),  # 1233 % 4 == 1: negatives only
    ],
)
def test_filters(panel, qtbot, contrastive, positives, text, expected):
    if contrastive:
        qtbot.mouseClick(panel.contrastive_only, Qt.MouseButton.LeftButton)
    if positives:
        qtbot.mouseClick(panel.has_positives, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.search, text)
    assert panel.proxy.rowCount() == expected
    assert panel.shown.text() == f"{expected} of {N_PROBLEMS} problems"


def test_search_combines_with_contrastive_filter(panel, qtbot):
    qtbot.mouseClick(panel.contrastive_only, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.search, "case 1234?")  # 1234 % 4 == 2: contrastive
    assert panel.proxy.rowCount() == 1
    panel.search.clear()
    qtbot.keyClicks(panel.search, "case 1233?")  # 1233 % 4 == 1: negatives only
    assert panel.proxy.rowCount() == 0


def test_selecting_a_problem_shows_its_positive_and_negative_routes(panel, qtbot):
    panel.select_problem(row_of(panel, "p10"))
    positive, negative = panel.diff.shown_routes()
    assert positive.id in {"p10-r0", "p10-r1", "p10-r2"} and positive.label == "positive"
    assert negative.id in {"p10-r3", "p10-r4", "p10-r5"} and negative.label == "negative"
    assert [panel.diff.combos[i].count() for i in (0, 1)] == [3, 3]
    panel.diff.combos[1].setCurrentIndex(2)
    assert panel.diff.shown_routes()[1].id in {"p10-r3", "p10-r4", "p10-r5"} - {negative.id}


def test_highlighted_divergence_is_the_one_route_diff_finds(panel):
    panel.select_problem(row_of(panel, "p10"))
    positive, negative = panel.diff.shown_routes()
    expected = first_divergence(split_steps(positive.text), split_steps(negative.text))
    assert expected == 2  # "result 10" against "result 11"
    assert panel.diff.divergence_row == expected
    table = panel.diff.table
    assert [table.item(expected, side).background().color() for side in (0, 1)] == [DIVERGENCE_COLOUR] * 2
    assert table.item(0, 0).background().color() != DIVERGENCE_COLOUR
    # the "Answer: …" steps carry the extracted final answers
    assert table.item(3, 0).background().color() == ANSWER_COLOURS[0]
    assert table.item(3, 1).background().color() == ANSWER_COLOURS[1]


def test_problem_without_negatives_has_no_diff(panel):
    panel.select_problem(row_of(panel, "p0"))
    assert panel.diff.shown_routes()[1] is None
    assert panel.diff.divergence_row is None
    assert "needs a positive and a negative" in panel.diff.summary.text()


def test_generate_runs_the_routes_verb_and_stop_terminates_it(panel, qtbot, big_project):
    panel.source_kind.setCurrentText("endpoint")
    panel.source_value.clear()
    qtbot.keyClicks(panel.source_value, "http://localhost:8080/v1")
    panel.k.setValue(4)
    qtbot.mouseClick(panel.guided, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    job = panel.engine.jobs[-1]
    assert job.args == ["routes", str(big_project), "--source", "endpoint:http://localhost:8080/v1",
                        "--k", "4", "--temperature", "0.8", "--guided"]
    assert panel.command.text().startswith("realm-engine routes ")
    assert not panel.generate_button.isEnabled()
    job.sig_event.emit({"type": "progress", "stage": "routes", "step": 30, "total": 120, "eta_s": 9})
    assert (panel.progress.value(), panel.progress.maximum()) == (30, 120)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert job.terminated
    with qtbot.waitSignal(panel.sig_changed):
        job.finish(-1)
    assert panel.generate_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.model.rowCount() == N_PROBLEMS  # the routes kept on disk are shown again


def test_a_route_generation_error_is_shown_whole_with_what_to_change(panel, qtbot):
    panel.source_kind.setCurrentText("endpoint")
    panel.source_value.setText("http://localhost:9/v1")
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    message = ("error: endpoint http://localhost:9/v1: connection refused; this message is long enough that a status "
               "label would cut it, and it has a second line\nhint: start the server first")
    panel.engine.jobs[-1].finish(2, message)
    text = panel.error.text()
    assert "connection refused" in text and "it has a second line" in text and "start the server first" in text
    assert text.endswith("Check the server URL in Source, and that the server is running.")
    assert panel.error.wordWrap()


def test_an_empty_source_is_refused_beside_the_button(panel, qtbot):
    panel.source_value.clear()
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert panel.engine.jobs == [] and "Give a source in Source" in panel.error.text()
