"""OAuth install logic without a network: authorize URLs, callback checks, scope and error mapping."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from connector.installs import installs

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
APP = installs.AppConfig(
    vendor="zendesk", base_url="https://acme.zendesk.com", client_id="cid", client_secret="sec"
)


def test_authorization_url_has_state_and_s256_challenge() -> None:
    url, pending = installs.authorization_request(APP, "https://h.example/oauth/zendesk/callback", NOW)
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.netloc == "acme.zendesk.com"
    assert parts.path == "/oauth/authorizations/new"
    assert q["state"] == pending.state
    assert len(pending.state) >= 43
    expected = (
        base64.urlsafe_b64encode(hashlib.sha256(pending.verifier.encode()).digest()).rstrip(b"=").decode()
    )
    assert q["code_challenge"] == expected
    assert q["code_challenge_method"] == "S256"
    assert q["scope"] == "read write"
    assert q["response_type"] == "code"
    assert "client_secret" not in q
    _other_url, other = installs.authorization_request(APP, "https://h.example/cb", NOW)
    assert other.state != pending.state
    assert other.verifier != pending.verifier


def _pending(created: datetime = NOW) -> installs.Pending:
    return installs.Pending(
        app=APP,
        state="s" * 43,
        verifier="v" * 64,
        redirect_uri="https://h/cb",
        created_at=created.isoformat(),
    )


@pytest.mark.parametrize(
    ("pending", "args", "kind"),
    [
        (None, {"state": "s" * 43, "code": "c"}, "state"),
        (_pending(), {"code": "c"}, "state"),
        (_pending(), {"state": "x" * 43, "code": "c"}, "state"),
        (_pending(NOW - timedelta(minutes=11)), {"state": "s" * 43, "code": "c"}, "state"),
        (_pending(), {"state": "s" * 43, "error": "access_denied"}, "denied"),
        (_pending(), {"state": "s" * 43, "error": "temporarily_unavailable"}, "vendor_error"),
        (_pending(), {"state": "s" * 43}, "vendor_error"),
    ],
    ids=["no-pending", "no-state", "wrong-state", "expired", "denied", "vendor-error", "no-code"],
)
def test_callback_rejections(pending: installs.Pending | None, args: dict[str, str], kind: str) -> None:
    with pytest.raises(installs.InstallError) as err:
        installs.check_callback(pending, args, NOW)
    assert err.value.kind == kind


def test_callback_accepts_matching_fresh_state() -> None:
    assert (
        installs.check_callback(_pending(), {"state": "s" * 43, "code": "abc"}, NOW + timedelta(minutes=9))
        == "abc"
    )


def test_pending_round_trips_through_json() -> None:
    p = _pending()
    assert installs.Pending.load(p.dump()) == p


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (installs.AppConfig(vendor="zendesk", base_url="", client_id="c", client_secret="s"), "base URL"),
        (
            installs.AppConfig(
                vendor="zendesk", base_url="http://acme.example", client_id="c", client_secret="s"
            ),
            "https",
        ),
        (
            installs.AppConfig(
                vendor="zendesk", base_url="https://a.example", client_id="", client_secret="s"
            ),
            "client id",
        ),
        (
            installs.AppConfig(
                vendor="zendesk", base_url="https://a.example", client_id="c", client_secret=""
            ),
            "secret",
        ),
    ],
)
def test_config_problems(config: installs.AppConfig, problem: str) -> None:
    assert any(problem in p for p in installs.config_problems(config))


def test_local_http_is_allowed_for_sandboxes() -> None:
    cfg = installs.AppConfig(
        vendor="zendesk", base_url="http://127.0.0.1:8080", client_id="c", client_secret="s"
    )
    assert installs.config_problems(cfg) == []


def test_every_vendor_explains_every_scope() -> None:
    for spec in installs.SPECS.values():
        assert spec.scopes
        assert all(s.why for s in spec.scopes)


def test_oauth_apps_from_sandbox_credentials() -> None:
    creds = {
        "salesforce": {"base_url": "https://127.0.0.1:1", "client_id": "a", "client_secret": "b"},
        "zendesk": {"base_url": "", "client_id": "x"},
        "ca_file": "/tmp/ca.pem",
        "admin": "http://127.0.0.1:2",
    }
    assert installs.oauth_apps_from_sandbox(creds) == {
        "salesforce": {
            "base_url": "https://127.0.0.1:1",
            "client_id": "a",
            "client_secret": "b",
            "ca_file": "/tmp/ca.pem",
        }
    }
