"""The command line under bad conditions: Ctrl-C, a closed pipe, a database that is broken, empty, behind or
ahead of the code, and a destructive command without confirmation. Each ends in one message, a hint and
the right exit code, never a traceback or click's bare "Aborted!"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite store migrated to head (a copy of the session's template)."""
    target = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def _run(url: str, *args: str) -> object:
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
