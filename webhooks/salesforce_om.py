"""Salesforce Outbound Messages (SOAP ``notifications``): parse, check, build and acknowledge. Pure.

Salesforce signs nothing (developer.salesforce.com, "Outbound Messaging Security"). What we can check:
- ``OrganizationId`` equals the org id stored at install (from the OAuth identity URL);
- an unguessable per-install token in the endpoint path (``verify_url_token``), so a forged message
  needs both the org id (not secret) and the token (secret);
- outside this module: TLS, optionally Salesforce's client certificate and IP allowlist.
Configure the message with "Send Session ID" off: a session id is a live access token we never want.
"""

from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET

from webhooks.errors import VerificationReason as R
from webhooks.errors import WebhookVerificationError

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OM_NS = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100  # Salesforce batches at most 100 notifications per message
_ORG_ID_RE = re.compile(r"00D[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?")
_SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesforceNotification:
    """One changed record: the notification id, the sObject type and the fields the admin selected."""

    id: str
    sobject_type: str
    fields: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def record_id(self) -> str | None:
        """The changed record's Id (always sent by Salesforce)."""
        return self.fields.get("Id")


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesforceOutboundMessage:
    """A parsed ``notifications`` call."""

    organization_id: str
    action_id: str
    notifications: tuple[SalesforceNotification, ...]


def same_org_id(a: str, b: str) -> bool:
    """Compare org ids in constant time; a 15-character id equals its 18-character form."""
    if not (_ORG_ID_RE.fullmatch(a) and _ORG_ID_RE.fullmatch(b)):
        return False
    if len(a) == len(b):
        return hmac.compare_digest(a.encode(), b.encode())
    # The 3-character suffix is a case checksum of the first 15, which are case-sensitive.
    return hmac.compare_digest(a[:15].encode(), b[:15].encode())


def verify_url_token(presented: str | None, expected: str) -> None:
    """Check the per-install path token in constant time.

    Raises:
        WebhookVerificationError: bad_token.
    """
    if not expected:
        raise ValueError("expected token must be configured")
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise WebhookVerificationError(R.BAD_TOKEN)


def _malformed(detail: str) -> WebhookVerificationError:
    return WebhookVerificationError(R.MALFORMED_BODY, detail)


def _parse_xml(body: bytes) -> ET.Element:
    """Parse with defusedxml: DTDs, entity declarations and external references are refused by the parser
    itself, whatever the document's encoding (a raw-byte search for `<!DOCTYPE` misses UTF-16)."""
    try:
        root: ET.Element = DefusedET.fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:  # DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
        raise _malformed("DTDs and entities are not allowed") from exc
    except (ET.ParseError, ValueError, UnicodeError) as exc:
        raise _malformed("not well-formed XML") from exc
    return root


def _text(parent: ET.Element, name: str, *, required: bool = True) -> str:
    node = parent.find(f"{{{OM_NS}}}{name}")
    value = (node.text or "").strip() if node is not None else ""
    if required and not value:
        raise _malformed(f"{name} missing")
    return value


def _notification(node: ET.Element) -> SalesforceNotification:
    sobject = node.find(f"{{{OM_NS}}}sObject")
    if sobject is None:
        raise _malformed("sObject missing")
    sobject_type = sobject.get(f"{{{XSI_NS}}}type", "").rpartition(":")[2]
    fields: dict[str, str | None] = {}
    for child in sobject:
        name = child.tag.rpartition("}")[2]
        nil = child.get(f"{{{XSI_NS}}}nil") == "true"
        fields[name] = None if nil else (child.text or "")
    if not fields.get("Id"):
        raise _malformed("sObject has no Id")
    return SalesforceNotification(id=_text(node, "Id"), sobject_type=sobject_type, fields=fields)


def parse_salesforce_outbound(body: bytes) -> SalesforceOutboundMessage:
    """Parse a SOAP ``notifications`` envelope.

    Raises:
        WebhookVerificationError: malformed_body.
    """
    root = _parse_xml(body)
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise _malformed("not a SOAP envelope")
    notifications = root.find(f"{{{SOAP_NS}}}Body/{{{OM_NS}}}notifications")
    if notifications is None:
        raise _malformed("no notifications element")
    nodes = notifications.findall(f"{{{OM_NS}}}Notification")
    if not 1 <= len(nodes) <= MAX_NOTIFICATIONS:
        raise _malformed(f"{len(nodes)} notifications (allowed 1..{MAX_NOTIFICATIONS})")
    return SalesforceOutboundMessage(
        organization_id=_text(notifications, "OrganizationId"),
        action_id=_text(notifications, "ActionId"),
        notifications=tuple(_notification(n) for n in nodes),
    )


def verify_salesforce_outbound(
    body: bytes,
    expected_org_id: str,
    *,
    url_token: str | None = None,
    expected_url_token: str | None = None,
) -> SalesforceOutboundMessage:
    """Check the path token (if configured), parse, and require the installation's org id.

    Raises:
        WebhookVerificationError: bad_token, malformed_body or org_id_mismatch.
    """
    if expected_url_token is not None:
        verify_url_token(url_token, expected_url_token)
    message = parse_salesforce_outbound(body)
    if not same_org_id(message.organization_id, expected_org_id):
        raise WebhookVerificationError(R.ORG_ID_MISMATCH)
    return message


def sign_salesforce_outbound(
    org_id: str,
    action_id: str,
    notifications: Sequence[SalesforceNotification],
    *,
    enterprise_url: str = "https://sandbox.my.salesforce.com/services/Soap/c/62.0",
    partner_url: str = "https://sandbox.my.salesforce.com/services/Soap/u/62.0",
) -> tuple[dict[str, str], bytes]:
    """Build the request Salesforce sends: ``(headers, body)``. There is no signature to add."""
    items = []
    for n in notifications:
        fields = "".join(
            f'<sf:{k} xsi:nil="true"/>' if v is None else f"<sf:{k}>{escape(v)}</sf:{k}>"
            for k, v in n.fields.items()
        )
        items.append(
            f"<Notification><Id>{escape(n.id)}</Id>"
            f'<sObject xsi:type={quoteattr("sf:" + n.sobject_type)} xmlns:sf="{SOBJECT_NS}">{fields}</sObject>'
            "</Notification>"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        f' xmlns:xsi="{XSI_NS}"><soapenv:Body><notifications xmlns="{OM_NS}">'
        f"<OrganizationId>{escape(org_id)}</OrganizationId><ActionId>{escape(action_id)}</ActionId>"
        f'<SessionId xsi:nil="true"/><EnterpriseUrl>{escape(enterprise_url)}</EnterpriseUrl>'
        f"<PartnerUrl>{escape(partner_url)}</PartnerUrl>{''.join(items)}"
        "</notifications></soapenv:Body></soapenv:Envelope>"
    )
    return dict(_SOAP_HEADERS), body.encode("utf-8")


def salesforce_ack(ack: bool = True) -> bytes:
    """The SOAP response body Salesforce expects; anything else (or ``false``) makes it retry."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body>'
        f'<notificationsResponse xmlns="{OM_NS}"><Ack>{"true" if ack else "false"}</Ack>'
        "</notificationsResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()
