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


def test_the_silent_sentiment_step_is_announced_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's first pass printed '✓ link …' and then nothing for 1-2 minutes while the model scored
    14,342 messages (74 s and 119 s in the two fresh-clone runs): a newcomer could think it hung."""
    import io

    from connector.commands import pipeline

    err = io.StringIO()
    monkeypatch.setattr(err, "isatty", lambda: True)
    monkeypatch.setattr(pipeline.sys, "stderr", err)
    link = {"tickets_linked": 3, "tickets_total": 3, "unmatched": []}
    sentiment = {"tickets_changed": 3, "model_calls": 5, "cache_hits": 0}
    pipeline._progress("link", link)
    assert err.getvalue().endswith(pipeline.SENTIMENT_NOTE)
    pipeline._progress("sentiment", sentiment)
    shown = err.getvalue().split("\n")[1].rsplit("\r", 1)[-1]  # what the terminal shows on that line
    assert shown.startswith("  ✓ sentiment")
    assert "…" not in shown
    assert len(pipeline.SENTIMENT_NOTE) <= 61  # the ✓ line ("\r" + text, padded to 62) covers it
