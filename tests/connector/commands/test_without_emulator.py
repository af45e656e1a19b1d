"""After `healthscore demo --no-serve` the emulator is gone: every product command still works (the tenant
clock and the book's truth were recorded in the store), and a command that needs a vendor or the emulator
says so in one message with a hint and exit code 2 — never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli import main

pytestmark = pytest.mark.slow

DEAD = "http://127.0.0.1:9"  # discard port: nothing answers


def _cli(
    env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    """Commands run in-process here configure logging (the demo quiets our loggers); leave it as found."""
    import logging

    names = ("", "connector", "webhooks", "integrations", "nlp", "werkzeug", "celery")
    levels = {n: logging.getLogger(n).level for n in names}
    handlers = list(logging.getLogger().handlers)
    yield
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)
    root = logging.getLogger()
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)


@pytest.fixture(scope="module")
def after_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    root = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHSCORE_")}
    env.update(
        HEALTHSCORE_INSTANCE_PATH=str(root / "instance"),
        PYTHONPATH=str(Path(__file__).resolve().parents[3]),
    )
    demo = _cli(
        env, root, "demo", "--no-serve", "--accounts", "30", "--history-days", "15", "--seed", "5", "--json"
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Traceback" not in demo.stderr
    summary = json.loads(demo.stdout)
    assert set(summary["tenants"]) == {"northwind", "contoso"}
    return env, root


COMMANDS = [
    ("backtest",),
    ("backtest", "--json"),
    ("score",),
    ("link", "report"),
    ("link", "report", "--json"),
    ("webhooks", "list"),
    ("webhooks", "deliver"),
    ("db", "current"),
    ("sentiment", "explain", "The export keeps failing and nobody answers."),
    ("users", "invite", "--tenant", "northwind", "--email", "new.rep@northwind.demo"),
    ("webhooks", "replay", "--tenant", "northwind"),
    ("sync",),
    ("run",),
    ("writeback",),
    ("fields", "ensure"),
    ("link", "confirm", "--tenant", "northwind", "--organization", "999999"),
    ("sandbox", "tick", "--days", "1", "--sandbox", DEAD),
    ("demo", "--sandbox", DEAD, "--no-serve"),
    ("backtest", "--tenant", "nobody"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_command_after_the_emulator_is_gone(
    after_demo: tuple[dict[str, str], Path], args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, root = after_demo
    monkeypatch.chdir(root)
    for key in [k for k in os.environ if k.startswith("HEALTHSCORE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HEALTHSCORE_INSTANCE_PATH", env["HEALTHSCORE_INSTANCE_PATH"])
    result = CliRunner().invoke(main, list(args))
    out = result.stdout + result.stderr
    # CliRunner catches what would have been a traceback: only a clean exit (SystemExit) is allowed.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out, out[-3000:]
    assert result.exit_code in (0, 1, 2), out[-3000:]
    if result.exit_code:
        assert "error" in result.stderr.lower() or "hint" in result.stderr.lower(), out[-2000:]


def test_product_commands_read_the_stored_clock_and_truth(after_demo: tuple[dict[str, str], Path]) -> None:
    env, root = after_demo
    report = _cli(env, root, "link", "report", "--tenant", "northwind", "--json")
    assert report.returncode == 0, report.stderr[-2000:]
    data = json.loads(report.stdout)
    assert data["wrong_links"] is not None  # the demo recorded the book's truth; no emulator was asked
    backtest = _cli(env, root, "backtest", "--tenant", "northwind", "--json")
    assert backtest.returncode == 0, backtest.stderr[-2000:]
    assert json.loads(backtest.stdout)["truth"] == "sandbox ground truth"


def test_sentiment_classify_reads_jsonl_without_the_emulator(after_demo: tuple[dict[str, str], Path]) -> None:
    env, root = after_demo
    proc = _cli(env, root, "sentiment", "classify", "--jsonl", stdin='{"text": "Thanks, that fixed it!"}\n')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[0])["label"] in {"positive", "neutral", "negative"}


def test_demo_people_include_a_rep_who_owns_accounts(after_demo: tuple[dict[str, str], Path]) -> None:
    from sqlalchemy import func, select

    from connector.config import load_settings
    from connector.demo.run import add_demo_people
    from connector.store import models as m
    from connector.store.db import transaction

    env, _ = after_demo
    settings = load_settings({"instance_path": env["HEALTHSCORE_INSTANCE_PATH"]})
    people = add_demo_people(settings)
    assert add_demo_people(settings) == people  # idempotent: a second serve adds nobody twice
    reps = [p for p in people if p["role"] == "Account rep"]
    assert {p["tenant"] for p in reps} == {"northwind", "contoso"}
    assert len({p["email"] for p in reps}) == 2
    with transaction(settings.sqlalchemy_url) as session:
        for rep in reps:
            owned = session.scalar(
                select(func.count())
                .select_from(m.Account)
                .where(func.lower(m.Account.owner_email) == rep["email"].lower())
            )
            assert owned, rep


def _contoso(
    after_demo: tuple[dict[str, str], Path], command: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, dict[str, Any]]:
    """`command` (sync or run) for contoso in-process; the result and the HubSpot installation's report."""
    env, root = after_demo
    monkeypatch.chdir(root)
    for key in [k for k in os.environ if k.startswith("HEALTHSCORE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HEALTHSCORE_INSTANCE_PATH", env["HEALTHSCORE_INSTANCE_PATH"])
    result = CliRunner().invoke(main, [command, "--tenant", "contoso", "--json"])
    assert result.exit_code == 1, result.stderr[-2000:]
    report = json.loads(result.stdout)["tenants"]["contoso"]
    sync_report = report["steps"]["sync"] if command == "run" else report
    hubspot = next(i for i in sync_report["installations"] if i["vendor"] == "hubspot")
    assert hubspot["status"] == "unreachable"
    assert [s["status"] for s in hubspot["streams"]] == ["unreachable"]  # the other streams not tried
    return result, hubspot


def _ca_files(env: dict[str, str]) -> set[str]:
    from sqlalchemy import select

    from connector.config import load_settings
    from connector.store import models as m
    from connector.store.db import transaction

    settings = load_settings({"instance_path": env["HEALTHSCORE_INSTANCE_PATH"]}, environ={})
    with transaction(settings.sqlalchemy_url) as session:
        return {p for p in session.scalars(select(m.Installation.ca_file)) if p}


@pytest.mark.parametrize("command", ["sync", "run"])
def test_a_vendor_that_refuses_connections_is_named_once_with_its_url(
    after_demo: tuple[dict[str, str], Path], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listens on the emulator's ports any more: the installation stops at its first call (no backoff
    per stream: ~35 s per tenant before) and the last lines name the URL and what to check. The emulator's
    CA file went with it, so a stand-in is put at its path for this case (the next test is the file gone)."""
    import certifi

    made = []
    for path in _ca_files(after_demo[0]):
        if not Path(path).exists():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_bytes(Path(certifi.where()).read_bytes())
            made.append(Path(path))
    try:
        result, _ = _contoso(after_demo, command, monkeypatch)
    finally:
        for path in made:
            path.unlink()
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert "hubspot unreachable at https://127.0.0.1:" in error
    assert "connection refused" in error
    assert "firewall" in result.stderr  # what to check


@pytest.mark.parametrize("command", ["sync", "run"])
def test_a_ca_file_that_went_with_the_emulator_is_named_with_what_to_do(
    after_demo: tuple[dict[str, str], Path], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the demo leaves it: the installations trust the emulator's CA file, which it took away when it
    stopped. Each vendor stops at once naming the file and saying to start the sandbox again (requests and
    urllib3 said a bare OSError before: 'unexpected error: OSError')."""
    gone = _ca_files(after_demo[0])
    assert gone
    assert not any(Path(p).exists() for p in gone)
    result, hubspot = _contoso(after_demo, command, monkeypatch)
    assert "CA certificate file" in hubspot["streams"][0]["error"]
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert "the CA certificate file this installation trusts is missing (" in error
    assert "OSError" not in result.stdout + result.stderr
    assert "start the sandbox again" in result.stderr


def _readme_commands() -> tuple[list[str], list[str]]:
    """The README's two lists: commands that work from the store alone, and those that call the vendors."""
    import re

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    paragraph = readme.split("Once the demo has run,", 1)[1].split("\n\n", 1)[0]
    reading, calling = paragraph.split("The commands that call the vendors", 1)
    calling = calling.split(")", 1)[0]
    return re.findall(r"`([a-z][a-z -]*)`", reading), re.findall(r"`([a-z][a-z -]*)`", calling)


def test_the_readme_says_which_commands_work_without_the_emulator(
    after_demo: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README said 'Every command works without the emulators once the demo has run'; sync and run then
    ended in 'N of M streams did not finish' (exit 1), which a newcomer read as broken."""
    env, root = after_demo
    reading, calling = _readme_commands()
    assert {"score", "backtest", "link report", "serve"} <= set(reading)
    assert {"sync", "run", "fields ensure"} <= set(calling)
    for command in [c for c in reading if c != "serve"]:  # serve runs until stopped
        result = _cli(env, root, *command.split())
        assert result.returncode == 0, f"{command}: {result.stderr[-1500:]}"
    for command in ("sync", "run", "fields ensure"):
        result = _cli(env, root, *command.split())
        assert result.returncode == 1, f"{command}: {result.stderr[-1500:]}"
        assert "start the sandbox again" in result.stderr
