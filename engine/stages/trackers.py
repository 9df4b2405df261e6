"""Experiment trackers (``train.report_to``): every metric a run logs, also sent to TensorBoard,
MLflow, Trackio or Weights & Biases, all local.

The run's own ``metrics`` events stay the truth; a tracker gets a copy of each, under
``<stage>/<name>`` (``rl/reward``, ``rl/fade/p``, ``distill/loss``: each stage counts its own
steps), and the held-out evaluation of the run as ``eval/<name>`` at the run's last step. We log
through each tracker's own client rather than transformers' ``report_to`` callbacks so that our
metrics (fade p, hinted fraction, tokens per second, evaluation) go there too, and so every
tracker writes inside the project, never to a server or an account:

- tensorboard: event files in ``runs/<run>/tensorboard/`` (``realm-engine tensorboard DIR`` shows them);
- mlflow: the project's local file store ``mlruns/``, experiment = project name, one MLflow run per run;
- trackio: the project's ``trackio/`` folder (its local SQLite store), project = project name;
- wandb: offline mode, files in ``runs/<run>/wandb/`` (``wandb sync`` uploads them later, if wanted).

Each opens on first use (rank 0 alone logs); a missing package refuses the run before it starts, in one
line naming the pip install.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from ..config import Config
from ..errors import UserError
from ..runs import RunFolder

PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "trackio": "trackio", "wandb": "wandb"}


def tensorboard_dir(run: RunFolder) -> Path:
    return run.path / "tensorboard"


def mlflow_uri(project: Path) -> str:
    return (Path(project).resolve() / "mlruns").as_uri()


def trackio_dir(project: Path) -> Path:
    return Path(project).resolve() / "trackio"


def require_tracker(kind: str) -> None:
    """Refuse a run whose tracker is not installed, before the run exists (not at its first log)."""
    import importlib.util

    if kind != "none" and importlib.util.find_spec(PACKAGES[kind]) is None:
        raise UserError(f"train.report_to = {kind!r} but {PACKAGES[kind]} is not installed",
                        hint=f"pip install {PACKAGES[kind]}, or set train.report_to = 'none'")


def launch_tensorboard(logdir: Path, port: int = 0) -> str:
    """Start TensorBoard on ``logdir`` in this process (its server runs in a thread); return its url."""
    try:
        from tensorboard import program
    except ImportError:
        raise UserError("tensorboard is not installed", hint="pip install tensorboard") from None
    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)])
    return board.launch()


class Tracker:
    """One run's tracker: ``log(stage, step, metrics)``, then ``close()``. ``none`` logs nothing."""

    def __init__(self, cfg: Config, project: Path, run: RunFolder):
        self.kind = cfg.train.report_to
        self.project, self.run, self.experiment = Path(project), run, cfg.project.name
        self._client = None
        if self.kind == "trackio":  # read once, when trackio is first imported (TRL's checkpoint saving imports it)
            os.environ["TRACKIO_DIR"] = str(trackio_dir(project))

    def log(self, stage: str, step: int, metrics: dict) -> None:
        values = {f"{stage}/{k}": float(v) for k, v in metrics.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        if self.kind == "none" or not values:
            return
        if self._client is None:
            self._client = self._open()
        self._client.log(stage, values, step)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _open(self):
        require_tracker(self.kind)
        return {"tensorboard": _TensorBoard, "mlflow": _MLflow, "trackio": _Trackio, "wandb": _Wandb}[self.kind](self)


class _TensorBoard:
    def __init__(self, tracker: Tracker):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(tensorboard_dir(tracker.run)))

    def log(self, stage: str, values: dict, step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class _MLflow:
    """The MLflow client on a file store; a resumed run continues its MLflow run (found by tag).
    MLflow 3 keeps file stores in maintenance behind MLFLOW_ALLOW_FILE_STORE; its SQL store would
    need the full mlflow package (SQLAlchemy) where mlflow-skinny is enough for this."""

    def __init__(self, tracker: Tracker):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=mlflow_uri(tracker.project))
        experiment = self.client.get_experiment_by_name(tracker.experiment)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(tracker.experiment)
        found = self.client.search_runs([experiment_id], f"tags.realm_run = '{tracker.run.name}'", max_results=1)
        self.run_id = found[0].info.run_id if found else self.client.create_run(
            experiment_id, run_name=tracker.run.name, tags={"realm_run": tracker.run.name}).info.run_id

    def log(self, stage: str, values: dict, step: int) -> None:
        from mlflow.entities import Metric

        now = int(1000 * time.time())
        self.client.log_batch(self.run_id, metrics=[Metric(k.replace("/", "."), v, now, step) for k, v in values.items()])

    def close(self) -> None:
        pass


class _Trackio:
    def __init__(self, tracker: Tracker):
        import trackio

        self.trackio = trackio
        trackio.init(project=tracker.experiment, name=tracker.run.name, resume="allow")

    def log(self, stage: str, values: dict, step: int) -> None:
        self.trackio.log(values, step=step)

    def close(self) -> None:
        self.trackio.finish()


class _Wandb:
    def __init__(self, tracker: Tracker):
        import wandb

        self.run = wandb.init(mode="offline", dir=str(tracker.run.path), project=tracker.experiment, name=tracker.run.name,
                              id=tracker.run.name, resume="allow")

    def log(self, stage: str, values: dict, step: int) -> None:
        # wandb's own step only grows, and each stage counts from 0: each stage gets its own step axis
        self.run.define_metric(f"{stage}/*", step_metric=f"{stage}/step")
        self.run.log({**values, f"{stage}/step": step})

    def close(self) -> None:
        self.run.finish()
