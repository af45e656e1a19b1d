"""Write-back logic for HubSpot batch updates (pure: the HTTP call is injected as `send`).

HubSpot batch update takes ≤ 100 inputs. A 207 multi-status names the rows it refused; a 400 refuses the
whole batch for one bad value (an unknown property, an enumeration option that does not exist), so the
batch is split in halves until the bad rows stand alone and the good ones land (split retry, as Hightouch
does). Results come back per row, in the order of the writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from integrations.errors import TransientError
from integrations.hubspot.errors import BatchRejectedError
from integrations.hubspot.search import BATCH_LIMIT, chunks
from integrations.records import WriteResult

Row = tuple[int, dict[str, object]]  # (position in the writes, batch input {"id", "properties"})
# Row errors a retry cannot fix: the value is invalid or the record does not exist.
PERMANENT = frozenset({"VALIDATION_ERROR", "OBJECT_NOT_FOUND"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RowError:
    ids: tuple[str, ...]
    category: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchOutcome:
    """Per-row outcome of one batch update (200 or 207 multi-status)."""

    updated: frozenset[str]
    errors: tuple[RowError, ...]


Send = Callable[[list[dict[str, object]]], BatchOutcome]


def write_rows(rows: Sequence[Row], send: Send) -> dict[int, WriteResult]:
    """Send `rows` in batches of ≤ 100; every row gets a result.

    Raises:
        IntegrationError: anything but a rejected batch or spent retries (reauth, permission, quota).
    """
    results: dict[int, WriteResult] = {}
    for chunk in chunks(list(rows), BATCH_LIMIT):
        _write_chunk(list(chunk), send, results)
    return results


def _write_chunk(chunk: list[Row], send: Send, results: dict[int, WriteResult]) -> None:
    try:
        outcome = send([row for _, row in chunk])
    except BatchRejectedError as exc:
        if len(chunk) == 1:
            i, row = chunk[0]
            results[i] = WriteResult(
                account_external_id=str(row["id"]), ok=False, error_code=exc.code, message=exc.detail
            )
            return
        mid = len(chunk) // 2
        _write_chunk(chunk[:mid], send, results)
        _write_chunk(chunk[mid:], send, results)
        return
    except TransientError as exc:  # retries spent: the rows stay queued for the next run
        for i, row in chunk:
            results[i] = WriteResult(
                account_external_id=str(row["id"]),
                ok=False,
                error_code="TRANSIENT",
                message=exc.detail,
                retryable=True,
            )
        return
    collect(chunk, outcome, results)


def collect(chunk: Sequence[Row], outcome: BatchOutcome, results: dict[int, WriteResult]) -> None:
    """Per-row results of one answered batch: refused rows, updated rows, and rows it did not mention."""
    by_id = {rid: err for err in outcome.errors for rid in err.ids}
    for i, row in chunk:
        rid = str(row["id"])
        err = by_id.get(rid)
        if err is not None:
            results[i] = WriteResult(
                account_external_id=rid,
                ok=False,
                error_code=err.category,
                message=err.message,
                retryable=err.category not in PERMANENT,
            )
        elif rid in outcome.updated:
            results[i] = WriteResult(account_external_id=rid, ok=True)
        else:
            results[i] = WriteResult(
                account_external_id=rid,
                ok=False,
                error_code="NOT_CONFIRMED",
                message="absent from the response",
                retryable=True,
            )
