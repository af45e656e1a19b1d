"""Standard Webhooks signing: known answers, one test per rejection reason, rotation, interop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

from webhooks.errors import WebhookVerificationError
from webhooks.signing import (
    decode_secret,
    generate_secret,
    sign,
    sign_headers,
    verify,
)

# security.md §1: the upstream (Svix) vector and our own; both checked against a manual stdlib HMAC.
KAT = [
    pytest.param(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        id="upstream-svix",
    ),
    pytest.param(
        "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
        "msg_test_0001",
        1700000000,
        b'{"type":"health_score.band_changed","timestamp":"2024-01-01T00:00:00Z","data":{"account_id":"acc_1",'
        b'"old_band":"green","new_band":"red","score":41}}',
        "v1,q8qrGbbKuVgfjZ9dzyXsMN4jHSqjSbtx63rCr84+0ao=",
        id="healthscore",
    ),
]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = b'{"type":"account.band_changed"}'


def _headers(**overrides: str) -> dict[str, str]:
    headers = sign_headers("msg_1", TS, BODY, [SECRET])
    headers.update(overrides)
    return headers


@pytest.mark.parametrize(("secret", "msg_id", "ts", "body", "expected"), KAT)
def test_sign_known_answer(secret: str, msg_id: str, ts: int, body: bytes, expected: str) -> None:
    assert sign(msg_id, ts, body, [secret]) == expected


@pytest.mark.parametrize(("secret", "msg_id", "ts", "body", "expected"), KAT)
def test_verify_known_answer(secret: str, msg_id: str, ts: int, body: bytes, expected: str) -> None:
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": expected}
    now = datetime.fromtimestamp(ts, tz=UTC)
    assert verify(headers, body, [secret], now) == msg_id


def test_header_names_are_case_insensitive() -> None:
    headers = {k.title(): v for k, v in _headers().items()}
    assert verify(headers, BODY, [SECRET], NOW) == "msg_1"


def test_rotation_signs_with_every_secret_and_each_alone_verifies() -> None:
    value = sign("msg_1", TS, BODY, [SECRET, OTHER])
    assert len(value.split(" ")) == 2
    headers = _headers(**{"webhook-signature": value})
    assert verify(headers, BODY, [SECRET], NOW) == "msg_1"
    assert verify(headers, BODY, [OTHER], NOW) == "msg_1"


def test_receiver_holding_old_and_new_accepts_single_signature() -> None:
    assert verify(_headers(), BODY, [OTHER, SECRET], NOW) == "msg_1"


def test_unknown_signature_versions_are_skipped() -> None:
    value = "v1a,bm90LWVkMjU1MTk= " + sign("msg_1", TS, BODY, [SECRET])
    assert verify(_headers(**{"webhook-signature": value}), BODY, [SECRET], NOW) == "msg_1"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing: str) -> None:
    headers = _headers()
    del headers[missing]
    with pytest.raises(WebhookVerificationError) as info:
        verify(headers, BODY, [SECRET], NOW)
    assert info.value.reason == "missing_header"


@pytest.mark.parametrize("raw", ["abc", "1.5", "-1", "1e9"], ids=["text", "float", "negative", "exponent"])
def test_bad_timestamp(raw: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify(_headers(**{"webhook-timestamp": raw}), BODY, [SECRET], NOW)
    assert info.value.reason == "bad_timestamp"


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-301, "timestamp_too_old"), (301, "timestamp_in_future")],
    ids=["too-old", "in-future"],
)
def test_timestamp_window(offset: int, reason: str) -> None:
    headers = sign_headers("msg_1", TS + offset, BODY, [SECRET])
    with pytest.raises(WebhookVerificationError) as info:
        verify(headers, BODY, [SECRET], NOW)
    assert info.value.reason == reason


@pytest.mark.parametrize("offset", [-300, 300], ids=["oldest-accepted", "newest-accepted"])
def test_timestamp_window_boundary_is_inclusive(offset: int) -> None:
    headers = sign_headers("msg_1", TS + offset, BODY, [SECRET])
    assert verify(headers, BODY, [SECRET], NOW) == "msg_1"


def test_custom_tolerance() -> None:
    headers = sign_headers("msg_1", TS - 60, BODY, [SECRET])
    with pytest.raises(WebhookVerificationError, match="timestamp_too_old"):
        verify(headers, BODY, [SECRET], NOW, tolerance=timedelta(seconds=30))


@pytest.mark.parametrize(
    "value",
    ["v1", "v1,", ",abc", "v1,not base64!", "v1,AAAA"],
    ids=["no-comma", "empty-sig", "empty-version", "bad-base64", "wrong-length"],
)
def test_malformed_signature(value: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify(_headers(**{"webhook-signature": value}), BODY, [SECRET], NOW)
    assert info.value.reason == "malformed_signature"


@pytest.mark.parametrize(
    ("body", "secrets", "msg_id"),
    [
        (BODY + b" ", [SECRET], "msg_1"),
        (BODY, [OTHER], "msg_1"),
        (BODY, [SECRET], "msg_2"),
    ],
    ids=["tampered-body", "wrong-secret", "other-id"],
)
def test_no_matching_signature(body: bytes, secrets: list[str], msg_id: str) -> None:
    headers = _headers(**{"webhook-id": msg_id})
    with pytest.raises(WebhookVerificationError) as info:
        verify(headers, body, secrets, NOW)
    assert info.value.reason == "no_matching_signature"


def test_only_other_versions_means_no_match() -> None:
    with pytest.raises(WebhookVerificationError, match="no_matching_signature"):
        verify(_headers(**{"webhook-signature": "v1a,bm90LWVkMjU1MTk="}), BODY, [SECRET], NOW)


def test_dotted_id_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="bad_id"):
        verify(_headers(**{"webhook-id": "msg.1"}), BODY, [SECRET], NOW)


def test_sign_refuses_ambiguous_ids_and_empty_secrets() -> None:
    with pytest.raises(ValueError, match="msg_id"):
        sign("a.b", TS, BODY, [SECRET])
    with pytest.raises(ValueError, match="at least one"):
        sign("a", TS, BODY, [])


def test_a_bare_string_secret_is_one_secret_not_characters() -> None:
    assert sign("msg_1", TS, BODY, SECRET) == sign("msg_1", TS, BODY, [SECRET])


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(_headers(), BODY, [SECRET], datetime(2024, 1, 1))  # noqa: DTZ001


def test_generate_secret_round_trips_with_injected_bytes() -> None:
    secret = generate_secret(token_bytes=lambda n: bytes(range(1, n + 1)))
    assert secret == "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
    assert decode_secret(secret) == bytes(range(1, 33))
    assert generate_secret() != generate_secret()


@pytest.mark.parametrize("bad", ["whsec_", "whsec_***", ""], ids=["empty", "not-base64", "blank"])
def test_decode_secret_rejects_unusable_secrets(bad: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        decode_secret(bad)


def test_standardwebhooks_accepts_what_we_sign() -> None:
    now = datetime.now(UTC)  # the package reads the wall clock with a fixed ±5 min window
    headers = sign_headers("msg_interop", int(now.timestamp()), BODY, [OTHER, SECRET])
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) == {"type": "account.band_changed"}
    assert standardwebhooks.Webhook(OTHER).verify(BODY, headers) == {"type": "account.band_changed"}


def test_we_accept_what_standardwebhooks_signs() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    signature = standardwebhooks.Webhook(SECRET).sign("msg_interop", now, BODY.decode())
    headers = {
        "webhook-id": "msg_interop",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert verify(headers, BODY, [SECRET], now) == "msg_interop"


def test_signatures_are_only_compared_in_constant_time() -> None:
    """security.md §5: a lint-style guard against `==` on signatures, digests, tokens or secrets."""
    import pathlib
    import re

    pattern = re.compile(
        r"\b[a-z_]*(sig|digest|token|secret)[a-z_]*\s*[!=]=|[!=]=\s*[a-z_]*(sig|digest|token|secret)"
    )
    package = pathlib.Path(__file__).resolve().parents[2] / "webhooks"
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(package.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []
    assert "compare_digest" in (package / "signing.py").read_text()
