"""`healthscore demo --workers N` (make demo-scale): refuses what cannot work with a message saying what to
start, and turns a split pass's report into the one-process summary shape. The whole run on real workers
over PostgreSQL + Redis is tests/connector/jobs/test_split_pass.py and benchmarks/pipeline.py --e2e."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from connector.cli import main
from connector.commands.demo import _as_pass


def test_workers_need_a_shared_database(tmp_path: Path) -> None:
    env = {"HEALTHSCORE_INSTANCE_PATH": str(tmp_path / "inst")}
    result = CliRunner().invoke(main, ["demo", "--workers", "2", "--no-serve"], env=env)
    assert result.exit_code == 2
    assert "--database-url postgresql://" in result.output
    assert "ensure-services.sh" in result.output
    assert "Traceback" not in result.output


def test_workers_need_redis(tmp_path: Path) -> None:
    env = {"HEALTHSCORE_INSTANCE_PATH": str(tmp_path / "inst")}
    args = ["demo", "--workers", "2", "--no-serve", "--database-url", "postgresql://postgres@127.0.0.1:9/x",
            "--broker-url", "redis://127.0.0.1:9/0"]  # fmt: skip
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2
    assert "needs Redis at redis://127.0.0.1:9/0" in result.output


def test_a_split_pass_report_reads_like_a_one_process_pass() -> None:
    report = {
        "status": "ok",
        "steps": {
            "sync": [
                {"vendor": "zendesk", "stream": "accounts", "read": 3, "api_calls": 2, "status": "ok"},
                {"vendor": "zendesk", "stream": "tickets", "read": 9, "api_calls": 4, "status": "ok"},
                {"vendor": None, "stream": "deals", "status": "skipped"},
            ],
            "link": [{"tickets_linked": 9, "tickets_total": 9}],
            "sentiment": [
                {"messages": 5, "negative": 1, "model_version": "m"},
                {"messages": 7, "negative": 0},
            ],
            "score": [{"scored": 3}],
            "write_back": [{"zendesk": {"written": 3}}],
            "events": {"delivered": 1},
        },
    }
    steps = _as_pass(report)["steps"]
    [inst] = steps["sync"]["installations"]
    assert (inst["vendor"], inst["api_calls"], len(inst["streams"])) == ("zendesk", 6, 2)
    assert steps["sentiment"] == {"messages": 12, "negative": 1}
    assert steps["write_back"] == {"zendesk": {"written": 3}}
    assert (steps["link"]["tickets_linked"], steps["score"]["scored"], steps["events"]["delivered"]) == (
        9,
        3,
        1,
    )
