"""The bundled demo domain (Northwind Parcel's shipping fees) and where its files live.

``DEMO_DIR`` is found relative to this package, so it works from a source checkout (the
assets ship beside ``engine/``); ``RULEBOOK`` is the rule text every demo problem carries.
"""

from pathlib import Path

from .domain import RULEBOOK

DEMO_DIR: Path = Path(__file__).resolve().parents[2] / "assets" / "demo"

__all__ = ["DEMO_DIR", "RULEBOOK"]
