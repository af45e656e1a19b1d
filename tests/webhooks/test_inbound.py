"""Inbound vendor verifiers: Zendesk, HubSpot v3 (and legacy v1/v2), size limit, replay guard."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from webhooks.errors import WebhookVerificationError
from webhooks.inbound import (
    HUBSPOT_SIGNATURE,
    HUBSPOT_SIGNATURE_V3,
    HUBSPOT_TIMESTAMP,
    ZENDESK_SIGNATURE,
    ZENDESK_TIMESTAMP,
    check_replay,
    check_size,
    hubspot_canonical_uri,
    hubspot_event_key,
    sign_hubspot_v1,
    sign_hubspot_v2,
    sign_hubspot_v3,
    sign_zendesk,
    verify_hubspot_legacy,
    verify_hubspot_v3,
    verify_zendesk,
)

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)

# ---------------------------------------------------------------- Zendesk

ZD_SECRET = "dGhpcyBpcyBhIHplbmRlc2sgc2lnbmluZyBzZWNyZXQ="
ZD_BODY = b'{"type":"zen:event-type:ticket.status_changed","account_id":1,"id":"3f2c"}'
ZD_TS = "2024-01-01T12:00:00Z"


def _zd(**overrides: str) -> dict[str, str]:
    headers = sign_zendesk(ZD_SECRET, ZD_TS, ZD_BODY)
    headers.update(overrides)
    return headers


def test_zendesk_signs_timestamp_then_body_with_the_secret_as_text() -> None:
    """security.md §2: the key is the secret's UTF-8 text (not base64-decoded); message = timestamp + body."""
    expected = hmac.new(ZD_SECRET.encode(), ZD_TS.encode() + ZD_BODY, hashlib.sha256).digest()
    wrong_order = hmac.new(ZD_SECRET.encode(), ZD_BODY + ZD_TS.encode(), hashlib.sha256).digest()
    headers = sign_zendesk(ZD_SECRET, ZD_TS, ZD_BODY)
    assert headers == {ZENDESK_SIGNATURE: base64.b64encode(expected).decode(), ZENDESK_TIMESTAMP: ZD_TS}
    assert headers[ZENDESK_SIGNATURE] != base64.b64encode(wrong_order).decode()


def test_zendesk_sign_accepts_a_datetime() -> None:
    assert sign_zendesk(ZD_SECRET, NOW, ZD_BODY) == sign_zendesk(ZD_SECRET, ZD_TS, ZD_BODY)


def test_zendesk_valid() -> None:
    verify_zendesk(_zd(), ZD_BODY, ZD_SECRET, NOW)


def test_zendesk_valid_with_lowercase_headers_and_rotated_secret() -> None:
    headers = {k.lower(): v for k, v in _zd().items()}
    verify_zendesk(headers, ZD_BODY, ["old-secret", ZD_SECRET], NOW)


def test_zendesk_empty_body_is_signed_too() -> None:
    verify_zendesk(sign_zendesk(ZD_SECRET, ZD_TS, b""), b"", ZD_SECRET, NOW)


@pytest.mark.parametrize(
    ("body", "secret", "reason"),
    [
        (ZD_BODY, "wrong-secret", "no_matching_signature"),
        (ZD_BODY + b" ", ZD_SECRET, "no_matching_signature"),
        (ZD_BODY.replace(b"1", b"2"), ZD_SECRET, "no_matching_signature"),
    ],
    ids=["wrong-secret", "extended-body", "tampered-body"],
)
def test_zendesk_rejects_forgeries(body: bytes, secret: str, reason: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify_zendesk(_zd(), body, secret, NOW)
    assert info.value.reason == reason


@pytest.mark.parametrize("missing", [ZENDESK_SIGNATURE, ZENDESK_TIMESTAMP])
def test_zendesk_missing_header(missing: str) -> None:
    headers = _zd()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match="missing_header"):
        verify_zendesk(headers, ZD_BODY, ZD_SECRET, NOW)


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ("2024-01-01T11:54:59Z", "timestamp_too_old"),
        ("2024-01-01T12:05:01Z", "timestamp_in_future"),
        ("yesterday", "bad_timestamp"),
        ("2024-01-01T12:00:00", "bad_timestamp"),  # no offset: ambiguous
    ],
    ids=["stale", "future", "garbage", "naive"],
)
def test_zendesk_timestamp_rules(ts: str, reason: str) -> None:
    headers = sign_zendesk(ZD_SECRET, ts, ZD_BODY)  # correctly signed: only the time is wrong
    with pytest.raises(WebhookVerificationError) as info:
        verify_zendesk(headers, ZD_BODY, ZD_SECRET, NOW)
    assert info.value.reason == reason


