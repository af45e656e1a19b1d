"""Plays admin: the starter play, validation, dry run over the current book, enable; the account page lists
fired plays and their tasks' state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import NOW, TenantData


def _db(app: Any) -> Any:
    return transaction(app.config["HEALTHSCORE"].sqlalchemy_url)


def _snap(tenant_id: int, account_id: int, day: int, band: str, score: float) -> m.ScoreSnapshot:
    return m.ScoreSnapshot(
        tenant_id=tenant_id, account_id=account_id, as_of=NOW + timedelta(days=day), score=score, band=band,
        band_since=NOW + timedelta(days=day), segment="smb", dimensions={}, drivers=[{"text": "NPS fell"}],
        metrics={}, confidence=1.0, model_version="v1",
    )  # fmt: skip


def _starter(app: Any, tenant_id: int) -> m.Play:
    with _db(app) as s:
        row = s.scalars(select(m.Play).where(m.Play.tenant_id == tenant_id)).one()
        s.expunge(row)
        return row


def _connect_salesforce(app: Any, tenant_id: int) -> None:
    """A Salesforce installation (tasks need a CRM to live in) and the tenant's clock 4 days after NOW."""
    from connector.clock import set_tenant_clock
    from connector.installs.vault import Vault
    from tests.connector import builders

    with _db(app) as s:
        builders.installation(s, Vault(app.config["HEALTHSCORE"]), tenant_id)
        set_tenant_clock(s, tenant_id, NOW + timedelta(days=4))


def test_starter_play_is_off_and_the_dry_run_counts_what_turning_it_on_creates(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any, write_back_requests: list[int]
) -> None:
    page = acme_admin.get("/admin/plays").data.decode()
    assert "Enters red" in page
    assert "Turn on" in page
    acme = tenants["acme"]
    _connect_salesforce(app, acme.id)
    play = _starter(app, acme.id)
    assert not play.enabled
    green, yellow = acme.accounts["Acme Green Corp"], acme.accounts["Acme Yellow Corp"]
    with _db(app) as s:
        # green flaps red → yellow → red (red now: one task); yellow enters red once; red stays red (no entry)
        for day, band in ((1, "red"), (2, "yellow"), (3, "red")):
            s.add(_snap(acme.id, green, day, band, 30.0 if band == "red" else 60.0))
        s.add(_snap(acme.id, yellow, 1, "red", 30.0))
    resp = acme_admin.post(f"/admin/plays/{play.id}/dry-run", data={"csrf_token": "x"})
    # Post/Redirect/Get: the result lives at a URL that reloads (and opens) without resubmitting a form
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/admin/plays?dry={play.id}#dry-run")
    for _ in range(2):  # a reload runs it again, still writing nothing
        shown = acme_admin.get(f"/admin/plays?dry={play.id}")
        text = shown.data.decode()
        assert shown.status_code == 200
        assert "would create 2 tasks for accounts that entered the band in the last 30 days" in text
        assert "Acme Green Corp" in text
        assert "Acme Yellow Corp" in text
        assert 'id="dry-run"' in text
    gone = acme_admin.get("/admin/plays?dry=999")
    assert gone.status_code == 404
    assert "No such play" in gone.data.decode()
    assert 'id="dry-run"' not in gone.data.decode()
    assert acme_admin.post("/admin/plays/999/dry-run", data={"csrf_token": "x"}).status_code == 404
    with _db(app) as s:
        assert s.scalars(select(m.PlayTask)).all() == []  # a dry run writes nothing
    on = acme_admin.post(f"/admin/plays/{play.id}/enabled", data={"enabled": "1", "csrf_token": "x"})
    assert on.status_code == 302
    page = acme_admin.get("/admin/plays").data.decode()
    assert "created 2 tasks" in page
    assert "sending them to the CRM now" in page
    assert write_back_requests == [acme.id]
    with _db(app) as s:
        assert sorted(t.account_id for t in s.scalars(select(m.PlayTask))) == sorted([green, yellow])


