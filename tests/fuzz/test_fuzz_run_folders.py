"""Fuzzing what the GUI reads from a run folder it did not write: status.json, config.toml, the
event log (well-formed JSON with wrong field types: an older or newer engine, a damaged disk),
checkpoint folders and the evaluation files.

The property: every panel that shows runs (Train, Runs, Evaluate) and the run listing open the
project without an exception, whatever is in the folder, and show the run (as what it is, or as
"unknown"): one damaged run never takes the window, or the other runs, down.
"""

from __future__ import annotations

import json
import uuid

import pytest
import tomli_w
from fuzz_testkit import budget
from hypothesis import example, given
from hypothesis import strategies as st

from engine.config import Config, config_to_toml, save_config
from engine.runs import RunFolder, list_runs

huge = st.integers(2**31, 10**30)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10), huge, st.floats(), st.text(max_size=10),
                    st.sampled_from(["running", "finished", "rl", "distill", "loss"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                              max_size=3), max_leaves=5)
STATUS_KEYS = ["state", "pid", "step", "total_steps", "stage", "recipe", "started", "updated", "eta_s", "error"]
EVENT_KEYS = ["stage", "step", "total", "total_steps", "start_step", "eta_s", "throughput", "metrics", "message", "level",
              "state", "hint", "prompt", "completion", "rewards", "hinted", "rank", "resumed", "recipe", "device", "stopped"]
EVENT_TYPES = ["run_started", "stage_started", "stage_finished", "progress", "metrics", "sample", "checkpoint", "log",
               "warning", "error", "run_finished", "log_part", "rollout_plan", "unknown"]


def _json(value) -> bytes:
    try:
        return json.dumps(value).encode()
    except ValueError:
        return b"{"


status_files = st.one_of(st.dictionaries(st.sampled_from(STATUS_KEYS), values, max_size=6).map(_json),
                         values.map(_json), st.binary(max_size=30))
events = st.fixed_dictionaries({"type": st.sampled_from(EVENT_TYPES)},
                               optional={key: values for key in EVENT_KEYS}).map(_json)
event_logs = st.lists(events | st.binary(max_size=20), max_size=25).map(lambda lines: b"\n".join(lines) + b"\n")
def _toml(raw: dict) -> bytes:
    try:
        return tomli_w.dumps(raw).encode()
    except TypeError:  # a null: TOML has none
        return b"recipe = 3"


config_files = st.one_of(st.just(config_to_toml(Config()).encode()), st.binary(max_size=40), st.just(b"v = 1" + b"0" * 5000),
                         st.dictionaries(st.sampled_from(["recipe", "rl", "fade"]), values, max_size=3).map(_toml))
checkpoint_names = st.lists(st.sampled_from(["checkpoint-2", "checkpoint-x", "checkpoint-", "checkpoint-99999999999999999999",
                                             "other"]), max_size=3)
summaries = st.one_of(st.dictionaries(st.sampled_from(["accuracy_without_routes", "accuracy_with_routes", "autonomy_gap",
                                                       "format_failure_rate", "n", "model"]), values, max_size=5).map(_json),
                      values.map(_json), st.binary(max_size=20))
ledgers = st.lists(st.dictionaries(st.sampled_from(["problem_id", "question", "correct_without", "base_correct_without",
                                                    "answer_without", "correct_with"]), values, max_size=4).map(_json)
                   | values.map(_json), max_size=4).map(lambda lines: b"\n".join(lines))


def _write(folder, name: str, data: bytes | None) -> None:
    if data is not None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@pytest.fixture
def panels(qtbot):
    from realm_studio.engine_client import EngineClient
    from realm_studio.panels.qt_eval_panel import QtEvalPanel
    from realm_studio.panels.qt_runs_panel import QtRunsPanel
    from realm_studio.panels.qt_train_panel import QtTrainPanel

    client = EngineClient()  # never asked to start anything here
    made = [QtTrainPanel(client), QtRunsPanel(client), QtEvalPanel(client)]
    for panel in made:
        qtbot.addWidget(panel)
    yield made
    for panel in made:
        panel.set_project(None)
        panel.shutdown()


@budget(60)
@given(status=st.none() | status_files, log=st.none() | event_logs, config=st.none() | config_files,
       checkpoints=checkpoint_names, summary=st.none() | summaries, ledger=st.none() | ledgers)
# found by the fuzzer: a progress event without its time stamp (the Train form's ETA), and a summary
# whose problem count is not a number (the Evaluate chart's interval)
@example(status=None, log=b'{"type": "progress", "stage": "rl"}\n', config=None, checkpoints=[], summary=None, ledger=None)
@example(status=None, log=None, config=None, checkpoints=[], ledger=None,
         summary=b'{"accuracy_without_routes": 0.5, "accuracy_with_routes": 0.25, "n": "-Infinity"}')
@example(status=None, log=None, config=None, checkpoints=[], ledger=None,
         summary=b'{"accuracy_without_routes": 0.5, "n": {"a": 1}, "with_routes": {"interval": ["x", 1]}}')
def test_the_panels_open_a_project_whatever_its_run_folders_hold(status, log, config, checkpoints, summary, ledger,
                                                                  panels, tmp_path):
    project = tmp_path / uuid.uuid4().hex[:8]
    project.mkdir()
    save_config(project, Config())
    good = RunFolder(project, "good")
    good.write_status(state="finished", step=3, started=1.0)
    run = RunFolder(project, "damaged")
    run.path.mkdir(parents=True)
    for name, data in (("status.json", status), ("events.jsonl", log), ("config.toml", config),
                       ("eval/summary.json", summary), ("eval/ledger.jsonl", ledger)):
        _write(run.path, name, data)
    for name in checkpoints:
        _write(run.checkpoints / "rl" / name, "COMPLETE", b"{}")

    listed = {r["name"]: r for r in list_runs(project)}
    assert set(listed) == {"good", "damaged"} and listed["good"]["state"] == "finished"
    assert isinstance(listed["damaged"]["state"], str)
    train, runs, evaluate = panels
    for panel in panels:
        panel.set_project(project)
    train.attach("damaged")
    while train.watcher.poll():
        pass
    runs.select(["damaged"])
    runs.select(["damaged", "good"])
    evaluate.run_combo.setCurrentText("damaged")
    for panel in panels:
        panel.set_project(None)


@budget(150)
@given(data=st.binary(max_size=200) | st.sampled_from([b"a,b\x00\n", b"[" * 5000, b'"unclosed,\n', b"{}\n" * 3]),
       suffix=st.sampled_from([".jsonl", ".csv", ".tsv", ".parquet", ".txt"]))
def test_the_data_panel_previews_the_columns_of_any_file_or_none(data, suffix, tmp_path):
    from realm_studio.panels.qt_data_panel import sniff_columns

    path = tmp_path / f"{uuid.uuid4().hex[:8]}{suffix}"
    path.write_bytes(data)
    assert isinstance(sniff_columns(str(path)), list)
