"""The redaction filter keeps tokens, secrets and Authorization headers out of every log line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from connector.logs import configure_logging, redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("GET /x Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("headers={'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
        ("refresh failed: refresh_token=5Aep861abcXYZ&client_id=1", "5Aep861abcXYZ"),
        ('{"access_token": "pat-na1-11111111"}', "pat-na1-11111111"),
        ("client_secret=s3cr3tvalue", "s3cr3tvalue"),
        ("endpoint secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("session 00D5g000004abcd!AQ0AQH0dMHZfz.abc", "AQ0AQH0dMHZfz"),
        ("key hsk_1a2b3c4d_Zx9-Kq_7vLm0pQ8rS2tU4wY6aB1cD3eF5gH7iJ9kL0m given", "Zx9-Kq_7vLm0pQ8rS2tU4wY6"),
        ("stored gAAAAABnZ1a2b3c4d5e6f7g8h9i0jklmnopqrstuv", "ABnZ1a2b3c4d5e6f7g8h9i0"),
    ],
    ids=[
        "bearer",
        "basic-header",
        "refresh-token-form",
        "json-access-token",
        "client-secret",
        "whsec",
        "sf-session",
        "api-key-without-bearer",
        "fernet",
    ],
)
def test_redact(line: str, secret: str) -> None:
    assert secret not in redact(line)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_handler_redacts_formatted_args_and_keeps_context(fmt: str) -> None:
    stream = io.StringIO()
    handler = configure_logging(fmt, "INFO", stream=stream)
    try:
        logging.getLogger("healthscore.test").info(
            "token refresh with %s",
            "refresh_token=abc123secret",
            extra={"tenant": "acme", "vendor": "hubspot"},
        )
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert "abc123secret" not in out
    assert "acme" in out
    if fmt == "json":
        record = json.loads(out.strip())
        assert record["vendor"] == "hubspot"


def test_exception_text_is_redacted() -> None:
    stream = io.StringIO()
    handler = configure_logging("text", "INFO", stream=stream)
    try:
        try:
            raise RuntimeError("401 for Authorization: Bearer tok_SUPERSECRET")
        except RuntimeError:
            logging.getLogger("healthscore.test").exception("vendor call failed")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "tok_SUPERSECRET" not in stream.getvalue()
    assert "vendor call failed" in stream.getvalue()


def test_console_lines_carry_the_error_summary_not_the_traceback() -> None:
    stream = io.StringIO()
    handler = configure_logging("text", "INFO", stream=stream)
    try:
        try:
            raise RuntimeError("vendor said no for Bearer tok_SUPERSECRET")
        except RuntimeError:
            logging.getLogger("healthscore.test").exception("sync failed")
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert "sync failed (RuntimeError: vendor said no for" in out
    assert "Traceback" not in out
    assert "tok_SUPERSECRET" not in out
    debug = io.StringIO()
    handler = configure_logging("text", "DEBUG", stream=debug)
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("healthscore.test").exception("sync failed")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "Traceback" in debug.getvalue()  # DEBUG keeps the whole story
