"""The post-install run: steps in order, progress stored in `runs`, a failed check stops before syncing."""

from __future__ import annotations

from typing import Any

import pytest

from connector.config import load_settings
from connector.installs import onboarding
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction


@pytest.fixture
def settings(settings_overrides: dict[str, object]) -> Any:
    from connector.store import migrate

    migrate.upgrade(str(settings_overrides["database_url"]))
    return load_settings(settings_overrides)


@pytest.fixture
def tenant_id(settings: Any) -> int:
    with transaction(settings.sqlalchemy_url) as session:
        return store.ensure_tenant(session, "acme", "Acme").id


def _steps(monkeypatch: pytest.MonkeyPatch, calls: list[str], fail: str | None = None) -> None:
    def make(name: str) -> Any:
        def step(*_args: Any) -> dict[str, Any]:
            calls.append(name)
            if name == fail:
                raise RuntimeError(f"{name} broke")
            return {"state": "done", "message": f"{name} ok"}

        return step

    for name in onboarding.STEPS:
        monkeypatch.setattr(onboarding, f"_{name}", make(name))
    monkeypatch.setattr(onboarding, "_mark", lambda *a: calls.append("mark"))


def _run(settings: Any, tenant_id: int, run_id: str) -> m.Run:
    with transaction(settings.sqlalchemy_url) as session:
        return session.query(m.Run).filter_by(run_id=run_id, tenant_id=tenant_id).one()


def test_all_steps_in_order(monkeypatch: pytest.MonkeyPatch, settings: Any, tenant_id: int) -> None:
    calls: list[str] = []
    _steps(monkeypatch, calls)
    run_id = onboarding.start(settings, tenant_id, "zendesk", background=False)
    assert calls == ["check", "fields", "sync", "score"]
    run = _run(settings, tenant_id, run_id)
    assert run.status == "ok"
    assert run.kind == "install"
    assert [run.report["steps"][s]["state"] for s in onboarding.STEPS] == ["done"] * 4


def test_failed_check_skips_the_rest(monkeypatch: pytest.MonkeyPatch, settings: Any, tenant_id: int) -> None:
    calls: list[str] = []
    _steps(monkeypatch, calls, fail="check")
    run = _run(settings, tenant_id, onboarding.start(settings, tenant_id, "hubspot", background=False))
    assert calls == ["check", "mark"]
    assert run.status == "failed"
    assert run.report["steps"]["check"] == {"state": "failed", "message": "RuntimeError: check broke"}
    assert run.report["steps"]["sync"]["state"] == "skipped"


def test_failed_field_step_still_syncs(
    monkeypatch: pytest.MonkeyPatch, settings: Any, tenant_id: int
) -> None:
    calls: list[str] = []
    _steps(monkeypatch, calls, fail="fields")
    run = _run(settings, tenant_id, onboarding.start(settings, tenant_id, "salesforce", background=False))
    assert calls == ["check", "fields", "sync", "score"]
    assert run.status == "partial"


def test_missing_fields_do_not_block_the_check() -> None:
    from integrations.base import CheckReport, Problem

    report = CheckReport(
        vendor="hubspot",
        ok=False,
        missing_fields=("healthscore_score",),
        problems=(Problem(message="8 healthscore properties missing on companies", hint="Run field setup"),),
    )
    assert onboarding._about_missing_fields(report.problems[0], report)
    scope = Problem(message="scope tickets not granted", hint="Reconnect HubSpot")
    assert not onboarding._about_missing_fields(scope, report)


def test_field_step_counts_only_the_fields_it_created(monkeypatch: pytest.MonkeyPatch) -> None:
    """'Sync now' on a connected vendor said '8 field(s) created' although every field was already there."""
    from integrations.records import FieldChange

    actions: list[str] = []

    class Adapter:
        def ensure_fields(self) -> list[FieldChange]:
            return [FieldChange(key=f"k{i}", vendor_name=f"v{i}", action=a) for i, a in enumerate(actions)]

        def close(self) -> None:
            pass

    monkeypatch.setattr(onboarding, "_adapter", lambda *a: Adapter())
    actions[:] = ["exists"] * 8
    assert onboarding._fields(None, 1, "zendesk")["message"] == "all 8 fields already in place"
    actions[:] = ["created"] * 8
    assert onboarding._fields(None, 1, "zendesk")["message"] == "8 field(s) created"
    actions[:] = ["created", "exists", "exists"]
    assert onboarding._fields(None, 1, "zendesk")["message"] == "1 field(s) created, 2 already in place"
