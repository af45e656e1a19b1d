"""Installed size of a virtual environment's site-packages, total and biggest distributions, for the model card.

Run after making fresh venvs (the figures in nlp/cards/footprint.json and on the card come from this)::

    python3 -m venv /tmp/rt && /tmp/rt/bin/pip install -q .            # the runtime set (what make demo installs)
    python3 -m venv /tmp/tr && /tmp/tr/bin/pip install -q '.[train]'   # plus the train extra
    python -m nlp.footprint --venv runtime=/tmp/rt --venv train=/tmp/tr --out nlp/cards/footprint.json

Sizes are bytes on disk (`du` blocks), as `du -s` reports them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

TOP = 8


def _disk_bytes(path: Path) -> int:
    """Bytes on disk under `path` (512-byte blocks, like du), symlinks not followed, hard links once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            st = os.lstat(os.path.join(root, name))
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += st.st_blocks * 512
    return total + os.lstat(path).st_blocks * 512


def site_packages(venv: Path) -> Path:
    """The venv's site-packages folder."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    if not found:
        raise FileNotFoundError(f"no lib/python*/site-packages under {venv}")
    return found[0]


def measure(venv: Path, top: int = TOP) -> dict[str, object]:
    """Total MB of site-packages and its `top` biggest top-level entries (a package folder with its .libs)."""
    sp = site_packages(venv)
    sizes: dict[str, int] = {}
    for entry in sp.iterdir():
        if entry.name.endswith((".dist-info", ".pth")) or entry.name == "__pycache__":
            continue
        name = entry.name.removesuffix(".libs")
        sizes[name] = sizes.get(name, 0) + (
            _disk_bytes(entry) if entry.is_dir() else entry.lstat().st_blocks * 512
        )
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:top]
    return {
        "total_mb": round(_disk_bytes(sp) / 1e6, 1),
        "biggest_mb": {k: round(v / 1e6, 1) for k, v in biggest},
        "has_torch": (sp / "torch").is_dir(),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Measure each NAME=VENV and write the JSON the card reads."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--venv", action="append", required=True, help="NAME=PATH of a venv (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    figures: dict[str, object] = {"measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    for item in args.venv:
        name, _, path = item.partition("=")
        figures[name] = measure(Path(path))
    text = json.dumps(figures, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")
    return figures


if __name__ == "__main__":
    main()
