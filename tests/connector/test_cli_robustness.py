"""The command line under bad conditions: Ctrl-C, a closed pipe, a database that is broken, empty, behind or
ahead of the code, and a destructive command without confirmation. Each ends in one message, a hint and
the right exit code, never a traceback or click's bare "Aborted!"."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connector.cli import main


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite store migrated to head (a copy of the session's template)."""
    target = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def _run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"HEALTHSCORE_DATABASE_URL": url})


def test_ctrl_c_says_interrupted_and_exits_130(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shells and CI read 130 as 'interrupted by the user'; click alone printed 'Aborted!' and exited 1."""
    from connector.commands import pipeline as commands

    def interrupted(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "score", interrupted)
    result = CliRunner().invoke(main, ["score", "--json"], env={"HEALTHSCORE_DATABASE_URL": store})
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.stderr
    assert "run the same command again" in result.stderr
    assert "Aborted!" not in result.output
    assert result.stdout == ""  # --json: nothing half-printed on stdout


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`healthscore … | head -1`: the conventional quiet exit (141, as killed by SIGPIPE), not
    'error: Broken pipe / hint: check the path and its permissions' and exit 2."""
    from connector.commands import pipeline as commands

    def closed(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "score", closed)
    result = CliRunner().invoke(main, ["score"], env={"HEALTHSCORE_DATABASE_URL": store})
    assert result.exit_code == 141
    assert result.stderr == ""


def test_a_file_that_is_not_a_database_is_named_as_such(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(bytes(range(256)) * 40)
    result = _run(f"sqlite:///{junk}", "db", "current")
    assert result.exit_code == 2
    assert "error: the database file is not a healthscore SQLite database" in result.stderr
    assert "hint: point HEALTHSCORE_DATABASE_URL" in result.stderr
    assert "sqlalche.me" not in result.stderr  # SQLAlchemy's "Background on this error" link is noise here


def test_an_unreachable_server_says_why_without_the_password() -> None:
    result = _run("postgresql://healthscore:s3cret-pw@127.0.0.1:1/healthscore", "db", "current")
    assert result.exit_code == 2
    assert "error: the database is not reachable" in result.stderr
    assert "refused" in result.stderr.lower()  # the driver's reason, not only "OperationalError"
    assert "s3cret-pw" not in result.output


def test_an_os_error_without_errno_keeps_its_message(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests raises OSError('Could not find a suitable TLS CA certificate bundle, invalid path: …') with no
    errno: the message said only 'error: OSError'."""
    from connector.commands import pipeline as commands

    def missing_ca(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise OSError("Could not find a suitable TLS CA certificate bundle, invalid path: /gone/ca.pem")

    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "score", missing_ca)
    result = _run(store, "score")
    assert result.exit_code == 2
    assert "invalid path: /gone/ca.pem" in result.stderr


def test_a_revision_this_code_does_not_know_is_explained(store: str) -> None:
    path = store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    result = _run(store, "db", "upgrade")
    assert result.exit_code == 2
    assert "a newer healthscore migrated it" in result.stderr
    assert "hint: run the healthscore version that migrated it" in result.stderr
