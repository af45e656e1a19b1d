"""The link step on a real store: organization links are rows, human decisions stick, tickets follow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from connector.pipeline import link as linking
from connector.store import models as m
from tests.connector import builders as b


def _link(s: Session, tenant_id: int, org_id: int) -> m.AccountLink:
    row = s.scalar(
        select(m.AccountLink).where(
            m.AccountLink.tenant_id == tenant_id, m.AccountLink.source_account_id == org_id
        )
    )
    assert row is not None
    return row


def _ticket(s: Session, tenant_id: int, ext: str, vendor: str = "zendesk") -> tuple[int | None, str | None]:
    t = b.ticket_row(s, tenant_id, ext, vendor)
    return t.crm_account_id, t.link_method


def test_tickets_link_via_org_requester_domain_and_natively(db_url: str) -> None:
    """Zendesk tickets follow their organization's link; an unmatched org's tickets fall back to the
    requester's e-mail domain; Salesforce Cases name their Account directly."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        acme = b.crm_account(s, t, "001A", "Acme Inc", domains=("acme.com",))
        globex = b.crm_account(s, t, "001B", "Globex", domains=("globex.de",))
        b.org(s, t, "900", "ACME", domains=("www.acme.com",))
        b.org(s, t, "901", "Some Reseller")  # no rule matches
        b.ticket(s, t, "T1", "900", requester_email="x@gmail.com")
        b.ticket(s, t, "T2", "901", requester_email="ops@globex.de")
        b.ticket(s, t, "T3", "901", requester_email="someone@gmail.com")
        b.ticket(s, t, "T4", None, requester_email="jane@acme.com")
        b.ticket(s, t, "500A", "001B", vendor="salesforce")
        b.ticket(s, t, "500B", "001Z", vendor="salesforce")  # names an account we do not have
        report = linking.link_tenant(s, t)
    with b.session(db_url) as s:
        assert _ticket(s, t, "T1") == (acme, "org:domain")
        assert _ticket(s, t, "T2") == (globex, "requester_domain")
        assert _ticket(s, t, "T3") == (None, "unmatched")
        assert _ticket(s, t, "T4") == (acme, "requester_domain")
        assert _ticket(s, t, "500A", "salesforce") == (globex, "native")
        assert _ticket(s, t, "500B", "salesforce") == (None, "unmatched")
    assert (report.organizations, report.organizations_linked) == (2, 1)
    assert (report.tickets_total, report.tickets_linked) == (6, 4)
    assert report.by_method == {"org:domain": 1, "requester_domain": 2, "unmatched": 2, "native": 1}
    assert report.unmatched == [
        {"organization": "Some Reseller", "external_id": "901", "reason": "no rule matched"}
    ]


