"""Double-submit races (a double click, a retried POST at the same instant): the play and API key
duplicate checks run before the insert, so two requests that both ran the check before either inserted
both saved. Migration 0012's unique indexes make it a database guarantee; the request that loses the race
gets the answer the check gives (the page's notice, a 400, the API's 422 problem), never a 500.

Each test holds both requests right after their duplicate check (a barrier) so that both pass it before
either writes, on SQLite and PostgreSQL. On the old code both requests saved a row."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from connector import create_app
from connector.admin import plays as actions
from connector.installs import users as auth
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, bearer, sign_in_as

NEW = {"name": "Enterprise enters red", "to_band": "red", "segments": ["enterprise"], "due_days": 2,
       "next_step": "Call the sponsor", "on_recovery": "leave"}  # fmt: skip


@pytest.fixture
def app(db_url: str, settings_overrides: dict[str, object]) -> Any:
    """The app on each engine in turn (the web conftest's app is SQLite only)."""
    application = create_app({**settings_overrides, "database_url": db_url})
    application.config["WTF_CSRF_ENABLED"] = False
    return application


@pytest.fixture(autouse=True)
def _default_model(app: Any, tenants: dict[str, TenantData]) -> None:
    """The workspace's default scoring model exists before the race: a workspace's first requests at the
    same instant also race to store it (a race of its own, not the one tested here)."""
    from connector.pipeline.score import current_model

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as s:
        current_model(s, tenants["acme"].id)


def _held_after(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, *, when: Callable[[Any], bool]
) -> None:
    """Make `module.name` wait, after it ran, until the other request ran it too (when `when(result)`):
    both requests pass the check before either writes. A check that finds the twin (the loser's second
    look) does not wait."""
    real = getattr(module, name)
    barrier = threading.Barrier(2, timeout=10)

    def held(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if when(result):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return result

    monkeypatch.setattr(module, name, held)


def _at_once(*calls: Callable[[], Any]) -> list[Any]:
    out: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            out[i] = call()
        except BaseException as exc:  # noqa: BLE001 - raised below, in the test's thread
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for result in out:
        if isinstance(result, BaseException):
            raise result
    return out


def _count(app: Any, model: Any, tenant_id: int, key: str, **extra: Any) -> int:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as s:
        stmt = (
            select(func.count()).select_from(model).where(model.tenant_id == tenant_id, model.name_key == key)
        )
        for column, value in extra.items():
            stmt = stmt.where(getattr(model, column) == value)
        return int(s.scalar(stmt) or 0)


def _admin_clients(app: Any, tenant: TenantData) -> tuple[Any, Any]:
    one, two = app.test_client(), app.test_client()
    sign_in_as(one, tenant, "admin")
    sign_in_as(two, tenant, "admin")
    return one, two


def test_two_api_creates_at_once_make_one_play_and_a_422(
    app: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = bearer(tenants["acme"].admin_key)
    _held_after(monkeypatch, actions, "named", when=lambda twin: twin is None)
    one, two = app.test_client(), app.test_client()
    answers = _at_once(*(lambda c=c: c.post("/api/v1/plays", json=NEW, headers=key) for c in (one, two)))
    assert sorted(a.status_code for a in answers) == [201, 422]
    won = next(a for a in answers if a.status_code == 201).get_json()
    lost = next(a for a in answers if a.status_code == 422)
    assert lost.content_type == "application/problem+json"
    assert lost.get_json()["error"] == "invalid_play"
    assert lost.get_json()["problems"] == [
        f"There is already a play named “Enterprise enters red” (id {won['id']}): change that one with "
        f"PATCH /api/v1/plays/{won['id']}, or give this one another name."
    ]
    assert _count(app, m.Play, tenants["acme"].id, "enterprise enters red") == 1


def test_two_api_renames_to_one_name_at_once_leave_one_and_a_422(
    app: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = bearer(tenants["acme"].admin_key)
    client = app.test_client()
    ids = [client.post("/api/v1/plays", json={**NEW, "name": n}, headers=key).get_json()["id"] for n in "AB"]
    _held_after(monkeypatch, actions, "named", when=lambda twin: twin is None)
    answers = _at_once(
        *(
            lambda i=i: app.test_client().patch(f"/api/v1/plays/{i}", json={"name": "Churn"}, headers=key)
            for i in ids
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 422]
    lost = next(a for a in answers if a.status_code == 422).get_json()
    assert lost["error"] == "invalid_play"
    assert lost["problems"][0].startswith("There is already a play named “Churn” (id ")
    assert _count(app, m.Play, tenants["acme"].id, "churn") == 1


def test_the_new_play_form_sent_twice_at_once_saves_one_play(
    app: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = tenants["acme"]
    one, two = _admin_clients(app, acme)
    one.get("/admin/plays")  # the starter play exists before the race
    form = {**NEW, "csrf_token": "x"}
    _held_after(monkeypatch, actions, "named", when=lambda twin: twin is None)
    answers = _at_once(
        lambda: one.post("/admin/plays", data=form), lambda: two.post("/admin/plays", data=form)
    )
    assert [a.status_code for a in answers] == [302, 302]
    pages = [c.get("/admin/plays").get_data(as_text=True) for c in (one, two)]
    assert sum("“Enterprise enters red” is already saved." in p for p in pages) == 1
    assert sum("Saved “Enterprise enters red”." in p for p in pages) == 1
    assert _count(app, m.Play, acme.id, "enterprise enters red") == 1


def test_the_key_form_sent_twice_at_once_makes_one_key(
    app: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = tenants["acme"]
    one, two = _admin_clients(app, acme)
    form = {"name": "BI export", "scope": "read", "csrf_token": "x"}
    _held_after(monkeypatch, auth, "live_key_named", when=lambda twin: twin is None)
    answers = _at_once(lambda: one.post("/admin/keys", data=form), lambda: two.post("/admin/keys", data=form))
    assert [a.status_code for a in answers] == [303, 303]  # Post/Redirect/Get: the key is shown by the GET
    won = [i for i, a in enumerate(answers) if "reveal=" in a.location]
    assert len(won) == 1
    winner, loser = (one, two) if won == [0] else (two, one)
    assert '<code class="secret">' in winner.get(answers[won[0]].location).get_data(as_text=True)
    assert "already exists, so no second one was made" in loser.get("/admin/keys").get_data(as_text=True)
    assert _count(app, m.ApiKey, acme.id, "bi export", revoked_at=None) == 1


def test_first_visits_at_once_make_one_starter_play(
    app: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new workspace's first look at its plays adds the starter; two at once both added one."""
    key = bearer(tenants["acme"].read_key)
    _held_after(monkeypatch, actions, "ensure_starter", when=lambda _: True)
    one, two = app.test_client(), app.test_client()
    answers = _at_once(*(lambda c=c: c.get("/api/v1/plays", headers=key) for c in (one, two)))
    assert [a.status_code for a in answers] == [200, 200]
    assert [len(a.get_json()["data"]) for a in answers] == [1, 1]
    assert _count(app, m.Play, tenants["acme"].id, "enters red") == 1
