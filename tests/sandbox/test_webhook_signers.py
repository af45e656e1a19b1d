"""The emulators' own webhook signers against the known-answer vectors the product verifiers are pinned to
(tests/webhooks/vendor_vectors.py), and the product verifiers accept what the emulators send."""

from __future__ import annotations

import pytest

from integrations.sandbox.hubspot import signing as hs_signing
from integrations.sandbox.salesforce import soap
from integrations.sandbox.zendesk import signing as zd_signing
from tests.webhooks import vendor_vectors as vv
from webhooks.inbound import verify_hubspot_v3, verify_salesforce_outbound, verify_zendesk


@pytest.mark.parametrize("v", vv.HUBSPOT_V3, ids=lambda v: v.name)
def test_hubspot_emulator_signs_the_vector(v: vv.HubSpotV3Vector) -> None:
    headers = hs_signing.sign_v3(v.client_secret, v.method, v.uri, v.body, v.timestamp_ms)
    assert headers == {"X-HubSpot-Signature-v3": v.signature, "X-HubSpot-Request-Timestamp": "1700000000000"}
    assert hs_signing.signed_uri(v.uri) == v.signed_uri
    verify_hubspot_v3(headers, v.body, v.client_secret, method=v.method, uri=v.uri, now=v.now)


def test_hubspot_emulator_signature_depends_on_every_part() -> None:
    v = vv.HUBSPOT_V3[0]
    base = hs_signing.sign_v3(v.client_secret, v.method, v.uri, v.body, v.timestamp_ms)
    variants = [
        hs_signing.sign_v3("other-secret", v.method, v.uri, v.body, v.timestamp_ms),
        hs_signing.sign_v3(v.client_secret, "GET", v.uri, v.body, v.timestamp_ms),
        hs_signing.sign_v3(v.client_secret, v.method, v.uri + "/x", v.body, v.timestamp_ms),
        hs_signing.sign_v3(v.client_secret, v.method, v.uri, v.body + b" ", v.timestamp_ms),
        hs_signing.sign_v3(v.client_secret, v.method, v.uri, v.body, v.timestamp_ms + 1),
    ]
    assert all(h["X-HubSpot-Signature-v3"] != base["X-HubSpot-Signature-v3"] for h in variants)


def test_zendesk_emulator_signs_the_vector() -> None:
    v = vv.ZENDESK
    headers = zd_signing.sign(v.secret, v.timestamp, v.body)
    assert headers == {
        "X-Zendesk-Webhook-Signature": v.signature,
        "X-Zendesk-Webhook-Signature-Timestamp": v.timestamp,
    }
    assert headers["X-Zendesk-Webhook-Signature"] != vv.DOCUMENTED_SAMPLE_SIGNATURE
    verify_zendesk(headers, v.body, v.secret, v.now)


def test_salesforce_emulator_builds_the_vector_byte_for_byte() -> None:
    v = vv.SALESFORCE
    note = soap.Notification(id=v.notification_id, sobject=v.sobject, fields=dict(v.fields))
    headers, body = soap.notifications_request(
        v.org_id, v.action_id, [note], enterprise_url=v.enterprise_url, partner_url=v.partner_url
    )
    assert (headers, body) == (vv.SALESFORCE_HEADERS, v.body)
    assert verify_salesforce_outbound(body, v.org_id[:15]).organization_id == v.org_id


def test_salesforce_emulator_refuses_an_empty_or_oversized_message() -> None:
    note = soap.Notification(id="04l5g00000Gx7QzAAJ", sobject="Account", fields={"Id": "0015g00000ZkM3hAAF"})
    for notes in ([], [note] * (soap.MAX_PER_MESSAGE + 1)):
        with pytest.raises(ValueError, match=r"1\.\.100"):
            soap.notifications_request(
                "00D5g000004ABCDEAA", "04k", notes, enterprise_url="e", partner_url="p"
            )
