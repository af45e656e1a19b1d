"""connector.store.chunks: the one helper that cuts id lists into IN lists (was hand-repeated in the
outbox, the repo's upserts and _rejudge, the portfolio's drivers and the sentiment cache read)."""

from __future__ import annotations

import pytest

from connector.store.chunks import IN_LIST_SIZE, chunks


def test_empty_gives_nothing() -> None:
    assert list(chunks([])) == []
    assert list(chunks((), 3)) == []


def test_an_exact_multiple_gives_full_chunks_only() -> None:
    assert list(chunks([1, 2, 3, 4, 5, 6], 3)) == [[1, 2, 3], [4, 5, 6]]
    ids = list(range(2 * IN_LIST_SIZE))
    got = list(chunks(ids))
    assert [len(c) for c in got] == [IN_LIST_SIZE, IN_LIST_SIZE]
    assert [i for c in got for i in c] == ids


def test_a_remainder_is_the_last_shorter_chunk() -> None:
    assert list(chunks([1, 2, 3, 4, 5, 6, 7], 3)) == [[1, 2, 3], [4, 5, 6], [7]]
    assert [len(c) for c in chunks(list(range(IN_LIST_SIZE + 1)))] == [IN_LIST_SIZE, 1]
    assert list(chunks(["a"], 1000)) == [["a"]]


def test_chunks_are_lists_even_from_a_tuple_or_range() -> None:
    """IN lists take lists; the outbox's release() passed a tuple slice through list() by hand."""
    assert list(chunks((1, 2, 3), 2)) == [[1, 2], [3]]
    assert list(chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("size", [0, -1])
def test_a_size_below_one_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(chunks([1, 2], size))
