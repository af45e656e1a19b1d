"""REST API for plays: list, get, create, update (turning on backfills), delete, dry run, an account's fired
plays; admin scope for writes; malformed and forged bodies are 400/422 problems, ids beyond 64 bits 404,
another tenant's plays 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import NOW, TenantData, bearer, sidebar_key
from tests.connector.web.test_admin_plays import _connect_salesforce, _snap

HUGE = 2**63
NEW = {"name": "Enterprise enters red", "to_band": "red", "segments": ["enterprise"], "due_days": 2,
       "next_step": "Call the sponsor", "on_recovery": "leave"}  # fmt: skip


def _db(app: Any) -> Any:
    return transaction(app.config["HEALTHSCORE"].sqlalchemy_url)


def _admin(tenants: dict[str, TenantData]) -> dict[str, str]:
    return bearer(tenants["acme"].admin_key)


def _create(client: Any, tenants: dict[str, TenantData], **extra: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/plays", json={**NEW, **extra}, headers=_admin(tenants))
    assert resp.status_code == 201, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    return body


def test_list_create_get_update_delete(client: Any, tenants: dict[str, TenantData]) -> None:
    key = _admin(tenants)
    listed = client.get("/api/v1/plays", headers=key).get_json()["data"]
    assert [(p["name"], p["enabled"]) for p in listed] == [("Enters red", False)]  # the starter
    created = _create(client, tenants)
    assert (created["segments"], created["due_days"], created["on_recovery"], created["enabled"]) == (
        ["enterprise"], 2, "leave", False,
    )  # fmt: skip
    assert created["tasks"] == {}
    assert "backfill" not in created
    pid = created["id"]
    got = client.get(f"/api/v1/plays/{pid}", headers=key).get_json()
    assert got["name"] == "Enterprise enters red"
    patched = client.patch(f"/api/v1/plays/{pid}", json={"due_days": 5}, headers=key)
    assert patched.status_code == 200
    body = patched.get_json()
    assert (body["due_days"], body["segments"], body["next_step"]) == (5, ["enterprise"], "Call the sponsor")
    assert client.delete(f"/api/v1/plays/{pid}", headers=key).status_code == 204
    assert client.get(f"/api/v1/plays/{pid}", headers=key).status_code == 404
    assert client.delete(f"/api/v1/plays/{pid}", headers=key).status_code == 404
    with _db(client.application) as s:
        assert s.scalars(select(m.AuditEntry.action).where(m.AuditEntry.action.like("play.%")).order_by(m.AuditEntry.id)).all() == [
            "play.saved", "play.saved", "play.deleted",
        ]  # fmt: skip


def test_dry_run_equals_what_turning_it_on_creates(
    client: Any, app: Any, tenants: dict[str, TenantData], write_back_requests: list[int]
) -> None:
    key, acme = _admin(tenants), tenants["acme"]
    _connect_salesforce(app, acme.id)
    green, yellow = acme.accounts["Acme Green Corp"], acme.accounts["Acme Yellow Corp"]
    with _db(app) as s:
        for day, band in ((1, "red"), (2, "yellow"), (3, "red")):
            s.add(_snap(acme.id, green, day, band, 30.0 if band == "red" else 60.0))
        s.add(_snap(acme.id, yellow, 1, "red", 30.0))
    pid = _create(client, tenants, segments=[])["id"]
    dry = client.post(f"/api/v1/plays/{pid}/dry-run", headers=key).get_json()
    assert (dry["creates"], dry["closes"], dry["written"]) == (2, 0, False)
    assert {a["id"] for a in dry["accounts"]} == {green, yellow}
    on = client.patch(f"/api/v1/plays/{pid}", json={"enabled": True}, headers=key).get_json()
    assert on["enabled"] is True
    assert (on["backfill"]["creates"], on["backfill"]["written"], on["backfill"]["sending_now"]) == (
        2,
        True,
        True,
    )
    assert on["tasks"] == {"queued": 2}
    assert write_back_requests == [acme.id]  # the queued tasks go to the CRM now, not at the next pass
    # off and on again: nothing new
    client.patch(f"/api/v1/plays/{pid}", json={"enabled": False}, headers=key)
    again = client.patch(f"/api/v1/plays/{pid}", json={"enabled": True}, headers=key).get_json()
    assert (again["backfill"]["creates"], again["backfill"]["sending_now"]) == (0, False)
    assert write_back_requests == [acme.id]  # nothing new to send: no second write-back
    assert again["tasks"] == {"queued": 2}
    fired = client.get(f"/api/v1/accounts/{green}/plays", headers=key).get_json()["data"]
    assert [(t["play_id"], t["state"], t["state_text"]) for t in fired] == [
        (pid, "queued", "queued for the CRM")
    ]
    assert fired[0]["due_at"] == (NOW + timedelta(days=4 + 2)).isoformat()


def test_create_enabled_backfills_at_once(client: Any, app: Any, tenants: dict[str, TenantData]) -> None:
    acme = tenants["acme"]
    _connect_salesforce(app, acme.id)
    with _db(app) as s:
        s.add(_snap(acme.id, acme.accounts["Acme Yellow Corp"], 1, "red", 30.0))
    created = _create(client, tenants, segments=[], enabled=True)
    assert created["enabled"] is True
    assert created["backfill"]["creates"] == 1


def test_turning_on_says_when_no_worker_takes_the_write_back(
    client: Any, app: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker is down: the play is still on, its tasks stay queued in the outbox, and the answer says
    they go with the next scheduled pass instead of failing the request."""
    from connector.jobs import nudge

    acme = tenants["acme"]
    _connect_salesforce(app, acme.id)
    with _db(app) as s:
        s.add(_snap(acme.id, acme.accounts["Acme Yellow Corp"], 1, "red", 30.0))
    monkeypatch.setattr(nudge, "request_write_back", lambda settings, tenant_id: False)
    created = _create(client, tenants, segments=[], enabled=True)
    assert (created["enabled"], created["backfill"]["creates"], created["backfill"]["sending_now"]) == (
        True, 1, False,
    )  # fmt: skip
    assert created["tasks"] == {"queued": 1}


