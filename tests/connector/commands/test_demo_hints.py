"""The demo's printed hints can be typed as printed (report-walk.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector.commands.demo import command_name


def test_the_tick_hint_names_the_venvs_command_when_it_is_not_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` runs .venv/bin/healthscore; the hint said `healthscore sandbox tick …`, which a fresh
    terminal answers with "command not found"."""
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    exe = venv_bin / "healthscore"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    assert command_name(".venv/bin/healthscore", path="/usr/bin:/bin") == ".venv/bin/healthscore"
    assert command_name(str(exe), path="/usr/bin:/bin") == ".venv/bin/healthscore"
    # with the venv activated (on PATH) the short name works
    assert command_name(".venv/bin/healthscore", path=f"{venv_bin}{os.pathsep}/usr/bin") == "healthscore"
    # run from elsewhere: the absolute path, never ../..
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert command_name(str(exe), path="/usr/bin") == str(exe)
    assert command_name("python -m connector") == "healthscore"
