"""Salesforce Outbound Messages: build/parse round trip, org id check, path token, hostile XML."""

from __future__ import annotations

import pytest

from webhooks.errors import WebhookVerificationError
from webhooks.inbound import (
    SalesforceNotification,
    parse_salesforce_outbound,
    salesforce_ack,
    same_org_id,
    sign_salesforce_outbound,
    verify_salesforce_outbound,
)

ORG_18 = "00D5g000004abcdEAA"
ORG_15 = ORG_18[:15]
NOTES = [
    SalesforceNotification(
        id="04l5g000001AAAAAA1",
        sobject_type="Account",
        fields={"Id": "0015g00000ABCDEAA1", "Name": "Acme & <Sons>", "Phone": None},
    ),
    SalesforceNotification(
        id="04l5g000001AAAAAA2", sobject_type="Account", fields={"Id": "0015g00000ABCDEAA2"}
    ),
]

# The shape Salesforce sends (developer.salesforce.com "Outbound Messaging"; spacing as in real captures).
CAPTURED = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D5g000004abcdEAA</OrganizationId>
   <ActionId>04k5g000000XyZAAA0</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g000004abcd</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004abcd</PartnerUrl>
   <Notification>
    <Id>04l5g000001AAAAAA1</Id>
    <sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0015g00000ABCDEAA1</sf:Id>
     <sf:Name>Acme</sf:Name>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"""


def test_captured_message_parses() -> None:
    message = verify_salesforce_outbound(CAPTURED, ORG_18)
    assert message.organization_id == ORG_18
    assert message.action_id == "04k5g000000XyZAAA0"
    (note,) = message.notifications
    assert (note.id, note.sobject_type, note.record_id) == (
        "04l5g000001AAAAAA1",
        "Account",
        "0015g00000ABCDEAA1",
    )
    assert note.fields["Name"] == "Acme"


def test_build_and_parse_round_trip() -> None:
    headers, body = sign_salesforce_outbound(ORG_18, "04k5g000000XyZAAA0", NOTES)
    assert headers["Content-Type"].startswith("text/xml")
    assert headers["SOAPAction"] == '""'
    message = parse_salesforce_outbound(body)
    assert message.notifications == tuple(NOTES)
    assert message.notifications[0].fields["Name"] == "Acme & <Sons>"


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (ORG_18, True),
        (ORG_15, True),
        ("00D5g000004abcDEAA", False),
        ("00D000000000001AAA", False),
        ("", False),
    ],
    ids=["same-18", "same-15", "case-differs", "other-org", "empty"],
)
def test_org_id_matching(stored: str, expected: bool) -> None:
    assert same_org_id(ORG_18, stored) is expected


def test_other_org_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify_salesforce_outbound(CAPTURED, "00D000000000001AAA")
    assert info.value.reason == "org_id_mismatch"


def test_path_token_is_checked_before_parsing() -> None:
    verify_salesforce_outbound(CAPTURED, ORG_18, url_token="t0k3n", expected_url_token="t0k3n")
    for presented in ("wrong", None):
        with pytest.raises(WebhookVerificationError) as info:
            verify_salesforce_outbound(b"not xml", ORG_18, url_token=presented, expected_url_token="t0k3n")
        assert info.value.reason == "bad_token"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">&lol2;</soapenv:Envelope>"""


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        BILLION_LAUGHS,
        b'<?xml version="1.0"?><!doctype x SYSTEM "file:///etc/passwd"><x/>',
        b"<root/>",
        CAPTURED.replace(b"<OrganizationId>00D5g000004abcdEAA</OrganizationId>", b""),
        CAPTURED.replace(b"<sf:Id>0015g00000ABCDEAA1</sf:Id>", b""),
        CAPTURED.replace(b"<Notification>", b"<Other>").replace(b"</Notification>", b"</Other>"),
    ],
    ids=[
        "garbage",
        "entity-expansion",
        "external-dtd",
        "not-soap",
        "no-org-id",
        "no-record-id",
        "no-notifications",
    ],
)
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        parse_salesforce_outbound(body)
    assert info.value.reason == "malformed_body"


def _utf16_entity_envelope() -> bytes:
    """A real notification whose OrganizationId comes from an internal entity, encoded as UTF-16: a raw
    byte search for `<!DOCTYPE` sees only interleaved NUL bytes (issue 12 item 4)."""
    text = CAPTURED.decode("utf-8").replace('<?xml version="1.0" encoding="UTF-8"?>', "")
    text = text.replace(
        "<OrganizationId>00D5g000004abcdEAA</OrganizationId>", "<OrganizationId>&org;</OrganizationId>"
    )
    doc = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE x [<!ENTITY org "00D5g000004abcdEAA">]>' + text
    return doc.encode("utf-16")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_dtds_are_refused_in_any_encoding(encoding: str) -> None:
    body = _utf16_entity_envelope().decode("utf-16")
    if encoding != "utf-16":
        body = body.replace('encoding="UTF-16"', f'encoding="{encoding.upper()}"')
    raw = body.encode(encoding)
    assert b"<!DOCTYPE" not in raw.upper()
    with pytest.raises(WebhookVerificationError) as info:
        parse_salesforce_outbound(raw)
    assert info.value.reason == "malformed_body"


def test_utf16_envelope_without_dtd_still_parses() -> None:
    body = CAPTURED.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert parse_salesforce_outbound(body).organization_id == "00D5g000004abcdEAA"


def test_too_many_notifications() -> None:
    many = [NOTES[1]] * 101
    _, body = sign_salesforce_outbound(ORG_18, "04k", many)
    with pytest.raises(WebhookVerificationError, match="malformed_body"):
        parse_salesforce_outbound(body)


def test_ack() -> None:
    assert b"<Ack>true</Ack>" in salesforce_ack()
    assert b"<Ack>false</Ack>" in salesforce_ack(False)
