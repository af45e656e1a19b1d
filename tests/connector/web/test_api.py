"""REST API: key auth and scopes, tenant isolation, pagination, filtering, problem details, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.web.seed import TenantData, bearer, sidebar_key


@pytest.fixture
def acme(tenants: dict[str, TenantData]) -> TenantData:
    return tenants["acme"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer hsk_nope_nope"},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "basic", "unknown", "empty"],
)
def test_requests_without_a_valid_key_get_401_problem(
    client: Any, tenants: Any, headers: dict[str, str]
) -> None:
    resp = client.get("/api/v1/accounts", headers=headers)
    assert resp.status_code == 401
    assert resp.content_type == "application/problem+json"
    assert resp.get_json()["error"] == "unauthorized"


def test_revoked_key_stops_working(client: Any, acme_admin: Any, acme: TenantData, app: Any) -> None:
    assert client.get("/api/v1/accounts", headers=bearer(acme.read_key)).status_code == 200
    from connector.store import models as m
    from connector.store.db import transaction

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        key_id = session.query(m.ApiKey).filter_by(tenant_id=acme.id, name="reader").one().id
    assert acme_admin.post(f"/admin/keys/{key_id}/revoke").status_code == 303
    assert client.get("/api/v1/accounts", headers=bearer(acme.read_key)).status_code == 401


def test_installation_key_only_looks_up(client: Any, acme: TenantData) -> None:
    key = bearer(sidebar_key(client.application.config["HEALTHSCORE"].sqlalchemy_url, acme)[0])
    assert client.get("/api/v1/accounts", headers=key).status_code == 403
    assert client.get("/api/v1/tickets", headers=key).status_code == 403
    assert client.get("/api/v1/health/zendesk/Acme-ORG-1", headers=key).status_code == 200
    assert client.get("/api/v1/tickets/zendesk/Acme-T2", headers=key).status_code == 200


def test_read_key_cannot_see_webhook_endpoints(client: Any, acme: TenantData, app: Any) -> None:
    """Endpoint URLs (often secret hooks) and their deliveries are admin reading, as in the app."""
    app.config["HEALTHSCORE"] = _allow_private(app)
    admin = bearer(acme.admin_key)
    created = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/secret-hook"}, headers=admin)
    ep = created.get_json()["id"]
    for path in ("/api/v1/webhooks", f"/api/v1/webhooks/{ep}"):
        refused = client.get(path, headers=bearer(acme.read_key))
        assert refused.status_code == 403, path
        assert "secret-hook" not in refused.get_data(as_text=True)
        assert client.get(path, headers=admin).status_code == 200


def test_read_key_cannot_write(client: Any, acme: TenantData) -> None:
    resp = client.post(
        "/api/v1/webhooks", json={"url": "https://example.com/h"}, headers=bearer(acme.read_key)
    )
    assert resp.status_code == 403


def test_accounts_list_paginates_and_filters(client: Any, acme: TenantData) -> None:
    key = bearer(acme.read_key)
    first = client.get("/api/v1/accounts?limit=2", headers=key).get_json()
    assert first["total"] == 3
    assert len(first["data"]) == 2
    assert first["next_page"] == 2
    second = client.get("/api/v1/accounts?limit=2&page=2", headers=key).get_json()
    assert len(second["data"]) == 1
    assert second["next_page"] is None
    names = {a["name"] for a in first["data"] + second["data"]}
    assert names == {"Acme Green Corp", "Acme Yellow Corp", "Acme Red Corp"}
    red = client.get("/api/v1/accounts?band=red", headers=key).get_json()
    assert [a["name"] for a in red["data"]] == ["Acme Red Corp"]
    assert red["data"][0]["arr"] == "300000.00"
    assert {b["band"]: b["count"] for b in red["bands"]} == {"green": 1, "yellow": 1, "red": 1}


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "limit=abc", "page=0", "sort=evil"], ids=lambda q: q.replace("=", "-")
)
def test_accounts_bad_parameters_are_400_problems(client: Any, acme: TenantData, query: str) -> None:
    resp = client.get(f"/api/v1/accounts?{query}", headers=bearer(acme.read_key))
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "bad_request"
    assert body["message"]


def test_account_detail_with_history(client: Any, acme: TenantData) -> None:
    acc = acme.accounts["Acme Yellow Corp"]
    body = client.get(f"/api/v1/accounts/{acc}", headers=bearer(acme.read_key)).get_json()
    assert [p["score"] for p in body["history"]] == [59.0, 60.0, 61.0]
    assert body["band"] == "yellow"
    assert body["tickets"][0]["sentiment_excerpt"] == "Acme excerpt 1"


def test_no_cross_tenant_reads(client: Any, tenants: dict[str, TenantData]) -> None:
    key = bearer(tenants["acme"].read_key)
    other = tenants["globex"].accounts["Globex Red Corp"]
    assert client.get(f"/api/v1/accounts/{other}", headers=key).status_code == 404
    assert client.get("/api/v1/health/salesforce/001Globex000000000002", headers=key).status_code == 404
    assert client.get("/api/v1/tickets/zendesk/Globex-T2", headers=key).status_code == 404
    listing = client.get("/api/v1/accounts?limit=200", headers=key).get_json()
    assert all(a["name"].startswith("Acme") for a in listing["data"])
    tickets = client.get("/api/v1/tickets?limit=200", headers=key).get_json()
    assert tickets["data"]
    assert all(t["subject"].startswith("Acme") for t in tickets["data"])


def test_health_by_crm_id_and_by_linked_zendesk_org(client: Any, acme: TenantData) -> None:
    key = bearer(acme.read_key)
    crm = client.get("/api/v1/health/salesforce/001Acme000000000000", headers=key).get_json()
    assert crm["name"] == "Acme Green Corp"
    assert crm["band"] == "green"
    assert crm["score"] == 82.0
    assert crm["url"].endswith(f"/accounts/{acme.accounts['Acme Green Corp']}")
    org = client.get("/api/v1/health/zendesk/Acme-ORG-1", headers=key).get_json()
    assert org["account_id"] == crm["account_id"]
    unlinked = client.get("/api/v1/health/zendesk/Acme-ORG-2", headers=key)
    assert unlinked.status_code == 404
    assert "Unmatched review" in unlinked.get_json()["hint"]
    assert client.get("/api/v1/health/pipedrive/1", headers=key).status_code == 400


def test_tickets_cursor_and_filters(client: Any, acme: TenantData) -> None:
    key = bearer(acme.read_key)
    page1 = client.get("/api/v1/tickets?limit=2", headers=key).get_json()
    assert len(page1["data"]) == 2
    assert page1["next_cursor"]
    page2 = client.get(f"/api/v1/tickets?limit=2&cursor={page1['next_cursor']}", headers=key).get_json()
    assert len(page2["data"]) == 1
    assert page2["next_cursor"] is None
    ids = [t["id"] for t in page1["data"] + page2["data"]]
    assert len(set(ids)) == 3
    negative = client.get("/api/v1/tickets?sentiment=negative", headers=key).get_json()
    assert [t["external_id"] for t in negative["data"]] == ["Acme-T2"]
    assert client.get("/api/v1/tickets?cursor=!!!", headers=key).status_code == 400
    assert client.get("/api/v1/tickets?sentiment=angry", headers=key).status_code == 400
    assert client.get("/api/v1/tickets?vendor=jira", headers=key).status_code == 400


def test_webhook_crud_shows_secret_once(
    client: Any, acme: TenantData, tenants: dict[str, TenantData], app: Any
) -> None:
    app.config["HEALTHSCORE"] = _allow_private(app)
    key = bearer(acme.admin_key)
    created = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "description": "ops"}, headers=key
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["account.band_changed"]
    listed = client.get("/api/v1/webhooks", headers=key).get_json()["data"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    one = client.get(f"/api/v1/webhooks/{body['id']}", headers=key).get_json()
    assert "secret" not in one
    assert one["deliveries"] == []
    patched = client.patch(f"/api/v1/webhooks/{body['id']}", json={"enabled": False}, headers=key).get_json()
    assert patched["enabled"] is False
    rotated = client.post(f"/api/v1/webhooks/{body['id']}/rotate", headers=key).get_json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != body["secret"]
    other = bearer(tenants["globex"].admin_key)
    assert client.get(f"/api/v1/webhooks/{body['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{body['id']}", headers=other).status_code == 404
    assert client.post(f"/api/v1/webhooks/{body['id']}/rotate", headers=other).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{body['id']}", headers=key).status_code == 204
    assert client.get(f"/api/v1/webhooks/{body['id']}", headers=key).status_code == 404


def test_health_names_a_former_customer_for_the_sidebar(client: Any, app: Any, acme: TenantData) -> None:
    """The Zendesk sidebar showed 'Not scored' for a former customer (the page says 'Former customer — not
    scored'): the health answer had no way to tell it from an account waiting for its first score."""
    from connector.store import models as m
    from connector.store.db import transaction
    from tests.connector.web.seed import NOW

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        session.add(
            m.Account(
                tenant_id=acme.id, vendor="salesforce", external_id="001GONE", name="Acme Gone Corp", domains=[],
                status="churned", vendor_updated_at=NOW, metrics={},
            )
        )  # fmt: skip
    key = bearer(acme.read_key)
    gone = client.get("/api/v1/health/salesforce/001GONE", headers=key).get_json()
    assert (gone["score"], gone["band"], gone["former"]) == (None, None, True)
    assert gone["band_label"] == "Former customer — not scored"
    green = client.get("/api/v1/health/salesforce/001Acme000000000000", headers=key).get_json()
    assert (green["band_label"], green["former"]) == ("Green (Healthy)", False)
    schema = client.get("/api/openapi.json").get_json()["components"]["schemas"]["Health"]["properties"]
    assert {"band_label", "former"} <= schema.keys()


def _allow_private(app: Any) -> Any:
    import dataclasses

    return dataclasses.replace(app.config["HEALTHSCORE"], webhooks_allow_private_targets=True)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"url": "http://169.254.169.254/latest"}, 422),
        ({"url": "http://127.0.0.1:9/hook"}, 422),  # private targets are off by default
        ({"url": "https://example.com/h", "event_types": ["account.deleted"]}, 422),
        ({"url": "https://example.com/h", "event_types": []}, 422),
        ({"description": "no url"}, 400),
        (["not", "an", "object"], 400),
    ],
)
def test_webhook_create_validation(client: Any, acme: TenantData, body: Any, status: int) -> None:
    resp = client.post("/api/v1/webhooks", json=body, headers=bearer(acme.admin_key))
    assert resp.status_code == status, resp.get_json()
    assert resp.content_type == "application/problem+json"


