"""Security audit 11 (low): a token endpoint's `expires_in` was trusted as a number. `timedelta(seconds=
float(expires_in))` raised on 'abc', 'nan' (ValueError), '1e300' or 'inf' (OverflowError): on a refresh the
vendor had already rotated the pair, and the new one was never saved (a rotating vendor then needs a
reconnect); on the OAuth callback it was a 500. An unreadable lifetime is unknown now, as a missing one is
(the token is used until refused, then refreshed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.oauth import TokenSet, expires_after

NOW = datetime(2026, 12, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    ["abc", "nan", float("nan"), "inf", float("inf"), "1e300", 1e300, -5, "-1", "", None, True, [], {}],
)
def test_an_unreadable_lifetime_is_unknown(value: object) -> None:
    assert expires_after(NOW, value) is None
    rotated = TokenSet(access_token="a", refresh_token="r").rotated(
        {"access_token": "b", "expires_in": value}, NOW
    )
    assert (rotated.access_token, rotated.refresh_token, rotated.expires_at) == ("b", "r", None)


@pytest.mark.parametrize(
    ("value", "seconds"), [(1800, 1800), ("3600", 3600), (7199.5, 7199.5), ("86400", 86400)]
)
def test_a_readable_lifetime_counts_from_now(value: object, seconds: float) -> None:
    assert expires_after(NOW, value) == NOW + timedelta(seconds=seconds)