def test_account_plays_lists_task_states_and_limits(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    key, acme = _admin(tenants), tenants["acme"]
    acc = acme.accounts["Acme Red Corp"]
    pid = _create(client, tenants)["id"]
    with _db(app) as s:
        for n, state in enumerate(("closed", "open")):
            s.add(m.PlayTask(tenant_id=acme.id, play_id=pid, account_id=acc, vendor="salesforce",
                             vendor_task_id=f"00T{n}", state=state, subject="s", body="b",
                             due_at=NOW + timedelta(days=3), created_at=NOW + timedelta(days=n)))  # fmt: skip
    rows = client.get(f"/api/v1/accounts/{acc}/plays", headers=key).get_json()["data"]
    assert [(r["state"], r["vendor_task_id"]) for r in rows] == [("open", "00T1"), ("closed", "00T0")]
    assert len(client.get(f"/api/v1/accounts/{acc}/plays?limit=1", headers=key).get_json()["data"]) == 1
    for bad in ("0", "201", "x", "²", "9" * 30):
        assert client.get(f"/api/v1/accounts/{acc}/plays?limit={bad}", headers=key).status_code == 400
    other = tenants["globex"].accounts["Globex Red Corp"]
    assert client.get(f"/api/v1/accounts/{other}/plays", headers=key).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"to_band": "red"},  # no name
        {"name": "x"},  # no band
        {"name": "   ", "to_band": "red"},
        {"name": 5, "to_band": "red"},
        {"name": "x", "to_band": ["red"]},
        {"name": "x", "to_band": "red", "due_days": "3"},
        {"name": "x", "to_band": "red", "due_days": 91},
        {"name": "x", "to_band": "red", "cooldown_days": -1},
        {"name": "x", "to_band": "red", "on_recovery": "delete"},
        {"name": "x", "to_band": "red", "zendesk_ticket": "true"},
        {"name": "x", "to_band": "red", "enabled": 1},
        {"name": "x", "to_band": "red", "from_bands": "green"},
        {"name": "x", "to_band": "red", "tenant_id": 2},  # forged: not a field
        {"name": "x", "to_band": "red", "id": 1},
        {"name": "x" * 201, "to_band": "red"},
    ],
)
def test_malformed_and_forged_bodies_are_400(client: Any, tenants: dict[str, TenantData], body: Any) -> None:
    resp = client.post("/api/v1/plays", json=body, headers=_admin(tenants))
    assert resp.status_code == 400, resp.get_json()
    assert resp.content_type == "application/problem+json"
    assert resp.get_json()["error"] == "invalid_body"
    assert resp.get_json()["problems"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"name": "x", "to_band": "purple"}, "Choose the band the account enters: one of green, yellow, red"),
        ({"name": "x", "to_band": "red", "from_bands": ["mauve"]}, "Unknown from bands: mauve"),
        ({"name": "x", "to_band": "red", "segments": ["galactic"]}, "Unknown segments: galactic"),
        ({"name": "x", "to_band": "red", "subject": "{owner} please"}, "The subject may use {account}"),
    ],
)
def test_names_outside_the_model_are_422(
    client: Any, tenants: dict[str, TenantData], body: Any, says: str
) -> None:
    resp = client.post("/api/v1/plays", json=body, headers=_admin(tenants))
    assert resp.status_code == 422
    assert resp.get_json()["error"] == "invalid_play"
    assert any(says in p for p in resp.get_json()["problems"]), resp.get_json()


