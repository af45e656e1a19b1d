"""Third security audit: attacks the earlier audits' tests did not cover (one section per finding)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.connector.web.seed import TenantData
from tests.connector.web.test_oauth import started  # noqa: F401 - a fixture (onboarding recorded, not run)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ------------------------------------------------------------------ YAML alias bombs in the scoring model


def _alias_bomb(levels: int) -> str:
    """A few hundred bytes of YAML that are 10**levels values once its aliases are expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_model_yaml_alias_bomb_is_refused_at_once(client: Any, tenants: dict[str, TenantData]) -> None:
    # Before: the version hash serialised the expanded document (10**9 values at 9 levels: minutes of CPU and
    # gigabytes per request); an admin key or the model page could stall every worker.
    t0 = time.perf_counter()
    resp = client.post(
        "/api/v1/backtest", json={"yaml": _alias_bomb(7)}, headers=_bearer(tenants["acme"].admin_key)
    )
    assert time.perf_counter() - t0 < 5
    assert resp.status_code == 422
    assert any("aliases" in p for p in resp.get_json()["problems"])


def test_model_yaml_alias_cycle_is_a_422_not_a_500(client: Any, tenants: dict[str, TenantData]) -> None:
    resp = client.post(
        "/api/v1/backtest", json={"yaml": "a: &a [*a]\n"}, headers=_bearer(tenants["acme"].admin_key)
    )
    assert resp.status_code == 422
    assert any("aliases" in p for p in resp.get_json()["problems"])


def test_model_page_refuses_an_alias_bomb(acme_admin: Any) -> None:
    t0 = time.perf_counter()
    resp = acme_admin.post(
        "/admin/model", data={"yaml": _alias_bomb(7), "mode": "yaml", "action": "validate"}
    )
    assert time.perf_counter() - t0 < 5
    assert resp.status_code == 400
    assert b"aliases" in resp.data


# ------------------------------------------------------------------ play subjects are templates, not format strings


@pytest.mark.parametrize(
    "subject",
    [
        "{account:>1000000}",  # a width: 40 characters of these allocated gigabytes (str.format)
        "{band:^50}{account!r}",
        "{account.__class__.__mro__}",  # attribute and index lookups
        "{band[0]}",
    ],
)
def test_play_subject_accepts_plain_fields_only(
    client: Any, tenants: dict[str, TenantData], subject: str
) -> None:
    body = {"name": "Spec", "to_band": "red", "subject": subject}
    resp = client.post("/api/v1/plays", json=body, headers=_bearer(tenants["acme"].admin_key))
    assert resp.status_code == 422, resp.get_json()
    assert any("{account} and {band} only" in p for p in resp.get_json()["problems"])
    ok = client.post(
        "/api/v1/plays",
        json={**body, "subject": "{{Health}} {account} entered {band}"},
        headers=_bearer(tenants["acme"].admin_key),
    )
    assert ok.status_code == 201, ok.get_json()


def test_a_stored_subject_with_a_format_spec_fills_in_plain_values() -> None:
    """A play saved before the check: the worker fills the values in and applies nothing else."""
    from connector.pipeline.plays import render_subject

    assert render_subject("{account:>2000000000} is {band!r}", "Acme", "red") == "Acme is red"
    assert render_subject("{{x}} {account.__class__}", "Acme", "red") == "{x} {account.__class__}"
    assert render_subject("{account", "Acme", "red") == "{account"


# ------------------------------------------------------------------ metrics label cardinality


def test_made_up_http_methods_do_not_grow_the_metrics(client: Any) -> None:
    """Any token is an HTTP method: each made-up one was a new time series, kept forever (unauthenticated
    memory growth, and a /metrics answer that grew with it)."""
    from connector.web.health import REGISTRY

    def series() -> int:
        return sum(len(metric.samples) for metric in REGISTRY.collect())

    client.open("/login", method="BREW0")  # the first odd method may add the bounded "other" series
    before = series()
    for i in range(1, 50):
        assert client.open("/login", method=f"BREW{i}").status_code == 405
    assert series() == before


# ------------------------------------------------------------------ "Sync now" cannot pile up syncs


