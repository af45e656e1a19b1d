"""Build the ONNX encoder (fp32 via torch.onnx.export, then int8 dynamic per-channel) under instance/.

Files are keyed by the source weights (path + file sizes) and the recipe version, written atomically, and
checked against torch on a padded probe batch before they are put in place.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from nlp.paths import path_key

logger = logging.getLogger(__name__)

RECIPE = "v2"
EXPORT_COMMAND = "healthscore model export"
# fp32 ONNX must match torch to float noise; the probe batch has padding, so a broken mask would show.
_MAX_FP32_DIFF = 1e-3


def onnx_paths(model_dir: Path, instance_dir: Path) -> tuple[Path, Path]:
    """Where the fp32 and int8 ONNX files for `model_dir` live (they may not exist yet)."""
    folder = instance_dir / "onnx" / f"{path_key(model_dir)}-{RECIPE}"
    return folder / "encoder-fp32.onnx", folder / "encoder-int8.onnx"


def export(model_dir: Path, instance_dir: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Export fp32 and quantise to int8 unless both files already exist; returns their paths."""
    fp32, int8 = onnx_paths(model_dir, instance_dir)
    if not force and fp32.is_file() and int8.is_file():
        return fp32, int8
    fp32.parent.mkdir(parents=True, exist_ok=True)
    tmp32 = fp32.with_suffix(f".{os.getpid()}.tmp")
    tmp8 = int8.with_suffix(f".{os.getpid()}.tmp")
    try:
        _export_fp32(model_dir, tmp32)
        _quantise(tmp32, tmp8)
        tmp32.replace(fp32)
        tmp8.replace(int8)
    finally:
        tmp32.unlink(missing_ok=True)
        tmp8.unlink(missing_ok=True)
    logger.info("exported ONNX encoder for %s to %s", model_dir, fp32.parent)
    return fp32, int8


def _export_fp32(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    from nlp.encoder import TorchEncoder

    reference = TorchEncoder(model_dir)
    # Eager attention traces to the plain MatMul/Softmax pattern ONNX Runtime's BERT fuser recognises
    # (the SDPA trace is not fused); the reference stays on the default implementation.
    eager = AutoModel.from_pretrained(
        str(model_dir), local_files_only=True, attn_implementation="eager"
    ).eval()

    class _States(torch.nn.Module):
        """Only the last hidden states; token_type_ids are always zero for single sentences."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            )
            return out.last_hidden_state  # type: ignore[no-any-return]

    ids = torch.ones((2, 8), dtype=torch.long)
    # Trace with real padding: with an all-ones mask transformers skips building the attention mask and
    # the trace would ignore padding forever after.
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3], dtype=torch.long)
    dyn = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():
        # The TorchScript exporter is the one that works without onnxscript; its deprecation and tracer
        # notes are expected here and verified away by the probe below.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            # eval() on the wrapper: the exporter restores the wrapper's mode afterwards, recursively, and a
            # fresh Module is in training mode, which would switch dropout on in the reference model.
            _States(eager).eval(),
            (ids, mask),
            str(out),
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "last_hidden_state": dyn},
            opset_version=17,
        )
    _fuse(out, int(eager.config.num_attention_heads), int(eager.config.hidden_size))
    _verify(reference, out)


def _fuse(path: Path, heads: int, hidden: int) -> None:
    """Fuse attention, embeddings + LayerNorm and GELU in place (measured ~13% faster once quantised)."""
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        fused = optimize_model(str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
    except Exception:  # a non-BERT architecture: keep the plain export, it is correct, only slower
        logger.warning("could not fuse %s; keeping the unfused graph", path, exc_info=True)
        return
    fused.save_model_to_file(str(path))


def _verify(reference: object, onnx_file: Path) -> None:
    """Compare with torch on a padded batch of a different shape than the trace used."""
    from nlp.encoder import OnnxEncoder

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, size=(3, 19), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 11:] = 0
    mask[2, 5:] = 0
    ids[mask == 0] = 0
    want = reference.token_states(ids, mask)  # type: ignore[attr-defined]
    got = OnnxEncoder(onnx_file, EXPORT_COMMAND).token_states(ids, mask)
    diff = float(np.max(np.abs((want - got) * mask[..., None])))
    if diff > _MAX_FP32_DIFF:
        raise RuntimeError(f"ONNX export differs from torch by {diff:.2e} on a padded probe batch")


def _quantise(fp32: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # ORT logs "consider pre-processing" through the root logger at WARNING; quieten it for this call.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(fp32),
            str(out),
            per_channel=True,
            weight_type=QuantType.QInt8,
            # Fused contrib ops hide output types from shape inference; all tensors here are float32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