def test_patch_validates_and_changes_nothing_on_error(client: Any, tenants: dict[str, TenantData]) -> None:
    key = _admin(tenants)
    pid = _create(client, tenants)["id"]
    for body, status in (({}, 400), ({"enabled": "yes"}, 400), ({"to_band": "teal"}, 422), ([], 400)):
        assert client.patch(f"/api/v1/plays/{pid}", json=body, headers=key).status_code == status
    for data, ctype, status in (("nope", "application/json", 400), ('{"due_days": 1}', "text/plain", 415)):
        resp = client.patch(f"/api/v1/plays/{pid}", data=data, content_type=ctype, headers=key)
        assert resp.status_code == status
    got = client.get(f"/api/v1/plays/{pid}", headers=key).get_json()
    assert (got["to_band"], got["enabled"], got["due_days"]) == ("red", False, 2)


def test_a_name_another_play_has_is_422(client: Any, tenants: dict[str, TenantData]) -> None:
    """The API made a second play of a name the admin form refuses (a retried create made a twin, each
    creating its own CRM task per account once on). Creating or renaming to a taken name is a 422 problem
    naming the play that has it; a play keeps its own name through a change; another workspace may use it."""
    key = _admin(tenants)
    starter = _starter(client, key)
    first = _create(client, tenants)
    for resp in (
        client.post("/api/v1/plays", json=NEW, headers=key),
        client.post(
            "/api/v1/plays", json={**NEW, "name": " enterprise ENTERS red", "due_days": 5}, headers=key
        ),
        client.patch(f"/api/v1/plays/{starter}", json={"name": NEW["name"]}, headers=key),
    ):
        assert resp.status_code == 422
        assert resp.content_type == "application/problem+json"
        body = resp.get_json()
        assert body["error"] == "invalid_play"
        assert body["problems"] == [
            f"There is already a play named “Enterprise enters red” (id {first['id']}): change that one with "
            f"PATCH /api/v1/plays/{first['id']}, or give this one another name."
        ]
    own = client.patch(f"/api/v1/plays/{first['id']}", json={"name": NEW["name"], "due_days": 4}, headers=key)
    assert own.status_code == 200
    names = sorted(p["name"] for p in client.get("/api/v1/plays", headers=key).get_json()["data"])
    assert names == ["Enterprise enters red", "Enters red"]
    globex = client.post("/api/v1/plays", json=NEW, headers=bearer(tenants["globex"].admin_key))
    assert globex.status_code == 201
    doc = client.get("/api/openapi.json").get_json()
    assert "422" in doc["components"]["schemas"]["PlayInput"]["properties"]["name"]["description"]


def _starter(client: Any, key: dict[str, str]) -> int:
    plays = client.get("/api/v1/plays", headers=key).get_json()["data"]
    return int(next(p["id"] for p in plays if p["name"] == "Enters red"))