def test_webhook_patch_rejects_unknown_fields(client: Any, acme: TenantData) -> None:
    resp = client.patch("/api/v1/webhooks/1", json={"secret": "x"}, headers=bearer(acme.admin_key))
    assert resp.status_code == 400


def test_models_backtest_and_sync(client: Any, acme: TenantData) -> None:
    key = bearer(acme.read_key)
    assert client.get("/api/v1/models", headers=key).get_json() == {"data": []}
    assert client.get("/api/v1/models/999", headers=key).status_code == 404
    bad = client.post(
        "/api/v1/backtest", json={"yaml": "version: 1\nbands: nope\n"}, headers=bearer(acme.admin_key)
    )
    assert bad.status_code == 422
    assert bad.get_json()["problems"]
    assert client.post("/api/v1/backtest", json={}, headers=bearer(acme.admin_key)).status_code == 400
    sync = client.get("/api/v1/sync", headers=key).get_json()
    assert sync == {"installations": [], "runs": []}


def test_backtest_of_the_default_model(client: Any, acme: TenantData) -> None:
    from importlib.resources import files

    text = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    resp = client.post("/api/v1/backtest", json={"yaml": text}, headers=bearer(acme.admin_key))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    from scoring.config import load_default_model

    assert body["model_version"] == load_default_model().version
    assert [b["band"] for b in body["bands"]] == ["green", "yellow", "red"]


