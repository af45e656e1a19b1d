"""`healthscore users create-admin|invite` and `healthscore embed package-zendesk`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from connector.store import migrate

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("HEALTHSCORE_DATABASE_URL", url)
    monkeypatch.setenv("HEALTHSCORE_ENV", "test")
    return {"url": url}


def _run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=stdin)


def test_create_admin_then_sign_in(env: dict[str, str]) -> None:
    out = _run(
        "users",
        "create-admin",
        "--tenant",
        "acme",
        "--email",
        "Boss@Acme.test",
        "--create-tenant",
        "Acme",
        "--password-stdin",
        "--json",
        stdin="a very long password\n",
    )
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["email"] == "boss@acme.test"
    assert body["role"] == "admin"
    from connector.installs import users as auth
    from connector.store.db import transaction

    with transaction(env["url"]) as session:
        assert auth.authenticate(session, "boss@acme.test", "a very long password") is not None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--tenant", "nope", "--email", "a@b.c"), "a very long password\n", "no tenant"),
        (("--tenant", "acme", "--email", "a@b.c", "--create-tenant", "Acme"), "short\n", "at least 12"),
        (
            ("--tenant", "acme", "--email", "not-an-email", "--create-tenant", "Acme"),
            "a very long password\n",
            "not an e-mail",
        ),
    ],
)
def test_create_admin_errors(env: dict[str, str], args: tuple[str, ...], stdin: str, message: str) -> None:
    out = _run("users", "create-admin", *args, "--password-stdin", stdin=stdin)
    assert out.exit_code != 0
    assert message in out.output


def test_invite_prints_a_link(env: dict[str, str]) -> None:
    _run(
        "users",
        "create-admin",
        "--tenant",
        "acme",
        "--email",
        "a@acme.test",
        "--create-tenant",
        "Acme",
        "--password-stdin",
        stdin="a very long password\n",
    )
    out = _run("users", "invite", "--tenant", "acme", "--email", "v@acme.test", "--json")
    assert out.exit_code == 0, out.output
    assert "/invite/" in json.loads(out.output)["invite_url"]


def test_package_zendesk(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "app.zip"
    out = _run(
        "embed", "package-zendesk", "--api-url", "https://health.acme.com", "--out", str(target), "--json"
    )
    assert out.exit_code == 0, out.output
    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert {"manifest.json", "assets/iframe.html", "assets/main.js", "translations/en.json"} <= names
    assert manifest["domainWhitelist"] == ["health.acme.com"]
    assert set(manifest["location"]["support"]) == {"ticket_sidebar", "organization_sidebar"}
    token = next(p for p in manifest["parameters"] if p["name"] == "api_token")
    assert token["secure"] is True


def test_package_zendesk_rejects_bad_url(env: dict[str, str], tmp_path: Path) -> None:
    out = _run("embed", "package-zendesk", "--api-url", "ftp://x", "--out", str(tmp_path / "a.zip"))
    assert out.exit_code != 0
