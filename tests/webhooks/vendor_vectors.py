"""Known-answer vectors for the vendor webhooks the product verifies and the sandboxes send.

Shared by tests/webhooks/test_vendor_vectors.py (the product's verifiers in webhooks/) and
tests/sandbox/test_webhook_signers.py (the emulators' own signers), so both sides are pinned to the same
bytes and a mistake made identically on both sides still fails. Each expected value is a literal; the tests
also recompute it with a plain stdlib HMAC (and, for HubSpot, the vendor's own SDK) from the documented
recipe, so a literal cannot silently drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class HubSpotV3Vector:
    """HubSpot "Validating requests" v3: base64 HMAC-SHA256(client secret, method + URI + body + ms)."""

    name: str
    client_secret: str
    method: str
    uri: str  # as called; the escapes HubSpot lists (%3A %2C ...) are decoded before signing
    signed_uri: str  # what enters the HMAC
    body: bytes
    timestamp_ms: int
    signature: str

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)


# HubSpot publishes v1/v2 examples only (tests/webhooks/test_inbound.py pins those); for v3 we reuse the
# secret of its examples with a fixed request (../shared/reference/security.md §2 "our own" vector).
_HS_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
_HS_BODY = (
    b'[{"eventId":1,"subscriptionType":"company.propertyChange","objectId":123,'
    b'"propertyName":"name","propertyValue":"Acme"}]'
)
HUBSPOT_V3 = (
    HubSpotV3Vector(
        name="plain-uri",
        client_secret=_HS_SECRET,
        method="POST",
        uri="https://example.com/webhooks/hubspot",
        signed_uri="https://example.com/webhooks/hubspot",
        body=_HS_BODY,
        timestamp_ms=1_700_000_000_000,
        signature="XSdfXUiEHWVUGSNqj+w2bUuKR8BfiSBhiFog8nJx+tg=",
    ),
    HubSpotV3Vector(
        name="escaped-query",
        client_secret=_HS_SECRET,
        method="POST",
        uri="https://example.com/webhooks/hubspot?tenant=acme%3Aeu&ids=1%2C2&q=a%20b",
        signed_uri="https://example.com/webhooks/hubspot?tenant=acme:eu&ids=1,2&q=a%20b",  # %20 is not listed
        body=_HS_BODY,
        timestamp_ms=1_700_000_000_000,
        signature="YYtQrcXqIdtoeZEy9dfemB8v6qop842zyNyQX01kQ08=",
    ),
)


@dataclass(frozen=True)
class ZendeskVector:
    """Zendesk "Verifying webhook authenticity": base64(HMAC-SHA256(secret as text, TIMESTAMP + BODY))."""

    secret: str
    timestamp: str
    body: bytes
    signature: str

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.timestamp)


# Secret, timestamp and body of Zendesk's documented example. The signature that example prints
# (DOCUMENTED_SAMPLE_SIGNATURE) is the HMAC over BODY + TIMESTAMP, contradicting the recipe on the same and
# the current page (TIMESTAMP + BODY), which real Zendesk traffic follows; the expected value is the recipe's.
ZENDESK = ZendeskVector(
    secret="HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=",
    timestamp="2021-07-25T10:00:00Z",
    body=b'{"say": "hello"}',
    signature="Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=",
)
DOCUMENTED_SAMPLE_SIGNATURE = "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="


@dataclass(frozen=True)
class SalesforceOutboundVector:
    """An Outbound Message as the Outbound Messaging WSDL lays it out. Salesforce signs nothing: the
    receiver's check is the OrganizationId (the 15-character form equals the 18-character one)."""

    org_id: str
    action_id: str
    enterprise_url: str
    partner_url: str
    notification_id: str
    sobject: str
    fields: tuple[tuple[str, str | None], ...]
    body: bytes


SALESFORCE = SalesforceOutboundVector(
    org_id="00D5g000004ABCDEAA",
    action_id="04k5g000000XyZ1AAK",
    enterprise_url="https://acme.my.salesforce.com/services/Soap/c/59.0/00D5g000004ABCD",
    partner_url="https://acme.my.salesforce.com/services/Soap/u/59.0/00D5g000004ABCD",
    notification_id="04l5g00000Gx7QzAAJ",
    sobject="Account",
    fields=(("Id", "0015g00000ZkM3hAAF"), ("Name", "Acme & Sons <EU>"), ("Industry", None)),
    body=(
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b'<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        b"<OrganizationId>00D5g000004ABCDEAA</OrganizationId><ActionId>04k5g000000XyZ1AAK</ActionId>"
        b'<SessionId xsi:nil="true"/>'
        b"<EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/59.0/00D5g000004ABCD</EnterpriseUrl>"
        b"<PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D5g000004ABCD</PartnerUrl>"
        b"<Notification><Id>04l5g00000Gx7QzAAJ</Id>"
        b'<sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        b"<sf:Id>0015g00000ZkM3hAAF</sf:Id><sf:Name>Acme &amp; Sons &lt;EU&gt;</sf:Name>"
        b'<sf:Industry xsi:nil="true"/></sObject></Notification>'
        b"</notifications></soapenv:Body></soapenv:Envelope>"
    ),
)
SALESFORCE_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
