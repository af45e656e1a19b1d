"""Vendor API budgets shared by every worker: token buckets per installation in Redis.

Each installation has one bucket per documented window (HubSpot per 10 s and per day, Salesforce per
day with headroom left for the customer's own tools, Zendesk per minute). `take` is atomic across all
of an installation's windows (a Lua script on Redis time, so workers on several machines agree) and
never sleeps: it returns how long the caller must wait, and a task re-queues itself with that countdown
so the worker serves other tenants meanwhile. Limits can be set per installation in its settings:
`{"rate_limits": [[capacity, window_seconds], ...]}`.

The budget is charged per vendor HTTP request, not per task part: `gate` is installed as the adapter's
`Connection.before_call` (through connector.installs.connections.CALL_GATE), so a part that reads 40
pages spends 40 tokens, and the request that would overdraw the budget raises
BudgetExhaustedError(retry_after) before it is sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from integrations.errors import BudgetExhaustedError

# (capacity, window seconds). HubSpot: 110 requests / 10 s for public apps, 250k/day on Pro; we keep
# ~10 % back. Salesforce: Enterprise orgs get 100k requests / 24 h shared with the customer's own
# tools: we take at most 50 %. Zendesk: 200 / min on Team, the smallest plan.
DEFAULT_LIMITS: Mapping[str, tuple[tuple[int, float], ...]] = {
    "hubspot": ((100, 10.0), (225_000, 86_400.0)),
    "salesforce": ((50_000, 86_400.0),),
    "zendesk": ((180, 60.0),),
}

PACE_TOTAL_S = 5.0  # longest a request is held in place (several workers may wait on one bucket)

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local wait = 0
local level = {}
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 * i])
  local win = tonumber(ARGV[2 * i + 1])
  local v = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(v[1]) or cap
  local ts = tonumber(v[2]) or now
  tokens = math.min(cap, tokens + (now - ts) * cap / win)
  if tokens < cost then wait = math.max(wait, (cost - tokens) * win / cap) end
  level[i] = tokens
end
if wait > 0 then return tostring(math.ceil(wait)) end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', level[i] - cost, 'ts', now)
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i + 1]) * 2))
end
return '0'
"""


def limits_for(vendor: str, settings: Mapping[str, Any] | None = None) -> tuple[tuple[int, float], ...]:
    """The installation's own limits when set, else the vendor's defaults (none for unknown vendors)."""
    custom = (settings or {}).get("rate_limits")
    if custom:
        return tuple((int(c), float(w)) for c, w in custom)
    return DEFAULT_LIMITS.get(vendor, ())


def take(client: Any, installation_id: int, limits: Sequence[tuple[int, float]], cost: int = 1) -> float:
    """Spend `cost` requests of every window, or none; returns 0.0 when granted, else seconds to wait."""
    if not limits:
        return 0.0
    keys = [f"healthscore:rl:{installation_id}:{int(w)}" for _, w in limits]
    args: list[Any] = [cost]
    for cap, window in limits:
        args += [cap, int(window * 1000)]
    waited_ms = float(client.eval(_TAKE, len(keys), *keys, *args))
    return waited_ms / 1000


def gate(
    client: Any,
    installation_id: int,
    vendor: str,
    limits: Sequence[tuple[int, float]],
    pace_s: float = 0.0,
) -> Callable[[], None]:
    """The `before_call` of one installation's adapter: one token per request from the shared buckets, or
    BudgetExhaustedError with the seconds until the next token (nothing is sent).

    `pace_s`: a wait up to this long is slept in place and the token taken then, so a part keeps reading
    at the rate the budget refills (HubSpot's 10 requests/s: a token every 0.1 s) instead of re-queueing
    for every request once its burst is spent; at most PACE_TOTAL_S per request, then it re-queues."""

    def before_call() -> None:
        slept = 0.0
        while (wait := take(client, installation_id, limits)) > 0:
            if wait > pace_s or slept + wait > PACE_TOTAL_S:
                raise BudgetExhaustedError(
                    vendor, f"installation {installation_id}: API budget spent for now", retry_after=wait
                )
            time.sleep(wait)
            slept += wait

    return before_call
