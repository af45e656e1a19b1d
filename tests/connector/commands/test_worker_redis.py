"""`healthscore worker` and `healthscore scheduler` with Redis down stop at once with what to start
(report-readme.md). Before, the worker printed Celery's 'consumer: Cannot connect to redis://…' ERROR lines
for 100 retries, and the scheduler started and logged a ConnectionError every minute."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.mark.parametrize(
    ("command", "started"),
    [("worker", "connector.jobs.tasks.configure"), ("scheduler", "connector.jobs.scheduler.build")],
)
def test_redis_down_stops_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, started: str
) -> None:
    def must_not_start(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"{command} started without Redis")

    monkeypatch.setattr(started, must_not_start)
    env = {
        "HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "HEALTHSCORE_BROKER_URL": "redis://:hunter2-secret@127.0.0.1:1/0",
    }
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = CliRunner().invoke(main, [command], env=env)
    assert result.exit_code == 2, result.output
    assert f"`healthscore {command}` needs Redis at redis://@127.0.0.1:1/0" in result.stderr
    assert "HEALTHSCORE_BROKER_URL" in result.stderr
    assert "hunter2-secret" not in result.output
