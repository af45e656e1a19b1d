"""Which streams a targeted refresh re-syncs for a batch of webhook events (connector.realtime.streams)."""

from __future__ import annotations

from typing import Any

import pytest

from connector.realtime.streams import streams_for
from integrations.base import Stream

TICKET = {Stream.TICKETS, Stream.COMMENTS, Stream.SURVEYS}


@pytest.mark.parametrize(
    ("vendor", "payloads", "expected"),
    [
        ("hubspot", [{"subscriptionType": "ticket.propertyChange"}], TICKET),
        ("hubspot", [{"subscriptionType": "ticket.creation"}, {"subscriptionType": "deal.deletion"}],
         TICKET | {Stream.DEALS}),
        ("hubspot", [{"subscriptionType": "company.propertyChange"}], {Stream.ACCOUNTS}),
        ("hubspot", [{"subscriptionType": "contact.deletion"}], {Stream.CONTACTS}),
        ("zendesk", [{"type": "zen:event-type:ticket.status_changed"}], TICKET),
        ("zendesk", [{"type": "zen:event-type:satisfaction.rated"}], TICKET),
        ("zendesk", [{"type": "zen:event-type:organization.created"}], {Stream.ACCOUNTS}),
        ("zendesk", [{"type": "zen:event-type:user.created"}], {Stream.CONTACTS}),
        ("salesforce", [{"sobject": "Case"}], TICKET),
        ("salesforce", [{"sobject": "Account"}, {"sobject": "Opportunity"}], {Stream.ACCOUNTS, Stream.DEALS}),
    ],
)  # fmt: skip
def test_events_name_their_streams(
    vendor: str, payloads: list[dict[str, Any]], expected: set[Stream]
) -> None:
    assert streams_for(vendor, payloads) == frozenset(expected)


@pytest.mark.parametrize(
    ("vendor", "payloads"),
    [
        ("hubspot", [{"subscriptionType": "ticket.propertyChange"}, {"subscriptionType": "conversation.creation"}]),
        ("hubspot", [{"subscriptionType": "propertyChange"}]),  # no object kind
        ("hubspot", [{}]),
        ("zendesk", [{"type": "ticket.updated"}]),  # not Zendesk's event envelope
        ("zendesk", [{"type": 7}]),
        ("salesforce", [{"sobject": "Task"}]),
        ("salesforce", [{"sobject": None}]),
        ("hubspot", []),  # no events at all
        ("jira", [{"subscriptionType": "ticket.creation"}]),
    ],
)  # fmt: skip
def test_an_event_we_cannot_place_re_syncs_every_stream(vendor: str, payloads: list[dict[str, Any]]) -> None:
    """Unknown kinds must not narrow the refresh: None means every stream, as before."""
    assert streams_for(vendor, payloads) is None
