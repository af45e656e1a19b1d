"""Malicious or broken vendor data (issue 12, suite 7): huge fields, control and bidi characters, lone
surrogates, a vendor that stalls on one stream forever.

The sandbox book is poisoned before the first pass: a customer name of 2 MB with NUL, BEL and U+202E, ticket
subjects with lone surrogates, a 1 MB comment. The pass must finish in bounded time with either the data
stored safely (bounded length, no NUL) or a clear per-stream error; a stalled stream fails alone after the
retry policy and every other stream and tenant goes on.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from connector.store import models as m
from connector.store.db import transaction
from integrations.sandbox.context import Fault
from tests.reliability import figures
from tests.reliability.world import build_world

HUGE = "A" * 2_000_000 + "\x00\x07\u202e evil"
LONE = "subject \ud800 with a lone surrogate \udfff"
BIG_COMMENT = ("I am upset. " * 90_000) + "\x00\x1b[31m"


def _poison(sandbox: Any) -> None:
    book = sandbox.ctx.book
    with sandbox.ctx.lock:
        first = sorted(book.customers)[0]
        book.customers[first].name = HUGE
        for presence in (
            book.customers[first].salesforce,
            book.customers[first].hubspot,
            book.customers[first].zendesk,
        ):
            presence.name = HUGE
        for i, key in enumerate(sorted(book.tickets)[:6]):
            ticket = book.tickets[key]
            ticket.subject = LONE
            if ticket.comments and i % 2 == 0:
                ticket.comments[0].body = BIG_COMMENT
                ticket.comments[0].html_body = BIG_COMMENT
    sandbox.dirty = True


def test_poisoned_vendor_data_is_bounded_and_other_tenants_go_on(rel_sandbox: Any) -> None:
    _poison(rel_sandbox)
    world = build_world(rel_sandbox)
    try:
        started = time.perf_counter()
        reports = {slug: world.run(slug) for slug in ("contoso", "northwind")}
        seconds = time.perf_counter() - started
        for slug, rep in reports.items():
            for inst in rep["steps"]["sync"]["installations"]:
                for s in inst["streams"]:
                    # Either read or refused with a sentence, never a bare traceback type.
                    assert s["status"] == "ok" or (s["error"] and s["hint"]), (slug, inst["vendor"], s)
            assert all("error" not in r for r in rep["steps"].values() if isinstance(r, dict)), (slug, rep)
        with transaction(world.settings.sqlalchemy_url) as s:
            texts = [n or "" for n in s.scalars(select(m.Account.name))]
            texts += [t or "" for t in s.scalars(select(m.Ticket.subject))]
            texts += [b or "" for b in s.scalars(select(m.TicketComment.body))]
        longest = max(len(t) for t in texts)
        assert not [t[:40] for t in texts if "\x00" in t or "\ud800" in t]
        assert longest <= 100_000
        figures.record(
            "malicious_vendor", runs=1, longest_stored_name=int(longest), pass_seconds=round(seconds, 1)
        )
    finally:
        world.close()


@pytest.mark.reliability
def test_a_stream_that_stalls_forever_fails_alone(rel_sandbox: Any) -> None:
    world = build_world(rel_sandbox)
    try:
        # Every ticket export call stalls past the client timeout (then 504): a vendor hanging on one stream.
        rel_sandbox.ctx.faults.rate(
            "zendesk", "GET /api/v2/incremental/tickets/*", Fault("timeout", delay=3.0), 1.0
        )
        started = time.perf_counter()
        # A client timeout well above what a loaded machine takes to answer (0.3 s once timed out healthy
        # streams on two busy cores), well below the stall.
        rep = world.run("northwind", timeout=1.5)
        seconds = time.perf_counter() - started
        streams = {
            (i["vendor"], s["stream"]): s for i in rep["steps"]["sync"]["installations"] for s in i["streams"]
        }
        stalled = streams[("zendesk", "tickets")]
        assert stalled["status"] == "failed"
        assert stalled["hint"]
        others = [s for k, s in streams.items() if k != ("zendesk", "tickets")]
        assert others
        assert all(s["status"] == "ok" for s in others), others
        assert stalled["api_calls"] <= 6  # the retry policy's attempts, not forever
        rel_sandbox.ctx.faults.clear()
        assert world.run("contoso")["status"] == "ok"
        figures.record(
            "malicious_vendor", stalled_stream_seconds=round(seconds, 1), stalled_calls=stalled["api_calls"]
        )
    finally:
        world.close()
