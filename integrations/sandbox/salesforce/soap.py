"""Salesforce Outbound Messages as Salesforce sends them: the sandbox's own SOAP builder.

Written from Salesforce's SOAP API guide ("Understanding the Outbound Messaging WSDL", "Considerations for
Security"), not from the product's parser, so a misreading on one side shows up as a failing test:
- a SOAP 1.1 request (`Content-Type: text/xml; charset=utf-8`, `SOAPAction: ""`) whose body is one
  `notifications` element in `http://soap.sforce.com/2005/09/outbound` holding, in this order,
  `OrganizationId`, `ActionId`, `SessionId` (nil: the sandbox's messages have "Send Session ID" off),
  `EnterpriseUrl`, `PartnerUrl` and 1..100 `Notification`s;
- each `Notification` has its own `Id` (Salesforce resends it unchanged on retries) and an `sObject` typed
  `sf:<Type>` in `urn:sobject.enterprise.soap.sforce.com` with the fields the admin selected (null → nil).
Salesforce signs nothing. What a receiver can check is the `OrganizationId` (the org the app was installed
in) and whatever secret the admin put into the endpoint URL; the sandbox posts to the configured URL as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

MAX_PER_MESSAGE = 100  # the WSDL's maxOccurs for Notification
ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
ENTERPRISE_SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
SCHEMA_INSTANCE_NS = "http://www.w3.org/2001/XMLSchema-instance"
REQUEST_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


@dataclass(frozen=True, slots=True)
class Notification:
    """One changed record in a message: notification id, sObject type and the selected field values."""

    id: str
    sobject: str
    fields: Mapping[str, str | None] = field(default_factory=dict)


def _sobject(n: Notification) -> str:
    values = "".join(
        f'<sf:{name} xsi:nil="true"/>' if value is None else f"<sf:{name}>{escape(value)}</sf:{name}>"
        for name, value in n.fields.items()
    )
    kind = quoteattr(f"sf:{n.sobject}")
    return f'<sObject xsi:type={kind} xmlns:sf="{ENTERPRISE_SOBJECT_NS}">{values}</sObject>'


def notifications_request(
    org_id: str,
    action_id: str,
    notifications: Sequence[Notification],
    *,
    enterprise_url: str,
    partner_url: str,
) -> tuple[dict[str, str], bytes]:
    """`(headers, body)` of one `notifications` call carrying 1..100 notifications."""
    if not 1 <= len(notifications) <= MAX_PER_MESSAGE:
        raise ValueError(f"an outbound message carries 1..{MAX_PER_MESSAGE} notifications")
    items = "".join(
        f"<Notification><Id>{escape(n.id)}</Id>{_sobject(n)}</Notification>" for n in notifications
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        f' xmlns:xsi="{SCHEMA_INSTANCE_NS}"><soapenv:Body><notifications xmlns="{OUTBOUND_NS}">'
        f"<OrganizationId>{escape(org_id)}</OrganizationId><ActionId>{escape(action_id)}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{escape(enterprise_url)}</EnterpriseUrl><PartnerUrl>{escape(partner_url)}</PartnerUrl>"
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    )
    return dict(REQUEST_HEADERS), body.encode("utf-8")
