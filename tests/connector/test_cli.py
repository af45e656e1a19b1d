"""The command line: help everywhere, --version, JSON contracts, and bad configuration → exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from connector.cli import main


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_all_commands(cmd, (*prefix, name)))
    return out


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in (
        "demo",
        "sync",
        "run",
        "score",
        "writeback",
        "backtest",
        "link",
        "webhooks",
        "db",
        "serve",
        "worker",
    ):
        assert name in result.output


@pytest.mark.parametrize("path", _all_commands(main), ids=lambda p: " ".join(p))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip() and not ln.startswith("Usage")]
    assert lines, f"{' '.join(path)} has no description"
    if "Commands:" not in result.output:  # a command one runs, not a group listing others
        assert "Example:" in result.output, f"{' '.join(path)} --help shows no example"
        assert "healthscore " in result.output.split("Example:", 1)[1]


@pytest.mark.parametrize("path", _all_commands(main), ids=lambda p: " ".join(p))
def test_every_option_says_what_it_is_for(path: tuple[str, ...]) -> None:
    """`healthscore serve --help` listed '--host TEXT  [default: 127.0.0.1]' and '--port …' with no word on
    them; users invite's --tenant, --email and --role likewise."""
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    bare = [p.opts[0] for p in command.params if isinstance(p, click.Option) and not p.help]
    assert not bare, f"{' '.join(path)}: options without a help text: {bare}"


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "healthscore" in result.output


def test_db_upgrade_json_reports_the_revision(tmp_path: Path) -> None:
    from connector.store import migrate

    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = CliRunner().invoke(main, ["db", "upgrade", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["revision"] == migrate.head()
    assert data["previous"] is None


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"HEALTHSCORE_DATABASE_URL": "mysql://nope"}, "HEALTHSCORE_DATABASE_URL"),
        ({"HEALTHSCORE_ENV": "production"}, "HEALTHSCORE_SECRET_KEY"),
        ({"HEALTHSCORE_TOKEN_KEYS": "not-a-key"}, "HEALTHSCORE_TOKEN_KEYS"),
        ({"HEALTHSCORE_COLOUR": "blue"}, "unknown setting 'colour'"),
    ],
    ids=["malformed-db-url", "prod-missing-secret", "invalid-encryption-key", "unknown-setting"],
)
def test_bad_config_exits_2_and_writes_nothing(tmp_path: Path, env: dict[str, str], needle: str) -> None:
    inst = tmp_path / "instance"
    env = {**env, "HEALTHSCORE_INSTANCE_PATH": str(inst)}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert not inst.exists() or not any(inst.iterdir())  # nothing written


def test_commands_without_tenants_say_what_to_do(tmp_path: Path) -> None:
    env = {"HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    CliRunner().invoke(main, ["db", "upgrade"], env=env)
    result = CliRunner().invoke(main, ["sync", "--json"], env=env)
    assert result.exit_code == 2
    assert "healthscore demo" in result.stderr


def test_json_output_is_strict_json() -> None:
    from connector.commands.output import json_safe

    data = {"auc": 0.8, "lift": float("inf"), "rows": [float("nan"), 1.0], "nested": {"x": float("-inf")}}
    assert json_safe(data) == {"auc": 0.8, "lift": None, "rows": [None, 1.0], "nested": {"x": None}}
    json.dumps(json_safe(data), allow_nan=False)


def test_step_lines_say_one_call_not_one_calls() -> None:
    """The demo's write-back line read 'hubspot: 5 written, 0 rejected, 1 calls' (fresh-clone make demo)."""
    from connector.commands.pipeline import _summary

    write_back = {"hubspot": {"written": 5, "rejected": 0, "api_calls": 1}}
    assert _summary("write_back", write_back) == "hubspot: 5 written, 0 rejected, 1 call"
    score = {"scored": 1, "by_band": {"red": 1}, "band_changes": 1, "writes_queued": 1}
    assert _summary("score", score) == "1 account (1 red), 1 band change, 1 write queued"
    link = {"tickets_linked": 3, "tickets_total": 3, "unmatched": [{"id": 1}]}
    assert _summary("link", link).endswith("1 organization to review")


def test_the_score_line_names_the_bands_in_words() -> None:
    """The demo's first screen: '108 accounts (49 green, 50 yellow, 9 red)', not a Python dict."""
    from connector.commands.pipeline import _summary

    line = _summary(
        "score",
        {
            "scored": 108,
            "by_band": {"green": 49, "yellow": 50, "red": 9},
            "band_changes": 0,
            "writes_queued": 7,
        },
    )
    assert line == "108 accounts (49 green, 50 yellow, 9 red), 0 band changes, 7 writes queued"
    assert "{" not in line


def test_listing_commands_print_text_for_people_and_json_with_json(tmp_path: Path) -> None:
    """`healthscore webhooks list`, `webhooks deliver` and `db downgrade` printed indented JSON without --json,
    unlike every other command."""
    env = {
        "HEALTHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "HEALTHSCORE_LOG_LEVEL": "WARNING",
        "HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",  # a loopback receiver, no DNS needed
    }
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    admin = [
        "users",
        "create-admin",
        "--tenant",
        "acme",
        "--email",
        "ana@acme.com",
        "--create-tenant",
        "Acme",
    ]
    made = runner.invoke(main, [*admin, "--password-stdin"], env=env, input="a long unguessable passphrase 7")
    assert made.exit_code == 0, made.output
    add = ["webhooks", "add", "http://127.0.0.1:9/health", "--tenant", "acme"]
    added = runner.invoke(main, add, env=env)
    assert added.exit_code == 0, added.output

    listed = runner.invoke(main, ["webhooks", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert not listed.stdout.lstrip().startswith("{")
    assert "acme: 1 endpoint" in listed.stdout
    assert "http://127.0.0.1:9/health" in listed.stdout
    as_json = json.loads(runner.invoke(main, ["webhooks", "list", "--json"], env=env).stdout)
    assert as_json["tenants"]["acme"][0]["url"] == "http://127.0.0.1:9/health"

    delivered = runner.invoke(main, ["webhooks", "deliver"], env=env)
    assert delivered.exit_code == 0, delivered.output
    assert delivered.stdout.startswith("0 delivered, 0 failed")

    down = runner.invoke(main, ["db", "downgrade", "0016", "--yes"], env=env)
    assert down.exit_code == 0, down.output
    assert down.stdout.strip() == "database at revision 0016"
