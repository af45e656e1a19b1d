"""Rate limits per API key, per client address, per workspace (backtest) and per vendor installation
(security audit, finding B). Budgets are tiny here so a test spends one in a few requests; no sleeps.

Vendor behaviour relied on: HubSpot and Zendesk retry a webhook answered 429 (Zendesk when Retry-After is
short); Salesforce retries every outbound message answered without <Ack>true</Ack>, for up to 24 hours.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import pytest
from sqlalchemy import func, select

from connector import create_app
from connector.config import ConfigError, load_settings
from connector.installs.vault import Vault
from connector.realtime import inbound as realtime_inbound
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, bearer, sidebar_key
from webhooks.inbound import sign_hubspot_v3, sign_zendesk
from webhooks.salesforce_om import SalesforceNotification, sign_salesforce_outbound

REDIS_URL = os.environ.get("HEALTHSCORE_TEST_REDIS", "redis://127.0.0.1:6379/15")
PUBLIC = "http://127.0.0.1:5000"  # the default public_base_url: what HubSpot signs
SECRETS = {"zendesk": "zd-webhook-secret", "hubspot": "hs-client-secret", "token": "sf-url-token-123"}
SF_ORG = "00D5g000004ABCD"


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, object]) -> dict[str, object]:
    return {
        **settings_overrides,
        "api_rate_limit": "3 per minute",
        "api_unauthenticated_rate_limit": "3 per minute",
        "backtest_rate_limit": "1 per minute",
        "inbound_rate_limit": "2 per minute",
    }


def _get(client: Any, key: str, addr: str = "198.51.100.1") -> Any:
    return client.get("/api/v1/accounts", headers=bearer(key), environ_base={"REMOTE_ADDR": addr})


def _assert_429(resp: Any, whose: str) -> None:
    """The API's 429: a problem document naming the limit, and Retry-After in the header and the body."""
    assert resp.status_code == 429
    assert resp.content_type == "application/problem+json"
    body = resp.get_json()
    assert body["error"] == "too_many_requests"
    assert whose in body["message"]
    assert body["limit"] in body["message"]
    assert 1 <= body["retry_after"] <= 60
    assert resp.headers["Retry-After"] == str(body["retry_after"])


# --- REST API: per key, not per address ---------------------------------------------------------------


