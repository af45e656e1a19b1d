"""The Salesforce error table (pure): status + body → our taxonomy."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.errors import (
    FatalIntegrationError,
    IntegrationError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitError,
    ReauthRequiredError,
    TokenExpiredError,
    TransientError,
)
from integrations.salesforce import errors


def body(code: str, message: str = "m") -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code}]


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (401, body("INVALID_SESSION_ID", "Session expired or invalid"), TokenExpiredError),
        (403, body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), QuotaExhaustedError),
        (403, body("INSUFFICIENT_ACCESS"), PermissionDeniedError),
        (403, body("API_DISABLED_FOR_ORG"), PermissionDeniedError),
        (429, body("TOO_MANY_REQUESTS"), RateLimitError),
        (503, body("SERVER_UNAVAILABLE"), TransientError),
        (500, body("UNKNOWN_EXCEPTION"), TransientError),
        (400, body("UNABLE_TO_LOCK_ROW"), TransientError),
        (400, body("MALFORMED_QUERY"), FatalIntegrationError),
        (400, body("INVALID_FIELD"), FatalIntegrationError),
        (404, body("NOT_FOUND"), FatalIntegrationError),
        (400, body("JSON_PARSER_ERROR"), errors.BatchRejectedError),
        (400, "<html>proxy error</html>", FatalIntegrationError),
    ],
    ids=lambda v: v if isinstance(v, int) else None,
)
def test_classify(status: int, content: Any, expected: type[IntegrationError]) -> None:
    err = errors.classify(status, content)
    assert type(err) is expected
    assert err.vendor == "salesforce"


def test_rate_limit_carries_retry_after() -> None:
    err = errors.classify(429, body("TOO_MANY_REQUESTS"), retry_after="12")
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 12.0


@pytest.mark.parametrize(
    ("raw", "seconds"), [("3", 3.0), (" 1.5 ", 1.5), ("soon", None), (None, None), ("-4", 0.0)]
)
def test_parse_retry_after(raw: str | None, seconds: float | None) -> None:
    assert errors.parse_retry_after(raw) == seconds


def test_mapping_errors_hint_at_the_field_mapping() -> None:
    assert "field mapping" in errors.classify(400, body("INVALID_FIELD")).hint


def test_detail_is_bounded() -> None:
    err = errors.classify(400, body("MALFORMED_QUERY", "x" * 5000))
    assert len(err.detail) < 300


def test_batch_rejection_keeps_its_code() -> None:
    err = errors.classify(400, body("JSON_PARSER_ERROR"))
    assert isinstance(err, errors.BatchRejectedError)
    assert err.code == "JSON_PARSER_ERROR"


@pytest.mark.parametrize(
    ("status", "content", "duplicate"),
    [
        (400, body("DUPLICATE_DEVELOPER_NAME"), True),
        (400, body("INVALID_FIELD"), False),
        (500, body("DUPLICATE_DEVELOPER_NAME"), False),
    ],
    ids=["duplicate", "other-400", "5xx"],
)
def test_is_duplicate_field(status: int, content: Any, duplicate: bool) -> None:
    assert errors.is_duplicate_field(status, content) is duplicate


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "expired access/refresh token"},
            ReauthRequiredError,
        ),
        (
            400,
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
            ReauthRequiredError,
        ),
        (503, None, TransientError),
        (400, {"error": "unsupported_grant_type"}, FatalIntegrationError),
    ],
    ids=["invalid-grant", "invalid-client", "5xx", "unsupported"],
)
def test_classify_token_error(status: int, content: Any, expected: type[IntegrationError]) -> None:
    assert type(errors.classify_token_error(status, content)) is expected
