"""Sentiment throughput on 2 CPU cores: naive transformers fp32 baseline vs the faster paths, same run, same texts.

Run: .venv/bin/python benchmarks/sentiment.py [--limit N] [--repeat R]

Texts are the held-out split of every source (human-rated sentences and the project's tickets), shuffled
with a fixed seed so lengths arrive mixed, as they do from a helpdesk. Every path applies the same trained
head to mean-pooled MiniLM states; the baseline is what a user of plain transformers would write:
AutoTokenizer + AutoModel in fp32 torch, batches of 32 in arrival order padded to the
longest text. The project's paths sort by length and batch 8 at a time (fastest measured on 2 cores).
Quality is macro-F1 against the human labels and label agreement with the baseline.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from nlp import load_default_model
from nlp.data import split
from nlp.head import load_head
from nlp.metrics import agreement, evaluate
from nlp.paths import (
    DEFAULT_HEAD,
    DEFAULT_TICKETS,
    default_data_dir,
    default_encoder_dir,
    default_instance_dir,
)
from nlp.preprocess import clean_message
from nlp.sentiment import LABELS
from nlp.train import load_examples


def naive_baseline(batch_size: int = 32) -> Callable[[Sequence[str]], list[str]]:
    """AutoModel fp32 + the head, batches in arrival order, padding to the longest in the batch."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    source = str(default_encoder_dir())
    tok = AutoTokenizer.from_pretrained(source, local_files_only=True)
    model = AutoModel.from_pretrained(source, local_files_only=True).eval()
    head = load_head(DEFAULT_HEAD, "healthscore model train")

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


def ours(backend: str, cached: bool = False) -> Callable[[Sequence[str]], list[str]]:
    """The project's model: length-sorted batches, dynamic padding, chosen backend; cache off unless asked."""
    model = load_default_model(None, default_instance_dir(), backend=backend)  # type: ignore[arg-type]

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


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N texts (0: all)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per path; the best is reported")
    args = parser.parse_args()
    examples = load_examples(default_data_dir(), DEFAULT_TICKETS)
    seed = int(str(load_head(DEFAULT_HEAD, "healthscore model train").meta.get("seed", 13)))
    _, test = split(examples, seed)
    random.Random(0).shuffle(test)
    if args.limit:
        test = test[: args.limit]
    raw = [e.text for e in test]
    cleaned = [clean_message(t) for t in raw]  # the baseline gets cleaned text for free
    gold = [e.label for e in test]
    paths: list[BenchPath] = [
        ("baseline: transformers fp32, naive batches", naive_baseline(), cleaned),
        ("torch fp32, length-sorted dynamic padding", ours("torch"), raw),
        ("onnxruntime fp32, sorted", ours("onnx-fp32"), raw),
        ("onnxruntime int8 (dynamic, per-channel), sorted", ours("onnx-int8"), raw),
        ("onnxruntime int8, re-run with warm text-hash cache", ours("onnx-int8", cached=True), raw),
    ]
    print(
        f"{len(raw)} texts, mean {np.mean([len(t) for t in raw]):.0f} chars, {os.cpu_count()} CPU cores, "
        f"best of {args.repeat} interleaved rounds, load average {os.getloadavg()[0]:.1f} at start"
    )
    header = f"{'path':<52} {'texts/s':>8} {'ratio':>6} {'agree':>6} {'macro-F1':>8} {'dF1 pts':>7}"
    print(header)
    print("-" * len(header))
    base_rate = base_f1 = 0.0
    base_labels: list[str] = []
    for (name, _, texts), (seconds, labels) in zip(paths, timed_rounds(paths, args.repeat), strict=True):
        rate = len(texts) / seconds
        f1 = evaluate(gold, labels).macro_f1
        if not base_labels:
            base_rate, base_f1, base_labels = rate, f1, labels
        print(
            f"{name:<52} {rate:>8.1f} {rate / base_rate:>5.2f}x {agreement(labels, base_labels):>6.3f} "
            f"{f1:>8.3f} {100 * (f1 - base_f1):>+7.2f}"
        )


if __name__ == "__main__":
    main()
