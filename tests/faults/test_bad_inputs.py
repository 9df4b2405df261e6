"""The bad-input corpus: every malformed file, config, model or environment a user can hand the
engine gives exit code 2, ONE stderr line naming the file/row/key and the reason, and leaves
the project exactly as it was (every file hashed before and after).

Small malformed files live in ``corpus/``; large or binary ones are generated here. Most cases
call the CLI's ``main`` in-process (same code path, no 5 s of imports each); the environment
cases need a real subprocess (a file-size limit, another user).
"""

from __future__ import annotations

import ctypes
import json
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from fault_testkit import engine, fingerprint, one_line

from engine.cli import main

CORPUS = Path(__file__).parent / "corpus"
PR_CAPBSET_DROP = 24  # linux/prctl.h


@pytest.fixture(scope="module")
def base_project(tmp_path_factory, tiny_model_dir) -> Path:
    """A project with problems p1..p3 imported, its model the tiny test model."""
    project = tmp_path_factory.mktemp("bad-inputs") / "proj"
    assert main(["init", str(project), "--model", str(tiny_model_dir), "--answer-type", "number"]) == 0
    assert main(["import", str(project), str(CORPUS / "good.jsonl")]) == 0
    return project


@pytest.fixture
def project(base_project, tmp_path) -> Path:
    copy = tmp_path / "proj"
    shutil.copytree(base_project, copy)
    return copy


# ----------------------------------------------------------------------------- the corpus


