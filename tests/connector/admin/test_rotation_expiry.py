"""A secret rotation ends by itself: the old secret signs next to the new one until the rotation's end (24
hours unless the admin chose 1 hour to 7 days), then deliveries carry the new signature only and the old
secret is dropped, at the next delivery or delivery run, audit-logged once. "Finish now" still ends it early.

Before, the old (possibly leaked) secret kept signing until an admin remembered to finish the rotation."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import clock
from connector.admin import actions as admin_actions
from connector.admin.webhooks import (
    EndpointError,
    add_endpoint,
    finish_lapsed_rotations,
    finish_rotation,
    rotate_secret,
)
from connector.cli import main
from connector.installs.vault import Vault
from connector.pipeline import delivery
from connector.store import models as m
from tests.connector import builders as b
from tests.connector.builders import T0

HOUR = timedelta(hours=1)


def _endpoint(db_url: str, tmp_path: Path) -> tuple[Any, Vault, int, int, str]:
    settings = b.settings_for(db_url, tmp_path)
    vault = Vault(settings)
    with b.session(db_url) as s:
        t = b.tenant(s)
        ep, old = add_endpoint(s, vault, t, "http://127.0.0.1:9/hook", allow_private=True)
        return settings, vault, t, ep.id, old


def _ep(s: Session, ep_id: int) -> m.WebhookEndpoint:
    ep = s.get(m.WebhookEndpoint, ep_id)
    assert ep is not None
    return ep


def _actions(db_url: str) -> list[tuple[str, str, dict[str, Any]]]:
    with b.session(db_url) as s:
        return [
            (a.actor, a.action, dict(a.detail or {}))
            for a in s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))
        ]


def _state(db_url: str, vault: Vault, ep_id: int) -> tuple[int, Any]:
    with b.session(db_url) as s:
        ep = _ep(s, ep_id)
        return len(vault.decrypt_json(ep.secrets_enc)), ep.rotation_ends_at


def test_both_secrets_sign_until_the_end_and_only_the_new_one_after(db_url: str, tmp_path: Path) -> None:
    settings, vault, t, ep_id, old = _endpoint(db_url, tmp_path)
    with b.session(db_url) as s:
        new = rotate_secret(s, vault, t, ep_id, actor="jane", now=T0)  # the default: 24 hours
    assert _state(db_url, vault, ep_id) == (2, T0 + 24 * HOUR)
    with b.running(b.SecretReceiver(old)) as rec:
        with b.session(db_url) as s:
            _ep(s, ep_id).url = f"{rec.base_url}/hook"
            b.event(s, t, [ep_id], msg_id="msg_before_end", due=T0 + 23 * HOUR)
        assert delivery.deliver_due(settings, t, now=T0 + 23 * HOUR).delivered == 1
        headers, body, ok = rec.hits[-1]
        assert ok, "before the end a receiver holding only the old secret still verifies"
        standardwebhooks.Webhook(new).verify(body, headers)
        assert len(headers["webhook-signature"].split()) == 2

        with b.session(db_url) as s:
            b.event(s, t, [ep_id], msg_id="msg_after_end", due=T0 + 24 * HOUR)
        report = delivery.deliver_due(settings, t, now=T0 + 24 * HOUR + timedelta(seconds=1))
        assert (report.delivered, report.failed) == (0, 1)
        headers, body, ok = rec.hits[-1]
        assert not ok, "after the end the old secret no longer signs"
        standardwebhooks.Webhook(new).verify(body, headers)
        assert len(headers["webhook-signature"].split()) == 1
    assert _state(db_url, vault, ep_id) == (1, None)
    with b.session(db_url) as s:
        assert vault.decrypt_json(_ep(s, ep_id).secrets_enc) == [new]


def test_the_automatic_finish_is_audit_logged_once(db_url: str, tmp_path: Path) -> None:
    """The delivery run (the scheduler's minute job) finishes a lapsed rotation of an endpoint that has
    nothing to deliver; later runs find nothing left to finish."""
    settings, vault, t, ep_id, _old = _endpoint(db_url, tmp_path)
    with b.session(db_url) as s:
        rotate_secret(s, vault, t, ep_id, actor="jane", hours=1, now=T0)
    assert delivery.deliver_due(settings, t, now=T0 + 30 * timedelta(minutes=1)).attempted == 0
    assert _state(db_url, vault, ep_id) == (2, T0 + HOUR)
    for later in (2, 3, 48):
        delivery.deliver_due(settings, now=T0 + later * HOUR)
    assert _state(db_url, vault, ep_id) == (1, None)
    with b.session(db_url) as s:
        assert finish_lapsed_rotations(s, vault, now=T0 + 50 * HOUR) == 0
    actions = _actions(db_url)
    assert [a[1] for a in actions] == [
        "webhook.endpoint_added", "webhook.secret_rotated", "webhook.rotation_finished",
    ]  # fmt: skip
    actor, _, detail = actions[-1]
    assert actor == "healthscore"
    assert detail["automatic"] is True
    assert detail["ended_at"] == (T0 + HOUR).isoformat()
    assert actions[1][2]["old_secret_until"] == (T0 + HOUR).isoformat()


def test_reading_the_endpoint_finishes_a_lapsed_rotation(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint page and the API read it through `current_endpoint`, which finishes a lapsed rotation
    on the clock helper's wall clock."""
    settings, _vault, t, ep_id, _old = _endpoint(db_url, tmp_path)
    monkeypatch.setattr(clock, "wall_clock", lambda: T0)
    with b.session(db_url) as s:
        admin_actions.rotate_secret(s, settings, t, ep_id, "jane")
    with b.session(db_url) as s:
        ep = admin_actions.current_endpoint(s, settings, t, ep_id)
        assert ep is not None
        assert admin_actions.secret_count(settings, ep) == 2
    monkeypatch.setattr(clock, "wall_clock", lambda: T0 + 25 * HOUR)
    with b.session(db_url) as s:
        ep = admin_actions.current_endpoint(s, settings, t, ep_id)
        assert ep is not None
        assert admin_actions.secret_count(settings, ep) == 1
        assert ep.rotation_ends_at is None
    with b.session(db_url) as s:
        admin_actions.current_endpoint(s, settings, t, ep_id)
    assert [a[1] for a in _actions(db_url)].count("webhook.rotation_finished") == 1


@pytest.mark.parametrize("hours", [0, -1, 169, 24 * 30])
def test_a_rotation_shorter_than_an_hour_or_longer_than_seven_days_is_refused(
    db_url: str, tmp_path: Path, hours: int
) -> None:
    _settings, vault, t, ep_id, _old = _endpoint(db_url, tmp_path)
    with b.session(db_url) as s, pytest.raises(EndpointError) as info:
        rotate_secret(s, vault, t, ep_id, hours=hours, now=T0)
    assert "between 1 hour and 7 days (168 hours)" in str(info.value)
    assert str(hours) in str(info.value)
    assert _state(db_url, vault, ep_id) == (1, None)
    assert [a[1] for a in _actions(db_url)] == ["webhook.endpoint_added"]


@pytest.mark.parametrize("hours", [1, 6, 168])
def test_the_rotation_length_is_chosen_per_rotation(db_url: str, tmp_path: Path, hours: int) -> None:
    _settings, vault, t, ep_id, _old = _endpoint(db_url, tmp_path)
    with b.session(db_url) as s:
        rotate_secret(s, vault, t, ep_id, hours=hours, now=T0)
    assert _state(db_url, vault, ep_id) == (2, T0 + hours * HOUR)


def test_finish_now_still_ends_it_early_and_nothing_finishes_it_again(db_url: str, tmp_path: Path) -> None:
    settings, vault, t, ep_id, _old = _endpoint(db_url, tmp_path)
    with b.session(db_url) as s:
        new = rotate_secret(s, vault, t, ep_id, now=T0)
    with b.session(db_url) as s:
        admin_actions.finish_rotation(s, settings, t, ep_id, "jane")
    assert _state(db_url, vault, ep_id) == (1, None)
    delivery.deliver_due(settings, now=T0 + 48 * HOUR)
    with b.session(db_url) as s:
        assert vault.decrypt_json(_ep(s, ep_id).secrets_enc) == [new]
    actions = _actions(db_url)
    assert [(a[0], a[1]) for a in actions][-1] == ("jane", "webhook.rotation_finished")
    assert [a[1] for a in actions].count("webhook.rotation_finished") == 1


def test_a_new_rotation_replaces_the_end_of_the_one_in_progress(db_url: str, tmp_path: Path) -> None:
    _settings, vault, t, ep_id, _old = _endpoint(db_url, tmp_path)
    with b.session(db_url) as s:
        first = rotate_secret(s, vault, t, ep_id, now=T0)
    with b.session(db_url) as s:
        second = rotate_secret(s, vault, t, ep_id, hours=2, now=T0 + HOUR)
    assert _state(db_url, vault, ep_id) == (2, T0 + 3 * HOUR)
    with b.session(db_url) as s:
        assert vault.decrypt_json(_ep(s, ep_id).secrets_enc) == [second, first]
        finish_rotation(s, vault, t, ep_id)
    assert _state(db_url, vault, ep_id) == (1, None)


def test_a_rotation_after_a_lapsed_one_finishes_it_first(db_url: str, tmp_path: Path) -> None:
    """The lapsed rotation's old secret is dropped (and its finish logged) before the new one starts, so
    the pair that signs is always the last two secrets made."""
    _settings, vault, t, ep_id, _old = _endpoint(db_url, tmp_path)
    with b.session(db_url) as s:
        first = rotate_secret(s, vault, t, ep_id, hours=1, now=T0)
    with b.session(db_url) as s:
        second = rotate_secret(s, vault, t, ep_id, now=T0 + 5 * HOUR)
        assert vault.decrypt_json(_ep(s, ep_id).secrets_enc) == [second, first]
    assert [a[1] for a in _actions(db_url)][-2:] == ["webhook.rotation_finished", "webhook.secret_rotated"]


def test_the_cli_chooses_the_length_and_refuses_one_out_of_bounds(db_url: str, tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    vault = Vault(b.settings_for(db_url, tmp_path, key))
    with b.session(db_url) as s:
        t = b.tenant(s)
        ep_id = add_endpoint(s, vault, t, "http://127.0.0.1:9/hook", allow_private=True)[0].id
    env = {"HEALTHSCORE_DATABASE_URL": db_url, "HEALTHSCORE_TOKEN_KEYS": key}
    refused = CliRunner().invoke(
        main, ["webhooks", "rotate", str(ep_id), "--tenant", "acme", "--hours", "200"], env=env
    )
    assert refused.exit_code == 2
    assert "between 1 hour and 7 days (168 hours)" in refused.output
    assert _state(db_url, vault, ep_id) == (1, None)
    done = CliRunner().invoke(
        main, ["webhooks", "rotate", str(ep_id), "--tenant", "acme", "--hours", "3", "--json"], env=env
    )
    assert done.exit_code == 0, done.output
    _, ends = _state(db_url, vault, ep_id)
    assert ends is not None
    assert json.loads(done.output)["old_secret_until"] == ends.isoformat()
