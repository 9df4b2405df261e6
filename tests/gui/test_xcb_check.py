"""Starts on a plain Linux desktop (issue 13, item 11): the libraries Qt's xcb plugin lacks are
found before Qt aborts with a message that blames another one, and the one command that
installs them is printed."""

from __future__ import annotations

from realm_studio import app, xcb_check

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-icccm.so.4 => not found
"""


def test_the_missing_libraries_and_their_packages_are_read_from_ldd():
    assert xcb_check.missing_libraries(LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0"]
    assert [xcb_check.debian_package(s) for s in xcb_check.missing_libraries(LDD)] == [
        "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"]
    assert xcb_check.install_message([]) == ""


def test_the_app_prints_the_install_command_instead_of_starting(monkeypatch, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(app, "missing_xcb_message",
                        lambda: xcb_check.install_message(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]))
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1 not found" in err
    assert err.strip().endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1")


def test_on_this_machine_the_real_check_runs_and_offscreen_needs_none(monkeypatch):
    assert isinstance(xcb_check.missing_xcb_message(), str)  # ldd on the real plugin: no crash
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert not xcb_check.uses_xcb()
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert xcb_check.uses_xcb()
