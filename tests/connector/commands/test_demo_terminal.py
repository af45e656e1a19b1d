"""`make demo` in a terminal: the simulated days' lines stand on lines of their own (report-readme.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.mark.slow
def test_a_simulated_days_line_is_not_appended_to_the_page_counter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a terminal the last page counter of a day's passes stayed on screen (it ends in \\r, not a
    newline), so the day's first line read '  zendesk surveys: 37 records …   contoso: 13 band changes, …'."""
    import click.testing

    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda _self: True)
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    args = ["demo", "--no-serve", "--accounts", "4", "--history-days", "15"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    screen = [line.rsplit("\r", 1)[-1] for line in result.output.split("\n")]  # what a terminal shows
    days = [line for line in screen if "webhooks delivered" in line]
    assert {line.split(":")[0] for line in days} == {"  contoso", "  northwind"}, days
