"""ReaLM Studio's headless engine.

Modules at this level (``config``, ``events``, ``runs``, ``project``, ``errors``, ``fsutil``)
import neither torch nor Qt: the GUI reads the project folder through them. Everything that
needs torch lives under ``engine.stages`` and is imported lazily by the CLI.
"""

__version__ = "0.1.0"
