"""Zendesk sandbox outbound webhooks: Zendesk's event envelope, signed as Zendesk signs
(base64 HMAC-SHA256 of timestamp + body), verified with our own inbound verifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from integrations.sandbox import zendesk as zsb
from integrations.sandbox.book import Changes
from integrations.sandbox.context import Faults, SandboxContext
from tests.integrations.zendesk.factory import build_book, ticket
from webhooks.inbound import verify_zendesk


def context() -> SandboxContext:
    ctx = SandboxContext(book=build_book(), vendors={zsb.VENDOR: zsb.make_state(0)}, faults=Faults())
    ctx.base_urls[zsb.VENDOR] = "https://127.0.0.1:9"
    return ctx


def test_no_webhook_url_means_no_webhooks() -> None:
    assert zsb.outbound_webhooks(context(), Changes(tickets={"T0000001"})) == []


def test_ticket_and_rating_webhooks_are_signed_and_typed() -> None:
    ctx = context()
    state = ctx.vendors[zsb.VENDOR]
    state.webhook_url = "https://hooks.example/zendesk"
    new = ticket(50, "C000002", minutes=40_000, comments=1)
    new.updated_at = new.created_at
    ctx.book.tickets[new.key] = new
    changes = Changes(tickets={"T0000001", new.key, "T0009999"}, surveys={"S000002"})
    out = zsb.outbound_webhooks(ctx, changes)
    kinds = []
    for url, headers, body in out:
        assert url == "https://hooks.example/zendesk"
        verify_zendesk(
            headers, body, state.webhook_secret, now=datetime.now(UTC) + timedelta(seconds=5)
        )  # signed at sending time
        kinds.append(json.loads(body)["type"])
    # T0009999 is a CRM-channel ticket: Zendesk does not know it
    assert sorted(kinds) == [
        "zen:event-type:satisfaction.rated",
        "zen:event-type:ticket.created",
        "zen:event-type:ticket.updated",
    ]
    created = next(json.loads(b) for _, _, b in out if b"ticket.created" in b)
    assert created["subject"] == f"zen:ticket:{zsb.ticket_id(new.key)}"
    assert created["detail"]["organization_id"] == zsb.org_id("C000002")


def test_written_fields_and_truth_with_a_duplicate_org() -> None:
    ctx = context()
    dup = build_book(customers=1).customers["C000001"]
    dup.key = "C000001-dup"
    dup.zendesk.duplicate_of = "C000001"
    dup.zendesk.cross_ref = True
    ctx.book.customers[dup.key] = dup
    moved = ctx.book.tickets["T0000001"]
    moved.customer_key = dup.key
    truth = zsb.truth(ctx)
    assert truth["accounts"][str(zsb.org_id(dup.key))] == "C000001"
    assert truth["tickets"][str(zsb.ticket_id("T0000001"))] == "C000001"
    assert zsb.written_fields(ctx) == {}
