"""Sentiment throughput on 2 CPU cores: plain transformers fp32 baseline vs the shipped runtime, same run, same texts.

Run: .venv/bin/python benchmarks/sentiment.py [--limit N] [--repeat R] [--smoke]

Texts are the held-out split of every source (human-rated sentences, the project's tickets and generated
support text), shuffled with a fixed seed so lengths arrive mixed, as they do from a helpdesk. Every path
applies the same trained head to mean-pooled states of the same fine-tuned encoder. The baseline is what a
user of plain transformers would write: AutoTokenizer + AutoModel in fp32 torch, batches of 32 in arrival
order padded to the longest text, 256 tokens. The runtime is the shipped int8 ONNX file on onnxruntime
(no torch): fixed (calibrated) activation scales, so a text's result does not depend on its batch-mates;
length-sorted batches of 16 with dynamic padding, each batch split over one-thread sessions, 128-token
windows, spinning threads off.
Quality is macro-F1 against the human labels, its change against the fp32 baseline, and label agreement.

--smoke runs a few dozen texts once (seconds; CI runs it so the script cannot rot). Without the fine-tuned
fp32 weights (nlp/.build/finetuned, made by `healthscore model train`) the baseline falls back to the
packaged base encoder: its speed is still comparable, its macro-F1 is not. The baseline and the fp32 rows
use the head saved beside those weights (the 6-layer model's own), whatever nlp/weights/ ships.

--onnx FILE (repeatable) adds another ONNX encoder file with the shipped head, run as its graph allows (a
file with run-time int8 scales, such as the one shipped before, runs each text alone), e.g. the previous
shipped file from git, to time the change in the same rounds.

--student DIR adds a distilled student (`healthscore model train --layers ...` writes nlp/.build/student)
as its int8 ONNX export, measured in the same rounds. The last column is label agreement with the shipped
row (what a model change would do to the labels the score reads).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from nlp import SentimentModel, load_default_model
from nlp.data import split
from nlp.head import load_head
from nlp.metrics import agreement, evaluate
from nlp.paths import (
    DEFAULT_GENERATED,
    DEFAULT_HEAD,
    DEFAULT_TICKETS,
    FINETUNED_DIR,
    HEAD_FILENAME,
    default_data_dir,
    default_instance_dir,
)
from nlp.preprocess import clean_message
from nlp.sentiment import LABELS
from nlp.train import load_all


def baseline_dir() -> tuple[Path, bool]:
    """The fine-tuned fp32 weights, or (fallback) the packaged base encoder; second value: fine-tuned?"""
    if (FINETUNED_DIR / "config.json").is_file():
        return FINETUNED_DIR, True
    from nlp.paths import default_encoder_dir

    return default_encoder_dir(), False


def baseline_head() -> Path:
    """The fine-tuned 6-layer model's own head (saved beside its weights), else the shipped head."""
    beside = FINETUNED_DIR / HEAD_FILENAME
    return beside if beside.is_file() else DEFAULT_HEAD


def naive_baseline(source: Path, batch_size: int = 32) -> Callable[[Sequence[str]], list[str]]:
    """AutoModel fp32 + the head, batches in arrival order, padding to the longest in the batch."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    head = load_head(baseline_head(), "healthscore model train")

    def run(texts: Sequence[str]) -> list[str]:
        out: list[str] = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                enc = tok(
                    list(texts[i : i + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                states = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = ((states * mask).sum(1) / mask.sum(1)).numpy()
                pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
                out += [LABELS[k] for k in head.logits(pooled).argmax(1)]
        return out

    return run


def ours(
    backend: str,
    *,
    cached: bool = False,
    batch_size: int = 16,
    max_len: int = 128,
    threads: int | None = None,
    model_path: Path | None = None,
    head_path: Path | None = None,
) -> Callable[[Sequence[str]], list[str]]:
    """The project's model: length-sorted batches, dynamic padding, chosen backend; cache off unless asked."""
    model = load_default_model(
        model_path,
        default_instance_dir(),
        backend=backend,  # type: ignore[arg-type]
        threads=threads,
        head_path=head_path,
    )
    model.batch_size = batch_size
    model.max_len = max_len
    return runner(model, cached=cached)


def runner(model: SentimentModel, *, cached: bool = False) -> Callable[[Sequence[str]], list[str]]:
    """Labels for texts through `model`; its cache is cleared first unless `cached`."""

    def run(texts: Sequence[str]) -> list[str]:
        if not cached:
            model.cache.clear()
        return [s.label for s in model.classify_many(texts)]

    return run


BenchPath = tuple[str, Callable[[Sequence[str]], list[str]], Sequence[str]]


def timed_rounds(paths: Sequence[BenchPath], repeat: int) -> list[tuple[float, list[str]]]:
    """Best wall time per path over `repeat` rounds; each round runs every path once, in turn, so that
    load from other processes on a shared machine falls on all paths alike."""
    for _, run, texts in paths:
        run(texts[:16])  # warm-up: first-call allocations and lazy initialisation
    best = [float("inf")] * len(paths)
    labels: list[list[str]] = [[] for _ in paths]
    for _ in range(repeat):
        for k, (_, run, texts) in enumerate(paths):
            start = time.perf_counter()
            labels[k] = run(texts)
            best[k] = min(best[k], time.perf_counter() - start)
    return list(zip(best, labels, strict=True))


