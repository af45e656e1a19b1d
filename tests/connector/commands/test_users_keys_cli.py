"""`healthscore users remove` and `users set-role` (security audit 11, item D): removing or demoting someone
from the command line revokes the API keys they created that need more than they keep, audits each, and
prints which; another admin's and another workspace's keys keep working."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from connector.cli import main
from connector.installs import users as auth
from connector.store import models as m
from tests.connector import builders as b


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, target)
    url = f"sqlite:///{target}"
    with b.session(url) as s:
        tid = b.tenant(s, "northwind")
        other = b.tenant(s, "globex")
        ann = auth.create_user(s, tid, "ann@northwind.test", "admin", password=None, name="Ann")
        bob = auth.create_user(s, tid, "bob@northwind.test", "admin", password=None, name="Bob")
        gus = auth.create_user(s, other, "gus@globex.test", "admin", password=None)
        auth.create_api_key(s, tid, "ann admin", "admin", created_by=ann.id)
        auth.create_api_key(s, tid, "ann read", "read", created_by=ann.id)
        auth.create_api_key(s, tid, "bob admin", "admin", created_by=bob.id)
        auth.create_api_key(s, other, "gus admin", "admin", created_by=gus.id)
    return url


def _live(url: str) -> set[str]:
    with b.session(url) as s:
        return {k.name for k in s.scalars(select(m.ApiKey).where(m.ApiKey.revoked_at.is_(None)))}


def _run(url: str, *args: str) -> object:
    return CliRunner().invoke(main, ["users", *args], env={"HEALTHSCORE_DATABASE_URL": url})


def test_set_role_demotes_and_revokes_the_admin_keys_they_made(store: str) -> None:
    result = _run(
        store, "set-role", "--tenant", "northwind", "--email", "ann@northwind.test", "--role", "viewer"
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert "ann@northwind.test is now Viewer" in out
    assert "1 API key they created was revoked: “ann admin”" in out
    assert _live(store) == {"ann read", "bob admin", "gus admin"}
    with b.session(store) as s:
        entry = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "api_key.revoked")).one()
        assert entry.actor == "cli"
        assert "demoted" in entry.detail["reason"]


def test_remove_revokes_every_key_they_made_and_prints_it(store: str) -> None:
    result = _run(store, "remove", "--tenant", "northwind", "--email", "ann@northwind.test", "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["email"] == "ann@northwind.test"
    assert sorted(k["name"] for k in data["revoked_keys"]) == ["ann admin", "ann read"]
    assert _live(store) == {"bob admin", "gus admin"}


def test_the_last_admin_is_refused_and_keeps_their_keys(store: str) -> None:
    assert _run(store, "remove", "--tenant", "northwind", "--email", "bob@northwind.test").exit_code == 0  # type: ignore[attr-defined]
    result = _run(store, "remove", "--tenant", "northwind", "--email", "ann@northwind.test")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "at least one admin" in result.stderr  # type: ignore[attr-defined]
    assert "ann admin" in _live(store)


def test_an_unknown_address_says_so(store: str) -> None:
    result = _run(store, "remove", "--tenant", "globex", "--email", "ann@northwind.test")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "no user ann@northwind.test in globex" in result.stderr  # type: ignore[attr-defined]
    assert len(_live(store)) == 4


def test_removal_and_demotion_revoke_on_both_engines(db_url: str) -> None:
    """The auth layer under the page and the command, on SQLite and PostgreSQL (the foreign key clears
    created_by when the creator's row goes; the revoked keys stay revoked)."""
    with b.session(db_url) as s:
        tid = b.tenant(s, "northwind")
        ann = auth.create_user(s, tid, "ann@northwind.test", "admin", password=None)
        bob = auth.create_user(s, tid, "bob@northwind.test", "admin", password=None)
        auth.create_api_key(s, tid, "ann admin", "admin", created_by=ann.id)
        auth.create_api_key(s, tid, "ann read", "read", created_by=ann.id)
        auth.create_api_key(s, tid, "bob admin", "admin", created_by=bob.id)
        ann_id, bob_id = ann.id, bob.id
    with b.session(db_url) as s:
        user = auth.set_role(s, tid, ann_id, "rep")
        assert [k.name for k in auth.revoke_creator_keys(s, tid, user, "rep", "cli")] == ["ann admin"]
    assert _live(db_url) == {"ann read", "bob admin"}
    with b.session(db_url) as s:
        gone: list[str] = []
        auth.remove_user(
            s,
            tid,
            ann_id,
            before_delete=lambda u: gone.extend(k.name for k in auth.keys_beyond_role(s, tid, u.id, None)),
        )
    assert gone == ["ann read"]
    assert _live(db_url) == {"bob admin"}
    with b.session(db_url) as s:
        assert {k.name: k.created_by for k in s.scalars(select(m.ApiKey))} == {
            "ann admin": None,
            "ann read": None,
            "bob admin": bob_id,
        }
