"""A user's session on a real X display, driven with real mouse and keyboard events (``xdrive``).

``python tests/gui/x_scenario.py main-path PROJECT OUT`` opens PROJECT through File › Open,
imports its routes file on the Routes page and reads a diff, saves a linear fade, starts a
realm-r1 run, stops it, resumes it to the end, evaluates the base model and the run, reads a
problem's answers and exports the run — writing OUT/report.json and screenshots of each page.
``smoke`` opens it and visits every page. ``heldout`` follows PROJECT's live run (one that logs
the held-out curve, ``eval.every_steps``) from the Runs page into Train, and shoots the curve once
two of its points are in. ``playground`` asks one held-out problem of the base model (A) and of
PROJECT's run ``$REALM_X_RUN`` with its candidate routes (B), and shoots both verdicts. ``evaluated``
opens that run's stored evaluation on the Evaluate page with a problem it fixed. ``screenshots`` walks the pages for the README's
pictures (docs/screenshots, from a project whose routes are imported), including
the route diff of one negative of each error kind. Run under Xvfb with QT_QPA_PLATFORM=xcb
(``tests/gui/test_real_x.py`` does).
"""

from __future__ import annotations

import os
import sys
import tomllib
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QPoint, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox  # noqa: E402

from realm_studio.main_window import QtMainWindow  # noqa: E402
from realm_studio.panels.qt_export_dialog import QtExportDialog  # noqa: E402
from xdrive import Driver, ScenarioFailed  # noqa: E402

ROUTES_FILE = "routes.jsonl"  # in the project folder, as x_project.make_x_project leaves it
RUN = "xrun"
KINDS = ("wrong_rule", "arithmetic_slip", "skipped_condition", "order_error")


def open_window(out: Path) -> tuple[QApplication, QtMainWindow]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QtMainWindow(settings=QSettings(str(out / "settings.ini"), QSettings.Format.IniFormat))
    window.move(0, 0)
    window.resize(1580, 970)
    window.show()
    window.raise_()
    window.activateWindow()
    return app, window


def step_button(drive: Driver, window: QtMainWindow, key: str):
    """Click a step of the workflow bar (again if a bare X server gave the first click to focus)."""
    for _attempt in range(3):
        drive.click(window.workflow.buttons[key])
        try:
            drive.wait_until(lambda: window.current_step() == key, f"the {key} page", 3)
            return window.panels[key]
        except ScenarioFailed:
            continue
    raise ScenarioFailed(f"three clicks did not open the {key} page")


def open_project(drive: Driver, window: QtMainWindow, project: Path) -> None:
    drive.key("ctrl+o")
    drive.wait_until(lambda: isinstance(QApplication.activeModalWidget(), QFileDialog), "File › Open's dialog", 30)
    dialog = QApplication.activeModalWidget()
    drive.fill(dialog.findChild(type(window.panels["routes"].search), "fileNameEdit"), str(project))
    drive.key("Return")
    drive.wait_until(lambda: window.project_dir == project and not dialog.isVisible()
                     and QApplication.activeModalWidget() is None, "the project to open and its dialog to close")
    drive.wait(0.5)  # the window gets the pointer back
    drive.step("opened the project with File › Open", title=window.windowTitle())


def routes_page(drive: Driver, window: QtMainWindow, project: Path) -> None:
    routes = step_button(drive, window, "routes")
    drive.choose(routes.source_kind, "file")
    drive.fill(routes.source_value, str(project / ROUTES_FILE))
    drive.click(routes.generate_button)
    drive.wait_until(lambda: routes.job is None and routes.model.rowCount() > 0, "the routes to be imported")
    table = routes.table
    drive.click(table.viewport(), table.visualRect(routes.proxy.index(2, 1)).center())
    drive.wait_until(lambda: routes.diff.wrong_step is not None, "a diff with a flagged step", 30)
    negative = routes.diff.shown_routes()[1]
    drive.check(routes.diff.wrong_step + 1 == negative.meta.get("corrupted_step"),
                f"flagged step {routes.diff.wrong_step + 1} is not the corrupted {negative.meta}")
    handle = routes.splitter.handle(1)
    before = routes.splitter.sizes()[0]
    drive.drag(handle, handle.rect().center(), handle.rect().center() + type(handle.rect().center())(200, 0))
    drive.check(routes.splitter.sizes()[0] > before + 100, "dragging the splitter widens the problem list")
    drive.step("imported routes and read a diff", routes=routes.model.store.n_routes,
               flagged=routes.diff.wrong_step + 1, kind=negative.meta.get("kind"))
    drive.shot("routes")


def fade_page(drive: Driver, window: QtMainWindow, project: Path) -> None:
    fade = step_button(drive, window, "fade")
    drive.choose(fade.schedule, "linear")
    drive.click(fade.save_button)
    drive.wait_until(lambda: tomllib.loads((project / "realm.toml").read_text())["fade"]["schedule"] == "linear",
                     "realm.toml to say schedule = linear", 10)
    drive.step("saved a linear fade")
    drive.shot("fade")


