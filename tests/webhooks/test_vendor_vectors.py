"""The product's vendor verifiers (webhooks/) against known-answer vectors (tests/webhooks/vendor_vectors.py).

The same vectors pin the emulators' own signers (tests/sandbox/test_webhook_signers.py); each literal is
also recomputed here from the vendor's documented recipe with a plain stdlib HMAC, and for HubSpot with
HubSpot's own SDK, so neither side can drift with the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest

from tests.webhooks import vendor_vectors as vv
from webhooks.errors import WebhookVerificationError
from webhooks.inbound import (
    HUBSPOT_SIGNATURE_V3,
    HUBSPOT_TIMESTAMP,
    ZENDESK_SIGNATURE,
    ZENDESK_TIMESTAMP,
    SalesforceNotification,
    sign_hubspot_v3,
    sign_salesforce_outbound,
    sign_zendesk,
    verify_hubspot_v3,
    verify_salesforce_outbound,
    verify_zendesk,
)


def _b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()).decode()


# ---------------------------------------------------------------- HubSpot v3


@pytest.mark.parametrize("v", vv.HUBSPOT_V3, ids=lambda v: v.name)
def test_hubspot_vector_is_the_documented_recipe(v: vv.HubSpotV3Vector) -> None:
    message = f"{v.method}{v.signed_uri}".encode() + v.body + str(v.timestamp_ms).encode()
    assert _b64_hmac(v.client_secret, message) == v.signature


@pytest.mark.parametrize("v", vv.HUBSPOT_V3, ids=lambda v: v.name)
def test_hubspot_vector_matches_hubspots_own_sdk(v: vv.HubSpotV3Vector) -> None:
    """hubspot-api-client's Signature (it does not decode escapes, so it gets the signed URI)."""
    signature = pytest.importorskip("hubspot.utils.signature").Signature
    got = signature.get_signature(
        v.client_secret, v.body.decode(), "v3", v.signed_uri, v.method, str(v.timestamp_ms)
    )
    assert got == v.signature


@pytest.mark.parametrize("v", vv.HUBSPOT_V3, ids=lambda v: v.name)
def test_product_verifies_the_hubspot_vector_and_signs_it_identically(v: vv.HubSpotV3Vector) -> None:
    headers = {HUBSPOT_SIGNATURE_V3: v.signature, HUBSPOT_TIMESTAMP: str(v.timestamp_ms)}
    verify_hubspot_v3(headers, v.body, v.client_secret, method=v.method, uri=v.uri, now=v.now)
    assert sign_hubspot_v3(v.client_secret, v.method, v.uri, v.body, v.timestamp_ms) == headers


@pytest.mark.parametrize("v", vv.HUBSPOT_V3, ids=lambda v: v.name)
def test_product_rejects_the_hubspot_vector_with_one_byte_changed(v: vv.HubSpotV3Vector) -> None:
    headers = {HUBSPOT_SIGNATURE_V3: v.signature, HUBSPOT_TIMESTAMP: str(v.timestamp_ms)}
    with pytest.raises(WebhookVerificationError, match="no_matching_signature"):
        verify_hubspot_v3(headers, v.body[:-1] + b" ", v.client_secret, method=v.method, uri=v.uri, now=v.now)


# ---------------------------------------------------------------- Zendesk


def test_zendesk_vector_is_the_documented_recipe() -> None:
    v = vv.ZENDESK
    assert _b64_hmac(v.secret, v.timestamp.encode() + v.body) == v.signature
    # The sample signature printed next to these inputs is BODY + TIMESTAMP (see vendor_vectors.py).
    assert _b64_hmac(v.secret, v.body + v.timestamp.encode()) == vv.DOCUMENTED_SAMPLE_SIGNATURE


def test_product_verifies_the_zendesk_vector_and_signs_it_identically() -> None:
    v = vv.ZENDESK
    headers = {ZENDESK_SIGNATURE: v.signature, ZENDESK_TIMESTAMP: v.timestamp}
    verify_zendesk(headers, v.body, v.secret, v.now + timedelta(seconds=30))
    assert sign_zendesk(v.secret, v.timestamp, v.body) == headers


def test_product_rejects_the_body_then_timestamp_ordering() -> None:
    v = vv.ZENDESK
    headers = {ZENDESK_SIGNATURE: vv.DOCUMENTED_SAMPLE_SIGNATURE, ZENDESK_TIMESTAMP: v.timestamp}
    with pytest.raises(WebhookVerificationError, match="no_matching_signature"):
        verify_zendesk(headers, v.body, v.secret, v.now)


# ---------------------------------------------------------------- Salesforce Outbound Messages


def test_product_accepts_the_salesforce_vector_for_its_org_in_either_id_form() -> None:
    v = vv.SALESFORCE
    for org in (v.org_id, v.org_id[:15]):
        message = verify_salesforce_outbound(v.body, org)
        assert (message.organization_id, message.action_id) == (v.org_id, v.action_id)
        (note,) = message.notifications
        assert (note.id, note.sobject_type, dict(note.fields)) == (
            v.notification_id,
            v.sobject,
            dict(v.fields),
        )


def test_product_rejects_the_salesforce_vector_for_another_org() -> None:
    with pytest.raises(WebhookVerificationError, match="org_id_mismatch"):
        verify_salesforce_outbound(vv.SALESFORCE.body, "00D5g000004ABCEEAA")


def test_product_builds_the_salesforce_vector_byte_for_byte() -> None:
    v = vv.SALESFORCE
    note = SalesforceNotification(id=v.notification_id, sobject_type=v.sobject, fields=dict(v.fields))
    headers, body = sign_salesforce_outbound(
        v.org_id, v.action_id, [note], enterprise_url=v.enterprise_url, partner_url=v.partner_url
    )
    assert (headers, body) == (vv.SALESFORCE_HEADERS, v.body)