def test_two_keys_from_one_address_each_have_their_own_budget(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    assert [_get(client, acme.read_key).status_code for _ in range(3)] == [200] * 3
    _assert_429(_get(client, acme.read_key), "for this API key")
    # Same address, another key (same tenant even): its own budget.
    assert _get(client, acme.admin_key).status_code == 200


def test_one_key_from_two_addresses_shares_one_budget(client: Any, tenants: dict[str, TenantData]) -> None:
    key = tenants["acme"].read_key
    assert _get(client, key, "198.51.100.1").status_code == 200
    assert _get(client, key, "198.51.100.2").status_code == 200
    assert _get(client, key, "203.0.113.9").status_code == 200
    _assert_429(_get(client, key, "203.0.113.10"), "for this API key")


def test_each_route_spends_the_same_key_budget(client: Any, tenants: dict[str, TenantData]) -> None:
    key, addr = tenants["acme"].read_key, {"REMOTE_ADDR": "198.51.100.1"}
    for path in ("/api/v1/accounts", "/api/v1/tickets", "/api/v1/sync"):
        assert client.get(path, headers=bearer(key), environ_base=addr).status_code == 200
    _assert_429(client.get("/api/v1/models", headers=bearer(key), environ_base=addr), "for this API key")


RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def _quota(resp: Any) -> tuple[int, int, int]:
    limit, remaining, reset = (int(resp.headers[h]) for h in RATE_HEADERS)
    return limit, remaining, reset


def test_api_answers_say_what_is_left_of_the_key_budget(client: Any, tenants: dict[str, TenantData]) -> None:
    """Successful REST API answers carried no X-RateLimit-* headers: a client could only find its budget by
    running into the 429. Every answer once the key is known says it (Flask-Limiter's names); a 401 and the
    public OpenAPI document carry none."""
    import time

    key, addr = tenants["acme"].read_key, {"REMOTE_ADDR": "198.51.100.1"}
    before = int(time.time())
    first = _get(client, key)
    assert first.status_code == 200
    limit, remaining, reset = _quota(first)
    assert (limit, remaining) == (3, 2)  # "3 per minute" here; this request counted
    assert before <= reset <= before + 61
    missing = client.get("/api/v1/accounts/999999", headers=bearer(key), environ_base=addr)
    assert missing.status_code == 404
    assert _quota(missing) == (3, 1, reset)
    assert _quota(_get(client, key)) == (3, 0, reset)
    refused = _get(client, key)
    _assert_429(refused, "for this API key")
    assert _quota(refused) == (3, 0, reset)
    assert reset - int(refused.headers["Retry-After"]) - 1 <= int(time.time()) <= reset
    unauthorized = _get(client, "hsk_0000_guess")
    assert unauthorized.status_code == 401
    assert not set(RATE_HEADERS) & set(unauthorized.headers.keys())
    assert not set(RATE_HEADERS) & set(client.get("/api/openapi.json").headers.keys())


def test_with_several_windows_the_headers_name_the_tightest(
    settings_overrides: dict[str, object], tenants: dict[str, TenantData]
) -> None:
    app = create_app({**settings_overrides, "api_rate_limit": "5 per minute;3 per hour"})
    client = app.test_client()
    resp = _get(client, tenants["acme"].read_key)
    assert resp.status_code == 200
    limit, remaining, reset = _quota(resp)
    assert (limit, remaining) == (3, 2)  # the hour's window has fewer left than the minute's (4)
    assert reset > int(datetime.now(UTC).timestamp()) + 61  # and resets with the hour


def test_openapi_and_the_docs_page_document_the_rate_limit_headers(client: Any) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert set(doc["components"]["headers"]) == set(RATE_HEADERS)
    refs = {h: {"$ref": f"#/components/headers/{h}"} for h in RATE_HEADERS}
    answers = [
        (path, code, resp)
        for path, item in doc["paths"].items()
        for k, op in item.items()
        if k != "parameters"
        for code, resp in op["responses"].items()
        if code.startswith("2")
    ]
    assert answers
    for path, code, resp in answers:
        assert {h: resp["headers"][h] for h in RATE_HEADERS} == refs, (path, code)
    too_many = doc["components"]["responses"]["TooManyRequests"]["headers"]
    assert {h: too_many[h] for h in RATE_HEADERS} == refs
    assert "X-RateLimit-Remaining" in doc["info"]["description"]
    page = client.get("/docs/api").data.decode()
    for header in (*RATE_HEADERS, "Retry-After"):
        assert f"<code>{header}</code>" in page


def test_guessing_keys_is_throttled_per_address(client: Any, tenants: dict[str, TenantData]) -> None:
    """Wrong keys (and none) spend the address's budget; past it the address is refused before any key
    is looked up, so even a right guess is a 429. Another address and the right key are unaffected."""
    guesses = ["hsk_0000_guess", "hsk_1111_guess", None]
    codes = [
        client.get(
            "/api/v1/accounts",
            headers=bearer(g) if g else {},
            environ_base={"REMOTE_ADDR": "192.0.2.66"},
        ).status_code
        for g in guesses
    ]
    assert codes == [401, 401, 401]
    _assert_429(_get(client, "hsk_2222_guess", "192.0.2.66"), "without a valid API key")
    _assert_429(_get(client, tenants["acme"].read_key, "192.0.2.66"), "without a valid API key")
    assert _get(client, tenants["acme"].read_key, "192.0.2.67").status_code == 200


def test_a_revoked_key_does_not_spend_the_address_budget(client: Any, tenants: dict[str, TenantData]) -> None:
    """A stale client (an uninstalled sidebar still calling through Zendesk's proxy) keeps getting 401s
    without locking out the other keys that come through the same address."""
    from connector.installs import users as auth

    acme = tenants["acme"]
    url = client.application.config["HEALTHSCORE"].sqlalchemy_url
    stale, _ = sidebar_key(url, acme)
    with transaction(url) as session:
        row = auth.resolve_api_key(session, stale)
        assert row is not None
        assert auth.revoke_api_key(session, acme.id, row.id)
    assert [_get(client, stale, "192.0.2.80").status_code for _ in range(5)] == [401] * 5
    assert _get(client, acme.read_key, "192.0.2.80").status_code == 200
    assert [_get(client, "hsk_0000_guess", "192.0.2.80").status_code for _ in range(4)] == [401] * 3 + [429]


def test_requests_with_a_valid_key_do_not_spend_the_address_budget(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    acme, globex = tenants["acme"], tenants["globex"]
    for key in (acme.read_key, acme.admin_key, globex.read_key, globex.admin_key):
        assert _get(client, key).status_code == 200
    assert _get(client, "hsk_0000_wrong").status_code == 401  # the address's budget is untouched


def test_public_openapi_needs_no_budget(client: Any) -> None:
    for _ in range(5):
        assert client.get("/api/openapi.json").status_code == 200


def test_openapi_documents_429_on_every_operation(client: Any) -> None:
    doc = client.get("/api/openapi.json").get_json()
    operations = [(p, op) for p, item in doc["paths"].items() for k, op in item.items() if k != "parameters"]
    assert operations
    for path, op in operations:
        assert op["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}, path
    too_many = doc["components"]["responses"]["TooManyRequests"]
    assert "Retry-After" in too_many["headers"]
    schema = too_many["content"]["application/problem+json"]["schema"]
    assert {"retry_after", "limit"} <= set(schema["allOf"][1]["properties"])


def test_sign_in_limit_page_says_the_limit_in_words(client: Any, tenants: dict[str, TenantData]) -> None:
    """Flask-Limiter's own limits (sign-in) answer a readable page, not the bare limit string."""
    for _ in range(5):
        client.post("/login", data={"email": "admin@acme.test", "password": "wrong password!!"})
    resp = client.post("/login", data={"email": "admin@acme.test", "password": "wrong password!!"})
    assert resp.status_code == 429
    assert "Retry-After" in resp.headers
    page = resp.get_data(as_text=True)
    assert "Too many attempts" in page
    assert "The limit here is 5 per 1 minute, and it is used up for now." in page


def test_sign_in_limit_as_json_is_a_problem_document(client: Any, tenants: dict[str, TenantData]) -> None:
    json_ = {"Accept": "application/json"}
    for _ in range(5):
        client.post("/login", data={"email": "admin@acme.test", "password": "wrong!!"}, headers=json_)
    resp = client.post("/login", data={"email": "admin@acme.test", "password": "wrong!!"}, headers=json_)
    assert resp.status_code == 429
    body = resp.get_json()
    assert body["error"] == "too_many_requests"
    assert body["message"] == "Too many requests: the limit here is 5 per 1 minute."
    assert body["limit"] == "5 per 1 minute"


# --- backtest: per workspace, API and model editor together ------------------------------------------------


@pytest.fixture
def backtests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Tenants a backtest ran for (the real one costs seconds of CPU: what the budget is about)."""
    from connector.admin import actions

    ran: list[int] = []

    def fake(settings: Any, tenant_id: int, yaml_text: str, **_dates: Any) -> dict[str, Any]:
        ran.append(tenant_id)
        return {"available": False, "message": "not in this test"}

    monkeypatch.setattr(actions, "backtest_preview", fake)
    return ran


def _model() -> str:
    return files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")


def _backtest(client: Any, key: str, addr: str = "198.51.100.1") -> Any:
    return client.post(
        "/api/v1/backtest", json={"yaml": _model()}, headers=bearer(key), environ_base={"REMOTE_ADDR": addr}
    )


def test_backtest_budget_is_per_workspace(
    client: Any, tenants: dict[str, TenantData], backtests: list[int]
) -> None:
    acme, globex = tenants["acme"], tenants["globex"]
    assert _backtest(client, acme.admin_key).status_code == 501  # ran (the fake says "not available")
    # Another key and another address of the same workspace: the same budget.
    other_key = _second_admin_key(client, acme)
    refused = _backtest(client, other_key, "203.0.113.4")
    _assert_429(refused, "for backtests in this workspace")
    assert _quota(refused)[:2] == (1, 0)  # the headers describe the budget used up, not the key's
    assert _backtest(client, globex.admin_key).status_code == 501
    assert backtests == [acme.id, globex.id]


def _second_admin_key(client: Any, tenant: TenantData) -> str:
    from connector.installs import users as auth

    with transaction(client.application.config["HEALTHSCORE"].sqlalchemy_url) as session:
        return auth.create_api_key(session, tenant.id, "second automation", "admin").secret


def test_an_invalid_model_spends_no_backtest(
    client: Any, tenants: dict[str, TenantData], backtests: list[int]
) -> None:
    key = tenants["acme"].admin_key
    bad = client.post("/api/v1/backtest", json={"yaml": "weights: [unclosed"}, headers=bearer(key))
    assert bad.status_code == 422
    assert _backtest(client, key).status_code == 501
    assert backtests == [tenants["acme"].id]


def test_model_editor_preview_shares_the_workspace_backtest_budget(
    acme_admin: Any, tenants: dict[str, TenantData], backtests: list[int]
) -> None:
    """Over the budget the editor answers a readable 429 page that keeps the draft and saves nothing."""
    acme = tenants["acme"]
    assert _backtest(acme_admin, acme.admin_key).status_code == 501
    draft = _model().replace("# healthscore default model", "# my draft kept on the page")
    resp = acme_admin.post(
        "/admin/model", data={"action": "save", "mode": "yaml", "yaml": draft, "version": "v-limited"}
    )
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    page = resp.get_data(as_text=True)
    assert "Backtests in this workspace are limited to 1 per 1 minute" in page
    assert "my draft kept on the page" in page
    assert backtests == [acme.id]
    with transaction(acme_admin.application.config["HEALTHSCORE"].sqlalchemy_url) as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(m.ScoringModelVersion)
                .where(m.ScoringModelVersion.version == "v-limited")
            )
            == 0
        )
    # Validating costs no backtest: still allowed.
    assert (
        acme_admin.post(
            "/admin/model", data={"action": "validate", "mode": "yaml", "yaml": draft}
        ).status_code
        == 200
    )


# --- inbound vendor webhooks: per installation, answered as each vendor retries --------------------------


@pytest.fixture
def installed(app: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Zendesk, HubSpot and Salesforce connected for acme; returns the tenants a refresh was asked for."""
    settings = app.config["HEALTHSCORE"]
    vault, now = Vault(settings), datetime.now(UTC)
    with transaction(settings.sqlalchemy_url) as s:
        for vendor, account in (("zendesk", "acme"), ("hubspot", "4242"), ("salesforce", SF_ORG)):
            inst = m.Installation(
                tenant_id=tenants["acme"].id, vendor=vendor, status="connected", base_url="https://x.test",
                token_url="https://x.test/token", client_id="cid",
                client_secret_enc=vault.encrypt(SECRETS["hubspot"] if vendor == "hubspot" else "other"),
                vendor_account=account, settings={}, created_at=now,
                webhook_secret_enc=vault.encrypt(SECRETS["zendesk"]) if vendor == "zendesk" else None,
            )  # fmt: skip
            if vendor == "salesforce":
                realtime_inbound.set_inbound_token(inst, vault, SECRETS["token"])
            s.add(inst)
    refreshed: list[int] = []
    monkeypatch.setattr(
        realtime_inbound, "dispatch", lambda _s, accepted: refreshed.append(accepted.tenant_id)
    )
    return refreshed


def _zendesk(
    n: int, slug: str = "acme", secret: str = SECRETS["zendesk"]
) -> tuple[str, dict[str, str], bytes]:
    body = json.dumps(
        {"id": f"evt-{n}", "type": "zen:event-type:ticket.updated", "detail": {"id": str(n)}}
    ).encode()
    headers = {"Content-Type": "application/json", **sign_zendesk(secret, datetime.now(UTC), body)}
    return f"/inbound/zendesk/{slug}", headers, body


def _hubspot(n: int) -> tuple[str, dict[str, str], bytes]:
    path = "/inbound/hubspot/acme"
    event = {"eventId": n, "subscriptionId": 1, "portalId": 4242, "appId": 1, "occurredAt": 1_780_000_000_000 + n,
             "subscriptionType": "ticket.propertyChange", "attemptNumber": 0, "objectId": 800 + n}  # fmt: skip
    body = json.dumps([event]).encode()
    sig = sign_hubspot_v3(
        SECRETS["hubspot"], "POST", PUBLIC + path, body, int(datetime.now(UTC).timestamp() * 1000)
    )
    return path, {"Content-Type": "application/json", **sig}, body


def _salesforce(n: int) -> tuple[str, dict[str, str], bytes]:
    note = SalesforceNotification(id=f"04l5g{n:013d}", sobject_type="Case", fields={"Id": f"5005g{n:013d}"})
    headers, body = sign_salesforce_outbound(SF_ORG, "04k5gACTION00000", [note])
    return (
        f"/inbound/salesforce/acme/{SECRETS['token']}",
        {"Content-Type": "text/xml; charset=utf-8", **headers},
        body,
    )


def _post(client: Any, req: tuple[str, dict[str, str], bytes]) -> Any:
    path, headers, body = req
    return client.post(path, data=body, headers=headers)


def _events(app: Any) -> int:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as s:
        return int(s.scalar(select(func.count()).select_from(m.InboundEvent)) or 0)


@pytest.mark.parametrize("vendor", ["zendesk", "hubspot"])
def test_json_vendor_past_its_installation_budget_gets_a_429_it_retries(
    app: Any, client: Any, installed: list[int], vendor: str
) -> None:
    make = _zendesk if vendor == "zendesk" else _hubspot
    assert [_post(client, make(n)).status_code for n in (1, 2)] == [202, 202]
    resp = _post(client, make(3))
    assert resp.status_code == 429
    assert resp.content_type == "application/problem+json"
    assert resp.get_json()["error"] == "too_many_requests"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert _events(app) == 2  # the refused event is not recorded: the vendor's retry is a new delivery
    assert len(installed) == 2


def test_salesforce_past_its_installation_budget_gets_a_soap_fault_with_retry_after(
    app: Any, client: Any, installed: list[int]
) -> None:
    ok = [_post(client, _salesforce(n)) for n in (1, 2)]
    assert [r.status_code for r in ok] == [200, 200]
    assert b"<Ack>true</Ack>" in ok[0].get_data()
    resp = _post(client, _salesforce(3))
    assert resp.status_code == 429
    assert resp.content_type == "text/xml; charset=utf-8"
    body = resp.get_data(as_text=True)
    assert "<soapenv:Fault>" in body
    assert "retry later" in body
    assert "<Ack>" not in body
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert _events(app) == 2


def test_each_installation_has_its_own_budget(app: Any, client: Any, installed: list[int]) -> None:
    assert [_post(client, _zendesk(n)).status_code for n in (1, 2, 3)] == [202, 202, 429]
    assert [_post(client, _hubspot(n)).status_code for n in (1, 2)] == [202, 202]
    assert _post(client, _salesforce(1)).status_code == 200


def test_unknown_installation_answers_the_same_bytes_whether_or_not_a_budget_is_spent(
    app: Any, client: Any, installed: list[int]
) -> None:
    """Audit 3, finding C still holds: an unknown URL and a wrong signature on a real one answer the same
    bytes, before and after the real installation's budget is spent, however often they are sent (only a
    verified request spends or meets the budget, so an outsider can neither see nor spend it)."""

    def probes() -> list[tuple[int, bytes, str | None, str | None]]:
        answers = []
        for req in (_zendesk(90, slug="nobody"), _zendesk(91, secret="not-the-secret")):
            resp = _post(client, req)
            answers.append(
                (resp.status_code, resp.get_data(), resp.content_type, resp.headers.get("Retry-After"))
            )
        return answers

    before = probes()
    assert before[0] == before[1]
    assert before[0][0] == 401
    assert [_post(client, _zendesk(n)).status_code for n in (1, 2, 3)] == [202, 202, 429]
    for _ in range(3):  # past any budget of 2, were these counted
        assert probes() == before
    assert _events(app) == 2


def test_a_refused_webhook_is_logged_with_its_reason(
    client: Any, installed: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="connector.web.inbound"):
        for n in (1, 2, 3):
            _post(client, _zendesk(n))
    assert "refused: rate_limited" in caplog.text


# --- storage ---------------------------------------------------------------------------------------------


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI")
        pytest.skip(f"Redis at {REDIS_URL} unreachable (start it: see scripts/ensure-services.sh)")
    return client


def _forget_budgets(client: Any) -> None:
    for key in client.scan_iter("LIMITS:LIMITER/healthscore/*"):
        client.delete(key)


@pytest.mark.parametrize(
    ("storage", "shared"), [(REDIS_URL, True), ("memory://", False)], ids=["redis", "memory"]
)
def test_two_app_instances_share_one_budget_on_redis(
    app: Any,
    tenants: dict[str, TenantData],
    settings_overrides: dict[str, object],
    storage: str,
    shared: bool,
) -> None:
    """Two processes (here: two apps, each with its own storage client) spend one key's budget on Redis;
    with memory storage each has its own (the control: the test tells them apart)."""
    redis_client = _redis() if storage.startswith("redis") else None
    if redis_client is not None:
        _forget_budgets(redis_client)
    try:
        one, two = (create_app({**settings_overrides, "ratelimit_storage_url": storage}) for _ in range(2))
        key = tenants["acme"].read_key
        assert [_get(one.test_client(), key).status_code for _ in range(2)] == [200, 200]
        assert _get(two.test_client(), key).status_code == 200
        assert _get(two.test_client(), key).status_code == (429 if shared else 200)
    finally:
        if redis_client is not None:
            _forget_budgets(redis_client)


def test_unreachable_storage_fails_open_with_a_warning(
    settings_overrides: dict[str, object], tenants: dict[str, TenantData], caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down must not turn every API call into a 500: the limits are off, and the log says so."""
    down = create_app({**settings_overrides, "ratelimit_storage_url": "redis://127.0.0.1:1/0"})
    with caplog.at_level(logging.WARNING, logger="connector.web.ratelimits"):
        codes = [_get(down.test_client(), tenants["acme"].read_key).status_code for _ in range(5)]
    assert codes == [200] * 5
    assert caplog.text.count("rate limits not enforced") == 1


# --- settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("api_rate_limit", "lots", "is not a rate limit such as"),
        ("api_rate_limit", "", "is not a rate limit such as"),
        ("api_unauthenticated_rate_limit", "10 per fortnight", "is not a rate limit such as"),
        ("backtest_rate_limit", "0 per minute", "allows no request at all"),
        ("inbound_rate_limit", "1000 per hour", "window longer than a minute"),
    ],
    ids=["words", "empty", "unknown-unit", "zero", "inbound-hour"],
)
def test_bad_rate_limit_setting_is_a_clear_config_error(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"env": "test", name: value}, environ={})
    (problem,) = err.value.problems
    assert problem.startswith(f"{name}: ")
    assert says in problem
    assert f"HEALTHSCORE_{name.upper()}" in problem


def test_rate_limits_come_from_the_environment() -> None:
    settings = load_settings(
        {"env": "test"}, environ={"HEALTHSCORE_API_RATE_LIMIT": "10 per second;100 per hour"}
    )
    assert settings.api_rate_limit == "10 per second;100 per hour"
    assert load_settings({"env": "test"}, environ={}).inbound_rate_limit == "15000 per 10 seconds"
