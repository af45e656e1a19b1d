"""The control API: faults and counters exactly as set, the clock tick, stats, truth, state, JSON errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from integrations.sandbox import seed
from integrations.sandbox.book import Book, Changes
from integrations.sandbox.context import Faults, OAuthClient, SandboxContext, VendorState
from integrations.sandbox.control import create_control_app

VENDORS = ("salesforce", "hubspot", "zendesk")


class StubRunner:
    """Ticks the book like the real runner, without servers or webhooks."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.ticks: list[int] = []
        self.deliveries: list[Any] = []

    def tick(self, days: int, *, wait: bool = False) -> Changes:
        self.ticks.append(days)
        return seed.advance(self.ctx.book, days)

    def credentials(self) -> dict[str, Any]:
        return {"admin": "http://127.0.0.1:1"}


@pytest.fixture(scope="module")
def base_book() -> Book:
    return seed.generate_book(seed=2, accounts=40)


@pytest.fixture
def ctx(base_book: Book) -> SandboxContext:
    import copy

    vendors = {
        v: VendorState(vendor=v, oauth=OAuthClient("id", "secret", timedelta(hours=1))) for v in VENDORS
    }
    return SandboxContext(book=copy.deepcopy(base_book), vendors=vendors, faults=Faults(0))


@pytest.fixture
def client(ctx: SandboxContext) -> Iterator[FlaskClient]:
    return create_control_app(ctx, StubRunner(ctx)).test_client()


def test_scripted_fault_fires_exactly_times_then_disappears(client: FlaskClient, ctx: SandboxContext) -> None:
    resp = client.post(
        "/_sandbox/faults",
        json={
            "vendor": "zendesk",
            "pattern": "GET /api/v2/*",
            "kind": "rate_limit",
            "times": 2,
            "retry_after": 7,
        },
    )
    assert resp.status_code == 201
    first = ctx.faults.take("zendesk", "GET /api/v2/tickets.json")
    assert first is not None
    assert first.kind == "rate_limit"
    assert first.retry_after == 7.0
    assert ctx.faults.take("hubspot", "GET /api/v2/tickets.json") is None  # other vendor untouched
    assert ctx.faults.take("zendesk", "POST /oauth/tokens") is None  # pattern does not match
    assert ctx.faults.take("zendesk", "GET /api/v2/x") is not None
    assert ctx.faults.take("zendesk", "GET /api/v2/x") is None
    assert client.get("/_sandbox/faults").get_json() == {"faults": []}


def test_rate_fault_and_row_rejection_fields(client: FlaskClient, ctx: SandboxContext) -> None:
    client.post(
        "/_sandbox/faults", json={"vendor": "hubspot", "kind": "server_error", "rate": 1.0, "status": 503}
    )
    client.post(
        "/_sandbox/faults",
        json={"vendor": "salesforce", "kind": "reject_rows", "rate": 1.0, "ids": ["001A", 2], "every": 3},
    )
    fault = ctx.faults.take("hubspot", "GET /crm/v3/objects/companies")
    assert fault is not None
    assert fault.status == 503
    rows = ctx.faults.peek("salesforce", "PATCH /x", "reject_rows")
    assert rows is not None
    assert rows.ids == ("001A", "2")
    assert rows.every == 3
    listed = client.get("/_sandbox/faults").get_json()["faults"]
    assert [(f["vendor"], f["rate"], f["remaining"]) for f in listed] == [
        ("hubspot", 1.0, None),
        ("salesforce", 1.0, None),
    ]