def train_page(drive: Driver, window: QtMainWindow, project: Path) -> None:
    train = step_button(drive, window, "train")
    drive.choose(train.form.recipe, "realm-r1")
    drive.fill(train.form.run_edit, RUN)
    drive.check(train.start_button.isEnabled(), f"Start is disabled: {train.form.error_label.text()}")
    drive.click(train.start_button)
    drive.wait_until(lambda: train.state == "running" and train.metrics.plot_of("loss").series,
                     "the run to be running and plotting")
    drive.check(window.engine_label.text().startswith("engine: training xrun"), window.engine_label.text())
    drive.click(train.stop_button)
    drive.wait_until(lambda: train.state == "paused", "Stop (save) to pause the run")
    drive.check(train.eta_label.text() == "", "a paused run shows no ETA")
    drive.step("started and stopped a realm-r1 run", state=train.state)
    drive.click(train.resume_button)
    drive.wait_until(lambda: train.state in ("starting", "running"), "Resume to start the engine", 30)
    drive.wait_until(lambda: train.state == "finished", "the resumed run to finish")
    drive.check(window.workflow.states["runs"] == "1 run", window.workflow.states["runs"])
    drive.check("rl" in train.metrics.plot_of("loss").stage_markers(), "the plots mark where rl begins")
    drive.step("resumed the run to the end", state=train.state)
    drive.shot("train")


def evaluate_page(drive: Driver, window: QtMainWindow) -> None:
    evaluate = step_button(drive, window, "evaluate")
    drive.click(evaluate.eval_base_button)
    drive.wait_until(lambda: evaluate.job is None and evaluate.base_ledger, "the base model's evaluation")
    drive.check(evaluate.selected_run() == RUN, f"the newest run is shown first: {evaluate.selected_run()}")
    drive.click(evaluate.eval_run_button)
    drive.wait_until(lambda: evaluate.job is None and evaluate.ledger and evaluate.selected_run() == RUN,
                     "the run's evaluation")
    table = evaluate.ledger_table
    drive.click(table.viewport(), table.visualItemRect(table.item(0, 1)).center())
    texts = evaluate.completions.texts
    drive.wait_until(lambda: texts[("run", "without")].toPlainText() != "", "the answers of the clicked problem", 10)
    drive.step("evaluated base and run, opened a problem's answers")
    drive.shot("evaluate")


def export_page(drive: Driver, window: QtMainWindow, out: Path) -> None:
    export = step_button(drive, window, "export")
    drive.click(export.export_button)
    drive.wait_until(lambda: export.findChild(QtExportDialog) is not None
                     and export.findChild(QtExportDialog).isVisible(), "the export dialog", 30)
    dialog = export.findChild(QtExportDialog)
    drive.fill(dialog.destination, str(out / "exported"))
    drive.click(dialog.export_button)
    drive.wait_until(lambda: dialog.job is None and dialog.result_label.text().startswith(("Verified", "NOT",
                                                                                         "Export failed")),
                     "the export")
    drive.check(dialog.result_label.text().startswith("Verified"), dialog.result_label.text())
    drive.step("exported the run", result=dialog.result_label.text())
    drive.shot("export")
    drive.click(dialog.buttons.button(dialog.buttons.StandardButton.Close))


def smoke(drive: Driver, window: QtMainWindow, project: Path, out: Path) -> None:
    """Open a project with File › Open and visit every page with the pointer."""
    open_project(drive, window, project)
    for key in window.panels:
        step_button(drive, window, key)
    drive.step("visited every page", pages=list(window.panels))
    drive.shot("smoke")


def main_path(drive: Driver, window: QtMainWindow, project: Path, out: Path) -> None:
    open_project(drive, window, project)
    routes_page(drive, window, project)
    fade_page(drive, window, project)
    train_page(drive, window, project)
    evaluate_page(drive, window)
    export_page(drive, window, out)


def screenshots(drive: Driver, window: QtMainWindow, project: Path, out: Path) -> None:
    """The README's pictures: every page, the diff of one negative of each error kind, the
    Train page during a realm-r1 run and with the no-learning-signal warning."""
    window.open_project(project)
    routes = step_button(drive, window, "routes")
    store = routes.model.store
    for kind in KINDS:
        row, index = next((r, i) for r in range(len(store.problem_ids))
                          for i, route_row in enumerate(store.route_rows(r, "negative"))
                          if store.route(route_row).meta.get("kind") == kind)
        routes.select_problem(row)
        drive.choose(routes.diff.combos[1], routes.diff.combos[1].itemText(index))
        drive.shot(f"routes-{kind.replace('_', '-')}")
    step_button(drive, window, "data")
    drive.shot("data")
    step_button(drive, window, "fade")
    drive.shot("fade")
    train = step_button(drive, window, "train")
    drive.choose(train.form.recipe, "realm-r1")
    drive.fill(train.form.run_edit, "r1-demo")
    drive.click(train.start_button)
    drive.wait_until(lambda: "rl" in train.metrics.plot_of("loss").stage_markers()
                     and train.metrics.plot_of("loss").series.get("rl: loss") is not None
                     and train.metrics.plot_of("loss").series["rl: loss"].size >= 3, "the rl stage to plot")
    drive.shot("train-realm-r1")
    drive.wait_until(lambda: train.signal_banner.isVisible() or train.state == "finished", "the run to go on")
    drive.wait_until(lambda: train.state == "finished", "the run to finish")
    drive.shot("train-no-learning-signal" if train.signal_banner.isVisible() else "train")
    evaluate = step_button(drive, window, "evaluate")
    drive.click(evaluate.eval_base_button)
    drive.wait_until(lambda: evaluate.job is None, "the base evaluation")
    drive.click(evaluate.eval_run_button)
    drive.wait_until(lambda: evaluate.job is None and evaluate.ledger, "the run's evaluation")
    table = evaluate.ledger_table
    drive.click(table.viewport(), table.visualItemRect(table.item(0, 1)).center())
    drive.shot("evaluate")
    step_button(drive, window, "runs")
    window.panels["runs"].select(["r1-demo"])
    drive.shot("runs")
    step_button(drive, window, "settings")
    drive.shot("settings")


