"""Conformance: the ticket event export and the agent list of the Zendesk sandbox, read by unmodified zenpy.

zenpy 2.0.57 exposes the export as `tickets.events(start_time, include=None, per_page=None)` (a
ZendeskResultGenerator over `ticket_events`) and the user list as `users(role=[...], cursor_pagination=True)`
(`role[]=agent&role[]=admin`, CBP). Shapes follow Zendesk's "Incremental Ticket Event Export" reference: a
time-based page `{ticket_events, next_page, end_time, end_of_stream, count}`; each event `{id, ticket_id,
timestamp, created_at, updater_id, via, event_type, child_events}`; with `include=comment_events` a comment is
a child event `{event_type: "Comment", id, body, html_body, plain_body, public, author_id, created_at,
attachments}`. The sandbox also renders pages from a cache; the last tests pin that edits to the book show up.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.exception import APIException

from integrations.sandbox import zendesk as zsb
from integrations.sandbox.book import Comment
from integrations.sandbox.server import TLSMaterial
from tests.integrations.zendesk.factory import Sandbox, build_book, cleanup_tls, reset, served

EVENTS = "GET /api/v2/incremental/ticket_events.json"
PAGE_KEYS = {"ticket_events", "next_page", "end_time", "end_of_stream", "count"}
EVENT_KEYS = {"id", "ticket_id", "timestamp", "created_at", "updater_id", "via", "event_type", "child_events"}
COMMENT_CHILD_KEYS = {
    "id", "event_type", "body", "html_body", "plain_body", "public", "author_id", "created_at", "attachments",
}  # fmt: skip


@pytest.fixture(scope="module")
def tls() -> Iterator[TLSMaterial]:
    material = TLSMaterial.generate()
    yield material
    cleanup_tls(material)


@pytest.fixture(scope="module")
def server(tls: TLSMaterial) -> Iterator[Sandbox]:
    with served(build_book(), tls) as sandbox:
        yield sandbox


@pytest.fixture
def sb(server: Sandbox) -> Sandbox:
    return reset(server, build_book(customers=3, tickets=5))


def zenpy(sb: Sandbox) -> Zenpy:
    s = requests.Session()
    s.verify = sb.tls.ca_file
    s.trust_env = False
    return Zenpy(
        subdomain="127",
        domain=f"0.0.1:{sb.served.port}",
        oauth_token=sb.token,
        session=s,
        ratelimit_budget=1,
        disable_cache=True,
    )


def events_page(sb: Sandbox, start: int, **kw: Any) -> dict[str, Any]:
    """One page through zenpy; its JSON as Zendesk sent it (zenpy keeps it on the generator)."""
    page: dict[str, Any] = zenpy(sb).tickets.events(start_time=start, **kw)._response_json
    return page


def comment_children(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for e in page["ticket_events"] for c in e["child_events"] if c["event_type"] == "Comment"]


def book_comments(sb: Sandbox) -> dict[int, Comment]:
    return {
        zsb.comment_id(c.key): c
        for t in sb.ctx.book.tickets.values()
        if t.channel == "zendesk"
        for c in t.comments
    }


def test_one_page_carries_every_comment_with_the_documented_shape(sb: Sandbox) -> None:
    page = events_page(sb, 0, include="comment_events")
    assert set(page) >= PAGE_KEYS
    assert page["end_of_stream"] is True
    assert page["count"] == len(page["ticket_events"])
    assert all(set(e) >= EVENT_KEYS and e["event_type"] == "Audit" for e in page["ticket_events"])
    children = comment_children(page)
    assert all(set(c) >= COMMENT_CHILD_KEYS for c in children)
    book = book_comments(sb)
    assert {c["id"] for c in children} == set(book)  # every comment once; the CRM ticket's are not here
    for child in children:
        assert child["plain_body"] == book[child["id"]].body
    assert sb.ctx.counters.get("zendesk", EVENTS) == 1


def test_events_are_time_ordered_and_end_time_is_the_last_timestamp(sb: Sandbox) -> None:
    page = events_page(sb, 0, include="comment_events")
    stamps = [e["timestamp"] for e in page["ticket_events"]]
    assert stamps == sorted(stamps)
    assert page["end_time"] == stamps[-1]
    ticket_ids = {e["ticket_id"] for e in page["ticket_events"]}
    assert ticket_ids == {
        zsb.ticket_id(t.key) for t in sb.ctx.book.tickets.values() if t.channel == "zendesk"
    }


def test_next_page_starts_at_end_time_so_edge_events_repeat(sb: Sandbox) -> None:
    """Time-based pagination: `next_page` is `start_time=end_time`; the edge event comes again (as Zendesk)."""
    first = events_page(sb, 0, include="comment_events", per_page=3)
    assert first["count"] == 3
    assert first["end_of_stream"] is False
    assert f"start_time={first['end_time']}" in first["next_page"]
    assert first["next_page"].startswith(f"{sb.base_url}/api/v2/incremental/ticket_events.json?")
    second = events_page(sb, first["end_time"], include="comment_events", per_page=3)
    assert second["ticket_events"][0]["id"] == first["ticket_events"][-1]["id"]


def test_walking_next_pages_reaches_every_event(sb: Sandbox) -> None:
    seen: dict[int, dict[str, Any]] = {}
    start, calls = 0, 0
    while True:
        page = events_page(sb, start, include="comment_events", per_page=4)
        calls += 1
        seen.update({e["id"]: e for e in page["ticket_events"]})
        if page["end_of_stream"]:
            break
        start = page["end_time"]
    everything = events_page(sb, 0, include="comment_events")["ticket_events"]
    assert set(seen) == {e["id"] for e in everything}
    assert calls == 1 + -(-(len(everything) - 4) // 3)  # unique stamps: each later page repeats one event


def test_without_the_sideload_comments_are_only_flagged(sb: Sandbox) -> None:
    page = events_page(sb, 0)
    children = comment_children(page)
    assert children
    assert all("body" not in c and c["comment_present"] is True for c in children)


def test_solved_and_deleted_tickets_have_status_change_events(sb: Sandbox) -> None:
    victim = sb.ctx.book.tickets["T0000003"]
    victim.deleted_at = sb.ctx.book.now - timedelta(minutes=5)
    page = events_page(sb, 0, include="comment_events")
    changes = {
        (e["ticket_id"], c["value"])
        for e in page["ticket_events"]
        for c in e["child_events"]
        if c["event_type"] == "Change" and c["field_name"] == "status"
    }
    assert changes == {
        (zsb.ticket_id("T0000002"), "solved"),
        (zsb.ticket_id("T0000004"), "solved"),
        (zsb.ticket_id("T0000003"), "deleted"),
    }


def test_start_time_rules(sb: Sandbox) -> None:
    recent = int(sb.ctx.book.now.timestamp()) - 30
    with pytest.raises(APIException) as too_recent:
        zenpy(sb).tickets.events(start_time=recent)
    assert too_recent.value.response.status_code == 400
    assert too_recent.value.response.json()["error"] == "StartTimeTooRecent"
    empty = events_page(sb, recent - 60, include="comment_events")
    assert (empty["count"], empty["end_of_stream"], empty["end_time"]) == (0, True, recent - 60)


def test_events_in_the_last_minute_are_held_back(sb: Sandbox) -> None:
    t = sb.ctx.book.tickets["T0000001"]
    fresh = Comment(
        key="M99999901",
        ticket_key=t.key,
        author_role="customer",
        author_email=t.requester_email,
        author_name="Pat",
        public=True,
        body="just now",
        html_body="<p>just now</p>",
        created_at=sb.ctx.book.now - timedelta(seconds=30),
    )
    t.comments.append(fresh)
    t.updated_at = fresh.created_at
    ids = {c["id"] for c in comment_children(events_page(sb, 0, include="comment_events"))}
    assert zsb.comment_id(fresh.key) not in ids
    sb.ctx.book.now += timedelta(minutes=2)
    ids = {c["id"] for c in comment_children(events_page(sb, 0, include="comment_events"))}
    assert zsb.comment_id(fresh.key) in ids


def test_agent_list_filters_by_role(sb: Sandbox) -> None:
    """`users(role=["agent", "admin"])` sends `role[]=agent&role[]=admin`; only agents come back (CBP)."""
    agents = list(zenpy(sb).users(role=["agent", "admin"], cursor_pagination=True))
    assert {u.role for u in agents} == {"agent"}
    assert sb.ctx.counters.get("zendesk", "GET /api/v2/users.json") == 1
    page = events_page(sb, 0, include="comment_events")
    agent_ids = {u.id for u in agents}
    book = book_comments(sb)
    for child in comment_children(page):
        assert (child["author_id"] in agent_ids) == (book[child["id"]].author_role == "agent")
    everyone = list(zenpy(sb).users(cursor_pagination=True))
    assert {u.role for u in everyone} == {"agent", "end-user"}


def test_cached_pages_follow_in_place_edits(sb: Sandbox) -> None:
    """Pages are rendered from a cache; editing the book in place (as ticks and tests do) shows at once."""
    zd = zenpy(sb)
    before = {t.id: t.subject for t in zd.tickets.incremental(start_time=0)}
    t = sb.ctx.book.tickets["T0000001"]
    t.subject = "Renamed without a new updated_at"
    after = {t.id: t.subject for t in zd.tickets.incremental(start_time=0)}
    assert after[zsb.ticket_id("T0000001")] == "Renamed without a new updated_at"
    assert {k: v for k, v in after.items() if k != zsb.ticket_id("T0000001")} == {
        k: v for k, v in before.items() if k != zsb.ticket_id("T0000001")
    }
    del sb.ctx.book.tickets["T0000002"]
    gone = {t.id for t in zd.tickets.incremental(start_time=0)}
    assert zsb.ticket_id("T0000002") not in gone
    ids = {e["ticket_id"] for e in events_page(sb, 0, include="comment_events")["ticket_events"]}
    assert zsb.ticket_id("T0000002") not in ids


def test_comments_of_a_ticket_found_by_id_after_a_new_book(sb: Sandbox) -> None:
    """The per-ticket endpoint uses the cached id index; a swapped book must not answer from the old one."""
    tid = zsb.ticket_id("T0000005")
    assert len(list(zenpy(sb).tickets.comments(ticket=tid))) == 2
    reset(sb, build_book(customers=3, tickets=4))
    with pytest.raises(APIException):
        list(zenpy(sb).tickets.comments(ticket=tid))


def test_cached_ratings_follow_in_place_edits_and_page_once_each(sb: Sandbox) -> None:
    zd = zenpy(sb)
    paged = [r.id for r in zd.satisfaction_ratings(cursor_pagination=1)]
    assert sorted(paged) == sorted(zsb.rating_id(k) for k in sb.ctx.book.surveys)
    assert sb.ctx.counters.get("zendesk", "GET /api/v2/satisfaction_ratings") == len(paged)
    good = next(s for s in sb.ctx.book.surveys.values() if s.score == 5)
    good.score = 1
    scores = {r.id: r.score for r in zd.satisfaction_ratings()}
    assert scores[zsb.rating_id(good.key)] == "bad"
