"""Settings precedence and validation: one message listing every problem, naming the variable to set."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connector.config import ConfigError, load_settings, normalise_database_url
from connector.installs.vault import generate_key


def test_precedence_defaults_file_env_overrides(tmp_path: Path) -> None:
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "healthscore.cfg").write_text(
        "[healthscore]\nlog_format = json\nsync_interval_minutes = 7\nlog_level = DEBUG\n"
    )
    env = {"HEALTHSCORE_INSTANCE_PATH": str(inst), "HEALTHSCORE_SYNC_INTERVAL_MINUTES": "9"}
    s = load_settings({"log_level": "WARNING"}, environ=env)
    assert s.log_format == "json"  # from the file
    assert s.sync_interval_minutes == 9  # env beats file
    assert s.log_level == "WARNING"  # overrides beat env
    assert s.broker_url == "redis://127.0.0.1:6379/0"  # default


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
    ids=["heroku-style", "plain", "already-psycopg", "sqlite"],
)
def test_database_urls_are_normalised(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected
    assert load_settings({"database_url": given}, environ={}).sqlalchemy_url == expected


def test_sqlite_is_the_default(tmp_path: Path) -> None:
    s = load_settings(environ={"HEALTHSCORE_INSTANCE_PATH": str(tmp_path)})
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path / 'healthscore.db'}"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"database_url": "mysql://root@localhost/x"}, "HEALTHSCORE_DATABASE_URL"),
        ({"database_url": "not a url"}, "HEALTHSCORE_DATABASE_URL"),
        (
            {"env": "production", "token_keys": generate_key(), "public_base_url": "https://x.example"},
            "HEALTHSCORE_SECRET_KEY",
        ),
        ({"token_keys": "not-a-fernet-key"}, "HEALTHSCORE_TOKEN_KEYS"),
        ({"colour": "blue"}, "unknown setting 'colour'"),
        ({"sync_interval_minutes": "soon"}, "HEALTHSCORE_SYNC_INTERVAL_MINUTES"),
        ({"webhooks_allow_private_targets": "maybe"}, "HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS"),
    ],
    ids=[
        "mysql-url",
        "malformed-url",
        "prod-missing-secret",
        "bad-fernet-key",
        "unknown-setting",
        "bad-int",
        "bad-bool",
    ],
)
def test_each_bad_setting_names_the_variable(overrides: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides, environ={})
    assert needle in str(info.value)


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {"env": "production", "database_url": "nope", "token_keys": "bad", "log_format": "xml"},
            environ={},
        )
    text = str(info.value)
    for needle in (
        "HEALTHSCORE_DATABASE_URL",
        "HEALTHSCORE_SECRET_KEY",
        "HEALTHSCORE_TOKEN_KEYS",
        "HEALTHSCORE_LOG_FORMAT",
    ):
        assert needle in text
    assert len(info.value.problems) >= 4


def test_env_bool_parses() -> None:
    s = load_settings(environ={"HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true"})
    assert s.webhooks_allow_private_targets is True


# ---------------------------------------------------------------- secret key (issue 12 item 3)


def _prod(**extra: str) -> dict[str, str]:
    return {
        "env": "production",
        "token_keys": generate_key(),
        "public_base_url": "https://x.example",
        **extra,
    }


@pytest.mark.parametrize(
    "key",
    ["a" * 32, "ab" * 20, "password" * 5, "dev-insecure-secret-key-change-me", "short-but-random-Q7x"],
    ids=["identical", "two-chars", "repeated-word", "source-key", "short"],
)
def test_weak_secret_keys_are_refused(key: str, tmp_path: Path) -> None:
    for env in ("production", "development"):
        with pytest.raises(ConfigError) as info:
            load_settings({**_prod(secret_key=key), "env": env, "instance_path": str(tmp_path)}, environ={})
        assert "HEALTHSCORE_SECRET_KEY" in str(info.value)


def test_production_accepts_a_random_key(tmp_path: Path) -> None:
    import secrets

    key = secrets.token_urlsafe(48)
    assert (
        load_settings({**_prod(secret_key=key), "instance_path": str(tmp_path)}, environ={}).secret_key == key
    )
    assert not (tmp_path / "secret-key").exists()


def test_without_a_key_development_generates_and_keeps_one(tmp_path: Path) -> None:
    first = load_settings(environ={"HEALTHSCORE_INSTANCE_PATH": str(tmp_path)})
    assert first.env == "development"
    assert first.secret_key != "dev-insecure-secret-key-change-me"
    assert len(first.secret_key) >= 48
    path = tmp_path / "secret-key"
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_settings(environ={"HEALTHSCORE_INSTANCE_PATH": str(tmp_path)})
    assert again.secret_key == first.secret_key  # sessions survive a restart
    other = load_settings(environ={"HEALTHSCORE_INSTANCE_PATH": str(tmp_path / "elsewhere")})
    assert other.secret_key != first.secret_key  # no key shared between installs


def test_production_without_a_key_does_not_generate_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings({**_prod(), "instance_path": str(tmp_path)}, environ={})
    assert not (tmp_path / "secret-key").exists()


@pytest.mark.parametrize(
    ("env", "url", "warned"),
    [
        ("development", "https://health.example.com", True),  # a public deployment that forgot env
        ("development", "http://10.0.0.5:8000", True),
        ("development", "http://127.0.0.1:5000", False),  # the demo
        ("development", "http://localhost:5000", False),
        ("production", "https://health.example.com", False),
        ("test", "https://health.example.com", False),
    ],
)
def test_a_public_address_in_development_is_warned_about(env: str, url: str, warned: bool) -> None:
    from connector.config import Settings, exposure_warnings

    warnings = exposure_warnings(Settings(env=env, public_base_url=url))
    assert bool(warnings) is warned
    if warned:
        assert "HEALTHSCORE_ENV=production" in warnings[0]


def test_the_app_logs_the_exposure_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from connector import create_app

    with caplog.at_level(logging.WARNING, logger="connector"):
        create_app(
            {"env": "development", "public_base_url": "https://health.example.com",
             "instance_path": str(tmp_path), "database_url": f"sqlite:///{tmp_path}/db.sqlite"}
        )  # fmt: skip
    assert "set HEALTHSCORE_ENV=production" in caplog.text


def test_variables_of_other_commands_are_not_refused_as_settings(tmp_path: Path) -> None:
    """`healthscore model train` says 'set HEALTHSCORE_SENTIMENT_DATA'; a newcomer who exported it then saw
    every other command (demo, run, serve) stop with "unknown setting 'sentiment_data' in environment"."""
    env = {"HEALTHSCORE_INSTANCE_PATH": str(tmp_path), "HEALTHSCORE_SENTIMENT_DATA": str(tmp_path)}
    assert load_settings(environ=env).instance_path == str(tmp_path)
    with pytest.raises(ConfigError, match="unknown setting 'sentiment_dta'"):
        load_settings(environ={**env, "HEALTHSCORE_SENTIMENT_DTA": "x"})


@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_an_instance_folder_that_cannot_be_written_names_the_variable(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: 'error: File exists: …/instance' or 'Operation not permitted: …/secret-key' and the hint
    'check the path and its permissions', naming neither the instance folder nor HEALTHSCORE_INSTANCE_PATH."""
    import os

    inst = tmp_path / "instance"
    if kind == "file":
        inst.write_text("")
    else:
        inst.mkdir()

        def refuse(*_args: object, **_kwargs: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(os, "open", refuse)  # root ignores chmod; refuse the way a read-only folder does
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"HEALTHSCORE_INSTANCE_PATH": str(inst)})
    [problem] = caught.value.problems
    assert f"instance_path: {inst} cannot be used" in problem
    assert "HEALTHSCORE_INSTANCE_PATH" in problem
    assert ("a file, not a folder" if kind == "file" else "Permission denied") in problem


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("/srv/hs/healthscore.db", "sqlite:////srv/hs/healthscore.db"),
        ("localhost:5432/healthscore", "postgresql://localhost:5432/healthscore"),
        ("hs:s3cret@db.example.com/hs", "postgresql://hs:***@db.example.com/hs"),
    ],
    ids=["file-path", "host-port-db", "with-password"],
)
def test_a_database_url_without_its_scheme_says_which_url_was_meant(given: str, meant: str) -> None:
    """Before: 'not a SQLite or PostgreSQL URL (e.g. …)', not saying the scheme was what was missing."""
    with pytest.raises(ConfigError) as info:
        load_settings({"database_url": given}, environ={})
    assert f"did you mean {meant}?" in str(info.value)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"HEALTHSCORE_DATABASE": "sqlite://"}, "did you mean HEALTHSCORE_DATABASE_URL?"),
        ({"HEALTHSCORE_LOGLEVEL": "DEBUG"}, "did you mean HEALTHSCORE_LOG_LEVEL?"),
        ({"HEALTHSCORE_PORT": "5050"}, "make demo DEMO_PORT=N"),
    ],
    ids=["database", "loglevel", "port"],
)
def test_an_unknown_setting_names_the_one_probably_meant(env: dict[str, str], said: str) -> None:
    """Before: "unknown setting 'loglevel' in environment — remove it or check the spelling", leaving the
    newcomer to find the right name in the README (and HEALTHSCORE_PORT is no setting at all)."""
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env)
    assert said in str(info.value)