def _generated(name: str, data: bytes):
    def make(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name
    return make


def _corpus(name: str):
    return lambda folder: CORPUS / name


def _edit_toml(old: str, new: str):
    def edit(project: Path) -> None:
        path = project / "realm.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return edit


def _append_toml(extra: str):
    def edit(project: Path) -> None:
        with open(project / "realm.toml", "a", encoding="utf-8") as handle:
            handle.write(extra)
    return edit


def _model_folder(kind: str):
    """A model folder broken in one way, from a copy of the tiny model."""
    def make(project: Path, tiny: Path) -> str:
        folder = project.parent / f"model-{kind}"
        if kind != "missing":
            shutil.copytree(tiny, folder)
        if kind == "no-tokenizer":
            for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
                (folder / name).unlink(missing_ok=True)
        if kind == "no-config":
            (folder / "config.json").unlink()
        if kind == "unknown-architecture":
            config = json.loads((folder / "config.json").read_text())
            (folder / "config.json").write_text(json.dumps({**config, "model_type": "realm-nonesuch",
                                                            "architectures": ["NonesuchForCausalLM"]}))
        if kind == "broken-config":
            (folder / "config.json").write_text("{ this is not json")
        return str(folder)
    return make


@dataclass
class Case:
    name: str
    verb: list[str]  # "{project}" and "{input}" are filled in
    expect: list[str]  # substrings of the one stderr line (file/row/key and the reason)
    input: object = None  # folder -> input path (data / routes files)
    edit: object = None  # project -> None (config edits, made before the fingerprint: they are the user's)
    model: object = None  # (project, tiny model) -> model.name


NESTED = ("[" * 100_000 + "]" * 100_000).encode()
BIG_FIELD = json.dumps({"id": "big", "question": "x" * (10 * 1024 * 1024), "answer": "1"}).encode() + b"\n"
IMPORT = ["import", "{project}", "{input}"]
ROUTES = ["routes", "{project}", "--source", "file:{input}"]
EVAL = ["eval", "{project}", "--base"]

CASES = [
    # data files
    Case("empty data file", IMPORT, ["empty.jsonl", "empty file"], input=_generated("empty.jsonl", b"")),
    Case("blank lines only", IMPORT, ["blank.jsonl", "empty file"], input=_generated("blank.jsonl", b"\n\n  \n")),
    Case("non-UTF-8 jsonl", IMPORT, ["latin1.jsonl", "not UTF-8"],
         input=_generated("latin1.jsonl", '{"id": "a", "question": "Qu\'est-ce que 1+1 ? café", "answer": "2"}\n'.encode("latin-1"))),
    Case("non-UTF-8 csv", IMPORT, ["latin1.csv", "not UTF-8"],
         input=_generated("latin1.csv", "id,question,answer\na,Combien font 1+1 ? é,2\n".encode("latin-1"))),
    Case("binary garbage as parquet", IMPORT, ["garbage.parquet", "not a readable Parquet"],
         input=_generated("garbage.parquet", bytes(range(256)) * 64)),
    Case("missing answer column", IMPORT, ["no_answer.csv", "no answer column"], input=_corpus("no_answer.csv")),
    Case("missing question column", IMPORT, ["no_question.jsonl", "no question column"], input=_corpus("no_question.jsonl")),
    Case("null answer", IMPORT, ["null_answer.jsonl:2", "answer"], input=_corpus("null_answer.jsonl")),
    Case("NaN answer", IMPORT, ["nan_answer.jsonl:1", "answer"], input=_corpus("nan_answer.jsonl")),
    Case("empty answer cell", IMPORT, ["empty_answer.csv:2", "empty answer"], input=_corpus("empty_answer.csv")),
    Case("duplicate ids", IMPORT, ["duplicate_ids.jsonl:3", "'a'"], input=_corpus("duplicate_ids.jsonl")),
    Case("10 MB field", IMPORT, ["big.jsonl:1", "question"], input=_generated("big.jsonl", BIG_FIELD)),
    Case("deeply nested JSON line", IMPORT, ["nested.jsonl:1", "nested too deeply"], input=_generated("nested.jsonl", NESTED + b"\n")),
    Case("answer is an object", IMPORT, ["wrong_types.jsonl:1", "answer"], input=_corpus("wrong_types.jsonl")),
    Case("question is a list", IMPORT, ["list_question.jsonl:1", "question"], input=_corpus("list_question.jsonl")),
    Case("truncated JSON line", IMPORT, ["truncated.jsonl:2", "invalid JSON"], input=_corpus("truncated.jsonl")),
    Case("a line that is not an object", IMPORT, ["array_line.jsonl:1", "expected a JSON object"], input=_corpus("array_line.jsonl")),
    Case("ragged CSV row", IMPORT, ["ragged.csv:2", "4 fields"], input=_corpus("ragged.csv")),
    Case("unknown file type", IMPORT, ["problems.txt", "cannot tell the format"], input=_corpus("problems.txt")),
    Case("data file not found", ["import", "{project}", "{project}/../nope.jsonl"], ["nope.jsonl", "not found"]),
    # routes files
    Case("route for an unknown problem", ROUTES, ["unknown_problem.jsonl:2", "unknown problem id 'ghost'"],
         input=_corpus("routes/unknown_problem.jsonl")),
    Case("route with empty text", ROUTES, ["empty_text.jsonl:1", "text"], input=_corpus("routes/empty_text.jsonl")),
    Case("routes file with bad JSON", ROUTES, ["bad_json.jsonl:2"], input=_corpus("routes/bad_json.jsonl")),
    Case("empty routes file", ROUTES, ["empty_routes.jsonl"], input=_generated("empty_routes.jsonl", b"")),
    Case("routes file not found", ["routes", "{project}", "--source", "file:{project}/../none.jsonl"], ["none.jsonl"]),
    # configs
    Case("invalid TOML", ["runs", "{project}"], ["realm.toml", "invalid TOML"], edit=_append_toml("\n[rl\nmax_steps = 3\n")),
    Case("unknown key", ["runs", "{project}"], ["rl.max_stepz"], edit=_edit_toml("[rl]\n", "[rl]\nmax_stepz = 3\n")),
    Case("unknown section", ["runs", "{project}"], ["nonsense"], edit=_append_toml("\n[nonsense]\nx = 1\n")),
    Case("fade curve point above 1", ["runs", "{project}"], ["fade.start"], edit=_edit_toml("start = 1.0", "start = 1.5")),
    Case("negative learning rate", ["runs", "{project}"], ["learning_rate"],
         edit=_edit_toml("learning_rate = 1e-05", "learning_rate = -1.0")),
    Case("wrong value type", ["runs", "{project}"], ["rl.max_steps"], edit=_edit_toml("max_steps = 200", "max_steps = \"ten\"")),
    Case("non-UTF-8 realm.toml", ["runs", "{project}"], ["realm.toml", "not UTF-8"],
         edit=lambda p: (p / "realm.toml").write_bytes((p / "realm.toml").read_bytes() + "# caf\xe9\n".encode("latin-1"))),
    Case("--set an unknown key", ["train", "{project}", "--recipe", "grpo", "--set", "rl.nope=1"], ["rl.nope"]),
    Case("--set a fade value out of range", ["train", "{project}", "--recipe", "realm-zero", "--set", "fade.end=-0.5"],
         ["fade.end"]),
    # models
    Case("model path missing", EVAL, ["model-missing", "no such folder"], model=_model_folder("missing")),
    Case("model folder without tokenizer", EVAL, ["model-no-tokenizer", "tokenizer"], model=_model_folder("no-tokenizer")),
    Case("model folder without config.json", EVAL, ["model-no-config", "config.json"], model=_model_folder("no-config")),
    Case("unsupported architecture", EVAL, ["model-unknown-architecture", "realm-nonesuch"],
         model=_model_folder("unknown-architecture")),
    Case("model config.json not JSON", EVAL, ["model-broken-config"], model=_model_folder("broken-config")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_input_is_one_clear_line_exit_2_and_changes_nothing(case, project, tmp_path, tiny_model_dir, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    source = case.input(inputs) if case.input else None
    if case.model:
        name = case.model(project, tiny_model_dir)
        _edit_toml(f'name = "{tiny_model_dir}"', f'name = "{name}"')(project)
    if case.edit:
        case.edit(project)
    before = fingerprint(project)
    capsys.readouterr()
    argv = [a.format(project=project, input=source) for a in case.verb]
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    for part in case.expect:
        assert part in line, line
    assert fingerprint(project) == before, "the failed command changed the project"


@pytest.mark.parametrize("name", ["bom_crlf.jsonl", "bom_crlf.csv"])
def test_bom_and_crlf_files_are_accepted(name, project, tmp_path):
    source = tmp_path / name
    source.write_bytes(b"\xef\xbb\xbf" + (CORPUS / name.replace("bom_crlf", "good")).read_bytes().replace(b"\n", b"\r\n"))
    assert main(["import", str(project), str(source)]) == 0
    from engine.data.problems import read_problems

    problems = read_problems(project / "data" / "problems.parquet")
    assert [p.id for p in problems] == ["p1", "p2", "p3"]
    assert all(not p.question.endswith("\r") and not p.answer.endswith("\r") for p in problems)


def test_extra_columns_are_ignored_not_refused(project):
    assert main(["import", str(project), str(CORPUS / "extra_columns.jsonl")]) == 0


# ----------------------------------------------------------------------------- the environment


def _fsize_limit(limit: int):
    def preexec():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_disk_full_gives_one_line_and_leaves_the_project_unchanged(project):
    before = fingerprint(project)
    proc = engine("import", project, CORPUS / "good.jsonl", check_rc=2, preexec_fn=_fsize_limit(64))
    line = one_line(proc.stderr)
    assert "problems.parquet" in line and "cannot write" in line, line
    assert fingerprint(project) == before


def _without_root_file_powers():
    """Tests run as root, whom file permissions do not stop: drop CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH and CAP_FOWNER from the child's bounding set so a read-only folder bites."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_read_only_project_gives_one_line_and_leaves_it_unchanged(project):
    folders = [project, *(p for p in project.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        before = fingerprint(project)
        proc = engine("import", project, CORPUS / "good.jsonl", check_rc=2, preexec_fn=_without_root_file_powers)
        line = one_line(proc.stderr)
        assert "problems.parquet" in line and "cannot write" in line, line
        assert fingerprint(project) == before
    finally:
        for folder in folders:
            folder.chmod(0o755)
