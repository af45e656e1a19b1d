"""Issue 12 item 5: no 500 from path ids beyond 64 bits or from badly typed bodies; one schema layer."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.connector.web.seed import TenantData, bearer

HUGE = 2**63


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/v1/accounts/{HUGE}"),
        ("get", f"/api/v1/accounts/{10**30}"),
        ("get", f"/api/v1/models/{HUGE}"),
        ("get", f"/api/v1/webhooks/{HUGE}"),
        ("patch", f"/api/v1/webhooks/{HUGE}"),
        ("delete", f"/api/v1/webhooks/{HUGE}"),
        ("post", f"/api/v1/webhooks/{HUGE}/rotate"),
    ],
)
def test_api_ids_beyond_64_bits_are_404(
    client: Any, tenants: dict[str, TenantData], method: str, path: str
) -> None:
    resp = getattr(client, method)(path, headers=bearer(tenants["acme"].admin_key), json={"enabled": True})
    assert resp.status_code == 404


def test_every_int_route_in_the_app_is_bounded(app: Any, acme_admin: Any) -> None:
    """Walk every route with an <int:…> id (UI, admin, API): 2^63 is never a server error."""
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) >= 9
    for rule in rules:
        path = rule.rule
        while "<" in path:
            start, end = path.index("<"), path.index(">")
            arg = path[start + 1 : end]
            path = path[:start] + (str(HUGE) if arg.startswith("int:") else "x") + path[end + 1 :]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            resp = acme_admin.open(path, method=method)
            assert resp.status_code < 500, (method, path)
            assert resp.status_code in {302, 401, 404}, (method, path, resp.status_code)


def _endpoint(client: Any, app: Any, key: dict[str, str]) -> int:
    app.config["HEALTHSCORE"] = dataclasses.replace(
        app.config["HEALTHSCORE"], webhooks_allow_private_targets=True
    )
    created = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "description": "ops"}, headers=key
    )
    assert created.status_code == 201
    ep_id: int = created.get_json()["id"]
    return ep_id


@pytest.mark.parametrize(
    "body",
    [
        {"event_types": None},
        {"event_types": 5},
        {"event_types": [1]},
        {"event_types": "account.band_changed"},
        {"enabled": "false"},
        {"enabled": 0},
        {"url": None},
        {"url": 5},
        {"description": 5},
        {"secret": "x"},
    ],
)
def test_webhook_patch_with_wrong_types_is_a_400_problem(
    client: Any, app: Any, tenants: dict[str, TenantData], body: dict[str, Any]
) -> None:
    key = bearer(tenants["acme"].admin_key)
    ep_id = _endpoint(client, app, key)
    resp = client.patch(f"/api/v1/webhooks/{ep_id}", json=body, headers=key)
    assert resp.status_code == 400, resp.get_json()
    assert resp.content_type == "application/problem+json"
    assert resp.get_json()["problems"]
    after = client.get(f"/api/v1/webhooks/{ep_id}", headers=key).get_json()
    assert after["enabled"] is True  # "enabled": "false" changed nothing
    assert after["event_types"] == ["account.band_changed"]


def test_null_description_clears_it(client: Any, app: Any, tenants: dict[str, TenantData]) -> None:
    key = bearer(tenants["acme"].admin_key)
    ep_id = _endpoint(client, app, key)
    resp = client.patch(f"/api/v1/webhooks/{ep_id}", json={"description": None}, headers=key)
    assert resp.status_code == 200
    assert resp.get_json()["description"] == ""
    created = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h2", "description": None}, headers=key
    )
    assert created.get_json()["description"] == ""


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("not json", "application/json", 400),
        ('{"url": "http://127.0.0.1:9/h"}', "text/plain", 415),
        ("null", "application/json", 400),
        ("[]", "application/json", 400),
    ],
)
def test_bodies_that_are_not_json_objects(
    client: Any, tenants: dict[str, TenantData], data: str, content_type: str, status: int
) -> None:
    resp = client.post(
        "/api/v1/webhooks", data=data, content_type=content_type, headers=bearer(tenants["acme"].admin_key)
    )
    assert resp.status_code == status
    assert resp.content_type == "application/problem+json"


def test_backtest_body_is_validated(client: Any, tenants: dict[str, TenantData]) -> None:
    resp = client.post("/api/v1/backtest", json={"yaml": 5}, headers=bearer(tenants["acme"].admin_key))
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "invalid_body"
