"""OAuth token sets and the refresh-ahead-of-expiry rule shared by all vendors (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

MAX_LIFETIME = timedelta(
    days=366
)  # longer than any vendor grants an access token (Zendesk: 48 hours at most)


def expires_after(now: datetime, expires_in: object) -> datetime | None:
    """When a token granted at `now` expires, from the token endpoint's `expires_in` (seconds, a number or
    a numeric string); None when missing or unreadable: not a number, not finite, not positive, or beyond
    MAX_LIFETIME. float() of the answer raised on 'abc' and 'nan' and timedelta() on '1e300' and 'inf', after
    the vendor had already rotated the pair, so the new pair was never saved (security audit 11)."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float | str):
        return None
    try:
        seconds = float(expires_in)
    except ValueError:
        return None
    if not 0 < seconds <= MAX_LIFETIME.total_seconds():  # NaN fails every comparison
        return None
    return now + timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenSet:
    """The credentials of one installation. Never logged; stored encrypted by the connector."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None  # None: the vendor did not say (Salesforce)
    instance_url: str | None = None  # Salesforce: where the org lives
    scope: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def needs_refresh(self, now: datetime, margin: timedelta = timedelta(minutes=5)) -> bool:
        """True when the token expires within `margin` (refresh ahead of expiry, not on failure)."""
        return (
            self.expires_at is not None and self.refresh_token is not None and now >= self.expires_at - margin
        )

    def rotated(self, response: dict[str, Any], now: datetime) -> TokenSet:
        """The token set after a refresh response; keeps the old refresh token unless a new one came."""
        expires_in = response.get("expires_in")
        return replace(
            self,
            access_token=str(response["access_token"]),
            refresh_token=str(response.get("refresh_token") or self.refresh_token or "") or None,
            # No expires_in (Salesforce never sends one): the new token's lifetime is unknown, not the old one's.
            expires_at=expires_after(now, expires_in),
            instance_url=str(response.get("instance_url") or self.instance_url or "") or None,
            scope=str(response.get("scope") or self.scope or "") or None,
        )


TokenSaver = Callable[[TokenSet], None]
# A client whose refresh grant was refused reads the installation's stored tokens this many times, this far
# apart (Connection.load_tokens): with single-use refresh tokens, the process that won a race to refresh
# stores its rotated pair right after the vendor answers it.
ADOPT_ATTEMPTS = 3
ADOPT_WAIT_S = 0.5
