"""Logging: text or JSON lines, tenant/vendor/run_id context, and a redaction filter for secrets."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

CONTEXT_KEYS = ("tenant", "vendor", "run_id", "step")

# What must never reach a log line: bearer tokens, Authorization headers, token-ish key=value pairs,
# our own secrets (whsec_), Fernet tokens and Salesforce session ids.
_PATTERNS = [
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s,;'\"}]+"),
        r"\1[REDACTED]",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=!-]+"), "Bearer [REDACTED]"),
    (
        re.compile(
            r"(?i)((?:access_token|refresh_token|client_secret|password|secret|api_key|token|code_verifier|session_id)"
            r"[\"']?\s*[:=]\s*[\"']?)([^\s&,;'\"}]+)"
        ),
        r"\1[REDACTED]",
    ),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_[REDACTED]"),
    # Our API keys, hsk_<prefix>_<secret>: the prefix (shown in the admin's key list) stays, to say which key.
    (re.compile(r"\b(hsk_[0-9a-f]{8}_)[A-Za-z0-9_\-]+"), r"\1[REDACTED]"),
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), "[REDACTED-FERNET]"),
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+"), "[REDACTED-SF-SESSION]"),
    # Secrets in URL paths: the Salesforce inbound URL token, invitation links, HubSpot's token lookups. Flask
    # logs the path of every request that fails ("Exception on /inbound/salesforce/acme/<token> [POST]").
    (re.compile(r"(/inbound/salesforce/[^/\s]+/)[^/\s?#\"']+"), r"\1[REDACTED]"),
    (re.compile(r"(/invite/)[^/\s?#\"']+"), r"\1[REDACTED]"),
    (re.compile(r"(/oauth/v1/(?:access|refresh)-tokens/)[^/\s?#\"']+"), r"\1[REDACTED]"),
]


def redact(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record's message (after % formatting) so secrets never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, default=str)


# Characters that end a line in a terminal, a log file or a log viewer (C0 controls but tab, DEL, NEL and the
# Unicode line and paragraph separators).
_LINE_BREAKING = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def _escape_char(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal. A traceback is shown only at DEBUG: a person reading the console gets
    the error's one-line summary (its type and message), and HEALTHSCORE_LOG_LEVEL=DEBUG shows the rest."""

    def __init__(self, fmt: str, *, tracebacks: bool = False) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if _LINE_BREAKING.search(message):
            # One record, one line: a CR/LF in a logged value (a request path Flask logs decoded with
            # "Exception on …", an exception's text quoting vendor or ticket data) would start a forged line
            # of its own. Escaped as Python writes them (\n); tracebacks (DEBUG) keep their lines.
            record = logging.makeLogRecord(
                {**record.__dict__, "msg": _LINE_BREAKING.sub(_escape_char, message), "args": ()}
            )
        if record.exc_info and not self.tracebacks:
            exc = record.exc_info[1]
            summary = redact(f"{type(exc).__name__}: {exc}") if exc is not None else ""
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
            summary = _LINE_BREAKING.sub(_escape_char, summary)
            record.msg, record.args = (
                f"{record.getMessage()} ({summary})" if summary else record.getMessage(),
                (),
            )
        base = super().format(record)
        ctx = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_KEYS if hasattr(record, k))
        return f"{base} [{ctx}]" if ctx else base


def configure_logging(fmt: str = "text", level: str = "INFO", stream: Any = None) -> logging.Handler:
    """Install one handler on the root logger (idempotent); logs go to stderr so stdout stays JSON-clean."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_healthscore", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._healthscore = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else TextFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", tracebacks=level.upper() == "DEBUG"
        )
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    # alembic: "Context impl SQLiteImpl." twice per command that checks the schema (`db upgrade --verbose`
    # shows them).
    for noisy in ("urllib3", "werkzeug", "zeep", "hubspot", "transformers", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