def test_clearing_faults_per_vendor(client: FlaskClient) -> None:
    for v in ("zendesk", "hubspot"):
        client.post("/_sandbox/faults", json={"vendor": v, "kind": "timeout", "times": 1, "delay": 0.5})
    assert [f["vendor"] for f in client.delete("/_sandbox/faults?vendor=zendesk").get_json()["faults"]] == [
        "hubspot"
    ]
    assert client.delete("/_sandbox/faults").get_json()["faults"] == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"vendor": "jira", "kind": "rate_limit"}, "vendor must be"),
        ({"vendor": "zendesk", "kind": "explode"}, "kind must be"),
        ({"vendor": "zendesk", "kind": "slow", "times": 1, "rate": 0.5}, "not both"),
        ({"vendor": "zendesk", "kind": "slow", "times": 0}, "times must be"),
        ({"vendor": "zendesk", "kind": "slow", "rate": 2}, "rate must be"),
        ({"vendor": "zendesk", "kind": "slow", "delay": -1}, "delay must be"),
        ({"vendor": "zendesk", "kind": "reject_rows", "ids": "001"}, "ids must be"),
    ],
    ids=["vendor", "kind", "times-and-rate", "times", "rate", "delay", "ids"],
)
def test_bad_fault_bodies_get_json_errors(client: FlaskClient, body: dict[str, Any], needle: str) -> None:
    resp = client.post("/_sandbox/faults", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "invalid_fault"
    assert needle in resp.get_json()["message"]


def test_non_json_body_unknown_path_and_wrong_method_are_json_errors(client: FlaskClient) -> None:
    resp = client.post("/_sandbox/faults", data="nope", content_type="text/plain")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "bad_request"
    assert client.get("/_sandbox/nothing").get_json()["error"] == "not_found"
    resp = client.put("/_sandbox/faults")
    assert resp.status_code == 405
    assert resp.get_json()["error"] == "method_not_allowed"


def test_counters_are_exact_per_vendor_and_endpoint(client: FlaskClient, ctx: SandboxContext) -> None:
    for _ in range(3):
        ctx.counters.record("zendesk", "GET /api/v2/organizations.json")
    ctx.counters.record("zendesk", "POST /oauth/tokens")
    ctx.counters.record("hubspot", "POST /oauth/v1/token")
    assert client.get("/_sandbox/counters").get_json()["counters"] == {
        "hubspot": {"POST /oauth/v1/token": 1},
        "zendesk": {"GET /api/v2/organizations.json": 3, "POST /oauth/tokens": 1},
    }
    resp = client.get("/_sandbox/counters?vendor=zendesk&pattern=GET *").get_json()
    assert resp["count"] == 3
    client.delete("/_sandbox/counters")
    assert client.get("/_sandbox/counters").get_json()["counters"] == {}


def test_tick_advances_the_clock_and_reports_changes(client: FlaskClient, ctx: SandboxContext) -> None:
    start = ctx.book.now
    assert client.get("/_sandbox/clock").get_json()["now"] == start.isoformat()
    resp = client.post("/_sandbox/tick", json={"days": 10})
    body = resp.get_json()
    assert resp.status_code == 200
    assert body["now"] == (start + timedelta(days=10)).isoformat()
    assert body["counts"]["tickets"] == len(body["keys"]["tickets"]) > 0
    assert client.post("/_sandbox/clock", json={"days": 1}).get_json()["days"] == 1
    assert ctx.book.now == start + timedelta(days=11)


@pytest.mark.parametrize(
    "days", [-1, "7", 1.5, None, 99999], ids=["negative", "string", "float", "missing", "huge"]
)
def test_bad_tick_is_refused(client: FlaskClient, days: Any, ctx: SandboxContext) -> None:
    start = ctx.book.now
    resp = client.post("/_sandbox/tick", json={"days": days})
    assert resp.status_code == 400
    assert "days" in resp.get_json()["message"]
    assert ctx.book.now == start


def test_webhook_config(client: FlaskClient, ctx: SandboxContext) -> None:
    resp = client.post(
        "/_sandbox/webhooks", json={"vendor": "zendesk", "url": "http://127.0.0.1:9/h", "secret": "s3"}
    )
    assert resp.status_code == 200
    assert ctx.vendors["zendesk"].webhook_url == "http://127.0.0.1:9/h"
    assert ctx.vendors["zendesk"].webhook_secret == "s3"
    config = client.get("/_sandbox/webhooks").get_json()["config"]
    assert config["zendesk"]["url"] == "http://127.0.0.1:9/h"
    assert config["hubspot"]["url"] is None
    assert client.post("/_sandbox/webhooks", json={"vendor": "zendesk", "url": "ftp://x"}).status_code == 400
    client.post("/_sandbox/webhooks", json={"vendor": "zendesk", "url": None})
    assert ctx.vendors["zendesk"].webhook_url is None


def test_stats_count_the_book(client: FlaskClient, ctx: SandboxContext) -> None:
    stats = client.get("/_sandbox/stats").get_json()
    book = ctx.book
    assert stats["customers"] + stats["duplicates"] == len(book.customers)
    assert sum(stats["tickets"].values()) == len(book.tickets)
    assert stats["comments"] == sum(len(t.comments) for t in book.tickets.values())
    assert stats["surveys"]["nps"] == sum(1 for s in book.surveys.values() if s.kind == "nps")


def test_credentials_come_from_the_runner(client: FlaskClient) -> None:
    assert client.get("/_sandbox/credentials").get_json() == {"admin": "http://127.0.0.1:1"}


# --- parts that need the vendor modules --------------------------------------------------------------------


@pytest.fixture
def real_ctx(ctx: SandboxContext) -> SandboxContext:
    for v in VENDORS:
        module = pytest.importorskip(f"integrations.sandbox.{v}")
        ctx.vendors[v] = module.make_state(2)
    return ctx


def test_truth_has_outcomes_renewals_and_vendor_maps(real_ctx: SandboxContext) -> None:
    client = create_control_app(real_ctx, StubRunner(real_ctx)).test_client()
    truth = client.get("/_sandbox/truth").get_json()
    book = real_ctx.book
    assert set(truth["customers"]) == set(book.customers)
    for key, c in truth["customers"].items():
        assert 0 <= c["latent_health"] <= 1
        if c["outcome"] is not None:
            assert c["renewals"][-1]["outcome"] == c["outcome"]
            assert c["renewals"][-1]["date"] == c["outcome_date"]
        assert "health_path" not in c
        assert c["duplicate_of"] == book.customers[key].zendesk.duplicate_of
    assert set(truth["vendors"]) == set(VENDORS)
    zendesk_tickets = [t for t in book.tickets.values() if t.channel == "zendesk"]
    assert len(truth["vendors"]["zendesk"]["tickets"]) == len(zendesk_tickets)
    assert set(truth["vendors"]["zendesk"]["tickets"].values()) <= {
        k for k in book.customers if "-dup" not in k
    }
    with_path = client.get("/_sandbox/truth?path=1").get_json()["customers"]["C000001"]
    assert len(with_path["health_path"]) == len(book.customers["C000001"].health_path)


def test_state_shows_what_the_product_wrote(real_ctx: SandboxContext) -> None:
    client = create_control_app(real_ctx, StubRunner(real_ctx)).test_client()
    assert client.get("/_sandbox/state").get_json() == {v: {} for v in VENDORS}
    real_ctx.vendors["zendesk"].written["360000002"] = {"healthscore_score": 71.5}
    assert client.get("/_sandbox/state").get_json()["zendesk"] == {"360000002": {"healthscore_score": 71.5}}
