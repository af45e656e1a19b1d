"""Pure write-back logic: batching, 207 rows, split retry on a whole-batch 400 (send is a fake)."""

from __future__ import annotations

import pytest

from integrations.errors import PermissionDeniedError, TransientError
from integrations.hubspot.errors import BatchRejectedError
from integrations.hubspot.writeback import BatchOutcome, Row, RowError, write_rows


def rows(n: int, bad: frozenset[int] = frozenset()) -> list[Row]:
    return [(i, {"id": str(1000 + i), "properties": {"x": "bad" if i in bad else "ok"}}) for i in range(n)]


class FakeHubSpot:
    """Refuses a whole batch when any row is bad (as a 400 does); otherwise updates every row."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.calls: list[int] = []
        self.refuse = refuse

    def send(self, inputs: list[dict[str, object]]) -> BatchOutcome:
        self.calls.append(len(inputs))
        if any(i["properties"] == {"x": "bad"} for i in inputs):
            raise BatchRejectedError("hubspot", "HTTP 400", code="INVALID_OPTION")
        ids = [str(i["id"]) for i in inputs]
        errors = tuple(
            RowError(ids=(i,), category="VALIDATION_ERROR", message="no") for i in ids if i in self.refuse
        )
        return BatchOutcome(updated=frozenset(i for i in ids if i not in self.refuse), errors=errors)


@pytest.mark.parametrize(("n", "calls"), [(1, [1]), (100, [100]), (101, [100, 1]), (250, [100, 100, 50])])
def test_batches_of_at_most_100(n: int, calls: list[int]) -> None:
    fake = FakeHubSpot()
    results = write_rows(rows(n), fake.send)
    assert fake.calls == calls
    assert all(r.ok for r in results.values())
    assert sorted(results) == list(range(n))


def test_split_isolates_two_bad_rows() -> None:
    fake = FakeHubSpot()
    results = write_rows(rows(8, bad=frozenset({1, 6})), fake.send)
    assert [results[i].ok for i in range(8)] == [True, False, True, True, True, True, False, True]
    assert results[1].error_code == "INVALID_OPTION"
    assert not results[1].retryable
    assert fake.calls == [8, 4, 2, 1, 1, 2, 4, 2, 2, 1, 1]


def test_207_rows_and_unconfirmed_rows() -> None:
    fake = FakeHubSpot(refuse=frozenset({"1002"}))
    results = write_rows(rows(3), fake.send)
    assert (results[2].ok, results[2].error_code, results[2].retryable) == (False, "VALIDATION_ERROR", False)

    def silent(inputs: list[dict[str, object]]) -> BatchOutcome:
        return BatchOutcome(updated=frozenset(), errors=())

    unconfirmed = write_rows(rows(1), silent)
    assert (unconfirmed[0].ok, unconfirmed[0].error_code, unconfirmed[0].retryable) == (
        False,
        "NOT_CONFIRMED",
        True,
    )


def test_spent_retries_leave_rows_retryable_and_other_errors_raise() -> None:
    def down(inputs: list[dict[str, object]]) -> BatchOutcome:
        raise TransientError("hubspot", "HTTP 503")

    results = write_rows(rows(2), down)
    assert all(r.retryable and r.error_code == "TRANSIENT" for r in results.values())

    def forbidden(inputs: list[dict[str, object]]) -> BatchOutcome:
        raise PermissionDeniedError("hubspot", "HTTP 403", missing="crm.objects.companies.write")

    with pytest.raises(PermissionDeniedError):
        write_rows(rows(2), forbidden)
