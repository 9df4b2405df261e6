"""The bundled demo domain (Northwind Parcel's shipping fees) and where its files live.

``DEMO_DIR`` (defined with every other path in ``engine.project``, where the GUI reads it) is
found relative to the package, so it works from a source checkout (the assets ship beside
``engine/``); ``RULEBOOK`` is the rule text every demo problem carries.
"""

from ..project import DEMO_DIR
from .domain import RULEBOOK

__all__ = ["DEMO_DIR", "RULEBOOK"]
