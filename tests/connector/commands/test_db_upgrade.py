"""`healthscore db upgrade` says in one line per revision what it applied (or that the database was already
current); Alembic's own INFO lines ("Context impl SQLiteImpl.", "Running upgrade 0001 -> 0002, …") only with
--verbose. Before, every command printed them all (two lines of set-up and one per revision)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from connector.cli import main
from connector.store import migrate


def _upgrade(tmp_path: Path, *args: str) -> tuple[str, str]:
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "HEALTHSCORE_LOG_LEVEL": "WARNING"}
    result = CliRunner().invoke(main, ["db", "upgrade", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_one_line_per_applied_revision_and_no_alembic_chatter(tmp_path: Path) -> None:
    out, err = _upgrade(tmp_path, "--revision", "0003")
    assert "alembic" not in err.lower()
    assert "Running upgrade" not in out + err
    lines = out.strip().splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["0001", "0002", "0003"]
    assert all(line.startswith("applied ") for line in lines[:3])
    assert "initial schema" in lines[0]  # the revision's own description
    assert lines[-1] == "database at revision 0003 (was empty)"

    out, err = _upgrade(tmp_path)
    applied = [line for line in out.splitlines() if line.startswith("applied ")]
    assert applied[0].split()[1] == "0004"
    assert applied[-1].split()[1] == migrate.head()
    assert "Running upgrade" not in err


def test_already_current_says_so(tmp_path: Path) -> None:
    _upgrade(tmp_path)
    out, err = _upgrade(tmp_path)
    assert out.strip() == f"database already current at revision {migrate.head()}"
    assert err == ""


def test_verbose_shows_alembic(tmp_path: Path) -> None:
    out, err = _upgrade(tmp_path, "--verbose")
    assert "Running upgrade  -> 0001" in err
    assert "applied 0001" in out


def test_other_commands_that_check_the_schema_print_no_alembic_lines(tmp_path: Path) -> None:
    """`healthscore demo` (and every store command, through the schema guard) printed Alembic's "Context
    impl SQLiteImpl." / "Will assume non-transactional DDL." at the default INFO level, twice per check."""
    _upgrade(tmp_path)
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "HEALTHSCORE_LOG_LEVEL": "INFO"}
    result = CliRunner().invoke(main, ["db", "current"], env=env)
    assert result.exit_code == 0, result.output
    assert migrate.head() in result.stdout
    assert "Context impl" not in result.stdout + result.stderr
