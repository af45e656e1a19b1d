"""The app factory, /healthz, /metrics and JSON errors for API clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector import create_app
from connector.config import ConfigError


def test_healthz_checks_the_database(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    app = create_app(
        {
            "env": "test",
            "instance_path": str(tmp_path),
            "database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        }
    )
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["database"] == "unreachable"


def test_metrics_are_prometheus_text(client) -> None:  # type: ignore[no-untyped-def]
    client.get("/healthz")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    assert b"healthscore_http_requests_total" in resp.data


def test_api_errors_are_problem_json(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/does-not-exist")
    assert resp.status_code == 404
    body = resp.get_json()
    assert body["error"] == "not_found"
    assert body["status"] == 404
    assert resp.content_type.startswith("application/problem+json")


def test_bad_config_fails_at_start_with_every_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        create_app({"instance_path": str(tmp_path), "database_url": "nope", "log_format": "xml"})
    assert len(info.value.problems) == 2