def test_sync_now_while_a_sync_runs_starts_no_second_one(
    acme_admin: Any,
    tenants: dict[str, TenantData],
    app: Any,
    started: list[tuple[int, str]],  # noqa: F811
) -> None:
    """Each click started a full sync and scoring pass on a thread of the web process: an admin (or a
    script with their cookie) could start hundreds at once and starve every workspace on that server."""
    from connector.store import repo as store
    from tests.connector.web.test_admin_plays import _connect_salesforce

    acme = tenants["acme"]
    _connect_salesforce(app, acme.id)
    first = acme_admin.post("/admin/integrations/salesforce/sync")
    assert first.status_code == 302
    for _ in range(3):
        again = acme_admin.post("/admin/integrations/salesforce/sync")
        assert again.status_code == 302
        assert again.headers["Location"] == first.headers["Location"]
    assert started == [(acme.id, "salesforce")]
    run_id = first.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    store.finish_run(
        app.config["HEALTHSCORE"].sqlalchemy_url, acme.id, run_id, "ok", {"vendor": "salesforce"}
    )
    assert (
        acme_admin.post("/admin/integrations/salesforce/sync").headers["Location"]
        != first.headers["Location"]
    )
    assert len(started) == 2


# ------------------------------------------------------------------ the SSRF guard is no DNS oracle


def test_refused_webhook_url_does_not_reveal_what_a_name_resolves_to(
    client: Any, acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """The refusal named the resolved address: 'https://redis.internal/' answered '10.0.3.7 is private', so
    any tenant admin could map our internal host names to addresses (and a CNAME they control to any)."""
    resp = client.post(
        "/api/v1/webhooks", json={"url": "https://localhost/hook"}, headers=_bearer(tenants["acme"].admin_key)
    )
    assert resp.status_code == 422
    problems = " ".join(resp.get_json()["problems"])
    assert "localhost is loopback" in problems
    assert "127.0.0.1" not in problems
    page = acme_admin.post(
        "/admin/webhooks/", data={"url": "https://localhost/hook", "event_types": "account.band_changed"}
    )
    assert page.status_code == 400
    assert b"127.0.0.1" not in page.data


def test_ssrf_refusal_names_a_typed_address_but_never_a_resolved_one() -> None:
    from webhooks.errors import UnsafeTargetError
    from webhooks.ssrf import check_url

    def internal(host: str, port: int) -> list[str]:
        return ["10.9.8.7"]

    with pytest.raises(UnsafeTargetError) as named:
        check_url("https://redis.corp.example/", resolver=internal)
    assert named.value.reason == "blocked_address"
    assert "10.9.8.7" not in str(named.value)
    assert "redis.corp.example is private" in str(named.value)
    with pytest.raises(UnsafeTargetError) as typed:
        check_url("https://10.9.8.7/", resolver=internal)
    assert "10.9.8.7 is private" in str(typed.value)


# ------------------------------------------------------------------ a token refresh cannot move the org anywhere


def test_a_refresh_cannot_move_the_salesforce_org_to_an_address_we_refuse(
    app: Any, tenants: dict[str, TenantData]
) -> None:
    """The code exchange vets Salesforce's instance_url; a refresh answer's new one was taken as is, and every
    later API call (bearer token included) went there."""
    from connector.installs.connections import connection_for
    from connector.installs.onboarding import _installation
    from connector.installs.vault import Vault
    from connector.store import repo as store
    from connector.store.db import transaction
    from integrations.errors import ReauthRequiredError
    from integrations.oauth import TokenSet
    from tests.connector import builders

    settings = app.config["HEALTHSCORE"]
    acme = tenants["acme"].id
    with transaction(settings.sqlalchemy_url) as s:
        builders.installation(s, Vault(settings), acme)

    def stored() -> TokenSet:
        inst = _installation(settings, acme, "salesforce")
        return store.token_from_dict(Vault(settings).decrypt_json(inst.tokens_enc or ""))

    conn = connection_for(settings, _installation(settings, acme, "salesforce"))
    for moved in ("http://169.254.169.254/latest", "https://10.0.0.8", "https://[fd00:ec2::254]"):
        with pytest.raises(ReauthRequiredError):
            conn.save_tokens(TokenSet(access_token="new", refresh_token="r2", instance_url=moved))
        assert stored().instance_url is None
        assert stored().access_token == builders.ACCESS_TOKEN
    # A usable one is stored (outside production a local sandbox is usable).
    conn.save_tokens(TokenSet(access_token="new", refresh_token="r2", instance_url="https://127.0.0.1:8443"))
    assert stored().instance_url == "https://127.0.0.1:8443"
