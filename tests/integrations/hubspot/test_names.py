"""Names people read: company owners from the owners API, deal stage labels from the pipelines API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from integrations.base import Stream
from integrations.oauth import TokenSet
from integrations.records import AccountRecord, DealRecord
from integrations.sandbox import hubspot as hs
from integrations.sandbox.book import Book
from integrations.sandbox.hubspot.names_api import DEAL_PIPELINE
from tests.integrations.hubspot.book_factory import make_book
from tests.integrations.hubspot.conftest import Harness


def _records(h: Harness, stream: Stream, **kw: object) -> list[object]:
    return [r for p in h.adapter(**kw).read(stream, None) for r in p.records]


def test_company_owner_is_a_name_with_an_email(make_harness: Callable[[Book], Harness]) -> None:
    book = make_book(customers=3)
    h = make_harness(book)
    accounts = [r for r in _records(h, Stream.ACCOUNTS) if isinstance(r, AccountRecord)]
    owners = {c.owner for c in book.customers.values()}
    assert accounts
    for acc in accounts:
        assert acc.owner in owners  # "Ada Example", not "86922"
        assert acc.owner_email == acc.owner.lower().replace(" ", ".") + "@sandbox-crm.example"
    assert h.calls("GET /crm/v3/owners*") == 1


def test_deal_stage_has_its_pipeline_label(make_harness: Callable[[Book], Harness]) -> None:
    h = make_harness(make_book(customers=3))
    deals = [r for r in _records(h, Stream.DEALS) if isinstance(r, DealRecord)]
    assert deals
    labels = {label for label, _ in DEAL_PIPELINE.values()}
    for deal in deals:
        assert deal.stage in DEAL_PIPELINE  # the id stays for the scoring signals
        assert deal.stage_label in labels
    assert h.calls("GET /crm/v3/pipelines/*") == 1


def test_without_the_owners_scope_ids_stay_and_nothing_breaks(
    make_harness: Callable[[Book], Harness],
) -> None:
    h = make_harness(make_book(customers=2))
    now = h.ctx.now
    scopes = tuple(s for s in hs.DEFAULT_SCOPES if s != "crm.objects.owners.read")
    body = hs.issue_tokens(h.served.state, now, scopes)
    tokens = TokenSet(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        expires_at=now + timedelta(seconds=body["expires_in"]),
    )
    accounts = [r for r in _records(h, Stream.ACCOUNTS, tokens=tokens) if isinstance(r, AccountRecord)]
    assert accounts
    assert all(a.owner and a.owner.isdigit() and a.owner_email is None for a in accounts)
