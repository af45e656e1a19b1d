"""Cutting long id lists into IN lists (and executemany batches) of a bounded size."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# Ids per IN list (and rows per executemany batch): SQLite's bound-parameter limit is 32,766 and
# PostgreSQL's 65,535; 1,000 stays well inside both and keeps each statement small.
IN_LIST_SIZE = 1000


def chunks(items: Sequence[T], size: int = IN_LIST_SIZE) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items, in order; nothing for an empty sequence.

    Raises:
        ValueError: `size` is not positive (range() would loop for ever or not at all).
    """
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    for i in range(0, len(items), size):
        yield list(items[i : i + size])
