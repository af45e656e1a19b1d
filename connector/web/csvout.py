"""CSV downloads: UTF-8 with BOM (Excel opens it right), formula-looking cells defused."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response

# A cell starting with one of these is a formula to Excel/Sheets (CSV injection); prefix a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_filename(name: str) -> str:
    """A download name that cannot break out of its header (quotes, CR/LF) or name a path: letters, digits,
    dot, dash and underscore only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:120]
    return cleaned or "export.csv"


def download(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    filename = safe_filename(filename)
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(
        buf.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
