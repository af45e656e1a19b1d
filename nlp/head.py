"""The trained classification head: a linear layer on L2-normalised mean-pooled encoder states.

Linear on purpose: the pooled vector is a mean over tokens, so each token's (and each sentence's) share of
the logits is exact, which is what `explain` and the excerpts report.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.errors import ModelLoadError
from nlp.sentiment import LABELS


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearHead:
    """weight (3, hidden) and bias (3,) in LABELS order, plus provenance metadata."""

    weight: np.ndarray
    bias: np.ndarray
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def hidden_size(self) -> int:
        """Width of the encoder states this head expects."""
        return int(self.weight.shape[1])

    def logits(self, pooled: np.ndarray) -> np.ndarray:
        """Logits (n, 3) for L2-normalised pooled vectors (n, hidden)."""
        return np.asarray(pooled @ self.weight.T + self.bias, dtype=np.float32)

    def save(self, path: Path) -> None:
        """Write an .npz (deterministic bytes for the same arrays and metadata)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps({"labels": list(LABELS), **self.meta}, sort_keys=True)
        tmp = path.with_suffix(".tmp.npz")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            # Fixed timestamps so the same weights give byte-identical files (reproducible training).
            for name, arr in (("weight", self.weight), ("bias", self.bias)):
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(2020, 1, 1, 0, 0, 0))
                with zf.open(info, "w") as fh:
                    np.lib.format.write_array(fh, np.ascontiguousarray(arr, dtype=np.float32))
            zf.writestr(zipfile.ZipInfo("meta.json", date_time=(2020, 1, 1, 0, 0, 0)), meta)
        tmp.replace(path)


def load_head(path: Path, rebuild: str) -> LinearHead:
    """Read a head written by LinearHead.save.

    Raises:
        ModelLoadError: the file is missing, unreadable or has the wrong shapes or labels.
    """
    if not path.is_file():
        raise ModelLoadError(path, rebuild, "file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            weight = np.asarray(data["weight"], dtype=np.float32)
            bias = np.asarray(data["bias"], dtype=np.float32)
            meta = json.loads(bytes(data["meta.json"]) if "meta.json" in data else b"{}")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ModelLoadError(path, rebuild, f"corrupt head file ({exc.__class__.__name__})") from exc
    if weight.ndim != 2 or weight.shape[0] != len(LABELS) or bias.shape != (len(LABELS),):
        raise ModelLoadError(path, rebuild, f"unexpected head shapes {weight.shape} / {bias.shape}")
    if meta.get("labels", list(LABELS)) != list(LABELS):
        raise ModelLoadError(path, rebuild, f"unexpected labels {meta.get('labels')}")
    return LinearHead(weight=weight, bias=bias, meta=meta)
