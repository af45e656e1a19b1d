"""Text hashing and a small in-memory LRU so unchanged ticket text is never scored twice."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import TypeVar

V = TypeVar("V")

# Bump when preprocessing or the scoring recipe changes, so cached results from the old recipe miss.
# 3: courtesy sentences cut at the start of a message (nlp.preprocess.strip_courtesy).
# 4: a message that is only a salutation line ("Hello, thanks") is kept, not cleaned to nothing.
CACHE_VERSION = "4"


def text_hash(text: str) -> str:
    """Stable hex key for a text (sha256 of its UTF-8 bytes plus the cache version)."""
    data = text.encode("utf-8", errors="surrogatepass")
    return hashlib.sha256(CACHE_VERSION.encode() + b"\0" + data).hexdigest()


class LRUCache(MutableMapping[str, V]):
    """A bounded mapping that forgets the least recently used key first."""

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.maxsize = maxsize
        self._data: OrderedDict[str, V] = OrderedDict()

    def __getitem__(self, key: str) -> V:
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def __setitem__(self, key: str, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)
