"""The one writer behind the set generators' `main()` (adversarial.py, longmail.py): rows as JSON lines, UTF-8
kept as is (`ensure_ascii=False`), one row a line, into `<script name>.jsonl` beside the script.

The generators run as scripts (`python data/tickets/adversarial.py`: this folder is then first on sys.path)
and are loaded by path in tests (tests/nlp/test_adversarial_set.py, test_data_sets.py), so they find this
module by putting its folder at the end of sys.path, not through a package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def write_beside(script: str, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write `rows` to the .jsonl file named after `script` (pass `__file__`) in its folder; returns it."""
    path = Path(script).resolve().with_suffix(".jsonl")
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path