def test_zendesk_timestamp_is_signed() -> None:
    headers = _zd(**{ZENDESK_TIMESTAMP: "2024-01-01T12:00:01Z"})
    with pytest.raises(WebhookVerificationError, match="no_matching_signature"):
        verify_zendesk(headers, ZD_BODY, ZD_SECRET, NOW)


@pytest.mark.parametrize("sig", ["***", "c2hvcnQ="], ids=["not-base64", "wrong-length"])
def test_zendesk_malformed_signature(sig: str) -> None:
    with pytest.raises(WebhookVerificationError, match="malformed_signature"):
        verify_zendesk(_zd(**{ZENDESK_SIGNATURE: sig}), ZD_BODY, ZD_SECRET, NOW)


# ---------------------------------------------------------------- HubSpot

HS_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
HS_URI = "https://example.com/webhooks/hubspot"
HS_BODY = (
    b'[{"eventId":1,"subscriptionType":"company.propertyChange","objectId":123,'
    b'"propertyName":"name","propertyValue":"Acme"}]'
)
HS_TS = 1700000000000
HS_NOW = datetime.fromtimestamp(HS_TS / 1000, tz=UTC)


def _hs(**overrides: str) -> dict[str, str]:
    headers = sign_hubspot_v3(HS_SECRET, "POST", HS_URI, HS_BODY, HS_TS)
    headers.update(overrides)
    return headers


def test_hubspot_v3_known_answer() -> None:
    """security.md §2, our own vector (checked there against a manual HMAC)."""
    assert _hs() == {
        HUBSPOT_SIGNATURE_V3: "XSdfXUiEHWVUGSNqj+w2bUuKR8BfiSBhiFog8nJx+tg=",
        HUBSPOT_TIMESTAMP: "1700000000000",
    }


def test_hubspot_v3_valid() -> None:
    verify_hubspot_v3(
        _hs(), HS_BODY, HS_SECRET, method="POST", uri=HS_URI, now=HS_NOW + timedelta(seconds=299)
    )


@pytest.mark.parametrize(
    ("body", "secret", "method", "uri"),
    [
        (HS_BODY, "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "POST", HS_URI),
        (HS_BODY.replace(b"Acme", b"Evil"), HS_SECRET, "POST", HS_URI),
        (HS_BODY, HS_SECRET, "PUT", HS_URI),
        (HS_BODY, HS_SECRET, "POST", "https://attacker.example/webhooks/hubspot"),
        (HS_BODY, HS_SECRET, "POST", "http://example.com/webhooks/hubspot"),
    ],
    ids=["wrong-secret", "tampered-body", "other-method", "other-host", "other-scheme"],
)
def test_hubspot_v3_rejects_forgeries(body: bytes, secret: str, method: str, uri: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify_hubspot_v3(_hs(), body, secret, method=method, uri=uri, now=HS_NOW)
    assert info.value.reason == "no_matching_signature"


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (HS_NOW + timedelta(minutes=5, milliseconds=1), "timestamp_too_old"),
        (HS_NOW - timedelta(minutes=5, milliseconds=1), "timestamp_in_future"),
    ],
    ids=["stale", "future"],
)
def test_hubspot_v3_timestamp_window(now: datetime, reason: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify_hubspot_v3(_hs(), HS_BODY, HS_SECRET, method="POST", uri=HS_URI, now=now)
    assert info.value.reason == reason


@pytest.mark.parametrize("missing", [HUBSPOT_SIGNATURE_V3, HUBSPOT_TIMESTAMP])
def test_hubspot_v3_missing_header(missing: str) -> None:
    headers = _hs()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match="missing_header"):
        verify_hubspot_v3(headers, HS_BODY, HS_SECRET, method="POST", uri=HS_URI, now=HS_NOW)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({HUBSPOT_TIMESTAMP: "1700000000.5"}, "bad_timestamp"),
        ({HUBSPOT_TIMESTAMP: "soon"}, "bad_timestamp"),
        ({HUBSPOT_SIGNATURE_V3: "not base64!"}, "malformed_signature"),
        ({HUBSPOT_TIMESTAMP: "1700000000001"}, "no_matching_signature"),
    ],
    ids=["fractional-ts", "text-ts", "bad-base64", "timestamp-is-signed"],
)
def test_hubspot_v3_header_problems(overrides: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify_hubspot_v3(_hs(**overrides), HS_BODY, HS_SECRET, method="POST", uri=HS_URI, now=HS_NOW)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("https://x.test/h?a=b%3Ac%2Fd", "https://x.test/h?a=b:c/d"),
        ("https://x.test/h?e=%40%21%24%27%28%29%2a%2C%3b%3F", "https://x.test/h?e=@!$'()*,;?"),
        ("https://x.test/h?q=a%20b%26c%3D", "https://x.test/h?q=a%20b%26c%3D"),  # not in HubSpot's list
    ],
    ids=["colon-slash", "all-listed-any-case", "others-untouched"],
)
def test_hubspot_canonical_uri(raw: str, canonical: str) -> None:
    assert hubspot_canonical_uri(raw) == canonical


