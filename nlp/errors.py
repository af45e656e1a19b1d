"""Errors raised by the sentiment model: each names the file and the command that rebuilds it."""

from __future__ import annotations

from pathlib import Path


class ModelLoadError(Exception):
    """A model file (encoder, ONNX export or head) is missing, corrupt or does not fit the others."""

    def __init__(self, path: Path | str, rebuild: str, reason: str) -> None:
        self.path = str(path)
        self.rebuild = rebuild
        self.reason = reason
        super().__init__(
            f"cannot load sentiment model file {self.path}: {reason}; rebuild it with `{rebuild}`"
        )
