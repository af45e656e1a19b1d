"""Tenant locks and single-enqueue guards in Redis, with a heartbeat instead of a long timeout.

A pass holds `healthscore:tenant:<id>` = its owner token with a short TTL (default 60 s) that a
background thread renews every TTL/3 while the work lives. A worker that dies stops renewing, so the
tenant is free again within one TTL; a pass that runs for hours keeps its lock as long as it is alive.

A pass split into several Celery tasks uses the pass id as owner token: each task `claim`s the lock
(take it when free, renew it when it is ours, refuse when another pass holds it), so tasks of one pass
share the lock across workers and a task of a superseded pass does nothing (fencing).
"""

from __future__ import annotations

import logging
import threading
import uuid
from types import TracebackType
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PREFIX = "healthscore:tenant:"

# KEYS[1] lock key; ARGV[1] owner; ARGV[2] ttl ms. 1 = held by owner now, 0 = another owner holds it.
_CLAIM = """
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class TenantLock:
    """One tenant's lock owned by `owner` (a pass id, or a random token for a one-task job)."""

    def __init__(self, client: Any, tenant_id: int, ttl_s: float = 60.0, owner: str | None = None) -> None:
        self.client = client
        self.key = f"{PREFIX}{tenant_id}"
        self.owner = owner or uuid.uuid4().hex
        self.ttl_ms = max(100, int(ttl_s * 1000))
        self.lost = threading.Event()  # set when a renewal found the lock gone or taken
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free or already ours (idempotent for the tasks of one pass)."""
        return bool(self.client.eval(_CLAIM, 1, self.key, self.owner, self.ttl_ms))

    def renew(self) -> bool:
        return bool(self.client.eval(_RENEW, 1, self.key, self.owner, self.ttl_ms))

    def release(self) -> bool:
        self.stop_heartbeat()
        return bool(self.client.eval(_RELEASE, 1, self.key, self.owner))

    def holder(self) -> str | None:
        raw = self.client.get(self.key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def ttl_left_s(self) -> float:
        return max(0.0, float(self.client.pttl(self.key)) / 1000)

    # -- heartbeat --------------------------------------------------------------------------------
    def start_heartbeat(self) -> None:
        """Renew every TTL/3 from a daemon thread (it dies with the process, which frees the lock)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lock-{self.key}", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _beat(self) -> None:
        interval = self.ttl_ms / 3000
        while not self._stop.wait(interval):
            try:
                if not self.renew():
                    logger.warning("tenant lock %s was lost (expired or taken)", self.key)
                    self.lost.set()
                    return
            except RedisError as exc:  # Redis blip: keep trying until the TTL runs out
                logger.warning("tenant lock %s renewal failed: %s", self.key, exc)

    def __enter__(self) -> TenantLock:
        self.start_heartbeat()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def once_per_interval(client: Any, name: str, interval_s: float) -> bool:
    """True for the first caller of `name` in any window of ~interval_s (several schedulers → one enqueue).

    The marker lives 90 % of the interval (at most 30 s less): a scheduler that fires a little later in
    the same interval is refused; the next interval's first caller wins again."""
    margin = min(interval_s * 0.1, 30.0)
    px = max(100, int((interval_s - margin) * 1000))
    return bool(client.set(f"healthscore:sched:{name}", uuid.uuid4().hex, nx=True, px=px))
