"""The HubSpot error table: status + body + headers → what the caller does next."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3.exceptions

from integrations.errors import (
    FatalIntegrationError,
    IntegrationError,
    MalformedResponseError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitError,
    ReauthRequiredError,
    TokenExpiredError,
    TransientError,
)
from integrations.hubspot import errors


def body(category: str, message: str = "m", **extra: Any) -> str:
    return json.dumps(
        {"status": "error", "message": message, "correlationId": "c", "category": category, **extra}
    )


MISSING_SCOPES = body(
    "MISSING_SCOPES",
    errors=[
        {"message": "One or more...", "context": {"requiredGranularScopes": ["crm.schemas.companies.write"]}}
    ],
)


@pytest.mark.parametrize(
    ("status", "raw", "headers", "writing", "expected"),
    [
        (
            429,
            body("RATE_LIMITS", policyName="TEN_SECONDLY_ROLLING"),
            {"Retry-After": "3"},
            False,
            RateLimitError,
        ),
        (429, body("RATE_LIMITS", policyName="DAILY"), {}, False, QuotaExhaustedError),
        (429, body("RATE_LIMITS"), {"X-HubSpot-RateLimit-Daily-Remaining": "0"}, False, QuotaExhaustedError),
        (401, body("EXPIRED_AUTHENTICATION"), {}, False, TokenExpiredError),
        (401, body("INVALID_AUTHENTICATION"), {}, False, TokenExpiredError),
        (403, MISSING_SCOPES, {}, False, PermissionDeniedError),
        (500, body("INTERNAL_ERROR"), {}, False, TransientError),
        (502, "<html>bad gateway</html>", {}, False, TransientError),
        (0, None, {}, False, TransientError),
        (400, body("VALIDATION_ERROR"), {}, False, FatalIntegrationError),
        (400, body("VALIDATION_ERROR"), {}, True, errors.BatchRejectedError),
        (409, body("OBJECT_ALREADY_EXISTS"), {}, False, errors.ConflictError),
        (404, body("OBJECT_NOT_FOUND"), {}, False, FatalIntegrationError),
    ],
    ids=[
        "429-burst",
        "429-daily-policy",
        "429-daily-header",
        "401-expired",
        "401-invalid",
        "403-scopes",
        "500",
        "502-html",
        "status-0",
        "400-read",
        "400-write",
        "409",
        "404",
    ],
)
def test_classify(
    status: int, raw: str | None, headers: dict[str, str], writing: bool, expected: type[IntegrationError]
) -> None:
    error = errors.classify(status, raw, headers, writing=writing)
    assert type(error) is expected
    assert error.vendor == "hubspot"


def test_rate_limit_uses_retry_after_else_one_ten_second_window() -> None:
    with_header = errors.classify(429, body("RATE_LIMITS"), {"retry-after": "7"})
    without = errors.classify(429, body("RATE_LIMITS"), {})
    assert isinstance(with_header, RateLimitError)
    assert isinstance(without, RateLimitError)
    assert with_header.retry_after == 7.0
    assert without.retry_after == 10.0


def test_missing_scope_is_named() -> None:
    error = errors.classify(403, MISSING_SCOPES)
    assert isinstance(error, PermissionDeniedError)
    assert error.missing == "crm.schemas.companies.write"
    assert "crm.schemas.companies.write" in error.hint


def test_batch_rejection_carries_the_most_specific_code() -> None:
    raw = body("VALIDATION_ERROR", errors=[{"message": "x", "code": "INVALID_OPTION"}])
    error = errors.classify(400, raw, writing=True)
    assert isinstance(error, errors.BatchRejectedError)
    assert error.code == "INVALID_OPTION"
    assert errors.classify(400, body("VALIDATION_ERROR"), writing=True).code == "VALIDATION_ERROR"  # type: ignore[attr-defined]


def test_detail_is_bounded() -> None:
    error = errors.classify(400, body("VALIDATION_ERROR", message="x" * 5000))
    assert len(error.detail) < 400


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (
            400,
            '{"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token"}',
            ReauthRequiredError,
        ),
        (400, '{"status":"BAD_CLIENT_SECRET","message":"x"}', ReauthRequiredError),
        (401, "", ReauthRequiredError),
        (503, "", TransientError),
        (429, "", RateLimitError),
        (404, "", FatalIntegrationError),
    ],
    ids=["bad-refresh", "bad-secret", "401", "503", "429", "404"],
)
def test_classify_token_error(status: int, raw: str, expected: type[IntegrationError]) -> None:
    assert type(errors.classify_token_error(status, raw)) is expected


class FakeApiError(Exception):
    """The attributes hubspot's ApiException carries (the table duck-types them)."""

    def __init__(self, status: int, body: str | None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FakeApiError(429, body("RATE_LIMITS"), {"Retry-After": "2"}), RateLimitError),
        (FakeApiError(0, None), TransientError),
        (urllib3.exceptions.ReadTimeoutError(None, "/", "timed out"), TransientError),  # type: ignore[arg-type]
        (urllib3.exceptions.NewConnectionError(None, "refused"), TransientError),  # type: ignore[arg-type]
        (ValueError("bad datetime"), MalformedResponseError),
        (RuntimeError("boom"), FatalIntegrationError),
    ],
    ids=["api-429", "api-status-0", "read-timeout", "connection-refused", "deserialise", "unknown"],
)
def test_from_exception(exc: BaseException, expected: type[IntegrationError]) -> None:
    assert type(errors.from_exception(exc)) is expected


def test_from_exception_passes_our_errors_through() -> None:
    original = TransientError("hubspot", "x")
    assert errors.from_exception(original) is original
