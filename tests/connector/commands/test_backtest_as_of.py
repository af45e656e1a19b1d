"""`healthscore backtest --as-of DATE` (and POST /api/v1/backtest with "as_of") with a date after the newest
data in the store says so, names the newest date and what to pass instead. Before, the CLI answered "AUC None
accounts 0 … sample too small" (nothing can have happened after the newest data) and the API took no date."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main
from tests.connector import builders as b

NEWEST = datetime(2026, 6, 30, 15, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, target)
    url = f"sqlite:///{target}"
    with b.session(url) as s:
        t = b.tenant(s, "northwind")
        b.crm_account(s, t, "001A", updated_at=NEWEST.replace(month=3))
        b.deal(s, t, "006A", "001A", is_closed=True, close_date=date(2026, 6, 1), updated=NEWEST)
    return url


def test_an_as_of_after_the_newest_data_is_refused_with_what_to_pass(store: str) -> None:
    result = CliRunner().invoke(
        main, ["backtest", "--as-of", "2026-09-01"], env={"HEALTHSCORE_DATABASE_URL": store}
    )
    assert result.exit_code == 2, result.output
    assert "2026-09-01" in result.stderr
    assert "after the newest data" in result.stderr
    assert "2026-06-30" in result.stderr  # the newest date named
    assert "--as-of 2026-04-01" in result.stderr  # the newest data minus the 90-day horizon
    assert "accounts 0" not in result.stdout


def test_the_hint_follows_the_horizon(store: str) -> None:
    result = CliRunner().invoke(
        main,
        ["backtest", "--as-of", "2026-07-15", "--horizon", "30d"],
        env={"HEALTHSCORE_DATABASE_URL": store},
    )
    assert result.exit_code == 2, result.output
    assert "--as-of 2026-05-31" in result.stderr


def test_an_as_of_within_the_data_still_runs(store: str) -> None:
    result = CliRunner().invoke(
        main, ["backtest", "--as-of", "2026-04-01", "--json"], env={"HEALTHSCORE_DATABASE_URL": store}
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("far", ["0001-01-01", "1900-01-01"])
def test_an_as_of_before_the_oldest_data_is_refused_with_the_range(store: str, far: str) -> None:
    """0001-01-01 ended in 'error: OverflowError: date value out of range'; 1900-01-01 in 'accounts 0 …
    sample too small'. Both name the oldest data (the deal created with the book) and the dates that work."""
    result = CliRunner().invoke(main, ["backtest", "--as-of", far], env={"HEALTHSCORE_DATABASE_URL": store})
    assert result.exit_code == 2, result.output
    assert f"{far} is before the oldest data in the store" in result.stderr
    assert "OverflowError" not in result.output + result.stderr
    assert "hint: pass --as-of a date from " in result.stderr
    assert "accounts 0" not in result.stdout
