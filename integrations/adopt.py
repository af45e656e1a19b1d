"""Adopting a token pair another process rotated (security audit 11): with single-use refresh tokens
(Zendesk; Salesforce with rotation on) the process that won a race to refresh stores its new pair right
after the vendor answers; the loser reads it instead of asking the customer to reconnect."""

from __future__ import annotations

import logging
from collections.abc import Callable

from integrations.oauth import ADOPT_WAIT_S, TokenSet

logger = logging.getLogger(__name__)


def rotated_elsewhere(
    load: Callable[[], TokenSet | None] | None,
    held: TokenSet,
    sleep: Callable[[float], None],
    vendor: str,
    attempts: int = 1,
) -> TokenSet | None:
    """The installation's stored tokens when they are not the pair held, else None. Reads up to `attempts`
    times, ADOPT_WAIT_S apart; an unreadable store is logged and counts as none (go on with the pair held)."""
    if load is None:
        return None
    for attempt in range(attempts):
        if attempt:
            sleep(ADOPT_WAIT_S)
        try:
            stored = load()
        except Exception:  # the store unreadable: go on with our own pair
            logger.warning("stored %s tokens unreadable", vendor, exc_info=True, extra={"vendor": vendor})
            return None
        if (
            stored is not None
            and stored.access_token
            and (stored.access_token, stored.refresh_token) != (held.access_token, held.refresh_token)
        ):
            logger.info("took the %s tokens another process rotated", vendor, extra={"vendor": vendor})
            return stored
    return None
