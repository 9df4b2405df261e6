"""ReaLM Studio: the desktop app (PySide6). It drives the headless engine through the
project folder and the engine CLI, and never imports torch / transformers / trl."""

__version__ = "0.1.0"
