"""ReaLM Studio's headless engine.

The lower layers (``errors``, ``fsutil``, ``config``, ``events``, ``runs``, ``project``, the pure
``method`` package and ``data.problems``) import neither torch nor Qt: the GUI reads the project
folder through them. What needs torch lives in ``engine.hf`` (models, generation) and
``engine.stages`` (training, evaluation, export), imported lazily by the CLI. The layers and
their contracts: docs/LAYERS.md.
"""

__version__ = "0.1.0"