def test_hubspot_v3_verifies_whichever_escaping_the_framework_hands_us() -> None:
    signed_uri = "https://example.com/webhooks/hubspot?portal=62515&at=2024-01-01T00:00:00Z"
    headers = sign_hubspot_v3(HS_SECRET, "POST", signed_uri, HS_BODY, HS_TS)
    seen_uri = "https://example.com/webhooks/hubspot?portal=62515&at=2024-01-01T00%3A00%3A00Z"
    verify_hubspot_v3(headers, HS_BODY, HS_SECRET, method="post", uri=seen_uri, now=HS_NOW)


V1_BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
    b'"changeFlag":"NEW","appId":54321}]'
)


def test_hubspot_v1_v2_known_answers() -> None:
    """HubSpot's documented examples (security.md §2)."""
    v1 = sign_hubspot_v1(HS_SECRET, V1_BODY)
    v2 = sign_hubspot_v2(HS_SECRET, "GET", "https://www.example.com/webhook_uri", b"")
    assert v1[HUBSPOT_SIGNATURE] == "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    assert v2[HUBSPOT_SIGNATURE] == "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
    verify_hubspot_legacy(v1, V1_BODY, HS_SECRET, method="POST", uri=HS_URI)
    verify_hubspot_legacy(v2, b"", HS_SECRET, method="GET", uri="https://www.example.com/webhook_uri")


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (sign_hubspot_v1(HS_SECRET, V1_BODY), V1_BODY + b" ", "no_matching_signature"),
        (sign_hubspot_v1("other", V1_BODY), V1_BODY, "no_matching_signature"),
        ({HUBSPOT_SIGNATURE: "abc", "X-HubSpot-Signature-Version": "v1"}, V1_BODY, "malformed_signature"),
        ({HUBSPOT_SIGNATURE: "a" * 64, "X-HubSpot-Signature-Version": "v9"}, V1_BODY, "missing_header"),
        ({}, V1_BODY, "missing_header"),
    ],
    ids=["tampered-body", "wrong-secret", "short-hex", "unknown-version", "missing"],
)
def test_hubspot_legacy_rejections(headers: dict[str, str], body: bytes, reason: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify_hubspot_legacy(headers, body, HS_SECRET, method="POST", uri=HS_URI)
    assert info.value.reason == reason


def test_hubspot_event_key_is_the_composite() -> None:
    event = {"eventId": 1, "subscriptionId": 12345, "portalId": 62515, "occurredAt": 1564113600000}
    assert hubspot_event_key(event) == "hubspot:62515:12345:1:1564113600000"
    assert hubspot_event_key({**event, "occurredAt": 1}) != hubspot_event_key(event)


# ---------------------------------------------------------------- common


def test_check_size() -> None:
    check_size(b"x" * 10, 10)
    with pytest.raises(WebhookVerificationError, match="body_too_large"):
        check_size(b"x" * 11, 10)


class SetGuard:
    """In-memory stand-in for the DB-backed guard."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def seen(self, key: str) -> bool:
        if key in self.keys:
            return True
        self.keys.add(key)
        return False


def test_replay_guard_rejects_the_second_delivery() -> None:
    guard = SetGuard()
    check_replay(guard, "msg_1")
    check_replay(guard, "msg_2")
    with pytest.raises(WebhookVerificationError, match="replayed"):
        check_replay(guard, "msg_1")


def test_empty_secret_list_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        verify_zendesk(_zd(), ZD_BODY, [], NOW)
