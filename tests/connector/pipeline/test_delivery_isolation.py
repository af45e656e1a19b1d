"""One attempt that raises anything unexpected never stops the delivery run for every workspace.

The delivery run serves every workspace in `next_attempt_at` order; audit 11 found three receiver-controlled
values (an IDN host: UnicodeEncodeError; `Retry-After: ²`: ValueError; a NUL in Location: a PostgreSQL
DataError when the attempt was stored) that raised out of `deliver_due` and stopped the run at that delivery
for everyone, again after each claim timeout. Each was fixed at its source; this pins the catch-all around
one attempt: the attempt is logged (no secrets), recorded as a failed attempt with a clear last_error, its
claim released so the normal retry schedule applies, and the run goes on with the next delivery.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.pipeline import delivery
from connector.store import models as m
from tests.connector import builders as b
from tests.connector.builders import T0
from webhooks.delivery import AttemptError, AttemptResult

BAD = "https://93.184.216.34/bad"
GOOD = "https://93.184.216.35/good"
SECRET = "whsec_" + "A" * 43


def _setup(db_url: str, settings: Any) -> tuple[int, int]:
    with b.session(db_url) as s:
        bad_t, good_t = b.tenant(s, "badco"), b.tenant(s, "goodco")
        bad = b.endpoint(s, Vault(settings), bad_t, BAD, [SECRET])
        good = b.endpoint(s, Vault(settings), good_t, GOOD, [SECRET])
        b.event(s, bad_t, [bad], msg_id="msg_bad", due=T0 - timedelta(minutes=10))
        b.event(s, good_t, [good], msg_id="msg_good", due=T0 - timedelta(minutes=1))
    return bad, good


def _ok() -> AttemptResult:
    return AttemptResult(status=204, latency_ms=5, response_excerpt="", ok=True, error=None)


def _rows(db_url: str, endpoint_id: int) -> tuple[m.WebhookDelivery, list[m.WebhookAttempt]]:
    with b.session(db_url) as s:
        d = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.endpoint_id == endpoint_id)).one()
        attempts = list(s.scalars(select(m.WebhookAttempt).where(m.WebhookAttempt.delivery_id == d.id)))
        s.expunge_all()
        return d, attempts


@pytest.mark.parametrize(
    "exc",
    [
        UnicodeEncodeError("latin-1", "例え.jp", 0, 1, "ordinal not in range(256)"),
        ValueError(f"could not convert {SECRET}"),
        RuntimeError(f"unexpected {SECRET}"),
    ],
    ids=["unicode", "value", "runtime"],
)
def test_an_attempt_that_raises_is_recorded_and_the_run_goes_on(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    exc: Exception,
) -> None:
    settings = b.settings_for(db_url, tmp_path)
    bad, good = _setup(db_url, settings)
    sent: list[str] = []

    def fake_deliver(url: str, *_a: Any, **_k: Any) -> AttemptResult:
        sent.append(url)
        if url == BAD:
            raise exc
        return _ok()

    monkeypatch.setattr(delivery, "deliver", fake_deliver)
    with caplog.at_level(logging.DEBUG):
        report = delivery.deliver_due(settings, now=T0)  # before: the exception left the run here
    assert sent == [BAD, GOOD]
    assert (report.attempted, report.delivered, report.failed, report.errors) == (2, 1, 1, 1)
    d, attempts = _rows(db_url, bad)
    assert d.status == "pending"
    assert d.claimed_at is None
    assert d.attempts == 1
    assert d.next_attempt_at is not None
    assert d.next_attempt_at > T0
    assert d.last_error is not None
    assert d.last_error.startswith("internal error")
    assert type(exc).__name__ in d.last_error
    assert SECRET not in d.last_error
    assert [a.error for a in attempts] == ["internal_error"]
    assert SECRET not in caplog.text
    assert f"delivery {d.id}" in caplog.text
    ok, _ = _rows(db_url, good)
    assert ok.status == "delivered"


def test_a_database_error_storing_the_attempt_does_not_stop_the_run(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NUL byte in what is stored: PostgreSQL refuses the row (DataError at the commit in `_attempt`),
    SQLite keeps it. Either way the run goes on and the delivery is not left claimed."""
    settings = b.settings_for(db_url, tmp_path)
    bad, good = _setup(db_url, settings)

    def fake_deliver(url: str, *_a: Any, **_k: Any) -> AttemptResult:
        if url == BAD:
            return AttemptResult(
                status=302, latency_ms=5, response_excerpt="x\x00y", ok=False,
                error=AttemptError.REDIRECT_NOT_FOLLOWED, detail="HTTP 302 to a\x00b",
            )  # fmt: skip
        return _ok()

    monkeypatch.setattr(delivery, "deliver", fake_deliver)
    report = delivery.deliver_due(settings, now=T0)
    assert (report.attempted, report.delivered, report.failed) == (2, 1, 1)  # counted once each
    d, _ = _rows(db_url, bad)
    assert d.status == "pending"
    assert d.claimed_at is None
    assert d.attempts == 1
    assert d.next_attempt_at is not None
    assert d.next_attempt_at > T0
    if db_url.startswith("postgresql"):
        assert report.errors == 1
        assert d.last_error is not None
        assert d.last_error.startswith("internal error (DataError)")
    ok, _ = _rows(db_url, good)
    assert ok.status == "delivered"