def heldout(drive: Driver, window: QtMainWindow, project: Path, out: Path) -> None:
    window.open_project(project)
    runs = step_button(drive, window, "runs")
    live = [r["name"] for r in runs.runs if r.get("state") in ("running", "queued")]
    if not live:
        raise ScenarioFailed(f"no live run in {project} to follow")
    runs.select(live[:1])
    drive.click(runs.attach_button)
    train = window.panels["train"]
    drive.wait_until(lambda: window.current_step() == "train", "the Train page", 10)
    curve = train.metrics.plot_of("eval/accuracy_without_routes")
    drive.wait_until(lambda: any(line.size >= 2 for name, line in curve.series.items() if "without" in name),
                     "two points of the held-out curve", 3600)
    drive.shot("train-heldout-curve")


def playground(drive: Driver, window: QtMainWindow, project: Path, out: Path) -> None:
    window.open_project(project)
    page = step_button(drive, window, "playground")
    base, trained = page.columns
    drive.choose(page.problem, page.problem.itemText(1))  # the first held-out problem
    drive.choose(base.model, "base")
    drive.choose(trained.model, f"run:{os.environ['REALM_X_RUN']}")
    drive.wait_until(lambda: all(c.state.text().startswith("ready") for c in page.columns), "both models to load", 300)
    box = trained.routes  # laid out across the column: click its indicator, not the empty middle
    drive.click(box, QPoint(8, box.height() // 2))
    drive.wait_until(box.isChecked, "B's routes to be on", 10)
    drive.click(page.send_button)
    drive.wait_until(lambda: all(c.verdict.text() for c in page.columns), "both verdicts", 600)
    drive.shot("playground")


def evaluated(drive: Driver, window: QtMainWindow, project: Path, out: Path) -> None:
    """PROJECT's run ``$REALM_X_RUN``, evaluated before, on the Evaluate page with the answers of
    the first problem the base model got wrong and the run right (without and with routes) open."""
    window.open_project(project)
    evaluate = step_button(drive, window, "evaluate")
    run = os.environ["REALM_X_RUN"]
    drive.choose(evaluate.run_combo, run)
    drive.wait_until(lambda: evaluate.selected_run() == run and evaluate.ledger and evaluate.base_ledger,
                     "the run's and the base model's evaluations", 30)
    fixed = [r["problem_id"] for r in evaluate.ledger if r.get("correct_without") and r.get("correct_with")
             and not evaluate.base_ledger.get(r["problem_id"], {}).get("correct_without")]
    drive.check(bool(fixed), "a problem the run fixed")
    table = evaluate.ledger_table
    row = next(i for i in range(table.rowCount()) if table.item(i, 0).text() == fixed[0])
    table.scrollToItem(table.item(row, 1))
    drive.click(table.viewport(), table.visualItemRect(table.item(row, 1)).center())
    texts = evaluate.completions.texts
    drive.wait_until(lambda: texts[("run", "with")].toPlainText() != "", "the answers of the clicked problem", 10)
    drive.step(f"opened the answers to {fixed[0]}")
    drive.shot("evaluate")


def run(mode: str, project: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app, window = open_window(out)
    drive = Driver(app, out)
    drive.wait_until(lambda: window.windowHandle() is not None and window.windowHandle().isExposed(),
                     "the window to be on screen", 30)
    try:
        {"smoke": smoke, "main-path": main_path, "screenshots": screenshots, "heldout": heldout,
         "playground": playground, "evaluated": evaluated}[mode](drive, window, project, out)
    except (ScenarioFailed, Exception) as err:  # noqa: BLE001 (the report says what happened, the test fails)
        drive.shot("failure")
        drive.report(out / "report.json", False, f"{type(err).__name__}: {err}\n{traceback.format_exc()}")
        close(window, app)
        return 1
    drive.report(out / "report.json", True)
    close(window, app)
    return 0


def close(window: QtMainWindow, app: QApplication) -> None:
    for box in window.findChildren(QMessageBox):
        box.close()
    window.close()
    app.processEvents()


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve()))
