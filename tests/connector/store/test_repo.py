"""The store: tenant isolation, idempotent upserts with soft deletes, cursors, tokens encrypted at rest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from connector.installs.vault import Vault, VaultError
from connector.pipeline.signals import load_signals
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import get_engine
from integrations import records as r
from integrations.cursors import Cursor
from integrations.oauth import TokenSet
from tests.connector import builders as b
from tests.connector.builders import DAY, T0


def _count(db_url: str, table: type[m.Base], tenant_id: int | None = None) -> int:
    with b.session(db_url) as s:
        stmt = select(func.count()).select_from(table)
        if tenant_id is not None:
            stmt = stmt.where(table.tenant_id == tenant_id)  # type: ignore[attr-defined]
        return int(s.scalar(stmt) or 0)


def _book(name_prefix: str) -> list[r.Record]:
    """The same external ids in every tenant, with a tenant-specific name so leaks are visible."""
    return [
        r.AccountRecord(vendor="salesforce", external_id="001", name=f"{name_prefix} Corp", updated_at=T0),
        r.AccountRecord(vendor="zendesk", external_id="900", name=f"{name_prefix} Org", updated_at=T0),
        r.TicketRecord(
            vendor="zendesk", external_id="T1", account_external_id="900", subject=name_prefix,
            created_at=T0, updated_at=T0,
        ),
        r.CommentRecord(
            vendor="zendesk", external_id="C1", ticket_external_id="T1", author_role="customer",
            body=name_prefix, created_at=T0,
        ),
        r.SurveyRecord(
            vendor="salesforce", external_id="S1", kind="nps", score=9, account_external_id="001",
            responded_at=T0, updated_at=T0,
        ),
        r.DealRecord(
            vendor="salesforce", external_id="D1", account_external_id="001", name=name_prefix, updated_at=T0
        ),
        r.ContactRecord(
            vendor="salesforce", external_id="P1", account_external_id="001", email="x@y.test",
            name=name_prefix, updated_at=T0,
        ),
    ]  # fmt: skip


def test_identical_external_ids_stay_apart_per_tenant(db_url: str, tmp_path: Path) -> None:
    """Two tenants sync the same vendor ids: each store call sees only its own tenant's rows."""
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        ta, tb = b.tenant(s, "alpha"), b.tenant(s, "beta")
        store.upsert_records(s, ta, _book("Alpha"))
        store.upsert_records(s, tb, _book("Beta"))
        ia, ib = b.installation(s, vault, ta), b.installation(s, vault, tb)
        store.save_cursor(s, ta, ia.id, "accounts", Cursor(watermark=T0, token="alpha"))
        store.save_cursor(s, tb, ib.id, "accounts", Cursor(watermark=T0, token="beta"))
        ia_id, ib_id = ia.id, ib.id
    for table in (m.Account, m.Ticket, m.TicketComment, m.SurveyResponse, m.Deal, m.Contact):
        assert _count(db_url, table, ta) == _count(db_url, table, tb) > 0, table.__name__
    with b.session(db_url) as s:
        assert b.account_row(s, ta, "salesforce", "001").name == "Alpha Corp"
        assert b.account_row(s, tb, "salesforce", "001").name == "Beta Corp"
        assert b.ticket_row(s, tb, "T1").subject == "Beta"
        assert [i.id for i in store.installations(s, ta)] == [ia_id]
        assert store.installations(s, ta, "zendesk") == []
        # A cursor lookup with the other tenant's installation id finds nothing.
        assert store.get_cursor(s, ta, ib_id, "accounts") is None
        assert store.get_cursor(s, ta, ia_id, "accounts") == Cursor(watermark=T0, token="alpha")
        store.clear_cursors(s, ta, ib_id)  # wrong tenant: must not touch beta's cursor
        assert store.get_cursor(s, tb, ib_id, "accounts") == Cursor(watermark=T0, token="beta")
        signals_a = load_signals(s, ta, T0 + DAY)
        assert [sig.account_id for sig in signals_a] == [str(b.account_row(s, ta, "salesforce", "001").id)]


