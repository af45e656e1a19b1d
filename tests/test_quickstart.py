"""The README's quick start and configuration table as a newcomer reads them (report-readme.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(*args: str) -> list[str]:
    out = subprocess.run(
        ["make", "-n", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    return [line for line in out.splitlines() if "healthscore demo" in line]


def test_make_demo_serves_on_the_port_given_in_demo_port() -> None:
    """Port 5000 taken (another app, a second checkout): `make demo` had no way to choose another port, and
    found out only after minutes of the demo pass, when the web UI could not bind."""
    assert any("--port 5187" in line for line in _dry_run("demo", "DEMO_PORT=5187"))
    assert any("--port 5000" in line for line in _dry_run("demo"))
    assert any("--port 5188" in line for line in _dry_run("demo-scale", "DEMO_PORT=5188"))


def test_the_readme_lists_every_setting() -> None:
    """HEALTHSCORE_INSTANCE_PATH, HEALTHSCORE_SENTIMENT_MODEL_PATH, HEALTHSCORE_CARD_RATE_LIMIT and others were
    read by the service but missing from the README's configuration table."""
    import dataclasses

    from connector.config import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    internal = {"sandbox_url"}  # not read anywhere any more; kept so existing config files stay valid
    missing = [
        f.name
        for f in dataclasses.fields(Settings)
        if f.name not in internal and f"| `{f.name}` | `HEALTHSCORE_{f.name.upper()}` |" not in readme
    ]
    assert not missing, f"settings missing from README.md's Configuration table: {missing}"


def test_ensure_services_says_what_to_install_when_it_cannot_start_them(tmp_path: Path) -> None:
    """On a machine without PostgreSQL and Redis, scripts/ensure-services.sh (make test, make demo-scale)
    printed 'starting PostgreSQL', 'pg_ctlcluster: command not found', 'redis-server: command not found',
    exited 0, and the tests or the demo failed later on a refused connection."""
    import shutil
    import socket

    bin_dir = tmp_path / "bin"  # a machine with a shell but neither PostgreSQL nor Redis installed
    bin_dir.mkdir()
    for tool in ("bash", "ls", "head", "seq", "sleep", "cat", "grep"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    closed = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed.append(str(sock.getsockname()[1]))
    env = {"PATH": str(bin_dir), "PG_PORT": closed[0], "REDIS_PORT": closed[1]}
    done = subprocess.run(
        [str(bin_dir / "bash"), str(ROOT / "scripts" / "ensure-services.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "apt-get install -y postgresql" in done.stderr
    assert "apt-get install -y redis-server" in done.stderr
    assert "command not found" not in done.stderr


def test_the_editable_install_hides_setuptools_boxed_warning() -> None:
    """`make demo`'s install ended in a boxed '!! Editable installation. … Please be careful with folders in
    your working directory with the same name as your package …' (setuptools, shown despite pip -q)."""
    out = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), "VENV=/nonexistent-venv", "install-test"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in out.splitlines() if "pip install -q -e" in line]
    assert len(installs) == 2, out
    assert all('PYTHONWARNINGS="ignore:Editable installation"' in line for line in installs)


def test_the_readme_says_what_to_open_and_how_to_sign_in() -> None:
    """The quick start said the demo 'ends by printing the URL and sign-ins' but not which to use."""
    from connector.demo.run import DEMO_PASSWORD

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "http://127.0.0.1:5000/" in quick_start
    assert f"`admin@northwind.demo` / `{DEMO_PASSWORD}`" in quick_start


def test_make_demo_with_an_unsupported_python_says_which_to_install(tmp_path: Path) -> None:
    """With python3 being 3.13 (Debian 13, Homebrew) `make demo` made a virtualenv, upgraded pip and then
    failed in pip with "Package 'healthscore' requires a different Python: 3.13.1 not in '<3.13,>=3.11'",
    not saying what to do."""
    import os

    fake = tmp_path / "bin" / "python3"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Python 3.13.1"; exit 0; fi\nexit 1\n')
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["make", "-C", str(ROOT), "demo", f"VENV={venv}"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"},
        timeout=120,
    )
    assert done.returncode != 0
    assert "error: healthscore needs Python 3.11 or 3.12; python3 is Python 3.13.1" in done.stderr
    assert "make demo PYTHON=python3.12" in done.stderr
    assert not venv.exists()


def test_the_readme_names_the_pythons_setup_cfg_accepts() -> None:
    """setup.cfg accepts >=3.11,<3.13; the README did not say which Python `make demo` needs."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["options"]["python_requires"] == ">=3.11,<3.13"
    quick_start = (
        (ROOT / "README.md").read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ")[0]
    )
    assert "Python 3.11 or 3.12" in quick_start
    assert "make demo PYTHON=python3.12" in quick_start


def test_make_demo_runs_the_demo_alone(tmp_path: Path) -> None:
    """`make demo` ran `healthscore db upgrade` first: 18 lines of migration notes ('applied 0011 — One live
    workspace per HubSpot portal … (security audit 4)') before anything about the demo; the demo creates or
    upgrades the schema itself."""
    out = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "demo", f"VENV={tmp_path / 'venv'}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    commands = [line for line in out.splitlines() if "bin/healthscore " in line]
    assert len(commands) == 1, commands
    assert " demo --port 5000" in commands[0]