def test_link_rows_record_method_confidence_and_status(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        acme = b.crm_account(s, t, "001A", "Acme Inc", domains=("acme.com",))
        by_id = b.org(s, t, "900", "Whatever", cross_ref="001A")
        by_name = b.org(s, t, "901", "ACME Incorporated")
        ambiguous = b.org(s, t, "902", "Shared", domains=("gmail.com",))
        linking.link_tenant(s, t)
        got = {
            o: (_link(s, t, o).crm_account_id, _link(s, t, o).method, _link(s, t, o).status)
            for o in (by_id, by_name, ambiguous)
        }
        assert "free-mail" in (_link(s, t, ambiguous).reason or "")
    assert got == {
        by_id: (acme, "external_id", "auto"),
        by_name: (acme, "name", "auto"),
        ambiguous: (None, "unmatched", "review"),
    }


def test_human_override_sticks_across_relinks_and_renames(db_url: str) -> None:
    """A person moved the org to another account: later passes, renames and new evidence never undo it."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.crm_account(s, t, "001A", "Acme", domains=("acme.com",))
        other = b.crm_account(s, t, "001B", "Acme Europe")
        org = b.org(s, t, "900", "Acme", domains=("acme.com",))
        b.ticket(s, t, "T1", "900")
        linking.link_tenant(s, t)
        link = linking.confirm_link(s, t, org, other, actor="jane@tenant.test")
        assert (link.method, link.status, link.confirmed_by) == ("manual", "confirmed", "jane@tenant.test")
    with b.session(db_url) as s:
        b.org(s, t, "900", "Acme Renamed GmbH", domains=("acme.com",), cross_ref="001A")
        linking.link_tenant(s, t)
        linking.link_tenant(s, t)
    with b.session(db_url) as s:
        link = _link(s, t, org)
        assert (link.crm_account_id, link.method, link.status) == (other, "manual", "confirmed")
        assert _ticket(s, t, "T1") == (other, "org:manual")


def test_explicit_unlink_sticks(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.crm_account(s, t, "001A", "Acme", domains=("acme.com",))
        org = b.org(s, t, "900", "Acme", domains=("acme.com",))
        linking.link_tenant(s, t)
        linking.confirm_link(s, t, org, None, actor="jane@tenant.test")
        linking.link_tenant(s, t)
        link = _link(s, t, org)
        assert (link.crm_account_id, link.status) == (None, "confirmed")


def test_confirmed_link_survives_a_rename_of_the_org(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        acme = b.crm_account(s, t, "001A", "Acme")
        org = b.org(s, t, "900", "Acme")
        linking.link_tenant(s, t)
        linking.confirm_link(s, t, org, acme, actor="jane@tenant.test")
    with b.session(db_url) as s:
        b.org(s, t, "900", "Totally Different Name")
        report = linking.link_tenant(s, t)
        assert (_link(s, t, org).crm_account_id, _link(s, t, org).status) == (acme, "confirmed")
    assert report.organizations_linked == 1


def test_auto_link_survives_a_rename_in_one_system(db_url: str) -> None:
    """Customers get renamed in one system only (a rebrand typed into Zendesk): with no rule matching any
    more, the previous automatic link is kept rather than dropping the org's tickets."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        acme = b.crm_account(s, t, "001A", "Acme Inc")
        org = b.org(s, t, "900", "ACME")
        b.ticket(s, t, "T1", "900")
        linking.link_tenant(s, t)
    with b.session(db_url) as s:
        b.org(s, t, "900", "Acme Rebranded As Roadrunner")
        linking.link_tenant(s, t)
    with b.session(db_url) as s:
        link = _link(s, t, org)
        assert (link.crm_account_id, link.method, link.status) == (acme, "name", "auto")
        assert _ticket(s, t, "T1") == (acme, "org:name")


def test_new_evidence_moves_an_auto_link(db_url: str) -> None:
    """An automatic link is not a human decision: a stronger rule that now matches wins."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.crm_account(s, t, "001A", "Acme")
        beta = b.crm_account(s, t, "001B", "Beta")
        org = b.org(s, t, "900", "Acme")
        b.ticket(s, t, "T1", "900")
        linking.link_tenant(s, t)
        assert _ticket(s, t, "T1")[1] == "org:name"
        b.org(s, t, "900", "Acme", cross_ref="001B")
        linking.link_tenant(s, t)
        assert (_link(s, t, org).crm_account_id, _link(s, t, org).method) == (beta, "external_id")
        # the tickets follow in the same run, labelled with the link's new method (read after the change)
        assert _ticket(s, t, "T1") == (beta, "org:external_id")


def test_deleted_orgs_and_accounts_are_left_out(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        acme = b.crm_account(s, t, "001A", "Acme", domains=("acme.com",))
        b.crm_account(s, t, "001B", "Gone Corp", domains=("gone.com",), deleted=True)
        b.org(s, t, "900", "Acme", domains=("acme.com",), deleted=True)
        b.org(s, t, "901", "Gone Corp")
        b.ticket(s, t, "T1", "900", requester_email="bob@acme.com")
        report = linking.link_tenant(s, t)
        assert report.organizations == 1  # only the live org 901
        assert report.unmatched[0]["external_id"] == "901"  # the deleted CRM account is no candidate
        # The deleted org does not link its tickets; the requester's domain still can.
        assert _ticket(s, t, "T1") == (acme, "requester_domain")


def test_linking_is_tenant_scoped(db_url: str) -> None:
    """Identical vendor ids in two tenants: linking one never touches the other's rows."""
    with b.session(db_url) as s:
        ta, tb = b.tenant(s, "alpha"), b.tenant(s, "beta")
        for t in (ta, tb):
            b.crm_account(s, t, "001A", "Acme", domains=("acme.com",))
            b.org(s, t, "900", "Acme", domains=("acme.com",))
            b.ticket(s, t, "T1", "900")
        linking.link_tenant(s, ta)
        acme_a = b.account_row(s, ta, "salesforce", "001A").id
        acme_b = b.account_row(s, tb, "salesforce", "001A").id
        org_b = b.account_row(s, tb, "zendesk", "900").id
        assert _ticket(s, ta, "T1") == (acme_a, "org:domain")
        assert _ticket(s, tb, "T1") == (None, None)
        assert s.scalars(select(m.AccountLink).where(m.AccountLink.tenant_id == tb)).all() == []
        with pytest.raises(LookupError):
            linking.confirm_link(s, ta, org_b, acme_a, actor="x")
        linking.link_tenant(s, tb)
        with pytest.raises(LookupError, match="not found in this tenant"):
            linking.confirm_link(s, tb, org_b, acme_a, actor="x")
        assert _link(s, tb, org_b).crm_account_id == acme_b


def test_no_crm_installed_links_nothing(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s, crm=None)
        b.org(s, t, "900", "Acme")
        report = linking.link_tenant(s, t)
    assert (report.organizations, report.tickets_total) == (0, 0)


def test_the_crm_accounts_are_read_as_columns_not_loaded_as_objects(db_url: str) -> None:
    """Issue 17: every pass matched against the tenant's CRM accounts loaded as ORM objects (each with its
    JSON columns and instrumented state), ~30 % of the link step at 2,000 accounts (py-spy); the matcher
    reads five columns. The links it makes are the same (the tests above)."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        acme = b.crm_account(s, t, "001A", "Acme Inc", domains=("acme.com",))
        b.crm_account(s, t, "001B", "Globex", domains=("globex.de",))
        org = b.org(s, t, "900", "ACME", domains=("www.acme.com",))
        b.ticket(s, t, "T1", "900")
    with _accounts_loaded() as loaded, b.session(db_url) as s:
        linking.link_tenant(s, t)
    assert "salesforce" not in loaded
    with b.session(db_url) as s:
        assert _link(s, t, org).crm_account_id == acme
        assert _ticket(s, t, "T1") == (acme, "org:domain")


def test_a_relink_with_nothing_changed_writes_no_link_row(db_url: str) -> None:
    """Issue 17: every pass re-matches every organization; an unchanged match rewrote its link row anyway
    (a new updated_at), an UPDATE per organization and pass (~8,000 per tenant at 10,000 accounts). Now
    only a link whose account, method, confidence, status or reason changed is written, and updated_at
    says when that happened; a change still moves it."""
    from datetime import timedelta

    from sqlalchemy import event

    from connector.store.db import get_engine

    with b.session(db_url) as s:
        t = b.tenant(s)
        b.crm_account(s, t, "001A", "Acme")
        beta = b.crm_account(s, t, "001B", "Beta")
        kept = b.org(s, t, "900", "Acme")
        moved = b.org(s, t, "901", "Beta Ltd", domains=("beta.test",))
        linking.link_tenant(s, t)
    with b.session(db_url) as s:
        for org in (kept, moved):  # as if linked a day ago
            _link(s, t, org).updated_at -= timedelta(days=1)
        before = {org: _link(s, t, org).updated_at for org in (kept, moved)}
    updates: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE ACCOUNT_LINKS"):
            updates.append(statement)

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with b.session(db_url) as s:
            linking.link_tenant(s, t)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert updates == []
    with b.session(db_url) as s:
        assert {org: _link(s, t, org).updated_at for org in (kept, moved)} == before
        b.org(s, t, "901", "Beta Ltd", cross_ref="001B")  # new evidence: external id
        linking.link_tenant(s, t)
    with b.session(db_url) as s:
        link = _link(s, t, moved)
        assert (link.crm_account_id, link.method) == (beta, "external_id")
        assert link.updated_at > before[moved]
        assert _link(s, t, kept).updated_at == before[kept]


def test_the_tickets_are_read_on_the_connection_not_through_the_orm(db_url: str) -> None:
    """Issue 17: the link step reads every ticket of the tenant each pass; through session.execute each row
    went through the ORM's per-row loading (~27 % of the step's CPU on a 400-account store, 8,400
    tickets). It reads them on the session's connection, after the links it just made were flushed, and
    links the same tickets (the tests above)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session as OrmSession

    orm_ticket_reads: list[str] = []

    def on_execute(state: object) -> None:
        statement = getattr(state, "statement", None)
        froms = statement.get_final_froms() if getattr(state, "is_select", False) else []
        if any(getattr(f, "name", None) == "tickets" for f in froms):
            orm_ticket_reads.append(str(statement))

    with b.session(db_url) as s:
        t = b.tenant(s)
        acme = b.crm_account(s, t, "001A", "Acme Inc", domains=("acme.com",))
        b.org(s, t, "900", "ACME", domains=("www.acme.com",))  # a new link, pending when tickets are read
        b.ticket(s, t, "T1", "900")
        b.ticket(s, t, "C1", "001A", vendor="salesforce")
    event.listen(OrmSession, "do_orm_execute", on_execute)
    try:
        with b.session(db_url) as s:
            report = linking.link_tenant(s, t)
    finally:
        event.remove(OrmSession, "do_orm_execute", on_execute)
    assert orm_ticket_reads == []
    assert (report.tickets_total, report.tickets_linked) == (2, 2)
    with b.session(db_url) as s:
        assert _ticket(s, t, "T1") == (acme, "org:domain")
        assert _ticket(s, t, "C1", "salesforce") == (acme, "native")


