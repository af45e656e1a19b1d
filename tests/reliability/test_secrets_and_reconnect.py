"""Secrets never reach logs or stored attempts (suite 5); a revoked install stops only its tenant (suite 6).

Suite 5: a whole scenario at DEBUG with every logger captured, with token expiry, refreshes (rotated
tokens), vendor errors and receiver failures on the way; no access/refresh token, client secret, webhook
signing secret, password or `Authorization` value may appear in any log line or stored webhook attempt.
Suite 6: Northwind's Zendesk app is uninstalled mid-life (the vendor forgets its tokens: 401, then the
refresh grant is refused); that installation must stop with a "reconnect" status and hint while Northwind's
Salesforce and every Contoso installation sync on.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.store import models as m
from connector.store.db import transaction
from integrations.sandbox.context import Fault
from tests.reliability import figures
from tests.reliability.faults import drain_deliveries
from tests.reliability.world import VENDORS, FaultyReceiver, build_world


def _secrets(sandbox: Any, world: Any) -> set[str]:
    found: set[str] = set()
    for v in VENDORS:
        state = sandbox.ctx.vendors[v]
        found |= set(state.access_tokens) | set(state.refresh_tokens) | {state.oauth.client_secret}
        if state.webhook_secret:
            found.add(state.webhook_secret)
    found |= set(world.receiver.secrets)
    found |= {s.split("_", 1)[-1] for s in world.receiver.secrets}  # the key without its whsec_ prefix
    from connector.demo.run import DEMO_PASSWORD

    found.add(DEMO_PASSWORD)
    with transaction(world.settings.sqlalchemy_url) as s:
        for inst in s.scalars(select(m.Installation)):
            found |= {str(v) for v in (inst.settings or {}).values() if isinstance(v, str) and len(v) >= 16}
    vault = Vault(world.settings)
    with transaction(world.settings.sqlalchemy_url) as s:
        for ep in s.scalars(select(m.WebhookEndpoint)):
            found |= set(vault.decrypt_json(ep.secrets_enc))
    return {
        x for x in found if x and len(x) >= 8 and not x.startswith("https://") and not x.startswith("http://")
    }


def test_no_secret_in_any_log_line_or_stored_attempt(
    rel_sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = build_world(rel_sandbox, receiver=FaultyReceiver(fault_rate=0.3, seed=5))
    try:
        for v in VENDORS:  # expiry → refresh (rotation), errors with vendor bodies on the way
            rel_sandbox.ctx.faults.script(v, "GET *", Fault("expired_token"), times=2)
            rel_sandbox.ctx.faults.script(v, "*", Fault("server_error", status=500), times=1)
        for slug in ("contoso", "northwind"):
            world.run(slug)
            drain_deliveries(world, slug)
        rel_sandbox.tick(21, wait=True)
        world.set_clock()
        for slug in ("contoso", "northwind"):
            world.run(slug)
            drain_deliveries(world, slug)
        secrets = _secrets(rel_sandbox, world)
        lines = [
            f"{r.name} {r.getMessage()} {r.exc_text or ''} {getattr(r, '__dict__', {})}"
            for r in caplog.records
        ]
        with transaction(world.settings.sqlalchemy_url) as s:
            stored = [f"{a.response_excerpt} {a.error}" for a in s.scalars(select(m.WebhookAttempt))]
            stored += [f"{d.last_error}" for d in s.scalars(select(m.WebhookDelivery))]
            stored += [f"{i.last_error} {i.status}" for i in s.scalars(select(m.Installation))]
            stored += [str(r.report) for r in s.scalars(select(m.Run))] if hasattr(m, "Run") else []
        leaks = [(sec[:6], line[:160]) for line in lines + stored for sec in secrets if sec in line]
        assert not leaks, leaks[:5]
        assert not [line for line in lines if "Bearer " in line or "authorization': '" in line.lower()]
        figures.record(
            "secrets",
            log_lines_checked=len(lines),
            stored_texts_checked=len(stored),
            secrets_looked_for=len(secrets),
            leaks=0,
        )
    finally:
        world.close()


def test_uninstalled_app_stops_only_its_installation(rel_sandbox: Any) -> None:
    world = build_world(rel_sandbox)
    try:
        for slug in ("contoso", "northwind"):
            world.run(slug)
        # Northwind uninstalls our Zendesk app: Zendesk deletes its grant (access and refresh tokens).
        state = rel_sandbox.ctx.vendors["zendesk"]
        vault = Vault(world.settings)
        with transaction(world.settings.sqlalchemy_url) as s:
            inst = s.scalar(
                select(m.Installation).where(
                    m.Installation.tenant_id == world.tenants["northwind"], m.Installation.vendor == "zendesk"
                )
            )
            tokens = vault.decrypt_json(inst.tokens_enc)
        with rel_sandbox.ctx.lock:
            state.access_tokens.pop(tokens["access_token"], None)
            state.refresh_tokens.discard(tokens["refresh_token"])
        rel_sandbox.tick(3, wait=True)
        world.set_clock()
        reports = {slug: world.run(slug) for slug in ("contoso", "northwind")}
        north = {i["vendor"]: i for i in reports["northwind"]["steps"]["sync"]["installations"]}
        assert north["zendesk"]["status"] == "reconnect"
        hint = " ".join(s["hint"] or "" for s in north["zendesk"]["streams"])
        assert "reconnect" in hint.lower(), hint
        assert north["salesforce"]["status"] == "ok"
        assert all(i["status"] == "ok" for i in reports["contoso"]["steps"]["sync"]["installations"])
        assert reports["contoso"]["status"] == "ok"
        with transaction(world.settings.sqlalchemy_url) as s:
            statuses = {(i.tenant_id, i.vendor): i.status for i in s.scalars(select(m.Installation))}
        assert statuses[(world.tenants["northwind"], "zendesk")] == "reconnect"
        assert statuses[(world.tenants["contoso"], "zendesk")] == "connected"
        # The next pass does not hammer the vendor with a dead grant: the installation is left alone.
        rel_sandbox.ctx.counters.reset()
        world.run("northwind")
        assert rel_sandbox.ctx.counters.get("zendesk") == 0
        figures.record("reconnect", runs=1, tenants_unaffected=1, installations_stopped=1)
    finally:
        world.close()
