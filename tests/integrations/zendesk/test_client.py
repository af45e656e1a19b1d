"""ZendeskClient: the bulk exports read raw pages through zenpy's own request path (client.py docstring).

These pin that the raw path sends exactly the request the public zenpy call sends, and that a retried call
does not rebuild (and so double-prefix) the URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from zenpy import Zenpy

from integrations.sandbox.context import Fault
from integrations.zendesk.client import ZendeskClient
from tests.integrations.zendesk.conftest import MakeAdapter, Recorder
from tests.integrations.zendesk.factory import Sandbox

EVENTS = "GET /api/v2/incremental/ticket_events.json"
EXPORT = "GET /api/v2/incremental/tickets/cursor.json"


def recorded(session: requests.Session) -> list[str]:
    urls: list[str] = []

    def hook(response: requests.Response, *_a: Any, **_k: Any) -> None:
        urls.append(str(response.request.url))

    session.hooks["response"].append(hook)
    return urls


def request_of(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)  # zenpy joins its params from a set: order varies


def public_zenpy(sb: Sandbox) -> tuple[Zenpy, list[str]]:
    s = requests.Session()
    s.verify = sb.tls.ca_file
    s.trust_env = False
    urls = recorded(s)
    zd = Zenpy(subdomain="127", domain=f"0.0.1:{sb.served.port}", oauth_token=sb.token, session=s)
    return zd, urls


def client_of(make_adapter: MakeAdapter, **kw: Any) -> tuple[ZendeskClient, list[str]]:
    client: ZendeskClient = make_adapter(**kw)._client
    return client, recorded(client._session)


def test_event_page_request_is_the_one_zenpy_sends(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    zd, public = public_zenpy(sandbox)
    zd.tickets.events(start_time=1234, include="comment_events", per_page=1000)
    client, ours = client_of(make_adapter)
    page = client.ticket_events(1234, 1000)
    assert [request_of(u) for u in ours] == [request_of(u) for u in public]
    assert page.items
    assert page.end_of_stream


def test_ticket_export_requests_are_the_ones_zenpy_sends(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    zd, public = public_zenpy(sandbox)
    first = zd.tickets.incremental(start_time=0, include=["metric_sets", "users", "groups"], per_page=2)
    zd.tickets.incremental(cursor=first.after_cursor, include=["metric_sets", "users", "groups"])
    client, ours = client_of(make_adapter)
    page = client.export_tickets(("start_time", 0), 2)
    assert page.after_cursor == first.after_cursor
    client.export_tickets(("cursor", page.after_cursor), 2)
    assert [request_of(u) for u in ours] == [request_of(u) for u in public]


def test_a_retried_event_page_asks_for_the_same_url(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    """429 + Retry-After: our policy sleeps and retries the very same request (no second path prefix)."""
    sandbox.ctx.faults.script("zendesk", EVENTS, Fault(kind="rate_limit", retry_after=7))
    client, urls = client_of(make_adapter)
    page = client.ticket_events(0, 1000)
    assert page.items
    assert recorder.sleeps == [7.0]
    assert len(urls) == 2
    assert urls[0] == urls[1]
    assert sandbox.ctx.counters.get("zendesk", EVENTS) == 2


def test_a_retried_ticket_page_asks_for_the_same_url(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="server_error", status=500))
    client, urls = client_of(make_adapter)
    assert client.export_tickets(("start_time", 0), 1000).tickets
    assert len(urls) == 2
    assert urls[0] == urls[1]
    assert len(recorder.sleeps) == 1


ORGS = "GET /api/v2/incremental/organizations.json"


def test_organization_export_request_is_the_one_zenpy_sends(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    zd, public = public_zenpy(sandbox)
    expected = zd.organizations.incremental(start_time=0, per_page=1000)._response_json
    client, ours = client_of(make_adapter)
    page = client.export_organizations(0, 1000)
    assert [request_of(u) for u in ours] == [request_of(u) for u in public]
    assert page.items == expected["organizations"]
    assert page.end_time == int(expected["end_time"])
    assert page.end_of_stream is bool(expected["end_of_stream"])


def test_organization_export_builds_no_zenpy_objects(
    sandbox: Sandbox, make_adapter: MakeAdapter, monkeypatch: Any
) -> None:
    """Issue 17: the echo of a write-back makes the next pass re-read every organization, and zenpy's
    mapping of each into an Organization object (never used: the page JSON is read) was ~0.25 ms of worker
    CPU per organization, the largest part of a 2,000-account incremental sync."""
    from zenpy.lib.mapping import ZendeskObjectMapping

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a zenpy object was built for an export page")

    monkeypatch.setattr(ZendeskObjectMapping, "object_from_json", refuse)
    client, _ = client_of(make_adapter)
    page = client.export_organizations(0, 1000)
    assert page.items
    assert all(isinstance(o, dict) and "id" in o for o in page.items)


def test_a_retried_organization_page_asks_for_the_same_url(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    sandbox.ctx.faults.script("zendesk", ORGS, Fault(kind="server_error", status=500))
    client, urls = client_of(make_adapter)
    assert client.export_organizations(0, 1000).items
    assert len(urls) == 2
    assert urls[0] == urls[1]
    assert len(recorder.sleeps) == 1
