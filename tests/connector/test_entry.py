"""Ctrl-C before the command line has finished importing (click, Flask, SQLAlchemy, the commands: ~0.3-2 s)
ends with the "interrupted" line and exit 130, not an import traceback. The console script's entry point,
connector.entry, imports only the standard library and installs its SIGINT handler before the heavy imports.

Not timing-dependent: the child process blocks inside the import of click (a meta-path finder that says so
on stderr, then sleeps), and the test sends SIGINT only once it has said so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs what the generated console script runs (`from connector.entry import main; sys.exit(main())`), with a
# finder that stops the first heavy import until the test interrupts it.
CHILD = textwrap.dedent(
    """
    import sys, time

    class Stall:
        def find_spec(self, name, path=None, target=None):
            if name == "click":
                sys.stderr.write("importing click\\n")
                sys.stderr.flush()
                time.sleep(60)
            return None

    sys.meta_path.insert(0, Stall())
    from connector.entry import main
    sys.exit(main())
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_while_the_cli_imports_is_quiet(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, "--version"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        first = child.stderr.readline()
        assert first == "importing click\n", first + child.stderr.read()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    assert "interrupted while starting: nothing was done" in err
    assert "Traceback" not in err
    assert out == ""


def test_the_entry_module_imports_nothing_heavy() -> None:
    """The handler must be in place before click/Flask load: importing the entry module (and the connector
    package it lives in) must not import them."""
    code = "import sys, connector.entry; print(sorted(m for m in ('click', 'flask', 'sqlalchemy') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_the_console_script_goes_through_the_entry_module() -> None:
    from configparser import ConfigParser

    cfg = ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    scripts = cfg["options.entry_points"]["console_scripts"]
    assert "healthscore = connector.entry:main" in scripts
