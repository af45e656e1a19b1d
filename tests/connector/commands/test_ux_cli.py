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
