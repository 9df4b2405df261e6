"""Fuzzing what a user writes into ``realm.toml`` and ``--set``.

Properties: a config file either loads, or is refused by a UserError whose every line names the
file and the key (one line per problem: a user fixes all of them in one go); what loads saves and
reloads unchanged; ``train --set`` either freezes exactly the config it validated, or refuses in one
line and leaves no run folder behind (the user fixes the value and starts again under that name).
"""

from __future__ import annotations

import shutil

import pytest
import tomli_w
from fuzz_testkit import budget, cli, refusal
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from faults.fault_testkit import fingerprint
from engine.config import Config, apply_overrides, describe_fields, load_config, save_config
from engine.errors import UserError
from engine.method.recipes import apply_recipe
from engine.project import init_project
from engine.routes.budgets import data_budgets
from engine.runs import RunFolder, read_run_config

FIELDS = {d["key"]: d for d in describe_fields()}
KEYS = list(FIELDS)
SECTIONS: dict[str, list[str]] = {}
for _key in KEYS:
    SECTIONS.setdefault(_key.partition(".")[0], []).append(_key.partition(".")[2])

huge_ints = st.integers(min_value=300, max_value=4000).map(lambda n: 10 ** n)  # float() overflows
long_digits = st.integers(min_value=4300, max_value=6000).map(lambda n: "9" * n)  # past int()'s digit limit
scalars = st.one_of(st.booleans(), st.integers(), huge_ints, st.floats(), st.text(max_size=30), st.datetimes(),
                    st.sampled_from(["cosine", "number", "auto", "cpu", "", "rl.max_steps"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                              max_size=3), max_leaves=8)
names = st.text(min_size=1, max_size=12)


def near_valid(key: str) -> st.SearchStrategy:
    """Values of the key's own type around its bounds (most random values are refused at once)."""
    spec = FIELDS[key]
    if spec["choices"]:
        return st.sampled_from([*spec["choices"], spec["choices"][0].upper()])
    lo = spec["lo"] if spec["lo"] is not None else -10
    hi = spec["hi"] if spec["hi"] is not None else lo + 1000
    return {"int": st.integers(int(lo) - 1, int(hi) + 1), "float": st.floats(lo - 0.5, hi + 0.5),
            "bool": st.booleans(), "str": st.text(max_size=20)}.get(spec["type"], values)


@st.composite
def raw_configs(draw) -> dict:
    """A TOML document shaped like realm.toml: mostly known sections and keys with values near
    their bounds, sometimes an unknown name, a value of any type or a section that is no table."""
    raw = {}
    for section in draw(st.lists(st.sampled_from([*SECTIONS, "?"]), max_size=5, unique=True)):
        if section == "?":
            section = draw(names)
        if draw(st.integers(0, 19)) == 0:
            raw[section] = draw(values)
            continue
        keys = draw(st.lists(st.sampled_from([*SECTIONS.get(section, []), "?"]), max_size=4, unique=True))
        table = raw[section] = {}
        for key in keys:
            key = draw(names) if key == "?" else key
            known = f"{section}.{key}" in FIELDS and draw(st.integers(0, 9)) > 0
            table[key] = draw(near_valid(f"{section}.{key}") if known else values)
    return raw


def _toml(raw: dict) -> str:
    try:
        return tomli_w.dumps(raw)
    except (TypeError, ValueError):  # not expressible in TOML (e.g. a top-level scalar)
        assume(False)


def _assert_names_file_and_key(err: UserError, source: str) -> None:
    for line in str(err).splitlines():
        assert line.startswith(source), line


@budget(150)
@given(raw=raw_configs())
@example(raw={"\r": {}})  # found by the fuzzer: a key with a line break split the refusal
@example(raw={"rl": {"learning_rate": 10 ** 400}})  # found: float() of it overflowed
def test_any_realm_toml_loads_or_each_problem_is_one_line_naming_its_key(raw, tmp_path):
    path = tmp_path / "realm.toml"
    path.write_text(_toml(raw), encoding="utf-8")
    try:
        cfg = load_config(path)
    except UserError as err:
        _assert_names_file_and_key(err, str(path))
        event("refused")
        return
    event("loaded")
    save_config(path, cfg)
    assert load_config(path) == cfg


literals = st.one_of(values.map(lambda v: _literal(v)), st.text(max_size=40), long_digits)
one_key_files = st.tuples(st.sampled_from(list(SECTIONS)), st.sampled_from(KEYS), literals).map(
    lambda t: f"[{t[0]}]\n{t[1].partition('.')[2]} = {t[2]}\n".encode())


@budget(150)
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode) | one_key_files)
def test_any_bytes_as_realm_toml_load_or_are_refused_naming_the_file(data, tmp_path):
    path = tmp_path / "realm.toml"
    path.write_bytes(data)
    try:
        load_config(path)
    except UserError as err:
        _assert_names_file_and_key(err, str(path))


