"""A taken port stops `healthscore serve` and `healthscore demo` before any work, with a free port to use
(report-readme.md: the demo printed its URL and sign-ins after minutes of work, then werkzeug's 'Address
already in use'; serve printed 'serving on …' first)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_serve_on_a_taken_port_says_so_before_serving(tmp_path: Path, taken_port: int) -> None:
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["serve", "--port", str(taken_port)], env=env)
    assert result.exit_code == 2, result.output
    assert f"port {taken_port} on 127.0.0.1 is already in use" in result.stderr
    assert "healthscore serve --host 127.0.0.1 --port " in result.stderr
    assert "serving on" not in result.output


def test_demo_on_a_taken_port_stops_before_the_pass(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pass(**_kwargs: object) -> None:
        raise AssertionError("the demo pass started although the UI cannot be served")

    monkeypatch.setattr("connector.demo.emulator.start_embedded", no_pass)
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    args = ["demo", "--port", str(taken_port), "--accounts", "5", "--history-days", "0"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2, result.output
    assert "already in use" in result.stderr
    assert "make demo DEMO_PORT=" in result.stderr
    assert not (tmp_path / "x.db").exists()  # nothing was done


def test_serve_on_a_host_that_is_not_this_machine_says_which_to_use(tmp_path: Path) -> None:
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["serve", "--host", "no-such-host.invalid"], env=env)
    assert result.exit_code == 2, result.output
    assert "cannot listen on no-such-host.invalid" in result.stderr
    assert "--host 127.0.0.1" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "demo"])
@pytest.mark.parametrize("when", ["starting", "serving"])
def test_ctrl_c_stops_the_server_as_it_says_not_as_an_interruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, when: str
) -> None:
    """Both print 'Ctrl+C to stop'. A Ctrl+C while the server started ended in 'interrupted: stopped before
    finishing … hint: run the same command again to finish' and exit 130, as if the work had been cut short;
    one once it served (werkzeug swallows it and returns) ended without a word."""

    def ctrl_c(*_args: object, **_kwargs: object) -> None:
        if when == "starting":
            raise KeyboardInterrupt

    monkeypatch.setattr("werkzeug.serving.run_simple", ctrl_c)
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    args = (
        ["--port", port] if command == "serve" else ["--port", port, "--accounts", "3", "--history-days", "0"]
    )
    result = CliRunner().invoke(main, [command, *args], env=env)
    assert result.exit_code == 0, result.output
    assert "stopped" in result.output
    assert "run the same command again" not in result.output
