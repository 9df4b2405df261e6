"""Routes: generate routes (``realm-engine routes``) and browse them against each other.

The top box runs the engine's ``routes`` verb with a progress bar and a Stop button (the
engine keeps finished problems, so a rerun resumes). A routes file imported again asks first
whether to replace its earlier routes (kept in ``routes/history/``: Undo brings them back) or
add to them; a failure is shown whole, with what to change. Below, the problem table
(filterable) and, for the selected problem, a positive and a negative route side by side with
the step where the negative goes wrong marked: the contrast MRPV trains on.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton,
                               QSpinBox, QSplitter, QTableView, QVBoxLayout, QWidget)

from engine import events as ev
from engine.config import load_config
from engine.data.history import kept_at, snapshots
from engine.errors import UserError
from engine.project import ROUTES_FILE, problems_path, routes_history_dir

from ..engine_client import EngineClient, EngineJob, command_line
from ..models.routes_model import ProblemFilterProxy, ProblemRoutesModel, RouteStore, routes_of_source
from ..widgets.qt_route_diff import QtRouteDiff
from . import QtPanel

SOURCE_KINDS = ("model", "endpoint", "file")
FIX_HINTS = {  # what to change in this box when the engine refuses a source
    "model": "Check the model id or folder in Source.",
    "endpoint": "Check the server URL in Source, and that the server is running.",
    "file": "Check the routes file in Source (Browse… picks one).",
}
ERROR_STYLE = "color: #d1242f"


class QtRoutesPanel(QtPanel):
    title = "Routes"

    def __init__(self, engine: EngineClient, parent: QWidget | None = None):
        super().__init__(engine, parent)
        self.job: EngineJob | None = None
        self.model = ProblemRoutesModel(self)
        self.proxy = ProblemFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.diff = QtRouteDiff()

        layout = QVBoxLayout(self)
        layout.addWidget(self._build_generate_box())
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False, handleWidth=8)
        self.splitter.addWidget(self._build_problem_list())
        self.splitter.addWidget(self.diff)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([420, 840])  # drag the handle to widen the problem list
        layout.addWidget(self.splitter, 1)

    # -- layout ----------------------------------------------------------------------------

    def _build_generate_box(self) -> QGroupBox:
        box = QGroupBox("Generate routes")
        self.source_kind = QComboBox()
        self.source_kind.addItems(SOURCE_KINDS)
        self.source_value = QLineEdit()
        self.source_value.setPlaceholderText("model id or folder · http://host:port/v1 · routes.jsonl")
        self.k = QSpinBox(minimum=1, maximum=256, value=8)
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=2.0, singleStep=0.1, value=0.8)
        self.guided = QCheckBox("guided (rules in the prompt)")
        self.generate_button = QPushButton("Generate")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.undo_button = QPushButton("Undo import", clicked=self.undo_routes)
        self.error = QLabel(wordWrap=True, styleSheet=ERROR_STYLE,
                            textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m problems")
        self.command = QLabel()
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        source = QHBoxLayout()
        source.addWidget(self.source_kind)
        source.addWidget(self.source_value, 1)
        form = QFormLayout(box)
        form.addRow("Source", source)
        row = QHBoxLayout()
        for label, widget in (("K", self.k), ("temperature", self.temperature)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addWidget(self.guided)
        row.addStretch(1)
        row.addWidget(self.generate_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.undo_button)
        form.addRow(row)
        form.addRow(self.progress)
        form.addRow(self.error)
        form.addRow("Command", self.command)
        for signal in (self.source_kind.currentIndexChanged, self.source_value.textChanged, self.k.valueChanged,
                       self.temperature.valueChanged, self.guided.toggled):
            signal.connect(self._show_command)
        self.generate_button.clicked.connect(self._on_generate)
        self.stop_button.clicked.connect(self._on_stop)
        return box

    def _build_problem_list(self) -> QWidget:
        self.contrastive_only = QCheckBox("contrastive only")
        self.has_positives = QCheckBox("has positives")
        self.search = QLineEdit()
        self.search.setPlaceholderText("search id or question")
        self.search.setClearButtonEnabled(True)
        for signal in (self.contrastive_only.toggled, self.has_positives.toggled, self.search.textChanged):
            signal.connect(self._apply_filters)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        for column, width in ((0, 120), (2, 36), (3, 36), (4, 36), (5, 84)):  # fixed: sizing to contents is O(rows)
            header.resizeSection(column, width)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the question takes what is left
        self.table.selectionModel().currentRowChanged.connect(self._on_problem_selected)
        self.shown = QLabel()
        filters = QHBoxLayout()
        filters.addWidget(self.contrastive_only)
        filters.addWidget(self.has_positives)
        filters.addWidget(self.search, 1)
        widget = QWidget()
        layout = QVBoxLayout(widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.shown)
        return widget

    # -- project ---------------------------------------------------------------------------

    def set_project(self, project_dir: Path | None) -> None:
        if project_dir is None or Path(project_dir) != self.project_dir:  # another project: nothing carries over
            for widget in (self.contrastive_only, self.has_positives, self.search):
                widget.blockSignals(True)
            self.contrastive_only.setChecked(False)
            self.has_positives.setChecked(False)
            self.search.clear()
            for widget in (self.contrastive_only, self.has_positives, self.search):
                widget.blockSignals(False)
            self.error.setText("")
        super().set_project(project_dir)
        self.generate_button.setEnabled(project_dir is not None and self.job is None)
        if project_dir is not None:
            self._fill_generate_box()
        self.reload()

    def _fill_generate_box(self) -> None:
        try:
            routes = load_config(self.project_dir).routes
        except UserError as err:
            self.sig_status.emit(str(err).splitlines()[0])
            return
        kind, _, value = routes.source.partition(":")
        if kind in SOURCE_KINDS:
            self.source_kind.setCurrentText(kind)
            self.source_value.setText(value)
        self.k.setValue(routes.k)
        self.temperature.setValue(routes.temperature)
        self.guided.setChecked(routes.guided)
        self._show_command()

    def reload(self) -> None:
        """Re-read routes.parquet (after a project change or a finished generation)."""
        store = RouteStore.load(self.project_dir) if self.project_dir is not None else None
        kept = snapshots(routes_history_dir(self.project_dir), ROUTES_FILE.name) if self.project_dir else []
        self.undo_button.setEnabled(bool(kept) and self.job is None)
        self.undo_button.setToolTip(f"Put back the route table kept at {kept_at(kept[-1])} (routes/history/)"
                                    if kept else "No earlier route table to go back to")
        self.model.set_store(store)
        self.diff.set_routes([], [])
        self._apply_filters()
        if self.proxy.rowCount():  # show a diff right away rather than an empty pane
            self.select_problem(0)
        if store is not None:
            contrastive = int(((store.counts[:, 0] > 0) & (store.counts[:, 1] > 0)).sum())
            self.sig_status.emit(f"{store.n_routes} routes · {len(store.problem_ids)} problems "
                                 f"({contrastive} contrastive)")
        elif self.project_dir is not None:
            self.sig_status.emit("no routes yet")
        self.diff.summary.setText(self.empty_text(store))

    def empty_text(self, store: RouteStore | None) -> str:
        """What to do next when there is nothing to browse ("" when there is)."""
        if self.project_dir is None:
            return "Create or open a project first (File › New project… or File › Open project…)."
        if not problems_path(self.project_dir).exists():
            return "Import data first: the Data page imports problems; routes are made for them."
        if store is None:
            return ("No routes yet: pick a source above and press Generate (a routes.jsonl file imports in "
                    "seconds; a model samples k routes per problem).")
        return self.diff.summary.text()

    def _apply_filters(self) -> None:
        self.proxy.set_filters(self.contrastive_only.isChecked(), self.has_positives.isChecked(), self.search.text())
        self.shown.setText(f"{self.proxy.rowCount()} of {self.model.rowCount()} problems")

    def select_problem(self, proxy_row: int) -> None:
        """Select a row of the (filtered) problem table, as a click would."""
        index = self.proxy.index(proxy_row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)

    def _on_problem_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        store = self.model.store
        if store is None or not current.isValid():
            self.diff.set_routes([], [])
            return
        problem = self.proxy.mapToSource(current).row()
        positives = [store.route(r) for r in store.route_rows(problem, "positive")]
        negatives = [store.route(r) for r in store.route_rows(problem, "negative")]
        self.diff.set_routes(positives, negatives, self.model.question(problem))

    # -- generation ------------------------------------------------------------------------

    def generate_args(self) -> list[str]:
        args = ["routes", str(self.project_dir or "DIR"),
                "--source", f"{self.source_kind.currentText()}:{self.source_value.text().strip()}",
                "--k", str(self.k.value()), "--temperature", f"{self.temperature.value():g}"]
        return args + (["--guided"] if self.guided.isChecked() else [])

    def _show_command(self) -> None:
        self.command.setText(command_line(self.generate_args()))

    def _on_generate(self) -> None:
        if self.project_dir is None or self.job is not None:
            return
        if not self.source_value.text().strip():
            self.error.setText("Give a source in Source: a model id or folder, an endpoint URL or a routes.jsonl file.")
            return
        source = f"{self.source_kind.currentText()}:{self.source_value.text().strip()}"
        earlier = routes_of_source(self.project_dir, source) if self.source_kind.currentText() == "file" else 0
        if not earlier:
            self.start_generate([])
            return
        dialog = QMessageBox(QMessageBox.Icon.Question, "Import this routes file again",
                             f"The project has {earlier} routes imported from this file before.", parent=self)
        dialog.setInformativeText("Replace: the file's routes take their place (the route table is kept in "
                                  "routes/history/: Undo import brings it back).\nAdd: the file's routes join them.")
        dialog.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        dialog.addButton("Add", QMessageBox.ButtonRole.AcceptRole)
        dialog.addButton(QMessageBox.StandardButton.Cancel)
        dialog.buttonClicked.connect(lambda button: self._on_replace_chosen(dialog.buttonRole(button)))
        dialog.open()

    def _on_replace_chosen(self, role: QMessageBox.ButtonRole) -> None:
        if role == QMessageBox.ButtonRole.DestructiveRole:
            self.start_generate([])
        elif role == QMessageBox.ButtonRole.AcceptRole:
            self.start_generate(["--append"])

    def undo_routes(self) -> None:
        """``routes --undo``: the route table before the last routes import comes back."""
        if self.project_dir is not None and self.job is None:
            self._run(["routes", str(self.project_dir), "--undo"])

    def start_generate(self, extra: list[str]) -> None:
        self.progress.setRange(0, 0)  # busy until the first progress event gives the total
        self._run(self.generate_args() + extra)
        self.sig_status.emit("generating routes…")

    def _run(self, args: list[str]) -> None:
        self.error.setText("")
        self.command.setText(command_line(args))
        self.job = self.engine.run(args)
        self.job.sig_event.connect(self._on_event)
        self.job.sig_finished.connect(self._on_finished)
        self.generate_button.setEnabled(False)
        self.undo_button.setEnabled(False)
        self.stop_button.setEnabled(True)

    def _on_stop(self) -> None:
        if self.job is not None:
            self.stop_button.setEnabled(False)
            self.sig_status.emit("stopping routes (finished problems are kept)…")
            self.job.terminate()

    def _on_event(self, event: dict) -> None:
        if event.get("type") == ev.PROGRESS:
            self.progress.setRange(0, max(int(event.get("total") or 0), 1))
            self.progress.setValue(int(event.get("step") or 0))
            eta = event.get("eta_s")
            if eta is not None:
                self.progress.setFormat(f"%v / %m problems · {float(eta):.0f} s left")
        elif event.get("type") == ev.ROUTES_DONE:
            self.sig_status.emit(f"routes: {event.get('routes', 0)} routes, {event.get('positives', 0)} positive, "
                                 f"{event.get('negatives', 0)} negative, {event.get('contrastive', 0)} problems "
                                 f"contrastive")

    def _on_finished(self, code: int) -> None:
        job, self.job = self.job, None
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if code == 0 else 0)
        self.progress.setFormat("%v / %m problems")
        self.generate_button.setEnabled(self.project_dir is not None)
        self.stop_button.setEnabled(False)
        self.reload()  # a stopped run kept its finished problems: show them too
        if code != 0:
            self.sig_status.emit("routes failed" if job and job.stderr_lines else "routes stopped")
            self.error.setText(self.failure_text(job))
        self.sig_changed.emit()

    def failure_text(self, job: EngineJob | None) -> str:
        """The engine's whole message, then what to change here."""
        lines = [line.removeprefix("error: ") for line in (job.stderr_lines if job else []) if line.strip()]
        if not lines:
            return ""
        return "\n".join(lines) + "\n" + FIX_HINTS.get(self.source_kind.currentText(), "")