def _literal(value) -> str:
    """A value as TOML writes it after ``key =`` (what a user types after ``--set key=``)."""
    try:
        return tomli_w.dumps({"v": value}).partition("=")[2].strip()
    except (TypeError, ValueError):
        return str(value)


overrides = st.one_of(st.tuples(st.sampled_from(KEYS) | names, literals).map("=".join), st.text(max_size=40),
                      st.sampled_from(KEYS).flatmap(lambda key: near_valid(key).map(lambda v: f"{key}={_literal(v)}")))


@budget(200)
@given(texts=st.lists(overrides, min_size=1, max_size=3))
@example(texts=["rl.max_steps=1" + "0" * 5000])  # found: tomllib raises ValueError past 4300 digits
@example(texts=["0=[\n    false,\n]"])  # found: the refusal quoted a line break
def test_any_set_applies_or_is_refused_in_one_line_naming_it(texts):
    try:
        cfg = apply_overrides(Config(), texts)
    except UserError as err:
        _assert_names_file_and_key(err, "--set")
        return
    assert isinstance(cfg, Config)


@pytest.fixture(scope="module")
def train_project(tmp_path_factory):
    project = tmp_path_factory.mktemp("fuzz-set") / "proj"
    init_project(project, model="some/model", answer_type="number")
    return project


@budget(60)
@given(text=overrides, recipe=st.sampled_from(["grpo", "realm-r1", "rft"]))
def test_train_set_freezes_what_it_validated_or_leaves_no_run_behind(text, recipe, train_project, monkeypatch):
    monkeypatch.setattr("engine.launch.execute", lambda project, run, echo=False: "finished")  # no training
    run = RunFolder(train_project, "fuzzed")
    before = fingerprint(train_project)
    rc, _, err = cli("train", train_project, "--recipe", recipe, "--run", run.name, f"--set={text}")
    event("accepted" if rc == 0 else "refused")
    try:
        if rc == 0:
            expected = apply_recipe(apply_overrides(load_config(train_project), [text]), recipe)
            assert read_run_config(run) == (recipe, data_budgets(train_project, expected)[0])
        else:
            first, *more = err.splitlines()  # one line per problem, each naming it
            line = refusal(rc, first)
            assert "--set" in line or text.partition("=")[0].strip() in line, line
            assert all(line.startswith("--set") for line in more), err
            assert not run.path.exists(), "a refused train left its run folder behind"
            assert fingerprint(train_project) == before
    finally:
        shutil.rmtree(run.path, ignore_errors=True)


@budget(60)
@given(texts=st.lists(overrides | st.sampled_from(["eval.max_problems=3", "eval.split=all"]), min_size=1, max_size=2))
@example(texts=["\x1e"])  # found by the fuzzer: the refusal echoed a record separator, a line break
def test_eval_set_is_refused_in_one_line_and_writes_no_evaluation(texts, train_project):
    """A project without problems: whatever ``eval --set`` says, eval ends in one line, writing nothing."""
    before = fingerprint(train_project)
    rc, _, err = cli("eval", train_project, "--base", *(f"--set={text}" for text in texts))
    first, *more = err.splitlines()
    refusal(rc, first)
    assert all(line.startswith("--set") for line in more), err
    assert fingerprint(train_project) == before
