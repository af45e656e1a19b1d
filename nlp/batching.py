"""Chunk token sequences, batch them by length with dynamic padding, and pool the states per text.

Long texts are cut into windows of `max_len` tokens (at most `max_chunks` per text); every window is
scored in a batch of similar-length windows so little compute goes to padding. The per-text result is the
sum and count of token states (so the mean over all windows is exact) and, optionally, each content
token's projection through the head with its character offsets, for sentence-level attribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nlp.encoder import Encoder


@dataclass(slots=True)
class Pooled:
    """Running pool for one text."""

    total: np.ndarray
    count: int = 0
    proj: list[np.ndarray] = field(default_factory=list)
    offsets: list[np.ndarray] = field(default_factory=list)

    def mean_normalised(self) -> tuple[np.ndarray, float]:
        """The L2-normalised mean state and the scale (count * norm) that token projections divide by."""
        mean = self.total / max(self.count, 1)
        norm = float(np.linalg.norm(mean)) or 1.0
        return mean / norm, self.count * norm


@dataclass(frozen=True, slots=True)
class Chunk:
    """One window: owning text index, token ids (with specials) and content-token char offsets."""

    text_index: int
    ids: np.ndarray
    offsets: np.ndarray


def special_ids(tokenizer: Any) -> tuple[list[int], list[int], int]:
    """Prefix and suffix special ids (e.g. [CLS] / [SEP]) and the pad id, read from the tokenizer."""
    specials = tokenizer.encode("", add_special_tokens=True).ids
    pad = tokenizer.token_to_id("[PAD]")
    if pad is None:
        pad = tokenizer.token_to_id("<pad>") or 0
    return list(specials[:1]), list(specials[1:]), int(pad)


def make_chunks(tokenizer: Any, texts: Sequence[str], max_len: int, max_chunks: int) -> list[Chunk]:
    """Windows of at most `max_len` tokens per text (first `max_chunks` windows only)."""
    prefix, suffix, _ = special_ids(tokenizer)
    room = max(1, max_len - len(prefix) - len(suffix))
    chunks: list[Chunk] = []
    for i, enc in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        ids = np.asarray(enc.ids, dtype=np.int64)[: room * max_chunks]
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)[: len(ids)]
        for start in range(0, max(len(ids), 1), room):
            piece = ids[start : start + room]
            full = np.concatenate([np.asarray(prefix, np.int64), piece, np.asarray(suffix, np.int64)])
            chunks.append(Chunk(i, full, offsets[start : start + room]))
    return chunks


def pool_texts(
    encoder: Encoder,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    projection: np.ndarray | None,
    batch_size: int,
    max_len: int,
    max_chunks: int,
    sort_by_length: bool = True,
    pad_multiple: int = 1,
) -> list[Pooled]:
    """Run the encoder over all windows of `texts` and pool per text (see module docstring)."""
    _, _, pad_id = special_ids(tokenizer)
    chunks = make_chunks(tokenizer, texts, max_len, max_chunks)
    order = sorted(range(len(chunks)), key=lambda k: len(chunks[k].ids)) if sort_by_length else None
    ordered = [chunks[k] for k in order] if order is not None else chunks
    pools: list[Pooled | None] = [None] * len(texts)
    n_prefix = len(special_ids(tokenizer)[0])
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        width = max(len(c.ids) for c in batch)
        width = -(-width // pad_multiple) * pad_multiple
        ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, chunk in enumerate(batch):
            ids[row, : len(chunk.ids)] = chunk.ids
            mask[row, : len(chunk.ids)] = 1
        states = encoder.token_states(ids, mask)
        for row, chunk in enumerate(batch):
            real = states[row, : len(chunk.ids)]
            pool = pools[chunk.text_index]
            if pool is None:
                pool = pools[chunk.text_index] = Pooled(total=np.zeros(real.shape[1], dtype=np.float64))
            pool.total += real.sum(axis=0, dtype=np.float64)
            pool.count += len(chunk.ids)
            if projection is not None:
                content = real[n_prefix : n_prefix + len(chunk.offsets)]
                pool.proj.append(content @ projection)
                pool.offsets.append(chunk.offsets)
    return [p if p is not None else Pooled(total=np.zeros(1)) for p in pools]