def main(argv: Sequence[str] | None = None) -> list[dict[str, float | str]]:
    """Print the table; return its rows (for the smoke test)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N texts (0: all)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per path; the best is reported")
    parser.add_argument("--smoke", action="store_true", help="tiny run (40 texts, once): seconds")
    parser.add_argument(
        "--record",
        type=Path,
        default=None,
        help="also write the table as JSON here (e.g. nlp/cards/speed.json, which the model card shows)",
    )
    parser.add_argument(
        "--onnx",
        type=Path,
        action="append",
        default=[],
        help="also time this ONNX encoder file with the shipped head (e.g. the previously shipped file)",
    )
    parser.add_argument(
        "--student",
        type=Path,
        default=None,
        help="also time this distilled student's int8 ONNX export (fp32 folder with its head beside)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.limit, args.repeat = args.limit or 40, 1
    examples = load_all(default_data_dir(), DEFAULT_TICKETS, DEFAULT_GENERATED)
    seed = int(str(load_head(DEFAULT_HEAD, "healthscore model train").meta.get("seed", 13)))
    _, test = split(examples, seed)
    random.Random(0).shuffle(test)
    if args.limit:
        test = test[: args.limit]
    raw = [e.text for e in test]
    cleaned = [clean_message(t) for t in raw]  # the baseline gets cleaned text for free
    gold = [e.label for e in test]
    source, finetuned = baseline_dir()
    paths: list[BenchPath] = [("baseline: transformers fp32, naive batches", naive_baseline(source), cleaned)]
    if finetuned and not args.smoke:
        head = baseline_head()
        paths.append(("torch fp32, length-sorted dynamic padding", ours("torch", head_path=head), raw))
        paths.append(("onnxruntime fp32, sorted", ours("onnx-fp32", head_path=head), raw))
    shipped_row = len(paths)
    paths += [
        ("onnxruntime int8 fixed scales, sorted batches of 16, 128 tokens (shipped)", ours("onnx-int8"), raw),
        (
            "onnxruntime int8 fixed scales, batches of 16, 64-token windows",
            ours("onnx-int8", max_len=64),
            raw,
        ),
        ("onnxruntime int8 fixed scales, batches of 8", ours("onnx-int8", batch_size=8), raw),
        ("onnxruntime int8 fixed scales, batches of 32", ours("onnx-int8", batch_size=32), raw),
        ("onnxruntime int8 fixed scales, 1 thread", ours("onnx-int8", threads=1), raw),
        ("onnxruntime int8, re-run with warm text-hash cache", ours("onnx-int8", cached=True), raw),
    ]
    for extra in args.onnx:
        model = load_default_model(extra, default_instance_dir(), head_path=DEFAULT_HEAD)
        model.batch_size = 16
        how = "each text alone" if getattr(model.encoder, "rows_alone", False) else "sorted batches of 16"
        paths.append((f"{extra.name} (--onnx), {how}", runner(model), raw))
    if args.student is not None:
        name = args.student.name
        paths += [
            (
                f"student ({name}) int8, 128 tokens",
                ours("onnx-int8", model_path=args.student),
                raw,
            ),
            (
                f"student ({name}) int8, 64-token windows",
                ours("onnx-int8", model_path=args.student, max_len=64),
                raw,
            ),
        ]
    load_start = os.getloadavg()
    print(
        f"{len(raw)} texts, mean {np.mean([len(t) for t in raw]):.0f} chars, {os.cpu_count()} CPU cores, "
        f"best of {args.repeat} interleaved rounds, load average {load_start[0]:.1f} at start"
    )
    if not finetuned:
        print("note: no fine-tuned fp32 weights here; baseline runs the base encoder (speed only)")
    header = f"{'path':<74} {'texts/s':>8} {'ratio':>6} {'agree':>6} {'macro-F1':>8} {'dF1 pts':>7} {'agree shipped':>13}"
    print(header)
    print("-" * len(header))
    base_rate = base_f1 = 0.0
    base_labels: list[str] = []
    rows: list[dict[str, float | str]] = []
    timed = timed_rounds(paths, args.repeat)
    shipped_labels = timed[shipped_row][1]
    for (name, _, texts), (seconds, labels) in zip(paths, timed, strict=True):
        rate = len(texts) / seconds
        f1 = evaluate(gold, labels).macro_f1
        if not base_labels:
            base_rate, base_f1, base_labels = rate, f1, labels
        row: dict[str, float | str] = {
            "path": name,
            "texts_per_s": rate,
            "ratio": rate / base_rate,
            "agreement": agreement(labels, base_labels),
            "macro_f1": f1,
            "delta_f1_pts": 100 * (f1 - base_f1),
            "agreement_shipped": agreement(labels, shipped_labels),
        }
        rows.append(row)
        print(
            f"{name:<74} {rate:>8.1f} {rate / base_rate:>5.2f}x {row['agreement']:>6.3f} "
            f"{f1:>8.3f} {row['delta_f1_pts']:>+7.2f} {row['agreement_shipped']:>13.3f}"
        )
    load_end = os.getloadavg()
    print(f"load average {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} at the end")
    sys.stdout.flush()
    if args.record:
        record = {
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "texts": len(raw),
            "mean_chars": round(float(np.mean([len(t) for t in raw])), 1),
            "cpu_cores": os.cpu_count(),
            "repeat": args.repeat,
            "finetuned_baseline": finetuned,
            "load_start": [round(x, 2) for x in load_start],
            "load_end": [round(x, 2) for x in load_end],
            "rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
        }
        args.record.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
