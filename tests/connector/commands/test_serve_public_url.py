"""`healthscore serve --port N` writes links (invitations, new sign-in links, the API reference's server) to
the address it serves, unless someone configured the public URL. Before, they kept the default
http://127.0.0.1:5000, so an invitation link sent from a UI served on 5001 led to a port nothing served
(found by the page walk)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.commands.serve import public_url_overrides


def _served_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Any:
    seen: dict[str, Any] = {}

    def fake_run(_host: str, _port: int, app: Any, **_kw: object) -> None:
        seen["settings"] = app.config["HEALTHSCORE"]

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run)
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **env}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = CliRunner().invoke(main, ["serve", "--port", str(port)], env=env)
    assert result.exit_code == 0, result.output
    return seen["settings"], port


def test_links_point_at_the_port_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, port = _served_settings(tmp_path, monkeypatch, {})
    assert settings.public_base_url == f"http://127.0.0.1:{port}"


def test_a_configured_public_url_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, _ = _served_settings(
        tmp_path, monkeypatch, {"HEALTHSCORE_PUBLIC_BASE_URL": "http://localhost:8080"}
    )
    assert settings.public_base_url == "http://localhost:8080"


def test_the_address_links_use_for_each_host() -> None:
    default = "http://127.0.0.1:5000"
    assert public_url_overrides(default, "127.0.0.1", 5000) is None
    assert public_url_overrides(default, "0.0.0.0", 5002) == {"public_base_url": "http://127.0.0.1:5002"}  # noqa: S104
    assert public_url_overrides(default, "::1", 5003) == {"public_base_url": "http://[::1]:5003"}
    assert public_url_overrides("https://health.example.com", "0.0.0.0", 5004) is None  # noqa: S104
