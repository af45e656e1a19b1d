"""Zendesk sandbox constants, vendor state (`make_state`: OAuth client, tokens, webhook secret) and the
deterministic ids of organizations, tickets, comments, ratings and groups.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import zlib
from datetime import UTC, datetime, timedelta

from integrations.sandbox.context import OAuthClient, SandboxContext, VendorState
from integrations.sandbox.ids import numeric_id

VENDOR = "zendesk"
API = "/api/v2"
ACCESS_TTL = timedelta(hours=2)
REFRESH_TTL = timedelta(days=30)
EXPORT_MAX_PER_PAGE = 1000
CBP_MAX = 100
UPDATE_MANY_MAX = 100
EXPORT_LAG = 60  # seconds: Zendesk excludes items changed in the minute before the request
FIELD_TYPES = {"text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "dropdown", "lookup"}
_INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}
_FORBIDDEN = {
    "error": "Forbidden",
    "description": "You do not have access to this page. Please contact the account owner of this help desk "
    "for further help.",
}
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
AUDIT_OFFSET = 1_000_000_000  # a comment's audit (= its ticket event) id is its comment id + this
EVENT_BASE = 2_000_000_000  # ids of events without a comment: EVENT_BASE + 4 * ticket id + kind
_LAST = 2**62  # sorts after any id in (timestamp, id) keys


# ---------------------------------------------------------------------------------------------- state / ids


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def make_state(seed: int) -> VendorState:
    """Deterministic OAuth client and one initial token pair (valid until used up: see module docs)."""
    state = VendorState(
        vendor=VENDOR,
        oauth=OAuthClient(
            client_id=f"healthscore_zendesk_{seed}",
            client_secret=_digest("zendesk-secret", seed)[:40],
            access_ttl=ACCESS_TTL,
        ),
        webhook_secret=base64.b64encode(_digest("zendesk-webhook", seed)[:32].encode()).decode(),
    )
    access = "zdat_" + _digest("zendesk-access", seed)[:40]
    refresh = "zdrt_" + _digest("zendesk-refresh", seed)[:40]
    # make_state has no book clock: the initial access token carries no expiry (the runner prints it; a
    # refresh grant then issues tokens with a real `expires_in` on the sandbox clock).
    state.access_tokens[access] = _FAR_FUTURE
    state.refresh_tokens.add(refresh)
    state.extra.update(
        initial_access_token=access,
        initial_refresh_token=refresh,
        scopes={access: "read write"},
        refresh_meta={refresh: {"scope": "read write", "access_token": access, "expires_at": _FAR_FUTURE}},
        jobs={},
        bumped={},
        job_polls_to_complete=1,
        next_field_id=24_000_000,
    )
    return state


@functools.cache  # ids are pure functions of book keys; pages ask for thousands
def org_id(customer_key: str) -> int:
    return int(numeric_id("organization", customer_key))


@functools.cache  # ids are pure functions of book keys; pages ask for thousands
def ticket_id(ticket_key: str) -> int:
    return int(numeric_id("ticket_zd", ticket_key))


@functools.cache  # ids are pure functions of book keys; pages ask for thousands
def comment_id(comment_key: str) -> int:
    return int(numeric_id("comment", comment_key))


@functools.cache  # ids are pure functions of book keys; pages ask for thousands
def rating_id(survey_key: str) -> int:
    return int(numeric_id("rating", survey_key))


def _crc_id(base: int, text: str) -> int:
    return base + zlib.crc32(text.lower().encode()) % 9_000_000


def group_id(name: str) -> int:
    return _crc_id(21_000_000, name)


def _iso(dt: datetime | None) -> str | None:
    if not dt:
        return None
    # isoformat is ~5x faster than strftime, and a page renders tens of thousands of stamps
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def _state(ctx: SandboxContext) -> VendorState:
    return ctx.vendors[VENDOR]