def test_mark_installation_and_tokens_are_tenant_scoped(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        ta, tb = b.tenant(s, "alpha"), b.tenant(s, "beta")
        ib = b.installation(s, vault, tb).id
        before = b.installation(s, vault, tb).tokens_enc
    store.mark_installation(db_url, ta, ib, status="reconnect", error="nope")
    store.save_tokens(db_url, vault, ta, ib, TokenSet(access_token="stolen"))
    with b.session(db_url) as s:
        inst = s.get(m.Installation, ib)
        assert inst is not None
        assert (inst.status, inst.last_error, inst.tokens_enc) == ("connected", None, before)
    store.mark_installation(db_url, tb, ib, status="reconnect", error="token revoked", synced=True)
    with b.session(db_url) as s:
        inst = s.get(m.Installation, ib)
        assert inst is not None
        assert (inst.status, inst.last_error) == ("reconnect", "token revoked")
        assert inst.last_sync_at is not None


def test_finish_run_is_tenant_scoped(db_url: str) -> None:
    with b.session(db_url) as s:
        ta, tb = b.tenant(s, "alpha"), b.tenant(s, "beta")
        run_id = store.start_run(s, tb, "pass").run_id
    store.finish_run(db_url, ta, run_id, "ok", {"leak": True})
    with b.session(db_url) as s:
        run = s.scalar(select(m.Run).where(m.Run.run_id == run_id))
        assert run is not None
        assert (run.status, run.report) == ("running", {})


def test_reupserting_an_overlap_window_does_not_duplicate(db_url: str) -> None:
    """Adapters re-read a small overlap every run: the same records twice are one row each."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        first = store.upsert_records(s, t, _book("Alpha"))
    with b.session(db_url) as s:
        again = store.upsert_records(s, t, _book("Alpha"))
    assert first == again == {"upserted": 7, "deleted": 0}
    for table in (m.Account, m.Ticket, m.TicketComment, m.SurveyResponse, m.Deal, m.Contact):
        assert _count(db_url, table, t) == (2 if table is m.Account else 1), table.__name__


def test_later_version_of_a_record_wins_and_duplicates_in_one_page_collapse(db_url: str) -> None:
    old = r.AccountRecord(vendor="salesforce", external_id="001", name="Old", updated_at=T0)
    new = r.AccountRecord(vendor="salesforce", external_id="001", name="New", updated_at=T0 + DAY)
    with b.session(db_url) as s:
        t = b.tenant(s)
        store.upsert_records(s, t, [old, new])
        assert b.account_row(s, t, "salesforce", "001").name == "New"
    assert _count(db_url, m.Account) == 1


def test_resync_keeps_link_and_sentiment_of_a_ticket(db_url: str) -> None:
    """Later steps own crm_account_id, link_method and sentiment_*: a re-sync must not erase them."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        acc = b.crm_account(s, t, "001")
        b.ticket(s, t, "T1", "900", subject="first")
        row = b.ticket_row(s, t, "T1")
        row.crm_account_id, row.link_method = acc, "org:domain"
        row.sentiment_label, row.sentiment_score, row.sentiment_hash = "negative", -0.8, "h"
    with b.session(db_url) as s:
        b.ticket(s, t, "T1", "900", subject="first", status="pending")  # re-read: same text
    with b.session(db_url) as s:
        row = b.ticket_row(s, t, "T1")
        assert (row.crm_account_id, row.link_method) == (acc, "org:domain")
        assert (row.sentiment_label, row.sentiment_score, row.sentiment_hash) == ("negative", -0.8, "h")
    with b.session(db_url) as s:
        b.ticket(s, t, "T1", "900", subject="edited", created=T0)
    with b.session(db_url) as s:
        row = b.ticket_row(s, t, "T1")
        assert row.subject == "edited"
        assert (row.crm_account_id, row.link_method) == (acc, "org:domain")
        # The judgement stays on show; the hash goes, so the sentiment step judges the new text.
        assert (row.sentiment_label, row.sentiment_score, row.sentiment_hash) == ("negative", -0.8, None)


def test_deleted_records_are_soft_deleted_and_not_scored(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.crm_account(s, t, "001")
        b.crm_account(s, t, "002")
    with b.session(db_url) as s:
        counts = store.upsert_records(
            s,
            t,
            [r.AccountRecord(vendor="salesforce", external_id="002", name="", updated_at=T0, deleted=True)],
        )
    assert counts == {"upserted": 0, "deleted": 1}
    with b.session(db_url) as s:
        gone = b.account_row(s, t, "salesforce", "002")
        assert gone.deleted_at is not None  # the row stays (history, links) but is marked
        kept = b.account_row(s, t, "salesforce", "001").id
        # Scored "now" and also at a moment earlier than the sync that saw the delete: still excluded.
        for as_of in (store.utcnow(), T0 - 10 * DAY):
            assert [sig.account_id for sig in load_signals(s, t, as_of)] == [str(kept)]


def test_a_delete_read_again_keeps_its_first_stamp(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.crm_account(s, t, "001", deleted=True)
    with b.session(db_url) as s:
        first = b.account_row(s, t, "salesforce", "001").deleted_at
    with b.session(db_url) as s:
        b.crm_account(s, t, "001", deleted=True)  # the next run's overlap window
    with b.session(db_url) as s:
        assert first is not None
        assert b.account_row(s, t, "salesforce", "001").deleted_at == first


def test_a_restored_record_is_live_again(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.crm_account(s, t, "001", deleted=True)
        b.crm_account(s, t, "001")
        assert b.account_row(s, t, "salesforce", "001").deleted_at is None


def test_cursors_saved_loaded_and_replaced(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        inst = b.installation(s, vault, t, "zendesk").id
        assert store.get_cursor(s, t, inst, "tickets") is None
        store.save_cursor(s, t, inst, "tickets", Cursor(watermark=T0, token="abc"))
    with b.session(db_url) as s:
        assert store.get_cursor(s, t, inst, "tickets") == Cursor(watermark=T0, token="abc")
        assert store.get_cursor(s, t, inst, "comments") is None
        store.save_cursor(s, t, inst, "tickets", Cursor(watermark=T0 + DAY, token=None))
    with b.session(db_url) as s:
        assert store.get_cursor(s, t, inst, "tickets") == Cursor(watermark=T0 + DAY, token=None)
        store.clear_cursors(s, t, inst)
    with b.session(db_url) as s:
        assert store.get_cursor(s, t, inst, "tickets") is None
    assert _count(db_url, m.SyncCursor) == 0


def _raw_installation(db_url: str) -> str:
    """Every stored column of the installations table as text, read without the ORM."""
    with get_engine(db_url).connect() as conn:
        return repr(conn.execute(text("SELECT * FROM installations")).all())


def test_tokens_and_client_secret_are_encrypted_at_rest(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        inst = b.installation(s, vault, t)
        inst_id = inst.id
    raw = _raw_installation(db_url)
    for secret in (b.ACCESS_TOKEN, b.REFRESH_TOKEN, b.CLIENT_SECRET):
        assert secret not in raw
    with b.session(db_url) as s:
        row = s.get(m.Installation, inst_id)
        assert row is not None
        assert row.tokens_enc is not None
        tokens = store.token_from_dict(vault.decrypt_json(row.tokens_enc))
        assert (tokens.access_token, tokens.refresh_token) == (b.ACCESS_TOKEN, b.REFRESH_TOKEN)
        assert tokens.expires_at == T0 + timedelta(hours=1)
        assert vault.decrypt(row.client_secret_enc) == b.CLIENT_SECRET
    rotated = TokenSet(access_token="rotated-SECRET-token", refresh_token="rotated-SECRET-refresh")
    store.save_tokens(db_url, vault, t, inst_id, rotated)
    raw = _raw_installation(db_url)
    assert "rotated-SECRET" not in raw
    with b.session(db_url) as s:
        row = s.get(m.Installation, inst_id)
        assert row is not None
        assert row.tokens_enc is not None
        assert store.token_from_dict(vault.decrypt_json(row.tokens_enc)) == rotated


def test_reconnecting_updates_the_one_installation(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        first = b.installation(s, vault, t).id
    store.mark_installation(db_url, t, first, status="reconnect", error="revoked")
    with b.session(db_url) as s:
        again = b.installation(s, vault, t)
        assert (again.id, again.status, again.last_error) == (first, "connected", None)
    assert _count(db_url, m.Installation) == 1


def test_rotate_secrets_after_adding_a_new_key_first(db_url: str, tmp_path: Path) -> None:
    """Operators add the new key in front of token_keys (old still listed), rotate, then drop the old."""
    from connector.admin.webhooks import add_endpoint

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_settings = b.settings_for(db_url, tmp_path, old_key)
    vault = Vault(old_settings)
    with b.session(db_url) as s:
        t = b.tenant(s)
        inst = b.installation(s, vault, t)
        inst.webhook_secret_enc = vault.encrypt("inbound-SECRET")
        _, whsec = add_endpoint(s, vault, t, "http://127.0.0.1:9/hook", allow_private=True)
    both = b.settings_for(db_url, tmp_path, new_key, old_key)
    assert store.rotate_secrets(both) == 4  # client secret, tokens, inbound secret, endpoint secrets
    new_only = Vault(b.settings_for(db_url, tmp_path, new_key))
    with b.session(db_url) as s:
        inst = s.scalars(select(m.Installation)).one()
        ep = s.scalars(select(m.WebhookEndpoint)).one()
        assert new_only.decrypt(inst.client_secret_enc) == b.CLIENT_SECRET
        assert inst.tokens_enc is not None
        assert inst.webhook_secret_enc is not None
        assert store.token_from_dict(new_only.decrypt_json(inst.tokens_enc)).access_token == b.ACCESS_TOKEN
        assert new_only.decrypt(inst.webhook_secret_enc) == "inbound-SECRET"
        assert new_only.decrypt_json(ep.secrets_enc) == [whsec]
        with pytest.raises(VaultError, match="HEALTHSCORE_TOKEN_KEYS"):
            Vault(b.settings_for(db_url, tmp_path, old_key)).decrypt(inst.client_secret_enc)


def test_rotate_secrets_without_the_old_key_fails_and_changes_nothing(db_url: str, tmp_path: Path) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    vault = Vault(b.settings_for(db_url, tmp_path, old_key))
    with b.session(db_url) as s:
        b.installation(s, vault, b.tenant(s))
    before = _raw_installation(db_url)
    with pytest.raises(VaultError):
        store.rotate_secrets(b.settings_for(db_url, tmp_path, new_key))
    assert _raw_installation(db_url) == before


def test_new_comments_clear_only_a_judged_tickets_hash(db_url: str) -> None:
    """A new comment sends its ticket to be judged again by clearing its hash; a ticket not judged yet
    (no hash: every ticket of a first sync) is not rewritten at all."""
    from sqlalchemy import event

    with b.session(db_url) as s:
        t = b.tenant(s)
        for ext in ("T1", "T2", "T3"):
            b.ticket(s, t, ext, "900")
        b.ticket_row(s, t, "T1").sentiment_hash = "h1"
        b.ticket_row(s, t, "T3").sentiment_hash = "h3"
    cleared: list[int] = []

    def rows(conn: object, cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE tickets SET sentiment_hash"):
            cleared.append(cursor.rowcount)  # type: ignore[attr-defined]

    engine = get_engine(db_url)
    event.listen(engine, "after_cursor_execute", rows)
    try:
        with b.session(db_url) as s:
            b.comment(s, t, "C1", "T1", "still broken")
            b.comment(s, t, "C2", "T2", "hello")
    finally:
        event.remove(engine, "after_cursor_execute", rows)
    with b.session(db_url) as s:
        hashes = {ext: b.ticket_row(s, t, ext).sentiment_hash for ext in ("T1", "T2", "T3")}
    assert hashes == {"T1": None, "T2": None, "T3": "h3"}
    assert sum(cleared) == 1  # T1 only: T2 had no hash to clear
