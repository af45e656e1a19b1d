"""Rate-limit counters in this process's memory (development, the demo, a single process without Redis),
safe under concurrent requests.

limits' MemoryStorage (5.8.0) re-arms its expiry timer with a check-then-start that is not atomic: two
requests at once could both replace the timer and start the same one twice, so one of them failed with
'RuntimeError: threads can only be started once' (a 500 on sign-in when three people signed in together
on the demo; alisaifee/limits#352). Here the re-arming holds a lock.
"""

from __future__ import annotations

import threading
from typing import Any

from limits.storage import MemoryStorage

SCHEME = "hs-memory"


class LockedMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = [SCHEME]  # registers the scheme with limits' storage_from_string

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        self._timer_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - overrides the parent's private method
        with self._timer_lock:
            if not self.timer.is_alive():
                self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
                self.timer.start()


def memory_uri(uri: str) -> str:
    """memory://… as the locked storage's URI; any other storage as it is."""
    return SCHEME + uri[len("memory") :] if uri.startswith("memory://") else uri
