"""HubSpot sandbox outbound webhooks: v3 event arrays, signed with the app's client secret as HubSpot does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from integrations.sandbox import hubspot as hs
from integrations.sandbox.book import Changes
from tests.integrations.hubspot.book_factory import NOW, make_book, make_context
from webhooks.errors import WebhookVerificationError
from webhooks.inbound import sign_hubspot_v3, verify_hubspot_v3

URL = "https://receiver.example/webhooks/hubspot"
# HubSpot's documented v3 event (developers.hubspot.com, webhooks "Example payload"), trimmed.
DOC_EVENT = {
    "objectId": 1246965,
    "propertyName": "lifecyclestage",
    "propertyValue": "subscriber",
    "changeSource": "ACADEMY",
    "eventId": 3816279340,
    "subscriptionId": 25,
    "portalId": 33,
    "appId": 1160452,
    "occurredAt": 1462216307945,
    "subscriptionType": "contact.propertyChange",
    "attemptNumber": 0,
}


def test_sandbox_signs_with_the_shared_v3_signer_known_answer() -> None:
    """security.md test vector: the signer the sandbox imports reproduces it."""
    body = b'[{"eventId":1,"subscriptionType":"company.propertyChange","objectId":123,"propertyName":"name","propertyValue":"Acme"}]'
    headers = sign_hubspot_v3(
        "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        "POST",
        "https://example.com/webhooks/hubspot",
        body,
        1700000000000,
    )
    assert headers["X-HubSpot-Signature-v3"] == "XSdfXUiEHWVUGSNqj+w2bUuKR8BfiSBhiFog8nJx+tg="
    assert headers["X-HubSpot-Request-Timestamp"] == "1700000000000"


def test_no_webhook_url_means_no_webhooks() -> None:
    ctx = make_context(make_book())
    assert hs.outbound_webhooks(ctx, Changes(customers={"C000001"})) == []


def test_changes_become_signed_v3_event_arrays() -> None:
    book = make_book()
    ctx = make_context(book)
    state = ctx.vendors[hs.VENDOR]
    state.webhook_url = URL
    book.customers["C000002"].hubspot.name = "Renamed Co"
    book.tickets["T0000001"].updated_at = book.tickets["T0000001"].created_at  # a brand-new ticket
    changes = Changes(
        customers={"C000002"}, deals={"D000001"}, tickets={"T0000001", "T0000002"}, deleted={"C000003"}
    )
    stamp = int(datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp() * 1000)
    [(url, headers, body)] = hs.outbound_webhooks(ctx, changes, now_ms=stamp)
    assert url == URL
    verify_hubspot_v3(
        headers,
        body,
        state.oauth.client_secret,
        method="POST",
        uri=URL,
        now=datetime.fromtimestamp(stamp / 1000, UTC),
    )
    events = json.loads(body)
    for event in events:
        assert set(DOC_EVENT) - {"propertyName", "propertyValue"} <= set(event)
        assert event["portalId"] == state.extra["portal_id"]
        assert event["occurredAt"] == int(NOW.timestamp() * 1000)
    by_type = {(e["subscriptionType"], e["objectId"]): e for e in events}
    company = by_type[("company.propertyChange", int(hs.company_id("C000002")))]
    assert (company["propertyName"], company["propertyValue"]) == ("name", "Renamed Co")
    assert ("deal.propertyChange", 9_000_002) in by_type
    assert ("ticket.creation", 3_000_002) in by_type
    assert by_type[("ticket.propertyChange", 3_000_003)]["propertyName"] == "hs_pipeline_stage"
    assert ("company.deletion", int(hs.company_id("C000003"))) in by_type
    assert len({e["eventId"] for e in events}) == len(events) == 5


def test_tampered_body_fails_verification() -> None:
    ctx = make_context(make_book())
    ctx.vendors[hs.VENDOR].webhook_url = URL
    stamp = int(NOW.timestamp() * 1000)
    [(_, headers, body)] = hs.outbound_webhooks(ctx, Changes(customers={"C000001"}), now_ms=stamp)
    with pytest.raises(WebhookVerificationError):
        verify_hubspot_v3(
            headers,
            body.replace(b"Customer", b"Kustomer"),
            ctx.vendors[hs.VENDOR].oauth.client_secret,
            method="POST",
            uri=URL,
            now=NOW,
        )


def test_zendesk_channel_tickets_send_no_hubspot_events_and_batches_hold_100() -> None:
    book = make_book(customers=60, contacts_per=0, deals_per=2, tickets_per=0)
    ctx = make_context(book)
    ctx.vendors[hs.VENDOR].webhook_url = URL
    assert hs.outbound_webhooks(ctx, Changes(tickets={"T0009000"})) == []
    posts = hs.outbound_webhooks(
        ctx, Changes(deals=set(book.deals)), now_ms=int((NOW + timedelta(hours=1)).timestamp() * 1000)
    )
    assert [len(json.loads(body)) for _, _, body in posts] == [100, 20]
