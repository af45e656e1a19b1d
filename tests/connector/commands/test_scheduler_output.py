"""`healthscore scheduler` shows its own lines, not APScheduler's bookkeeping (report-readme.md)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.mark.redis
def test_the_scheduler_does_not_print_apschedulers_info_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, it started with 'Adding job tentatively -- it will be properly scheduled when the scheduler
    starts' (twice) and logged 'Running job …' and '… executed successfully' every minute."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    def start_then_stop(self: BlockingScheduler) -> None:
        self.add_job(print, "interval", minutes=5, id="extra")  # logs at INFO while not started
        raise KeyboardInterrupt

    monkeypatch.setattr(BlockingScheduler, "start", start_then_stop)
    monkeypatch.setattr(logging.getLogger("apscheduler"), "level", logging.NOTSET)
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    caplog.set_level(logging.INFO)
    result = CliRunner().invoke(main, ["scheduler"], env=env)
    assert result.exit_code == 0, result.output
    assert "scheduler stopped" in result.stderr
    assert not [r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno < logging.WARNING]