def test_openapi_document_covers_every_api_route(client: Any, app: Any) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {
        (path, method) for path, item in doc["paths"].items() for method in item if method != "parameters"
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)
    # Every $ref resolves.
    import json

    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/')[1:]}:
        node: Any = doc
        for key in ref.split("/"):
            node = node[key]


def test_backtest_as_of_after_the_newest_data_is_a_422_naming_the_date(client: Any, acme: TenantData) -> None:
    """The seeded workspace's newest data is 2026-11-20 (tests/connector/web/seed.py)."""
    from importlib.resources import files

    text = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    resp = client.post(
        "/api/v1/backtest", json={"yaml": text, "as_of": "2026-12-24"}, headers=bearer(acme.admin_key)
    )
    assert resp.status_code == 422, resp.get_json()
    assert resp.content_type == "application/problem+json"
    body = resp.get_json()
    assert body["error"] == "as_of_after_data"
    assert "2026-12-24" in body["message"]
    assert "2026-11-20" in body["message"]
    assert body["newest_data"] == "2026-11-20"
    assert "as_of" in body["hint"]
    fine = client.post(
        "/api/v1/backtest",
        json={"yaml": text, "as_of": "2026-11-16", "horizon_days": 60},
        headers=bearer(acme.admin_key),
    )
    assert fine.status_code == 200, fine.get_json()
    assert fine.get_json()["as_of"].startswith("2026-11-16")
    assert fine.get_json()["horizon_days"] == 60
    bad = client.post(
        "/api/v1/backtest", json={"yaml": text, "as_of": "2026-02-30"}, headers=bearer(acme.admin_key)
    )
    assert bad.status_code == 400


def test_backtest_as_of_before_the_oldest_data_is_a_422_naming_the_dates(
    client: Any, acme: TenantData
) -> None:
    """A date before the book's history (0001-01-01 overflowed the date arithmetic: 501 'could not run';
    1900-01-01 answered '0 accounts, sample too small') is refused with the range that works."""
    from importlib.resources import files

    text = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    for as_of in ("0001-01-01", "1900-01-01"):
        resp = client.post(
            "/api/v1/backtest", json={"yaml": text, "as_of": as_of}, headers=bearer(acme.admin_key)
        )
        assert resp.status_code == 422, resp.get_json()
        body = resp.get_json()
        assert body["error"] == "as_of_before_data"
        assert as_of in body["message"]
        assert body["oldest_data"] in body["message"]
        assert body["oldest_data"] <= body["latest_as_of"]
        assert body["oldest_data"] in body["hint"]
        assert body["latest_as_of"] in body["hint"]