def test_save_validates_and_enable_turns_it_on(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    acme_admin.get("/admin/plays")
    bad = acme_admin.post("/admin/plays", data={"name": "", "to_band": "purple", "csrf_token": "x"})
    assert bad.status_code == 400
    assert "Choose the band the account enters" in bad.data.decode()
    ok = acme_admin.post(
        "/admin/plays",
        data={"name": "Enterprise enters red", "to_band": "red", "segments": ["enterprise"], "due_days": "2",
              "next_step": "Call the sponsor", "on_recovery": "leave", "csrf_token": "x"},
    )  # fmt: skip
    assert ok.status_code == 302
    saved = acme_admin.get(ok.headers["Location"]).data.decode()
    assert saved.count("would create 0 tasks") == 1  # the save's notice says it once (no dry-run box too)
    with _db(app) as s:
        row = s.scalars(select(m.Play).where(m.Play.name == "Enterprise enters red")).one()
        assert (row.segments, row.due_days, row.on_recovery, row.enabled) == (
            ["enterprise"],
            2,
            "leave",
            False,
        )
        pid = row.id
    acme_admin.post(f"/admin/plays/{pid}/enabled", data={"enabled": "1", "csrf_token": "x"})
    with _db(app) as s:
        assert s.get(m.Play, pid).enabled  # type: ignore[union-attr]
        assert s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "play.enabled")).one()


