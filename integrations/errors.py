"""The integration error taxonomy, grouped by what the caller does next.

    IntegrationError (vendor, hint for the user, redacted detail)
    ├── TransientError                 → retry with jittered backoff / re-enqueue
    │   ├── RateLimitError (retry_after)   → wait Retry-After, then retry
    │   │   └── BudgetExhaustedError           → never sent: re-queue the work with the countdown
    │   └── UnreachableError               → no connection on the pass's first call: stop the installation now
    ├── TokenExpiredError              → refresh once, retry; twice → ReauthRequiredError
    ├── ReauthRequiredError            → stop this installation's sync; UI says "Reconnect <vendor>"
    ├── PermissionDeniedError          → skip the stream, report the scope/field named
    ├── QuotaExhaustedError            → stop cleanly, cursors saved (SF REQUEST_LIMIT_EXCEEDED)
    ├── RecordRejectedError            → that row stays in the outbox with its reason
    ├── MalformedResponseError         → fail that stream loudly, cursor untouched
    └── FatalIntegrationError          → fail the run loudly

Each vendor's `errors.py` is a pure table from SDK exception / status / body to these classes.
"""

from __future__ import annotations

import os


class IntegrationError(Exception):
    """Base class: a vendor call failed. `hint` says what a user can do; `detail` is safe to log."""

    default_hint = "Check the installation's status page."

    def __init__(self, vendor: str, detail: str, *, hint: str | None = None) -> None:
        super().__init__(f"{vendor}: {detail}")
        self.vendor = vendor
        self.detail = detail
        self.hint = hint or self.default_hint


class TransientError(IntegrationError):
    default_hint = "The vendor is temporarily unavailable; the sync retries on its own."


class RateLimitError(TransientError):
    default_hint = "The vendor's rate limit was hit; the sync waits and resumes."

    def __init__(
        self, vendor: str, detail: str, *, retry_after: float | None = None, hint: str | None = None
    ) -> None:
        super().__init__(vendor, detail, hint=hint)
        self.retry_after = retry_after


class BudgetExhaustedError(RateLimitError):
    """Our own shared budget for this installation is spent (Connection.before_call refused the call, so no
    request was sent). Unlike a vendor 429 it is never slept through: the caller re-queues its work with
    `retry_after` as the countdown and the worker serves other tenants meanwhile."""

    default_hint = "This installation's API budget is spent for now; the sync resumes when it refills."


class UnreachableError(TransientError):
    """No connection could be opened to the vendor (refused, host name not found, no route) before it had
    answered anything in this pass: the vendor is down or the URL is wrong, which backoff within the pass
    does not fix. Raised at once (no retry) and stops the installation's pass; still a TransientError, so
    queued write-backs stay queued and the next pass tries again. A refusal after an answer (a restart
    mid-pass) stays an ordinary TransientError and is retried (integrations.retry.Reach)."""

    default_hint = (
        "Check that the URL is right and the vendor is up, and that this machine can reach it "
        "(DNS, firewall, proxy); the next pass tries again."
    )


class TokenExpiredError(IntegrationError):
    default_hint = "The access token expired; it is refreshed automatically."


class ReauthRequiredError(IntegrationError):
    default_hint = "Reconnect the integration: an admin must sign in to the vendor again."

    def __init__(self, vendor: str, detail: str, *, hint: str | None = None) -> None:
        super().__init__(
            vendor, detail, hint=hint or f"Reconnect {vendor.title()} from Admin → Integrations."
        )


class PermissionDeniedError(IntegrationError):
    default_hint = "Grant the missing permission or scope to the integration user, then reconnect."

    def __init__(
        self, vendor: str, detail: str, *, missing: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(vendor, detail, hint=hint)
        self.missing = missing


class QuotaExhaustedError(IntegrationError):
    default_hint = (
        "The vendor's daily API quota is used up; the next scheduled sync continues from the cursor."
    )


class RecordRejectedError(IntegrationError):
    default_hint = "Fix the record in the vendor (or the field's validation rule); it is retried next run."


class MalformedResponseError(IntegrationError):
    default_hint = "The vendor sent a response we could not read; the stream is retried next run."


class FatalIntegrationError(IntegrationError):
    default_hint = "This needs a developer: see the run log for the detail."


# Class names (anywhere in an exception's chain) that mean no connection was opened at all. By name, so this
# stays free of SDK imports: urllib3's NewConnectionError (and its NameResolutionError), the OS's own errors.
# A connect *timeout* is not among them (urllib3 raises ConnectTimeoutError itself, which is retried).
_NOT_RESOLVED = frozenset({"NameResolutionError", "gaierror"})
_NOT_CONNECTED = frozenset({"NewConnectionError", "ConnectionRefusedError"})


def unreachable_cause(exc: BaseException) -> str | None:
    """Why no connection could be opened ("connection refused", "host name not found", "no connection
    could be opened"), read through the SDKs' wrappers (requests' ConnectionError → urllib3's MaxRetryError →
    NewConnectionError, `raise … from`); None when the chain holds no such failure (an HTTP status, a
    timeout, a reset mid-answer)."""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo and len(seen) < 32:
        err = todo.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        names = {cls.__name__ for cls in type(err).__mro__}
        if names & _NOT_RESOLVED:
            return "host name not found"
        if names & _NOT_CONNECTED:
            refused = "ConnectionRefusedError" in names or "refused" in str(err).lower()
            return "connection refused" if refused else "no connection could be opened"
        for nxt in (err.__cause__, err.__context__, getattr(err, "reason", None), *err.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return None


def ca_file_missing(vendor: str, ca_file: str | None) -> UnreachableError | None:
    """The error for an installation whose trusted CA file is gone (None: there is none, or it is there).
    requests and urllib3 fail such a call with a bare OSError before connecting, which read as
    "unexpected error: OSError"; the demo's sandbox writes that file and takes it away when it stops."""
    if not ca_file or os.path.isfile(ca_file):
        return None
    return UnreachableError(
        vendor,
        f"the CA certificate file this installation trusts is missing ({ca_file})",
        hint="If it came from the sandbox (the demo), start the sandbox again; otherwise reconnect the "
        "installation with a CA file that exists, or without one for a vendor's public certificate.",
    )