def test_the_organizations_are_read_as_columns_not_loaded_as_objects(db_url: str) -> None:
    """Issue 17: like the CRM accounts, the organizations were loaded as ORM objects every pass (every
    column, the JSON ones decoded, instrumented state; ~8,000 per tenant at 10,000 accounts) for the six
    columns the matcher and the report read. No Account is loaded now, and the links and the report's
    unmatched list are what they were."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        acme = b.crm_account(s, t, "001A", "Acme Inc", domains=("acme.com",))
        org = b.org(s, t, "900", "ACME", domains=("www.acme.com",))
        lost = b.org(s, t, "901", "Nobody Knows Ltd")
        b.ticket(s, t, "T1", "900")
    with _accounts_loaded() as loaded, b.session(db_url) as s:
        report = linking.link_tenant(s, t)
    assert loaded == []
    assert (report.organizations, report.organizations_linked) == (2, 1)
    assert [u["external_id"] for u in report.unmatched] == ["901"]
    assert report.unmatched[0]["organization"] == "Nobody Knows Ltd"
    with b.session(db_url) as s:
        assert _link(s, t, org).crm_account_id == acme
        assert _link(s, t, lost).crm_account_id is None
        assert _ticket(s, t, "T1") == (acme, "org:domain")


@contextmanager
def _accounts_loaded() -> Iterator[list[str]]:
    """The vendor of every Account the ORM loads inside the block (the link step should load none)."""
    loaded: list[str] = []

    def on_load(target: m.Account, _context: object) -> None:
        loaded.append(target.vendor)

    event.listen(m.Account, "load", on_load)
    try:
        yield loaded
    finally:
        event.remove(m.Account, "load", on_load)
