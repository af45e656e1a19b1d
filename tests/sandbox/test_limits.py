"""The sandboxes enforce the vendors' API limits when asked (`sandbox serve --rate-limits real`): rolling
windows, refusals in each vendor's wire format, and the product's clients reading them as the vendor's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from integrations.base import Stream
from integrations.errors import QuotaExhaustedError, RateLimitError
from integrations.sandbox.limits import SALESFORCE_DAILY, RateLimits, limits_for, real_windows
from tests.integrations.contract_support import SPECS, Harness


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_rolling_window_admits_its_capacity_then_says_when_a_slot_frees() -> None:
    clock = FakeClock()
    limits = RateLimits({"zendesk": ((3, 60.0),)}, clock=clock)
    for step in range(3):
        assert limits.admit("zendesk") is None
        clock.t += 10 * (step + 1)  # requests at 1000, 1010, 1030
    clock.t = 1050.0
    refused = limits.admit("zendesk")
    assert refused is not None
    assert refused.window == (3, 60.0)
    assert refused.retry_after == pytest.approx(10.0)  # the request of 1000 leaves the window at 1060
    clock.t = 1060.0
    assert limits.admit("zendesk") is None  # admitted once it left
    assert limits.admit("zendesk") is not None  # 1010, 1030, 1060 fill the window again
    assert limits.refused == {"zendesk": 2}
    assert limits.admit("hubspot") is None  # a vendor without limits is never refused


def test_the_real_limits_are_the_documented_ones() -> None:
    from integrations.sandbox.salesforce.schema import DAILY_API_LIMIT

    windows = real_windows()
    assert windows["hubspot"] == ((100, 10.0), (250_000, 86_400.0))
    assert windows["zendesk"] == ((700, 60.0),)
    assert windows["salesforce"] == ((DAILY_API_LIMIT, 86_400.0),)
    assert SALESFORCE_DAILY == DAILY_API_LIMIT
    assert not limits_for("off").enabled
    assert limits_for("real").enabled
    with pytest.raises(ValueError, match="real"):
        limits_for("fast")


@pytest.fixture
def tight(sandbox: Any) -> Iterator[Any]:
    """Three API calls per vendor (HubSpot per 10 s, Zendesk per minute, Salesforce per day)."""
    sandbox.ctx.limits = RateLimits(
        {"hubspot": ((3, 10.0),), "zendesk": ((3, 60.0),), "salesforce": ((3, 86_400.0),)}
    )
    try:
        yield sandbox
    finally:
        sandbox.ctx.limits = RateLimits()


def _get(http: requests.Session, sandbox: Any, vendor: str, path: str) -> requests.Response:
    creds = sandbox.credentials()[vendor]
    return http.get(
        creds["base_url"] + path, headers={"Authorization": f"Bearer {creds['access_token']}"}, timeout=10
    )


def test_refusals_are_in_each_vendors_wire_format(tight: Any, sandbox_http: requests.Session) -> None:
    paths = {
        "hubspot": "/crm/v3/objects/companies?limit=1",
        "zendesk": "/api/v2/organizations.json",
        "salesforce": "/services/data/v59.0/limits",
    }
    answers = {v: [_get(sandbox_http, tight, v, p) for _ in range(4)] for v, p in paths.items()}
    for vendor, rs in answers.items():
        assert [r.status_code for r in rs[:3]] == [200, 200, 200], (vendor, rs[0].text[:200])

    hub = answers["hubspot"][3]
    assert hub.status_code == 429
    body = hub.json()
    assert (body["status"], body["category"], body["errorType"], body["policyName"]) == (
        "error", "RATE_LIMITS", "RATE_LIMIT", "TEN_SECONDLY_ROLLING",
    )  # fmt: skip
    assert hub.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert hub.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert answers["hubspot"][1].headers["X-HubSpot-RateLimit-Remaining"] == "1"  # counts down while admitted

    zd = answers["zendesk"][3]
    assert zd.status_code == 429
    assert zd.json()["error"] == "APIRateLimitExceeded"
    assert 1 <= int(zd.headers["Retry-After"]) <= 60

    sf = answers["salesforce"][3]
    assert sf.status_code == 403
    assert sf.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"

    # OAuth token endpoints are outside the API limits; a refused call is not counted against the window.
    assert tight.ctx.limits.describe()["zendesk"]["refused"] == 1


@pytest.mark.parametrize("vendor", ["hubspot", "zendesk", "salesforce"])
def test_the_product_clients_read_the_refusals_as_the_vendors(tight: Any, vendor: str) -> None:
    """HubSpot: rate limited, wait a full 10 s window (no Retry-After); Zendesk: wait Retry-After;
    Salesforce: the daily quota is spent, stop cleanly."""
    harness = Harness(spec=SPECS[vendor], sandbox=tight)
    try:
        adapter = harness.adapter(page_size=5)
        expected = QuotaExhaustedError if vendor == "salesforce" else RateLimitError
        with pytest.raises(expected):
            list(adapter.read(Stream.TICKETS, None))
    finally:
        harness.close()
    if vendor == "hubspot":
        assert harness.sleeps
        assert set(harness.sleeps) == {10.0}
    elif vendor == "zendesk":
        assert harness.sleeps
        assert all(1 <= s <= 60 for s in harness.sleeps)
    else:
        assert harness.sleeps == []


def test_the_control_api_switches_the_limits(sandbox: Any, sandbox_http: requests.Session) -> None:
    url = sandbox.control_url + "/_sandbox/limits"
    try:
        assert sandbox_http.get(url, timeout=5).json()["enabled"] is False
        on = sandbox_http.post(url, json={"mode": "real"}, timeout=5).json()
        assert on["enabled"] is True
        assert on["limits"]["zendesk"]["windows"] == [[700, 60.0]]
        assert sandbox_http.post(url, json={"mode": "fast"}, timeout=5).status_code == 400
        assert sandbox_http.post(url, json={"mode": "off"}, timeout=5).json()["enabled"] is False
    finally:
        sandbox.ctx.limits = RateLimits()
