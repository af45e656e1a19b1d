"""Rebuild labelled.jsonl from the hand-written negative.txt / neutral.txt / positive.txt.

Each source line is `product|style|text` with "\\n" for a line break; lines starting with # are comments.
Run: python data/tickets/build.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = ("negative", "neutral", "positive")


def rows() -> list[dict[str, str]]:
    """All messages as dicts with id, label, product, style and text, in file order."""
    out: list[dict[str, str]] = []
    for label in LABELS:
        lines = (HERE / f"{label}.txt").read_text(encoding="utf-8").splitlines()
        n = 0
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            product, style, text = line.split("|", 2)
            n += 1
            out.append(
                {
                    "id": f"{label[:3]}-{n:03d}",
                    "label": label,
                    "product": product,
                    "style": style,
                    "text": text.replace("\\n", "\n"),
                }
            )
    return out


def main() -> None:
    """Write labelled.jsonl beside this file."""
    data = rows()
    texts = [r["text"] for r in data]
    if len(set(texts)) != len(texts):
        raise SystemExit("duplicate message text in the source files")
    with (HERE / "labelled.jsonl").open("w", encoding="utf-8") as fh:
        for row in data:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
