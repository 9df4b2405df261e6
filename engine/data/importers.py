"""Import problems from a user's file into ``data/problems.parquet``.

``import_problems`` reads one source (``readers`` / ``bigbench``), checks every row and either
writes the whole table or nothing. Into a project that already has problems, an import either
*replaces* the table (the default) or *appends* to it (a row whose id the project already has
is refused). Either way the table as it was is kept in ``data/history/`` first, and
``undo_import`` puts it back: nothing a user made is lost to an import. The rejects report
always belongs to the last import.

Row rules, in the order they are checked:

* every value: at most 100,000 characters per text, at most 20 levels of nesting;
* question: non-empty text; answer: non-empty text or a number (a list or an object is refused);
* choices (a list, a JSON list in a string, or ``a|b|c``): 2 to 26 distinct non-empty options;
* answer_type: the row's column, else the ``answer_type`` argument, else ``choice`` when the row
  has choices, else realm.toml's ``[data].answer_type`` unless it is the generic default
  ``text``, else inferred (a numeric answer gives ``number``, anything else ``text``);
* a choice answer may be the option text or its letter; it is stored as the letter of the
  option after a deterministic per-problem shuffle (some public sets list the gold first, and
  a model then learns the letter instead of the task);
* id: the id column, else ``<file stem>-<row>``; a repeated id is refused;
* split: the split column (train; test/validation/val/dev/eval → test), else the HF split
  name, else a stable hash of (seed, id) against the test fraction.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ANSWER_TYPES, IMPORT_FORMATS, load_config
from ..errors import UserError, shown
from ..fsutil import atomic_write_text
from ..method.seeded import stable_rng, stable_uniform
from ..project import REJECTS_FILE, data_history_dir, is_project, problems_path, rejects_path  # noqa: F401  (REJECTS_FILE: the old name)
from . import history
from .bigbench import is_bigbench_task, read_bigbench
from .problems import Problem, read_problems, write_problems
from .readers import RawRow, RawTable, load_json_document, read_csv, read_hf, read_jsonl, read_parquet

FORMATS = IMPORT_FORMATS
MODES = ("replace", "append")  # what an import does to the problems a project already has
FIELDS = ("question", "answer", "choices", "rules", "id", "split", "answer_type")
DEFAULT_COLUMNS = {
    "question": ("question", "input", "prompt", "problem"),
    "answer": ("answer", "target", "label", "solution"),
    "choices": ("choices", "options"),
    "rules": ("rules",),
    "id": ("id",),
    "split": ("split",),
    "answer_type": ("answer_type",),
}
REQUIRED = ("question", "answer")
MAX_FIELD_CHARS = 100_000
MAX_DEPTH = 20
MAX_CHOICES = 26
TEST_SPLIT_NAMES = ("test", "validation", "valid", "val", "dev", "eval")
DEFAULT_TEST_FRACTION = 0.2
FILE_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet",
                 ".pq": "parquet"}
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass
class ImportReport:
    imported: int
    train: int
    test: int
    rejected: list[tuple[str, int, str]]  # (file, row, reason); row is 1-based
    rejects_path: Path | None  # data/rejects.jsonl when skip_bad rejected anything
    fmt: str  # the format actually used
    problems: list[Problem] = field(repr=False)  # the file's problems imported (or, for dry_run, importable)
    existing: int = 0  # problems the project had before
    clashes: int = 0  # of the file's good rows, those whose id the project already has (refused by append)
    kept: Path | None = None  # where the table as it was was kept (data/history/…), when one was replaced


@dataclass(frozen=True)
class _Settings:
    """What every row of one import shares."""

    answer_type: str | None  # the caller's choice
    config_answer_type: str | None  # the project's default (None: let the data decide)
    seed: int
    test_fraction: float


class BadRow(ValueError):
    """A row the importer refuses; the message is the reason shown after ``file:row:``."""


# ----------------------------------------------------------------------------- public API


def detect_format(source: str) -> str:
    """jsonl | csv | parquet | hf | bigbench, told from the path (or an ``org/name`` hub id)."""
    path = Path(source)
    if path.is_dir():
        if any((path / name).exists() for name in ("dataset_info.json", "state.json", "dataset_dict.json")):
            return "hf"
        if (path / "task.json").exists():
            return "bigbench"
        if (path / "task.py").exists():
            raise UserError(f"{path}: programmatic BIG-bench tasks (task.py) are not supported "
                            "(no code from data is run)")
        raise UserError(f"{path}: cannot tell the format of this folder "
                        "(expected a folder saved with datasets' save_to_disk, or a BIG-bench task folder)")
    suffix = path.suffix.lower()
    if path.exists():
        if suffix in FILE_SUFFIXES:
            return FILE_SUFFIXES[suffix]
        if suffix == ".json":
            if is_bigbench_task(load_json_document(path)):
                return "bigbench"
            raise UserError(f"{path}: a .json file must be a BIG-bench task with an 'examples' list "
                            "(for one object per line, name it .jsonl)")
        raise UserError(f"{path}: cannot tell the format from the name (give the format: {', '.join(FORMATS)})")
    if suffix not in (*FILE_SUFFIXES, ".json") and HUB_ID.fullmatch(source):
        return "hf"
    raise UserError(f"{path}: not found")


def parse_mapping(text: str | None) -> dict[str, str]:
    """``"question=COL,answer=COL,…"`` → {field: column}; an unknown field is refused."""
    mapping: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        target, sep, column = (s.strip() for s in part.partition("="))
        if not sep or not target or not column:
            raise UserError(f"--map {shown(part.strip())}: expected FIELD=COLUMN, e.g. question=prompt")
        if target in mapping:
            raise UserError(f"--map {shown(part.strip())}: field {target!r} is mapped twice")
        mapping[target] = column
    _check_mapping(mapping)
    return mapping


def import_problems(project_dir, source: str, *, fmt: str = "auto", mapping: dict | None = None,
                    answer_type: str | None = None, test_fraction: float | None = None, skip_bad: bool = False,
                    seed: int = 0, dry_run: bool = False, mode: str = "replace") -> ImportReport:
    """Read, check and (unless ``dry_run``) write the problem table; all or nothing without ``skip_bad``.

    ``mode`` "replace" makes the file's problems the table; "append" adds them to the project's
    (a row with an id the project has is a bad row). The table as it was is kept first.
    """
    project_dir = Path(project_dir)
    if mode not in MODES:
        raise UserError(f"import mode '{mode}': unknown (known: {', '.join(MODES)})")
    mapping = dict(mapping or {})
    _check_mapping(mapping)
    if fmt == "auto":
        fmt = detect_format(source)
    elif fmt not in FORMATS:
        raise UserError(f"format '{fmt}': unknown (known: auto, {', '.join(FORMATS)})")
    if answer_type is not None and answer_type not in ANSWER_TYPES:
        raise UserError(f"answer type '{answer_type}': unknown (known: {', '.join(ANSWER_TYPES)})")
    config_type, config_fraction = _project_defaults(project_dir)
    test_fraction = config_fraction if test_fraction is None else test_fraction
    if isinstance(test_fraction, bool) or not 0.0 <= test_fraction < 1.0:
        raise UserError(f"--test-fraction: must be in [0, 1), got {test_fraction}")
    settings = _Settings(answer_type, config_type, seed, test_fraction)

    current = read_problems(problems_path(project_dir)) if problems_path(project_dir).exists() else []
    have = {p.id for p in current}
    good: list[Problem] = []
    bad: list[tuple[str, int, str]] = []
    first_seen: dict[str, tuple[str, int]] = {}
    clashes = 0
    for table in _read_tables(source, fmt):
        columns = _resolve_columns(table, mapping)
        for raw in table.rows:
            try:
                problem = _row_to_problem(raw, table, columns, settings)
                _check_unique(problem.id, raw, first_seen)
                clashes += problem.id in have
                if mode == "append" and problem.id in have:
                    raise BadRow(f"id '{problem.id}' is already in the project (append adds new ids only)")
            except BadRow as err:
                bad.append((raw.file, raw.row, str(err)))
            else:
                good.append(problem)

    if bad and not skip_bad:
        file, row, reason = bad[0]
        more = f" (and {len(bad) - 1} more bad rows; --skip-bad imports the rest)" if len(bad) > 1 else ""
        raise UserError(f"{file}:{row}: {reason}{more}")
    if not good:
        if not bad:
            raise UserError(f"{source}: nothing to import (no data rows)")
        file, row, reason = bad[0]
        raise UserError(f"{source}: nothing to import (all {len(bad)} rows were refused, first {file}:{row}: {reason})")

    rejects = kept = None
    if not dry_run:
        kept = history.keep(problems_path(project_dir), data_history_dir(project_dir))
        write_problems(problems_path(project_dir), current + good if mode == "append" else good)
        rejects = _write_rejects(rejects_path(project_dir), bad)
    n_test = sum(p.split == "test" for p in good)
    return ImportReport(imported=len(good), train=len(good) - n_test, test=n_test, rejected=bad,
                        rejects_path=rejects, fmt=fmt, problems=good, existing=len(current), clashes=clashes,
                        kept=kept)


def undo_import(project_dir) -> tuple[int, int]:
    """Put back the problem table the last import replaced; return (problems before, after)."""
    path = problems_path(project_dir)
    before = len(read_problems(path)) if path.exists() else 0
    history.undo(path, data_history_dir(project_dir))
    return before, len(read_problems(path))


# ----------------------------------------------------------------------------- reading


def _read_tables(source: str, fmt: str) -> list[RawTable]:
    if fmt == "hf":
        return read_hf(source)
    path = Path(source)
    if fmt == "bigbench" and path.is_dir():
        path = path / "task.json"
    readers = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet, "bigbench": read_bigbench}
    return readers[fmt](path)


def _project_defaults(project_dir: Path) -> tuple[str | None, float]:
    """(answer_type, test_fraction) from realm.toml when the project has one.

    ``text`` is the schema's default, written into every new realm.toml; taking it literally
    would hide numeric answers from the number verifier, so it counts as "not chosen".
    """
    if not is_project(project_dir):
        return None, DEFAULT_TEST_FRACTION
    data = load_config(project_dir).data
    return (None if data.answer_type == "text" else data.answer_type), data.test_fraction


def _check_mapping(mapping: dict) -> None:
    for target, column in mapping.items():
        if target not in FIELDS:
            raise UserError(f"--map {shown(f'{target}={column}')}: unknown field {target!r} "
                            f"(known: {', '.join(FIELDS)})")


def _resolve_columns(table: RawTable, mapping: dict) -> dict[str, str | None]:
    """Which column feeds each field: the mapped one (it must exist), else the first default present."""
    if not any(raw.values is not None for raw in table.rows):
        return {}  # every row failed to decode: the row errors say why
    listing = ", ".join(map(shown, table.columns)) or "none"
    columns = {}
    for target in FIELDS:
        if target in mapping:
            if mapping[target] not in table.columns:
                raise UserError(f"{table.file}: no column {mapping[target]!r} (columns: {listing})")
            columns[target] = mapping[target]
        else:
            columns[target] = next((c for c in DEFAULT_COLUMNS[target] if c in table.columns), None)
    for target in REQUIRED:
        if columns[target] is None:
            raise UserError(f"{table.file}: no {target} column (looked for {', '.join(DEFAULT_COLUMNS[target])}; "
                            f"columns: {listing})", hint=f"map one with --map {target}=COLUMN")
    return columns


# ----------------------------------------------------------------------------- one row


def _row_to_problem(raw: RawRow, table: RawTable, columns: dict, settings: _Settings) -> Problem:
    if raw.error:
        raise BadRow(raw.error)
    values = raw.values
    for column, value in values.items():
        _check_size(column, value)
    get = lambda target: values.get(columns[target]) if columns[target] else None  # noqa: E731

    question = _text(get("question"), "question", required=True)
    choices = _choices(get("choices"))
    answer = _answer(get("answer"))
    rules = _text(get("rules"), "rules")
    problem_id = _text(get("id"), "id", required=True) if columns["id"] else f"{table.stem}-{raw.row}"
    kind = _answer_type(_text(get("answer_type"), "answer_type"), settings, choices, answer)
    if kind == "choice":
        choices, answer = _lettered(choices, answer, settings.seed, problem_id)
    elif kind == "number" and not NUMBER.fullmatch(answer):
        raise BadRow(f"answer {_short(answer)} is not a number (answer_type number)")
    used = {c for c in columns.values() if c}
    meta = {k: v for k, v in values.items() if k not in used and _is_scalar(v)}
    return Problem(id=problem_id, question=question, answer=answer, answer_type=kind, choices=choices,
                   rules=rules, split=_split(get("split"), table.split, settings, problem_id), meta=meta)


def _check_size(column: str, value, depth: int = 0) -> None:
    """Refuse oversized text and deep nesting anywhere in a row (without recursing deeply ourselves)."""
    if depth > MAX_DEPTH:
        raise BadRow(f"{column!r} is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
        raise BadRow(f"{column!r} is longer than {MAX_FIELD_CHARS:,} characters ({len(value):,})")
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            _check_size(column, item, depth + 1)


def _text(value, name: str, required: bool = False) -> str | None:
    """A text field: None/empty is missing (refused when required); numbers are written as text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadRow(f"{'missing' if value is None else 'empty'} {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadRow(f"{name} must be text, got {type(value).__name__}")
    return str(value).strip() if name in ("id", "answer_type") else str(value)


def _answer(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise BadRow("missing answer")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadRow(f"answer must be a finite number, got {value}")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise BadRow(f"answer must be text or a number, got {type(value).__name__}")
    if not value.strip():
        raise BadRow("empty answer")
    return value.strip()


def _choices(value) -> list[str] | None:
    """A list, a JSON list in a string, or ``a|b|c``; None when the row has no choices."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except (json.JSONDecodeError, RecursionError):
                raise BadRow("choices: not a valid JSON list") from None
        else:
            value = value.split("|")
    if not isinstance(value, list):
        raise BadRow(f"choices must be a list, got {type(value).__name__}")
    choices = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise BadRow(f"each choice must be text, got {type(item).__name__}")
        text = str(item).strip()
        if not text:
            raise BadRow("empty choice")
        if text in choices:
            raise BadRow(f"duplicate choice {_short(text)}")
        choices.append(text)
    if not 2 <= len(choices) <= MAX_CHOICES:
        raise BadRow(f"needs 2 to {MAX_CHOICES} choices, got {len(choices)}")
    return choices


def _answer_type(row_type: str | None, settings: _Settings, choices, answer: str) -> str:
    if row_type is not None:
        if row_type not in ANSWER_TYPES:
            raise BadRow(f"unknown answer_type {row_type!r} (known: {', '.join(ANSWER_TYPES)})")
        return row_type
    if settings.answer_type is not None:
        return settings.answer_type
    if choices:
        return "choice"
    if settings.config_answer_type is not None:
        return settings.config_answer_type
    return "number" if NUMBER.fullmatch(answer) else "text"


def _lettered(choices: list[str] | None, answer: str, seed: int, problem_id: str) -> tuple[list[str], str]:
    """Shuffle the options deterministically per problem; return them and the gold's new letter."""
    if not choices:
        raise BadRow("answer_type choice needs at least 2 choices")
    letters = [chr(ord("A") + i) for i in range(len(choices))]
    if answer in choices:
        gold = choices.index(answer)
    elif answer in letters:
        gold = letters.index(answer)
    else:
        raise BadRow(f"answer {_short(answer)} is not among the choices (nor a letter A-{letters[-1]})")
    order = list(range(len(choices)))
    stable_rng(seed, "shuffle", problem_id, sep="\0").shuffle(order)
    return [choices[i] for i in order], letters[order.index(gold)]


def _split(value, table_split: str | None, settings: _Settings, problem_id: str) -> str:
    name = _text(value, "split")
    if name is not None:
        name = name.strip().lower()
        if name == "train":
            return "train"
        if name in TEST_SPLIT_NAMES:
            return "test"
        raise BadRow(f"unknown split {name!r} (use train, or test/validation)")
    if table_split is not None:
        return table_split
    return "test" if stable_uniform(settings.seed, "split", problem_id, sep="\0") < settings.test_fraction else "train"


def _check_unique(problem_id: str, raw: RawRow, first_seen: dict) -> None:
    if problem_id in first_seen:
        file, row = first_seen[problem_id]
        where = f"row {row}" if file == raw.file else f"{file}:{row}"
        raise BadRow(f"duplicate id {problem_id!r} (first at {where})")
    first_seen[problem_id] = (raw.file, raw.row)


def _is_scalar(value) -> bool:
    return isinstance(value, (str, int, bool)) or (isinstance(value, float) and math.isfinite(value))


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


# ----------------------------------------------------------------------------- writing


def _write_rejects(path: Path, bad: list[tuple[str, int, str]]) -> Path | None:
    """Write the rejects report, or remove a stale one: it always belongs to the current table."""
    if not bad:
        path.unlink(missing_ok=True)
        return None
    lines = [json.dumps({"file": file, "row": row, "reason": reason}, ensure_ascii=False) for file, row, reason in bad]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
