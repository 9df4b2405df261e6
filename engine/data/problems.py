"""The canonical problem table (``data/problems.parquet``).

Plain Python + pyarrow only: the GUI reads it too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import ANSWER_TYPES  # noqa: F401  (kept importable from here, where it used to live)
from ..errors import UserError
from ..fsutil import atomic_write_parquet
from ..project import PROBLEMS_FILE  # noqa: F401  (likewise)

SPLITS = ("train", "test")


@dataclass
class Problem:
    id: str
    question: str
    answer: str
    answer_type: str = "text"
    choices: list[str] | None = None
    rules: str | None = None
    split: str = "train"
    meta: dict = field(default_factory=dict)  # anything else the importer kept, stored as JSON

    def letters(self) -> list[str]:
        """Choice letters A, B, C, … for a multiple-choice problem."""
        return [chr(ord("A") + i) for i in range(len(self.choices or []))]


def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.string()),
            ("question", pa.string()),
            ("answer", pa.string()),
            ("answer_type", pa.string()),
            ("choices", pa.list_(pa.string())),
            ("rules", pa.string()),
            ("split", pa.string()),
            ("meta", pa.string()),
        ]
    )


def decode_meta(text: str | None) -> dict:
    """A stored ``meta`` cell (JSON text, in the problem and the route tables) as a dict; a
    missing or unreadable one is empty."""
    import json

    try:
        meta = json.loads(text) if text else {}
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def write_problems(path: str | Path, problems: list[Problem]) -> None:
    import json

    import pyarrow as pa

    rows = [asdict(p) for p in problems]
    for row in rows:
        row["meta"] = json.dumps(row["meta"], ensure_ascii=False)
    table = pa.Table.from_pylist(rows, schema=_schema())
    atomic_write_parquet(path, table)


def read_problems(path: str | Path) -> list[Problem]:
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no problems yet", hint="run `realm-engine import` first")
    rows = pq.read_table(path).to_pylist()
    out = []
    for row in rows:
        row["meta"] = decode_meta(row.get("meta"))
        out.append(Problem(**row))
    return out
