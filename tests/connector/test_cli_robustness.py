"""The command line under bad conditions: Ctrl-C, a closed pipe, a database that is broken, empty, behind or
ahead of the code, and a destructive command without confirmation. Each ends in one message, a hint and
the right exit code, never a traceback or click's bare "Aborted!"."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connector.cli import main


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite store migrated to head (a copy of the session's template)."""
    target = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def _run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"HEALTHSCORE_DATABASE_URL": url})


def test_ctrl_c_says_interrupted_and_exits_130(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shells and CI read 130 as 'interrupted by the user'; click alone printed 'Aborted!' and exited 1."""
    from connector.commands import pipeline as commands

    def interrupted(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "score", interrupted)
    result = CliRunner().invoke(main, ["score", "--json"], env={"HEALTHSCORE_DATABASE_URL": store})
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.stderr
    assert "run the same command again" in result.stderr
    assert "Aborted!" not in result.output
    assert result.stdout == ""  # --json: nothing half-printed on stdout


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`healthscore … | head -1`: the conventional quiet exit (141, as killed by SIGPIPE), not
    'error: Broken pipe / hint: check the path and its permissions' and exit 2."""
    from connector.commands import pipeline as commands

    def closed(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "score", closed)
    result = CliRunner().invoke(main, ["score"], env={"HEALTHSCORE_DATABASE_URL": store})
    assert result.exit_code == 141
    assert result.stderr == ""


def test_a_file_that_is_not_a_database_is_named_as_such(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(bytes(range(256)) * 40)
    result = _run(f"sqlite:///{junk}", "db", "current")
    assert result.exit_code == 2
    assert "error: the database file is not a healthscore SQLite database" in result.stderr
    assert "hint: point HEALTHSCORE_DATABASE_URL" in result.stderr
    assert "sqlalche.me" not in result.stderr  # SQLAlchemy's "Background on this error" link is noise here


def test_an_unreachable_server_says_why_without_the_password() -> None:
    result = _run("postgresql://healthscore:s3cret-pw@127.0.0.1:1/healthscore", "db", "current")
    assert result.exit_code == 2
    assert "error: the database is not reachable" in result.stderr
    assert "refused" in result.stderr.lower()  # the driver's reason, not only "OperationalError"
    assert "s3cret-pw" not in result.output


def test_a_database_server_that_is_down_says_to_start_it() -> None:
    """Before, the hint for Postgres down was 'check HEALTHSCORE_DATABASE_URL (server up? …) and run
    `healthscore db upgrade`', also when the command was `healthscore db upgrade`."""
    result = _run("postgresql://postgres@127.0.0.1:1/healthscore", "db", "upgrade")
    assert result.exit_code == 2
    assert "hint: start the database server (`make services`" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.postgres
def test_a_database_missing_on_the_server_says_how_to_create_it() -> None:
    result = _run("postgresql://postgres@127.0.0.1:5432/healthscore_never_created", "db", "upgrade")
    assert result.exit_code == 2
    assert "error: the database healthscore_never_created does not exist on that server" in result.stderr
    assert "createdb healthscore_never_created" in result.stderr


@pytest.mark.postgres
def test_an_unknown_database_user_says_to_fix_the_user() -> None:
    result = _run("postgresql://no_such_role_hs@127.0.0.1:5432/test", "db", "current")
    assert result.exit_code == 2
    assert "error: the database server refused the user" in result.stderr
    assert "fix the user and password in HEALTHSCORE_DATABASE_URL" in result.stderr


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_fields_ensure_that_failed_everywhere_does_not_exit_0(
    store: str, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """After the demo's sandbox is gone every vendor printed 'FAILED …' and the command exited 0, so a script
    (or a newcomer checking $?) took it for done; sync and run exit 1 when part of the work did not finish."""
    from connector.commands import fields

    def ensure_all(_settings: object, _tenant_id: int) -> dict[str, dict[str, object]]:
        return {
            "hubspot": {"error": "hubspot unreachable", "hint": "start the sandbox again"},
            "zendesk": {"created": ["healthscore_score"], "existing": []},
        }

    monkeypatch.setattr(fields, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(fields, "ensure_all", ensure_all)
    result = _run(store, "fields", "ensure", *(["--json"] if as_json else []))
    assert result.exit_code == 1, result.output
    assert "error: 1 of 2 installations did not finish (acme hubspot: hubspot unreachable)" in result.stderr
    assert "hint: start the sandbox again" in result.stderr


def test_an_os_error_without_errno_keeps_its_message(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests raises OSError('Could not find a suitable TLS CA certificate bundle, invalid path: …') with no
    errno: the message said only 'error: OSError'."""
    from connector.commands import pipeline as commands

    def missing_ca(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise OSError("Could not find a suitable TLS CA certificate bundle, invalid path: /gone/ca.pem")

    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "score", missing_ca)
    result = _run(store, "score")
    assert result.exit_code == 2
    assert "invalid path: /gone/ca.pem" in result.stderr


def test_a_revision_this_code_does_not_know_is_explained(store: str) -> None:
    path = store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    result = _run(store, "db", "upgrade")
    assert result.exit_code == 2
    assert "a newer healthscore migrated it" in result.stderr
    assert "hint: run the healthscore version that migrated it" in result.stderr


def _a_tenant(url: str) -> None:
    from connector.store.db import get_engine, transaction
    from connector.store.repo import ensure_tenant

    with transaction(url) as session:
        ensure_tenant(session, "acme", "Acme")
    get_engine(url).dispose()  # everything in the main file before it is compared byte for byte


def _set_revision(url: str, revision: str) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.close()  # the last connection out checkpoints the WAL into the file the test compares


@pytest.mark.parametrize("args", [("score", "--json"), ("webhooks", "list"), ("link", "report")])
def test_a_database_migrated_by_a_newer_version_is_not_touched(store: str, args: tuple[str, ...]) -> None:
    """Old code read and wrote it (score wrote snapshots into a schema it does not know)."""
    _a_tenant(store)
    _set_revision(store, "9999")
    before = Path(store.removeprefix("sqlite:///")).read_bytes()
    result = _run(store, *args)
    assert result.exit_code == 2, result.output
    assert "revision 9999, which this healthscore does not know" in result.stderr
    assert "hint: run the healthscore version that migrated it" in result.stderr
    assert result.stdout == ""
    assert Path(store.removeprefix("sqlite:///")).read_bytes() == before


def test_a_database_behind_the_code_asks_for_db_upgrade(store: str) -> None:
    from alembic.script import ScriptDirectory

    from connector.store import migrate

    _a_tenant(store)
    script = ScriptDirectory.from_config(migrate.alembic_config(store))
    older = script.get_revision(migrate.head()).down_revision
    _set_revision(store, str(older))
    result = _run(store, "score")
    assert result.exit_code == 2, result.output
    assert f"schema is at revision {older}; this healthscore needs {migrate.head()}" in result.stderr
    assert "hint: run `healthscore db upgrade`" in result.stderr
    state = _run(store, "db", "current", "--json")
    assert '"state": "behind"' in state.stdout


def test_an_empty_database_asks_for_db_upgrade_before_any_query(tmp_path: Path) -> None:
    result = _run(f"sqlite:///{tmp_path / 'new.db'}", "sync", "--json")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: the database has no healthscore tables yet"
    assert "healthscore db upgrade" in result.stderr
    assert result.stdout == ""


def test_db_downgrade_asks_before_dropping_data(store: str) -> None:
    """`healthscore db downgrade base` dropped every table at once, no question asked."""
    from connector.store import migrate

    result = _run(store, "db", "downgrade", "base")
    assert result.exit_code == 2
    assert "without confirmation" in result.stderr
    assert "--yes" in result.stderr
    assert migrate.current(store) == migrate.head()  # nothing dropped
    done = _run(store, "db", "downgrade", "base", "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert migrate.current(store) is None


def _sync_report(status: str) -> dict[str, object]:
    stream = {
        "vendor": "zendesk",
        "stream": "tickets",
        "read": 0,
        "upserted": 0,
        "deleted": 0,
        "api_calls": 3,
        "duration_s": 0.1,
        "cursor": None,
        "status": status,
        "error": None if status == "ok" else "transport error: ConnectionError",
        "hint": "The vendor is temporarily unavailable.",
    }
    return {"installations": [{"vendor": "zendesk", "status": status, "api_calls": 3, "streams": [stream]}]}


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_sync_with_a_failed_stream_exits_1_with_one_line(
    store: str, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """A sync in which every stream failed (vendor down) exited 0."""
    import json

    from connector.commands import pipeline as commands

    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "sync", lambda *_a, **_k: _sync_report("failed"))
    result = _run(store, "sync", *(["--json"] if as_json else []))
    assert result.exit_code == 1, result.output
    assert "error: 1 of 1 streams did not finish (acme zendesk tickets: transport error" in result.stderr
    assert "run `healthscore sync` again" in result.stderr
    if as_json:
        assert json.loads(result.stdout)["tenants"]["acme"]["installations"][0]["status"] == "failed"
    monkeypatch.setattr(commands.pipeline, "sync", lambda *_a, **_k: _sync_report("ok"))
    assert _run(store, "sync", *(["--json"] if as_json else [])).exit_code == 0


def test_a_partial_pass_exits_1_naming_the_step(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.commands import pipeline as commands

    report = {
        "acme": {
            "run_id": "r1",
            "status": "partial",
            "steps": {
                "sync": _sync_report("failed"),
                "score": {"skipped": "sync incomplete: zendesk tickets", "scored": 0},
            },
        }
    }
    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "run_pass", lambda *_a, **_k: report)
    result = _run(store, "run", "--json")
    assert result.exit_code == 1, result.output
    assert "2 of 2 steps did not finish (acme sync: 1 streams failed; and 1 more)" in result.stderr


def test_a_write_back_that_failed_exits_1(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.commands import pipeline as commands

    vendor = {
        "written": 0,
        "unchanged": 0,
        "rejected": 0,
        "api_calls": 1,
        "pending": 5,
        "rejections": [],
        "error": "token revoked: reconnect Zendesk",
    }
    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "write_back", lambda *_a, **_k: {"zendesk": vendor})
    result = _run(store, "writeback")
    assert result.exit_code == 1, result.output
    assert "1 of 1 write-backs did not finish (acme zendesk: token revoked" in result.stderr


def test_webhooks_replay_of_an_unknown_event_or_an_upside_down_range_says_so(store: str) -> None:
    """Both printed '0 deliveries queued again' and exited 0: a typo in an event id looked like success."""
    _a_tenant(store)
    unknown = _run(store, "webhooks", "replay", "--tenant", "acme", "--event", "msg_typo")
    assert unknown.exit_code == 2
    assert "no delivery of event 'msg_typo' in acme" in unknown.stderr
    upside_down = _run(
        store, "webhooks", "replay", "--tenant", "acme", "--since", "2030-01-01", "--until", "2020-01-01"
    )
    assert upside_down.exit_code == 2
    assert "is after --until" in upside_down.stderr
    assert _run(store, "webhooks", "replay", "--tenant", "acme", "--since", "2020-01-01").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ("demo", "--accounts", "-5"),
        ("demo", "--accounts", "0"),
        ("demo", "--history-days", "-1"),
        ("demo", "--port", "99999"),
        ("sandbox", "serve", "--accounts", "-3"),
        ("serve", "--port", "0"),
        ("worker", "--concurrency", "0"),
    ],
    ids=lambda a: " ".join(a),
)
def test_out_of_range_numbers_are_refused_before_anything_starts(args: tuple[str, ...]) -> None:
    """They were accepted: the demo built a book of -5 accounts, serve failed only at bind time."""
    import click

    group: click.Command = main
    ctx = None
    words = list(args)
    while isinstance(group, click.Group):
        group = group.commands[words.pop(0)]
    with pytest.raises(click.BadParameter):
        ctx = group.make_context(args[0], words)  # parses and validates, runs nothing
    assert ctx is None


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xff\xfe\x01binary", "not UTF-8 text"),
        (b"[other]\nlog_level = DEBUG\n", "no [healthscore] section (found other)"),
        (None, "cannot be read"),  # a directory where the file should be
    ],
    ids=["binary", "wrong-section", "directory"],
)
def test_an_unusable_config_file_is_a_listed_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None, needle: str
) -> None:
    """A binary file ended in 'error: UnicodeDecodeError'; a directory or a file without [healthscore] was
    skipped without a word, so its settings silently did not apply."""
    instance = tmp_path / "instance"
    instance.mkdir()
    cfg = instance / "healthscore.cfg"
    if content is None:
        cfg.mkdir()
    else:
        cfg.write_bytes(content)
    monkeypatch.setenv("HEALTHSCORE_INSTANCE_PATH", str(instance))
    result = CliRunner().invoke(main, ["db", "current"])
    assert result.exit_code == 2
    assert f"{cfg}: {needle}" in result.stderr
    assert "Fix the settings above" in result.stderr


def test_ctrl_c_while_the_commands_load_is_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Importing every command takes about 2 s: a Ctrl-C then printed an import traceback (exit -2)."""
    from connector import cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_register", interrupted)
    with pytest.raises(SystemExit) as stop:
        cli._start()
    assert stop.value.code == 130
    assert "interrupted while starting" in capsys.readouterr().err


def test_an_input_file_that_is_not_utf8_is_named_as_such(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`model evaluate --tickets junk.bin` ended in 'error: UnicodeDecodeError: …' with the generic hint."""
    from connector.commands import pipeline as commands

    def reads_junk(*_args: object, **_kwargs: object) -> dict[str, object]:
        return {"x": b"\xeb\x00junk".decode("utf-8")}

    monkeypatch.setattr(commands, "tenant_ids", lambda *_: [(1, "acme")])
    monkeypatch.setattr(commands.pipeline, "score", reads_junk)
    result = _run(store, "score")
    assert result.exit_code == 2
    assert "error: an input file is not UTF-8 text (invalid continuation byte at byte 0)" in result.stderr
    assert "save it as UTF-8" in result.stderr


def test_create_admin_without_a_terminal_says_how_to_pass_the_password(store: str) -> None:
    """With stdin not a terminal (a script, CI) it printed 'Password: Aborted!' and exited 1."""
    result = CliRunner().invoke(
        main,
        ["users", "create-admin", "--tenant", "acme", "--email", "ana@acme.test", "--create-tenant", "Acme"],
        env={"HEALTHSCORE_DATABASE_URL": store},
        input="",
    )
    assert result.exit_code == 2
    assert "error: no terminal to ask for the password on" in result.stderr
    assert "--password-stdin" in result.stderr
    assert "Aborted" not in result.output


@pytest.mark.parametrize("args", [("sentiment", "explain", "hi"), ("sentiment", "classify", "--jsonl")])
def test_a_model_path_that_does_not_exist_is_named(tmp_path: Path, args: tuple[str, ...]) -> None:
    """It was reported as a missing head file under instance/heads/ to rebuild with `model train`."""
    result = CliRunner().invoke(main, [*args, "--model-path", str(tmp_path / "nope")], input="{}\n")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope'} does not exist" in result.stderr
    assert "model train" not in result.stderr


def test_an_in_memory_sqlite_url_creates_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sqlite://` (accepted by the settings) made a folder named 'sqlite:' in the working directory and
    failed with 'Is a directory: sqlite://'."""
    monkeypatch.chdir(tmp_path)
    result = _run("sqlite://", "score")
    assert result.exit_code == 2
    assert "no healthscore tables yet" in result.stderr
    assert not (tmp_path / "sqlite:").exists()
