"""The Zendesk error table: zenpy exception names / status / body → what the caller does next."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.errors import (
    FatalIntegrationError,
    IntegrationError,
    MalformedResponseError,
    PermissionDeniedError,
    RateLimitError,
    ReauthRequiredError,
    RecordRejectedError,
    TokenExpiredError,
    TransientError,
)
from integrations.zendesk.errors import classify, describe, error_code, token_error

API = ("APIException", "Exception")
CASES: list[tuple[str, tuple[str, ...], int | None, dict[str, Any] | None, type[IntegrationError]]] = [
    ("budget-429", ("RatelimitBudgetExceeded", "ZenpyException"), None, None, RateLimitError),
    ("429-no-retry-after", API, 429, {"error": "APIRateLimitExceeded"}, RateLimitError),
    ("401-invalid-token", API, 401, {"error": "invalid_token"}, TokenExpiredError),
    ("403-forbidden", API, 403, {"error": "Forbidden", "description": "no"}, PermissionDeniedError),
    ("too-recent", API, 400, {"error": "StartTimeTooRecent"}, RateLimitError),
    ("422-record-invalid", API, 422, {"error": "RecordInvalid", "details": {}}, RecordRejectedError),
    (
        "404-not-found",
        ("RecordNotFoundException", *API),
        404,
        {"error": "RecordNotFound"},
        FatalIntegrationError,
    ),
    (
        "400-too-many",
        ("TooManyValuesException", *API),
        400,
        {"error": "TooManyValues"},
        FatalIntegrationError,
    ),
    ("500-json", API, 500, {"error": {"title": "Internal", "message": "boom"}}, TransientError),
    ("503-text", ("HTTPError", "RequestException"), 503, None, TransientError),
    ("timeout", ("ReadTimeout", "Timeout", "RequestException"), None, None, TransientError),
    ("connection", ("ConnectionError", "RequestException"), None, None, TransientError),
    ("keyerror", ("KeyError", "LookupError"), None, None, MalformedResponseError),
    ("zenpy-unknown", ("ZenpyException", "Exception"), None, None, MalformedResponseError),
    ("other", ("RuntimeError",), None, None, FatalIntegrationError),
]


@pytest.mark.parametrize(
    ("names", "status", "body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_classify(
    names: tuple[str, ...], status: int | None, body: dict[str, Any] | None, expected: type[IntegrationError]
) -> None:
    err = classify(names, status, body, retry_after=None)
    assert type(err) is expected
    assert err.vendor == "zendesk"


def test_retry_after_is_kept_and_defaults_to_a_full_window() -> None:
    with_header = classify(["RatelimitBudgetExceeded"], None, None, retry_after=7.0)
    assert isinstance(with_header, RateLimitError)
    assert with_header.retry_after == 7.0
    without = classify(API, 429, None)
    assert isinstance(without, RateLimitError)
    assert without.retry_after == 60.0


def test_permission_denied_names_the_scope() -> None:
    err = classify(API, 403, {"error": "Forbidden"}, scope="write scope and an admin role")
    assert isinstance(err, PermissionDeniedError)
    assert err.missing == "write scope and an admin role"
    assert "admin" in err.hint


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ({"error": "RecordNotFound", "description": "Not found"}, "RecordNotFound", "Not found"),
        ({"error": {"title": "Forbidden", "message": "You cannot"}}, "Forbidden", "You cannot"),
        ({"error": "invalid_grant", "error_description": "revoked"}, "invalid_grant", "revoked"),
        (None, "", ""),
    ],
    ids=["flat", "nested", "oauth", "none"],
)
def test_error_code_and_describe(body: dict[str, Any] | None, code: str, text: str) -> None:
    assert error_code(body) == code
    assert describe(body) == text


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error": "invalid_grant"}, ReauthRequiredError),
        (401, {"error": "invalid_client"}, ReauthRequiredError),
        (429, None, RateLimitError),
        (502, None, TransientError),
    ],
    ids=["invalid-grant", "invalid-client", "rate-limited", "bad-gateway"],
)
def test_token_errors(status: int, body: dict[str, Any] | None, expected: type[IntegrationError]) -> None:
    assert type(token_error(status, body)) is expected


def test_an_unexpected_error_is_named_by_its_own_class_not_its_ancestors() -> None:
    """A missing CA bundle (requests raises a bare OSError) was reported by `healthscore sync` as
    'unexpected error: BaseException, Exception, OSError, object'."""
    from integrations.zendesk.errors import classify

    err = classify([c.__name__ for c in OSError.__mro__], None, None)
    assert "unexpected error: OSError" in str(err)
    assert "BaseException" not in str(err)
