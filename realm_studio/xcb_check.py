"""Before the first window on a Linux desktop: are the libraries Qt's xcb platform needs there?

On a minimal system Qt's xcb plugin fails to load for want of ``libxcb-icccm4`` or
``libxcb-keysyms1``, and Qt's own message blames another library (``libxcb-cursor0``). Asking
the dynamic loader (``ldd``) which libraries of the plugin are not found names the real ones,
and the Debian package of each follows from its name, so the app prints the one command that
installs them instead of Qt's misleading abort.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

_NOT_FOUND = re.compile(r"^\s*(\S+\.so(?:\.\d+)*)\s*=>\s*not found", re.MULTILINE)


def uses_xcb(environ=os.environ) -> bool:
    """Whether Qt will open windows through xcb (X11): Linux, and no other platform asked for."""
    platform = environ.get("QT_QPA_PLATFORM", "")
    return sys.platform.startswith("linux") and (platform in ("", "xcb") or platform.startswith("xcb:"))


def xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")  # found, not imported: Qt is not loaded yet
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` could not find, in its order, once each."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def debian_package(soname: str) -> str:
    """``libxcb-icccm.so.4`` → ``libxcb-icccm4``; ``libxkbcommon-x11.so.0`` → ``libxkbcommon-x11-0``."""
    name, _, version = soname.partition(".so")
    version = version.lstrip(".").split(".")[0]
    return f"{name}{'-' if name[-1].isdigit() else ''}{version}"


def missing_xcb_message() -> str:
    """One line naming what is missing and the command that installs it, or "" when nothing is."""
    plugin, ldd = xcb_plugin(), shutil.which("ldd")
    if plugin is None or ldd is None:
        return ""
    output = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30).stdout
    return install_message(missing_libraries(output))


def install_message(missing: list[str]) -> str:
    if not missing:
        return ""
    packages = " ".join(dict.fromkeys(debian_package(soname) for soname in missing))
    return (f"Qt cannot open a window on this desktop: {', '.join(missing)} not found. "
            f"Install with: sudo apt-get install {packages}")
