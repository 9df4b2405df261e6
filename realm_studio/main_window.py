"""The main window: a project, the workflow bar, one page per step, and the engine's state.

The window owns no data: each panel reads the project folder itself when told which project
is open, and reports a one-line state that the workflow bar shows under the step's name, so
the user sees at a glance how far the project has come (Data → … → Export).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QButtonGroup, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QStackedWidget,
                               QToolButton, QVBoxLayout, QWidget)

from engine.config import load_config
from engine.errors import UserError

from .engine_client import EngineClient, command_line
from .first_start import DemoSetup, QtFirstStartBanner, demo_locations, existing_demo
from .models.run_state import is_live
from .panels import QtPanel
from .panels.qt_data_panel import QtDataPanel
from .panels.qt_eval_panel import QtEvalPanel
from .panels.qt_export_panel import QtExportPanel
from .panels.qt_fade_panel import QtFadePanel
from .panels.qt_new_project_dialog import QtNewProjectDialog
from .panels.qt_playground_panel import QtPlaygroundPanel
from .panels.qt_rewards_panel import QtRewardsPanel
from .panels.qt_routes_panel import QtRoutesPanel
from .panels.qt_runs_panel import QtRunsPanel
from .panels.qt_settings_panel import QtSettingsPanel
from .panels.qt_train_panel import QtTrainPanel
from .qt_run_notifier import QtRunNotifier

# (key, panel class, label); the first six form the workflow.
STEPS: tuple[tuple[str, type[QtPanel], str], ...] = (
    ("data", QtDataPanel, "Data"),
    ("routes", QtRoutesPanel, "Routes"),
    ("fade", QtFadePanel, "Fade curve"),
    ("train", QtTrainPanel, "Train"),
    ("evaluate", QtEvalPanel, "Evaluate"),
    ("export", QtExportPanel, "Export"),
    ("runs", QtRunsPanel, "Runs"),
    ("settings", QtSettingsPanel, "Settings"),
    ("rewards", QtRewardsPanel, "Rewards"),  # side pages: the reward bench, and trying the models
    ("playground", QtPlaygroundPanel, "Playground"),
)
WORKFLOW_LENGTH = 6
MAX_RECENT = 8


class QtWorkflowBar(QWidget):
    """Left-to-right step buttons, each with the step's name and its current state."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.buttons: dict[str, QToolButton] = {}
        self.labels: dict[str, str] = {}
        self.states: dict[str, str] = {}
        self.group = QButtonGroup(self, exclusive=True)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 0)

    def add_step(self, key: str, label: str, arrow: bool) -> QToolButton:
        if arrow:
            self._layout.addWidget(QLabel("→"))
        elif len(self.buttons) == WORKFLOW_LENGTH:  # the side pages (Runs, Settings): set apart from the chain
            self._layout.addStretch(1)
        button = self.buttons[key] = QToolButton(checkable=True, autoRaise=True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setMinimumWidth(120)
        self.labels[key] = label
        self.group.addButton(button)
        self._layout.addWidget(button)
        self.set_state(key, "")
        return button

    def set_state(self, key: str, state: str) -> None:
        self.states[key] = state
        self.buttons[key].setText(f"{self.labels[key]}\n{state or ' '}")


class QtMainWindow(QMainWindow):
    """Open/create a project and move through its workflow steps."""

    def __init__(self, engine: EngineClient | None = None, settings: QSettings | None = None):
        super().__init__()
        self.engine = engine or EngineClient(self)
        self.settings = settings or QSettings("ReaLM", "ReaLM Studio")
        self.project_dir: Path | None = None
        self.setWindowTitle("ReaLM Studio")
        self.workflow = QtWorkflowBar()
        self.stack = QStackedWidget()
        self.panels: dict[str, QtPanel] = {}
        for index, (key, panel_class, label) in enumerate(STEPS):
            panel = self.panels[key] = panel_class(self.engine)
            button = self.workflow.add_step(key, label, arrow=0 < index < WORKFLOW_LENGTH)
            button.clicked.connect(lambda _on=False, key=key: self.show_step(key))
            panel.sig_status.connect(lambda text, key=key: self.workflow.set_state(key, text))
            panel.sig_changed.connect(lambda key=key: self._on_panel_changed(key))
            panel.set_project(None)  # its empty state: what to do first
            self.stack.addWidget(panel)
        self.panels["runs"].sig_attach.connect(self._on_attach_run)
        self.panels["runs"].sig_resume.connect(self._on_resume_run)
        self.panels["train"].sig_run_state.connect(self._on_run_state)
        self.banner = QLabel(wordWrap=True, styleSheet="color: #d1242f; padding: 4px")
        self.banner.hide()
        self.first_start = QtFirstStartBanner()
        self.first_start.sig_open_demo.connect(self.open_demo)
        self.first_start.setVisible(not self.recent_projects())
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.workflow)
        layout.addWidget(self.banner)
        layout.addWidget(self.first_start)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.project_label = QLabel("No project")
        self.engine_label = QLabel()
        self.run_state = ("", "")  # (run, state) the Train page follows
        self.statusBar().addWidget(self.project_label, 1)
        self.statusBar().addPermanentWidget(self.engine_label)
        self.engine.sig_state.connect(lambda _state: self._show_engine_state())
        self._show_engine_state()
        self.notifier = QtRunNotifier(self)  # a desktop notification when a run ends (issue 14)
        self.notifier.sig_notified.connect(lambda title, text: self.statusBar().showMessage(f"{title}: {text}", 60000))
        self._build_menus()
        self._restore()

    # -- menus and settings --------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New project…", QKeySequence.StandardKey.New, self._on_new_project)
        self._action(file_menu, "&Open project…", QKeySequence.StandardKey.Open, self._on_open_project)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence("Ctrl+Q"), self.close)
        go_menu = self.menuBar().addMenu("&Go")
        for index, (key, _panel_class, label) in enumerate(STEPS, start=1):  # Ctrl+1 … Ctrl+9, then Ctrl+0
            self._action(go_menu, label, QKeySequence(f"Ctrl+{index % 10}"), lambda key=key: self.show_step(key))
        self._fill_recent_menu()

    def _action(self, menu, text, shortcut, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def recent_projects(self) -> list[str]:
        value = self.settings.value("recent_projects", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_projects():
            self.recent_menu.addAction(path, lambda path=path: self.open_project(Path(path)))
        self.recent_menu.setEnabled(bool(self.recent_projects()))

    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = self.settings.value("window_state")
        if state is not None:
            self.restoreState(state)
        self.show_step(str(self.settings.value("step", "data")))

    # -- project ------------------------------------------------------------------------

    def open_project(self, project_dir: Path) -> bool:
        """Show ``project_dir`` in every panel; a folder without a valid realm.toml is refused."""
        project_dir = Path(project_dir).resolve()
        try:
            cfg = load_config(project_dir)
        except UserError as err:
            self.show_error(str(err).splitlines()[0])
            return False
        self.show_error("")
        self.first_start.hide()
        self.project_dir = project_dir
        self.run_state = ("", "")
        self._show_engine_state()
        self.setWindowTitle(f"{cfg.project.name} — ReaLM Studio")
        self.project_label.setText(str(project_dir))
        for panel in self.panels.values():
            panel.set_project(project_dir)
        self.notifier.set_project(project_dir)
        recent = [str(project_dir)] + [p for p in self.recent_projects() if p != str(project_dir)]
        self.settings.setValue("recent_projects", recent[:MAX_RECENT])
        self._fill_recent_menu()
        return True

    def create_project(self, project_dir: Path, options: list[str] = ()) -> None:
        """Run ``init`` (``options``: --model, --answer-type) and open the new project when it is done."""
        args = ["init", str(project_dir), *options]
        self.statusBar().showMessage(command_line(args), 10000)
        job = self.engine.run(args)
        job.sig_finished.connect(lambda code: self.open_project(project_dir) if code == 0
                                 else self.show_error(job.error_line or f"init failed (exit {code})"))

    def open_demo(self) -> None:
        """Open the demo project, setting it up through the engine first when there is none."""
        folder = existing_demo()
        if folder is not None:
            self.open_project(folder)
            return
        setup = DemoSetup(self.engine, demo_locations()[-1], self)
        setup.sig_step.connect(self.first_start.show_progress)
        setup.sig_step.connect(lambda text: self.statusBar().showMessage(text, 10000))
        setup.sig_failed.connect(self.first_start.show_failure)
        setup.sig_done.connect(lambda folder: self.open_project(folder) and self.show_step("routes"))
        setup.start()

    def show_error(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def new_project_dialog(self) -> QtNewProjectDialog:
        """File › New project: asks folder, model and answer type, then runs ``init``."""
        dialog = QtNewProjectDialog(self)
        dialog.accepted.connect(lambda: self.create_project(Path(dialog.folder.text().strip()), dialog.init_args()[2:]))
        dialog.open()
        return dialog

    def _on_new_project(self) -> None:
        self.new_project_dialog()

    def open_project_dialog(self) -> QFileDialog:
        """File › Open project: a folder chooser that never blocks the window (no nested event loop)."""
        dialog = QFileDialog(self, "Open project folder", str(self.project_dir.parent if self.project_dir else ""))
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
        dialog.fileSelected.connect(lambda folder: self.open_project(Path(folder)))
        dialog.open()
        return dialog

    def _on_open_project(self) -> None:
        self.open_project_dialog()

    # -- steps --------------------------------------------------------------------------

    def show_step(self, key: str) -> None:
        if key not in self.panels:
            key = "data"
        self.stack.setCurrentWidget(self.panels[key])
        self.workflow.buttons[key].setChecked(True)

    def current_step(self) -> str:
        return next(key for key, panel in self.panels.items() if panel is self.stack.currentWidget())

    def _on_panel_changed(self, source: str) -> None:
        """A panel wrote project files: the others re-read the disk."""
        for key, panel in self.panels.items():
            if key != source and self.project_dir is not None:
                panel.set_project(self.project_dir)

    def _on_attach_run(self, run_name: str) -> None:
        self.panels["train"].attach(run_name)
        self.show_step("train")

    def _on_resume_run(self, run_name: str) -> None:
        self.show_step("train")
        self.panels["train"].resume_run(run_name)

    def _on_run_state(self, run_name: str, state: str) -> None:
        """The followed run changed state: the status bar and the Runs list say so at once."""
        self.run_state = (run_name, state)
        self._show_engine_state()
        self.panels["runs"].refresh()

    def _show_engine_state(self) -> None:
        """"engine: idle" only when no job runs and the followed run is not live."""
        run, state = self.run_state
        training = f"training {run} ({state})" if run and is_live(state) else ""
        jobs = "" if self.engine.state == "idle" else self.engine.state
        self.engine_label.setText("engine: " + (" · ".join(p for p in (training, jobs) if p) or "idle"))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """Save the layout and stop our own jobs; detached training runs keep going."""
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("step", self.current_step())
        self.settings.sync()
        for panel in self.panels.values():
            panel.shutdown()
        self.notifier.stop()
        self.engine.terminate_all()
        super().closeEvent(event)
