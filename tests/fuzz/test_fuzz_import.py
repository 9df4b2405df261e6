"""Fuzzing every import format a user's file can be in: JSONL, CSV, Parquet, a Hugging Face
datasets folder, a BIG-bench task.json; and routes files.

Each case writes a hostile file (hostile values in plausible rows, broken encodings, torn or
garbage lines, wrong types, corrupt containers), imports it into a fresh project with random
flags, and checks the property of ``fuzz_testkit``: success (and the problem table reads back),
or exit 2 with one line naming the file, and the project exactly as it was.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fuzz_testkit import budget, cli, refusal
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from faults.fault_testkit import fingerprint
from engine.config import ANSWER_TYPES
from engine.data.problems import read_problems
from engine.project import init_project, problems_path
from engine.routes.store import read_routes

FIELDS = ["question", "answer", "choices", "rules", "id", "split", "answer_type", "prompt", "label", "target"]
SPECIAL_TEXT = ["", " ", "\n", "a\nb", "x\ry", "\u2028", "\x00", "\ufeff", "A", "B", "(C)", "12", "-3.5", "1,234", "1e400",
                "train", "test", "validation", "choice", "number", "text", "bogus", "[1, 2]", "a|b|c", "a|a", "[", "x" * 100_001]
texts = st.one_of(st.text(max_size=24), st.sampled_from(SPECIAL_TEXT))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(300, 4000).map(lambda n: 10 ** n), st.floats(),
                    texts)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                              max_size=3), max_leaves=6)
PLAUSIBLE = {
    "question": st.text(min_size=1, max_size=40),
    "answer": st.integers(-1000, 1000) | st.sampled_from(["A", "B", "C", "yes", "3/4"]) | st.text(min_size=1, max_size=10),
    "choices": st.lists(st.text(min_size=1, max_size=8), min_size=2, max_size=5, unique=True) | st.just("x|y|z"),
    "id": st.integers(0, 30).map(lambda i: f"p{i}"),
    "split": st.sampled_from(["train", "test", "validation", "dev", "nope"]),
    "answer_type": st.sampled_from([*ANSWER_TYPES, "bogus"]),
}


@st.composite
def rows(draw, hostile: bool = True) -> dict:
    """A row: with ``hostile``, mostly known columns, each value plausible or hostile; else a
    question and an answer, maybe more known columns, all plausible (a file that may import)."""
    if not hostile:
        keys = ["question", "answer", *draw(st.lists(st.sampled_from(list(PLAUSIBLE)[2:]), max_size=3, unique=True))]
        return {key: draw(PLAUSIBLE[key]) for key in keys}
    keys = draw(st.lists(st.sampled_from(FIELDS) | st.text(max_size=6), max_size=7, unique=True))
    return {key: draw(PLAUSIBLE[key] if key in PLAUSIBLE and draw(st.integers(0, 3)) else values) for key in keys}


tables = st.booleans().flatmap(lambda hostile: st.lists(rows(hostile), max_size=8))
flags = st.lists(st.sampled_from([["--skip-bad"], ["--dry-run"], ["--answer-type", "number"], ["--answer-type", "choice"],
                                  ["--map", "question=prompt"], ["--map", "answer=label,choices=target"], ["--map", "nope"],
                                  ["--test-fraction", "0.5"], ["--test-fraction", "7"], ["--format", "jsonl"],
                                  ["--format", "csv"]]), max_size=2).map(lambda f: [x for part in f for x in part])


def _json_line(row: dict, ascii_only: bool) -> bytes:
    try:
        return json.dumps(row, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    except ValueError:  # an integer past str()'s digit limit: written as the digits themselves
        return b'{"question": "q", "answer": ' + b"9" * 5000 + b"}"


@st.composite
def jsonl_files(draw) -> bytes:
    lines = [_json_line(row, draw(st.booleans())) for row in draw(tables)]
    for _ in range(draw(st.integers(0, 2))):  # torn, garbage, blank, non-object, deeply nested lines
        junk = draw(st.sampled_from([b"", b"  ", b"{\"question\": \"q", b"[1]", b"null", b"\xff\xfe", b"[" * 5000]))
        lines.insert(draw(st.integers(0, len(lines))), junk)
    data = b"\n".join(lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"]))
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + data


def _columnar(row: dict) -> dict:
    """A plausible row as a columnar file holds it: one type per column (text, or a list of text)."""
    return {key: value if isinstance(value, list) else str(value) for key, value in row.items()}


@st.composite
def csv_files(draw) -> bytes:
    body = io.StringIO()
    writer = csv.writer(body)
    if draw(st.booleans()):  # random header and cells
        header = draw(st.lists(st.sampled_from(FIELDS) | st.text(max_size=6), min_size=1, max_size=6))
        cells = draw(st.lists(st.lists(texts | st.integers().map(str), max_size=len(header) + 1), max_size=8))
    else:  # plausible rows under a header that names their columns
        table = [_columnar(row) for row in draw(st.lists(rows(hostile=False), min_size=1, max_size=8))]
        header = sorted({key for row in table for key in row})
        cells = [["|".join(v) if isinstance(v := row.get(key, ""), list) else v for key in header] for row in table]
    writer.writerow(header)
    for row in cells:
        writer.writerow(row)
    data = body.getvalue().encode("utf-8", "surrogatepass")
    if draw(st.booleans()):  # a stray quote, a NUL byte, a cut-off quoted field
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.sampled_from([b'"', b"\x00", b'"a\n', b""])) + data[cut:]
    return data


COLUMN_TYPES = {
    "string": (pa.string(), texts), "int": (pa.int64(), st.integers(-2**63, 2**63 - 1)), "float": (pa.float64(), st.floats()),
    "bool": (pa.bool_(), st.booleans()), "list": (pa.list_(pa.string()), st.lists(st.text(max_size=5), max_size=4)),
    "binary": (pa.binary(), st.binary(max_size=8)), "timestamp": (pa.timestamp("s"), st.integers(-10**12, 10**12)),
    "struct": (pa.struct([("a", pa.string())]), st.fixed_dictionaries({"a": st.text(max_size=5)})),
    "null": (pa.null(), st.none()),
}


@st.composite
def parquet_files(draw) -> bytes:
    try:
        if draw(st.booleans()):  # columns of any Arrow type
            n = draw(st.integers(0, 6))
            columns = {}
            for name in draw(st.lists(st.sampled_from(FIELDS) | st.text(min_size=1, max_size=6), min_size=1, max_size=5,
                                      unique=True)):
                kind, strategy = COLUMN_TYPES[draw(st.sampled_from(list(COLUMN_TYPES)))]
                columns[name] = pa.array([draw(st.none() | strategy) for _ in range(n)], type=kind)
            table = pa.table(columns)
        else:
            table = pa.Table.from_pylist([_columnar(row) for row in draw(st.lists(rows(hostile=False), min_size=1,
                                                                                  max_size=6))])
    except (pa.ArrowException, UnicodeError):
        assume(False)
    sink = io.BytesIO()
    try:
        pq.write_table(table, sink)
    except (pa.ArrowException, UnicodeError):
        assume(False)
    data = sink.getvalue()
    return data[: draw(st.integers(0, len(data)))] if draw(st.integers(0, 4)) == 0 else data  # sometimes truncated


@st.composite
def bigbench_documents(draw) -> bytes:
    def example():
        ex = {"input": draw(PLAUSIBLE["question"] | values)}
        style = draw(st.sampled_from(["target", "targets", "scores", "neither"]))
        if style == "target":
            ex["target"] = draw(PLAUSIBLE["answer"] | values)
        elif style == "targets":
            ex["target"] = draw(st.lists(texts, max_size=3))
        elif style == "scores":
            ex["target_scores"] = draw(st.dictionaries(st.text(min_size=1, max_size=6), st.integers(0, 1) | values,
                                                       max_size=4) | values)
        return ex
    document = {"examples": [example() for _ in range(draw(st.integers(0, 6)))]}
    if draw(st.booleans()):
        document["task_prefix"] = draw(texts | values)
    if draw(st.integers(0, 5)) == 0:
        document = draw(values)  # not a task at all
    try:
        return json.dumps(document).encode()
    except ValueError:
        return b'{"examples": [{"input": "q", "target": ' + b"9" * 5000 + b"}]}"


def _fresh_project(tmp_path):
    project = tmp_path / uuid.uuid4().hex[:8] / "proj"
    init_project(project, model="some/model")
    return project


def _check(project, rc: int, err: str, name: str, before: dict) -> None:
    """The property: imported (the table reads back), or refused in one line naming the file."""
    event("imported" if rc == 0 else "refused")
    if rc == 0:
        if problems_path(project).exists():  # (a dry run writes nothing)
            assert read_problems(problems_path(project))
        return
    refusal(rc, err, *([] if err.startswith("error: --") else [name]))  # a bad flag is named instead
    assert fingerprint(project) == before, "a refused import changed the project"


def _import(tmp_path, name: str, data: bytes, extra: list[str]) -> None:
    project = _fresh_project(tmp_path)
    source = project.parent / name
    source.write_bytes(data)
    before = fingerprint(project)
    rc, _, err = cli("import", project, source, *extra)
    _check(project, rc, err, name, before)


@budget(150)
@given(data=jsonl_files(), extra=flags)
def test_jsonl(data, extra, tmp_path):
    _import(tmp_path, "problems.jsonl", data, extra)


@budget(120)
@given(data=csv_files(), extra=flags, tsv=st.booleans())
def test_csv(data, extra, tsv, tmp_path):
    _import(tmp_path, "problems.tsv" if tsv else "problems.csv", data.replace(b",", b"\t") if tsv else data, extra)


@budget(100)
@given(data=parquet_files() | st.binary(max_size=64), extra=flags)
def test_parquet(data, extra, tmp_path):
    _import(tmp_path, "problems.parquet", data, extra)


def test_a_parquet_date_python_cannot_hold_is_refused_by_its_column(tmp_path):
    """Found by the fuzzer: a timestamp past year 9999 crashed the conversion to Python values."""
    table = pa.table({"question": ["q"], "answer": ["1"], "when": pa.array([10**15], type=pa.timestamp("s"))})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    project = _fresh_project(tmp_path)
    (project.parent / "dates.parquet").write_bytes(sink.getvalue())
    rc, _, err = cli("import", project, project.parent / "dates.parquet")
    assert "column 'when'" in refusal(rc, err, "dates.parquet")


@budget(100)
@given(data=bigbench_documents() | st.binary(max_size=64), folder=st.booleans(), extra=flags)
def test_bigbench_task(data, folder, extra, tmp_path):
    if folder:  # a BIG-bench task folder, as the benchmark ships them
        project = _fresh_project(tmp_path)
        task = project.parent / "my_task"
        task.mkdir()
        (task / "task.json").write_bytes(data)
        before = fingerprint(project)
        rc, _, err = cli("import", project, task, *extra)
        _check(project, rc, err, "my_task", before)
    else:
        _import(tmp_path, "task.json", data, extra)


@pytest.fixture(scope="module")
def datasets_module():
    return pytest.importorskip("datasets")


HF_DAMAGE = ["none", "state.json", "dataset_info.json", "arrow", "dataset_dict.json"]


@budget(30)
@example(table=[{}], splits=None, damage="none", garbage=b"", extra=[], draw_columnar=False)  # found: datasets' IndexError
@given(table=st.booleans().flatmap(lambda hostile: st.lists(rows(hostile), min_size=1, max_size=5)),
       splits=st.sampled_from([None, ["train"], ["train", "test"], ["x"]]),
       damage=st.sampled_from(HF_DAMAGE), garbage=st.binary(max_size=40), extra=flags, draw_columnar=st.booleans())
def test_hf_datasets_folder(table, splits, damage, garbage, extra, draw_columnar, tmp_path, datasets_module):
    project = _fresh_project(tmp_path)
    folder = project.parent / "saved"
    columns = sorted({key for row in table for key in row})
    try:
        data = datasets_module.Dataset.from_list([_columnar({key: row.get(key) for key in columns}) for row in table]
                                                 if draw_columnar else [{key: row.get(key) for key in columns}
                                                                        for row in table])
        if splits:
            data = datasets_module.DatasetDict({name: data for name in splits})
        data.save_to_disk(str(folder))
    except Exception:  # noqa: BLE001 - values `datasets` itself cannot store: not our parser's input
        assume(False)
    targets = {"state.json": "**/state.json", "dataset_info.json": "**/dataset_info.json", "arrow": "**/*.arrow",
               "dataset_dict.json": "dataset_dict.json"}
    if damage != "none":
        for path in folder.glob(targets[damage]):
            path.write_bytes(garbage)
    before = fingerprint(project)
    rc, _, err = cli("import", project, folder, *extra)
    _check(project, rc, err, "saved", before)


# ----------------------------------------------------------------------------- routes files


@pytest.fixture(scope="module")
def routes_project(tmp_path_factory):
    project = tmp_path_factory.mktemp("fuzz-routes") / "proj"
    init_project(project, model="some/model", answer_type="number")
    problems = project.parent / "problems.jsonl"
    problems.write_text("".join(json.dumps({"id": f"p{i}", "question": f"{i}+1?", "answer": str(i + 1)}) + "\n"
                                for i in range(5)))
    assert cli("import", project, problems)[0] == 0
    return project


@st.composite
def route_lines(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        row = {"problem_id": draw(st.sampled_from([f"p{i}" for i in range(5)]) | st.integers(0, 6) | values),
               "text": draw(st.text(min_size=1, max_size=60).map(lambda t: t + "\nAnswer: 3") | values)}
        for key in draw(st.lists(st.sampled_from(["temperature", "guided", "label", "extra"]), max_size=2, unique=True)):
            row[key] = draw(values | st.floats(0, 2) | st.booleans())
        lines.append(_json_line(row, draw(st.booleans())))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from([b"{", b"[]", b"\xff", b"[" * 5000, b""])))
    return b"\n".join(lines) + b"\n"


@budget(100)
@given(data=route_lines())
@example(data=b"[" * 5000 + b"\n")  # found by the fuzzer: nested past the stack
@example(data=b'{"problem_id": "p0", "text": "0\\nAnswer: 3", "temperature": 1' + b"0" * 320 + b'}\n')  # found: too large for a float
def test_routes_file(data, routes_project, tmp_path):
    source = tmp_path / "routes.jsonl"
    source.write_bytes(data)
    project = tmp_path / uuid.uuid4().hex[:8]
    shutil.copytree(routes_project, project)
    before = fingerprint(project)
    rc, _, err = cli("routes", project, "--source", f"file:{source}")
    event("imported" if rc == 0 else "refused")
    if rc == 0:
        assert read_routes(project)
    else:
        refusal(rc, err, "routes.jsonl")
        assert fingerprint(project) == before, "a refused routes import changed the project"