def test_a_new_play_sent_twice_is_saved_once(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """A double click on Save (or a resubmitted reload) made two identical plays: turned on, each would
    create its own CRM task for the same account. The same form again is 'already saved'; another play of
    the same name is refused."""
    acme_admin.get("/admin/plays")
    form = {"name": "Enterprise enters red", "to_band": "red", "segments": ["enterprise"], "due_days": "2",
            "on_recovery": "close", "csrf_token": "x"}  # fmt: skip
    first, second = acme_admin.post("/admin/plays", data=form), acme_admin.post("/admin/plays", data=form)
    assert first.status_code == second.status_code == 302
    assert "“Enterprise enters red” is already saved." in acme_admin.get("/admin/plays").data.decode()
    other = acme_admin.post("/admin/plays", data={**form, "name": " enterprise ENTERS red ", "due_days": "5"})
    assert other.status_code == 400
    assert "There is already a play named “Enterprise enters red”" in other.data.decode()
    with _db(app) as s:
        plays = s.scalars(select(m.Play).where(m.Play.tenant_id == tenants["acme"].id)).all()
        assert sorted(p.name for p in plays) == ["Enterprise enters red", "Enters red"]
    starter = _starter_named(app, tenants["acme"].id, "Enters red")
    renamed = acme_admin.post(
        "/admin/plays", data={**form, "play_id": str(starter), "name": "Enterprise enters red"}
    )
    assert renamed.status_code == 400  # renaming a play to another play's name is refused too


def test_fixing_an_edit_after_an_error_updates_the_play(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """An edit that failed validation came back as the New play form (its play id dropped): fixing the error
    and saving made a copy of the play instead of changing it."""
    acme_admin.get("/admin/plays")
    pid = _starter_named(app, tenants["acme"].id, "Enters red")
    bad = acme_admin.post("/admin/plays", data={"play_id": str(pid), "name": "Enters red", "to_band": "red",
                                                "due_days": "999", "csrf_token": "x"})  # fmt: skip
    page = bad.data.decode()
    assert bad.status_code == 400
    assert f'name="play_id" value="{pid}"' in page
    fixed = acme_admin.post("/admin/plays", data={"play_id": str(pid), "name": "Enters red", "to_band": "red",
                                                  "due_days": "9", "csrf_token": "x"})  # fmt: skip
    assert fixed.status_code == 302
    with _db(app) as s:
        plays = s.scalars(select(m.Play).where(m.Play.tenant_id == tenants["acme"].id)).all()
        assert [(p.id, p.due_days) for p in plays] == [(pid, 9)]


def _starter_named(app: Any, tenant_id: int, name: str) -> int:
    with _db(app) as s:
        return s.scalars(select(m.Play.id).where(m.Play.tenant_id == tenant_id, m.Play.name == name)).one()


def test_new_play_form_names_bands_and_starts_at_the_lowest(
    acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """People read "At risk", not the model's internal band id; a new play most often watches that band."""
    page = acme_admin.get("/admin/plays").data.decode()
    form = page[page.index("New play") :]
    assert 'value="red" selected>Red (At risk)</option>' in form
    assert 'value="green" >Green (Healthy)</option>' in form
    assert "enters Red (At risk)" in page  # the starter play's row


def test_editing_an_unknown_play_says_so(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    """`?edit=` with an id that is not a play of this workspace (deleted, mistyped, another workspace's) says
    "No such play" with the list as the way back, instead of silently showing the New play form."""
    for bad in ("999", "abc"):
        resp = acme_admin.get(f"/admin/plays?edit={bad}")
        page = resp.data.decode()
        assert resp.status_code == 404, bad
        assert "No such play" in page
        assert "Enters red" in page  # the list is there to pick from
    from connector.admin import plays as actions

    with _db(app) as s:
        actions.ensure_starter(s, tenants["globex"].id)
    globex_play = _starter(app, tenants["globex"].id)
    assert acme_admin.get(f"/admin/plays?edit={globex_play.id}").status_code == 404
    play = _starter(app, tenants["acme"].id)
    ok = acme_admin.get(f"/admin/plays?edit={play.id}")
    assert ok.status_code == 200
    assert "No such play" not in ok.data.decode()
    assert "Edit “Enters red”" in ok.data.decode()
    assert "No such play" not in acme_admin.get("/admin/plays?edit=").data.decode()


def test_an_old_dry_run_link_opens_the_dry_run(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """/admin/plays/<id>/dry-run typed, bookmarked or in the history (the dry run's address before it was
    Post/Redirect/Get) lands on the dry run's result with a notice, not on 'That action is not possible
    here'; a play that is gone (or another workspace's) lands on the list saying so."""
    acme_admin.get("/admin/plays")  # makes the starter play
    play = _starter(app, tenants["acme"].id)
    resp = acme_admin.get(f"/admin/plays/{play.id}/dry-run")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/admin/plays?dry={play.id}#dry-run")
    shown = acme_admin.get(resp.headers["Location"]).data.decode()
    assert "That dry-run link is from an older version; here is the dry run of “Enters red”" in shown
    assert 'id="dry-run"' in shown
    from connector.admin import plays as actions

    with _db(app) as s:
        actions.ensure_starter(s, tenants["globex"].id)
    for other in (_starter(app, tenants["globex"].id).id, 999):
        gone = acme_admin.get(f"/admin/plays/{other}/dry-run")
        assert gone.status_code == 303
        assert gone.headers["Location"].endswith("/admin/plays")
        listed = acme_admin.get(gone.headers["Location"]).data.decode()
        assert "not in your workspace" in listed
        assert 'id="dry-run"' not in listed
    with _db(app) as s:
        assert s.scalars(select(m.PlayTask)).all() == []  # still writes nothing


def test_viewers_cannot_edit_plays(acme_viewer: Any) -> None:
    assert acme_viewer.get("/admin/plays").status_code in (302, 403)
    assert acme_viewer.get("/admin/plays/1/dry-run").status_code in (302, 403)


def test_account_page_lists_fired_plays_and_task_state(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    acme_admin.get("/admin/plays")
    acme = tenants["acme"]
    acc = acme.accounts["Acme Red Corp"]
    play = _starter(app, acme.id)
    with _db(app) as s:
        s.add(m.PlayTask(tenant_id=acme.id, play_id=play.id, account_id=acc, vendor="salesforce",
                         vendor_task_id="00T5g0000000001AAA", state="open", subject="Health score: Acme Red Corp entered red",
                         body="b", due_at=NOW + timedelta(days=3), created_at=NOW))  # fmt: skip
    page = acme_admin.get(f"/accounts/{acc}").data.decode()
    assert 'id="plays"' in page
    assert "00T5g0000000001AAA" in page
    assert ">open" in page
    other = acme.accounts["Acme Green Corp"]
    assert 'id="plays"' not in acme_admin.get(f"/accounts/{other}").data.decode()