def test_roles(client: Any, tenants: dict[str, TenantData]) -> None:
    acme = tenants["acme"]
    pid = _create(client, tenants)["id"]
    read, install = (
        bearer(acme.read_key),
        bearer(sidebar_key(client.application.config["HEALTHSCORE"].sqlalchemy_url, acme)[0]),
    )
    assert client.get("/api/v1/plays", headers=read).status_code == 200
    assert client.get(f"/api/v1/plays/{pid}", headers=read).status_code == 200
    writes = [
        ("post", "/api/v1/plays", NEW),
        ("patch", f"/api/v1/plays/{pid}", {"enabled": True}),
        ("delete", f"/api/v1/plays/{pid}", None),
        ("post", f"/api/v1/plays/{pid}/dry-run", None),
    ]
    for method, path, body in writes:
        resp = getattr(client, method)(path, json=body, headers=read)
        assert resp.status_code == 403, (method, path)
        assert resp.get_json()["error"] == "forbidden"
    assert client.get("/api/v1/plays", headers=install).status_code == 403
    assert client.get("/api/v1/plays").status_code == 401
    assert client.get("/api/v1/plays", headers=bearer("hsk_forged_key")).status_code == 401
    got = client.get(f"/api/v1/plays/{pid}", headers=_admin(tenants)).get_json()
    assert got["enabled"] is False  # the refused PATCH changed nothing


def test_other_tenants_plays_are_404(client: Any, tenants: dict[str, TenantData]) -> None:
    pid = _create(client, tenants)["id"]
    globex = bearer(tenants["globex"].admin_key)
    assert client.get(f"/api/v1/plays/{pid}", headers=globex).status_code == 404
    assert client.patch(f"/api/v1/plays/{pid}", json={"enabled": True}, headers=globex).status_code == 404
    assert client.post(f"/api/v1/plays/{pid}/dry-run", headers=globex).status_code == 404
    assert client.delete(f"/api/v1/plays/{pid}", headers=globex).status_code == 404
    assert pid not in [p["id"] for p in client.get("/api/v1/plays", headers=globex).get_json()["data"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/v1/plays/{HUGE}"),
        ("patch", f"/api/v1/plays/{HUGE}"),
        ("delete", f"/api/v1/plays/{HUGE}"),
        ("post", f"/api/v1/plays/{HUGE}/dry-run"),
        ("get", f"/api/v1/accounts/{HUGE}/plays"),
        ("get", f"/api/v1/plays/{10**30}"),
    ],
)
def test_ids_beyond_64_bits_are_404(
    client: Any, tenants: dict[str, TenantData], method: str, path: str
) -> None:
    resp = getattr(client, method)(path, json={"enabled": True}, headers=_admin(tenants))
    assert resp.status_code == 404


def test_the_openapi_document_describes_plays(client: Any) -> None:
    doc = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/plays", "/api/v1/plays/{play_id}", "/api/v1/plays/{play_id}/dry-run",
                 "/api/v1/accounts/{account_id}/plays"):  # fmt: skip
        assert path in doc["paths"]
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values() if "operationId" in op]
    assert len(ids) == len(set(ids))
    for name in ("Play", "PlayInput", "PlayPatch", "PlayDryRun", "PlayTask"):
        Draft202012Validator.check_schema(doc["components"]["schemas"][name])


def test_whole_number_floats_are_kept_and_fractions_refused(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    """JSON Schema counts 5.0 an integer, so the API accepts it: it must be stored as 5, not silently as the
    default 3 days (audit 6). A fraction of a day is refused by the schema, and the form's own parser refuses
    what is not a whole number instead of storing the default."""
    created = _create(client, tenants, due_days=5.0, cooldown_days=7.0)
    assert (created["due_days"], created["cooldown_days"]) == (5, 7)
    half = client.post(
        "/api/v1/plays", json={**NEW, "name": "half", "due_days": 2.5}, headers=_admin(tenants)
    )
    assert half.status_code in (400, 422)


def test_the_form_parser_refuses_days_that_are_not_whole_numbers() -> None:
    from connector.admin.plays import parse_form

    base = {"name": "x", "to_band": "red"}
    for bad in ("soon", "2.5", "inf", "nan", "1e400"):
        _, errors = parse_form(
            {**base, "due_days": bad, "cooldown_days": bad}, ["green", "yellow", "red"], []
        )
        assert any("Due in" in e for e in errors), bad
        assert any("cooldown" in e for e in errors), bad
    fields, errors = parse_form(
        {**base, "due_days": "4.0", "cooldown_days": ""}, ["green", "yellow", "red"], []
    )
    assert errors == []
    assert (fields["due_days"], fields["cooldown_days"]) == (4, 14)
