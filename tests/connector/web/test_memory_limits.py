"""In-memory rate-limit counters under concurrent requests (the demo, development, one process without
Redis): limits' MemoryStorage re-armed its expiry timer without a lock, so two requests at once could both
replace it and start the same timer twice ('RuntimeError: threads can only be started once', a 500 on
sign-in when three people signed in together on the demo)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import Any

import pytest
from limits.storage import storage_from_string

from connector.web.security import _storage_uri


class _Timer:
    """A stand-in for threading.Timer that makes two threads check `is_alive` at the same moment (as two
    requests can), and counts the timers made."""

    made: list[_Timer] = []
    both_checked = threading.Barrier(2)

    def __init__(self, interval: float, function: Any) -> None:
        self.started = False
        _Timer.made.append(self)

    def is_alive(self) -> bool:
        if not self.started:
            # wait (briefly) for the other request: both see a dead timer unless a lock orders them
            with contextlib.suppress(threading.BrokenBarrierError):
                _Timer.both_checked.wait(timeout=0.5)
        return self.started

    def start(self) -> None:
        if self.started:
            raise RuntimeError("threads can only be started once")
        self.started = True


@pytest.mark.parametrize("configured", ["", "memory://"])
def test_two_requests_at_once_rearm_one_expiry_timer(
    app: Any, monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    app.config["HEALTHSCORE"] = dataclasses.replace(
        app.config["HEALTHSCORE"], ratelimit_storage_url=configured
    )
    storage: Any = storage_from_string(_storage_uri(app))  # what both limiters (sign-in, API) are built on
    storage.timer.cancel()
    storage.timer.join()
    monkeypatch.setattr(threading, "Timer", _Timer)
    storage.timer = _Timer(0.01, None)  # the last expiry ran: the timer is dead, the next hit re-arms it
    _Timer.made, _Timer.both_checked = [], threading.Barrier(2)
    failures: list[BaseException] = []

    def request(key: str) -> None:
        try:
            storage.incr(key, 60)
        except RuntimeError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=request, args=(f"login:{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(_Timer.made) == 1  # one request re-armed the timer; the other found it armed
    assert storage.get("login:0") == storage.get("login:1") == 1
