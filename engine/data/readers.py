"""Readers: turn one source (jsonl, csv, parquet, HF datasets folder or hub id) into raw rows.

A reader only decodes; it does not judge content. Whole-file problems (missing, empty, not
UTF-8, not Parquet, …) raise a one-line ``UserError``; a row that cannot even be decoded (bad
JSON line, CSV row with the wrong field count) becomes a ``RawRow`` carrying its ``error`` so
that ``--skip-bad`` can import the rest. Checking the values is the importer's job.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError, first_line, shown

CSV_FIELD_LIMIT = 64 * 1024 * 1024  # the csv module's own default (128 KiB) is below what we refuse politely


@dataclass
class RawRow:
    file: str  # what the user sees in "file:row: reason"
    row: int  # 1-based: line number (jsonl), data row (csv, parquet, hf), example index+1 (bigbench)
    values: dict | None  # column -> value; None when the row could not be decoded
    error: str | None = None


@dataclass
class RawTable:
    """The rows of one file (or one split of an HF dataset) and its column names."""

    file: str
    stem: str  # used to build ids "<stem>-<row>" when the data has no id column
    rows: list[RawRow]
    columns: list[str]
    split: str | None = None  # set when the source itself names the split (an HF DatasetDict)


# ----------------------------------------------------------------------------- text files


def read_text(path: Path) -> str:
    """UTF-8 text (a BOM is dropped); refuse a missing, empty or non-UTF-8 file in one line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")  # not utf-8-sig: its offsets skip the BOM
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start})", hint="save the file as UTF-8") from None
    if not text.strip():
        raise UserError(f"{path}: empty file")
    return text


def load_json_document(path: Path):
    """One JSON document (a BIG-bench task.json); invalid JSON names its line and column."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno} ({err.msg})") from None
    except RecursionError:
        raise UserError(f"{path}: invalid JSON (nested too deeply)") from None


def read_jsonl(path: Path) -> list[RawTable]:
    """One JSON object per line; blank lines are skipped but still counted for line numbers."""
    label = str(path)
    rows, columns = [], {}
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            rows.append(RawRow(label, lineno, None, f"invalid JSON ({err.msg} at column {err.colno})"))
            continue
        except RecursionError:
            rows.append(RawRow(label, lineno, None, "JSON nested too deeply"))
            continue
        if not isinstance(obj, dict):
            rows.append(RawRow(label, lineno, None, f"expected a JSON object, got {type(obj).__name__}"))
            continue
        columns.update(dict.fromkeys(obj))
        rows.append(RawRow(label, lineno, obj))
    return [RawTable(label, path.stem, rows, list(columns))]


def read_csv(path: Path) -> list[RawTable]:
    """A header row, then data rows (``.tsv`` uses tabs); CRLF and quoted newlines are fine."""
    text = read_text(path)
    previous_limit = csv.field_size_limit(CSV_FIELD_LIMIT)  # the importer gives oversized fields a clear reason
    try:
        return [_csv_table(path, text)]
    finally:
        csv.field_size_limit(previous_limit)


def _csv_table(path: Path, text: str) -> RawTable:
    label = str(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as err:
        raise UserError(f"{path}: malformed CSV header ({err})") from None
    if len(set(header)) != len(header) or "" in header:
        raise UserError(f"{path}: the header row needs unique, non-empty column names, got "
                        f"{', '.join(map(shown, header))}")
    rows, number = [], 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # e.g. a stray quote; the reader recovers at the next line
            number += 1
            rows.append(RawRow(label, number, None, f"malformed CSV row ({err})"))
            continue
        if not fields:  # a blank line between rows
            continue
        number += 1
        if len(fields) != len(header):
            rows.append(RawRow(label, number, None, f"row has {len(fields)} fields, the header has {len(header)}"))
            continue
        rows.append(RawRow(label, number, dict(zip(header, fields))))
    return RawTable(label, path.stem, rows, header)


# ----------------------------------------------------------------------------- columnar


def read_parquet(path: Path) -> list[RawTable]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.exists():
        raise UserError(f"{path}: not found")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise UserError(f"{path}: not a readable Parquet file ({first_line(err)})") from None
    return [_table_from_arrow(str(path), path.stem, table)]


def _table_from_arrow(label: str, stem: str, table, split: str | None = None) -> RawTable:
    """The rows of an Arrow table as Python values, read column by column so that a column
    Python cannot hold (a date past year 9999, …) is refused by name instead of crashing."""
    import pyarrow as pa

    columns = []
    for index, name in enumerate(table.column_names):
        try:
            columns.append(table.column(index).to_pylist())
        except (pa.ArrowException, ValueError, OverflowError) as err:
            raise UserError(f"{label}: column {name!r}: cannot read its values ({first_line(err)})") from None
    records = [dict(zip(table.column_names, values)) for values in zip(*columns)] if columns else \
        [{} for _ in range(table.num_rows)]
    rows = [RawRow(label, i, _nan_to_none(rec)) for i, rec in enumerate(records, start=1)]
    return RawTable(label, stem, rows, list(table.column_names), split=split)


def _nan_to_none(record: dict) -> dict:
    """Columnar files write a missing number as NaN; treat it like null."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}


HF_SPLITS = ("train", "test")


def read_hf(source: str) -> list[RawTable]:
    """A folder saved with ``save_to_disk`` or a hub id; a DatasetDict gives one table per split.

    Of a DatasetDict we take the splits named ``train`` and ``test`` (they keep their split);
    a dict with neither contributes its first split, split later by hash like any file.
    """
    import datasets

    path = Path(source)
    if path.exists():
        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as err:  # noqa: BLE001 - a damaged folder fails anywhere inside datasets (IndexError, KeyError, …)
            raise UserError(f"{path}: not a dataset saved with save_to_disk "
                            f"({type(err).__name__}: {first_line(err)})") from None
        stem = path.name
    else:
        try:
            loaded = datasets.load_dataset(source)
        except Exception as err:  # noqa: BLE001 - offline, unknown id, gated, …: all are "cannot get it"
            raise UserError(f"cannot reach the hub for '{source}' ({first_line(err)})",
                            hint="download it elsewhere with save_to_disk and import the folder") from None
        stem = source.rsplit("/", 1)[-1]
    if isinstance(loaded, datasets.Dataset):
        return [_table_from_arrow(source, stem, loaded.with_format("arrow")[:])]
    names = [name for name in HF_SPLITS if name in loaded] or list(loaded)[:1]
    if not names:
        raise UserError(f"{source}: the dataset has no splits")
    return [_table_from_arrow(f"{source}[{name}]", f"{stem}-{name}", loaded[name].with_format("arrow")[:],
                              split=name if name in HF_SPLITS else None)
            for name in names]
