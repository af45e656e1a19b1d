"""Labelled examples for training and evaluation, and the seeded held-out split of each source."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.sentiment import LABELS, Label

VADER_FILES = {
    "amazon_review_snippets": "amazon_review_snippets.csv",
    "movie_review_snippets": "movie_review_snippets.csv",
    "nyt_editorial_snippets": "nyt_editorial_snippets.csv",
    "tweets": "tweets.csv",
}
# Sources written for this project (support-shaped text). Rule-generated rows share vocabulary with the
# hand-written tickets, so leave-one-source-out drops both together when "tickets" is the left-out source.
SUPPORT_SOURCES = ("tickets", "support_generated", "customer_written")
# The same people wrote the tickets and the generator's templates: leaving out one leaves out both.
TICKET_FAMILY = ("tickets", "support_generated")
# Customer-service messages across consumer and business sectors, written apart from the tickets (one file
# per sector group in data/tickets/written/); the row's id prefix names its file.
WRITTEN_SOURCE = "customer_written"
TEST_FRACTION = 0.2


class TrainingDataError(Exception):
    """Training data is missing or malformed; the message says which file and how to point at it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """One labelled text from one source (a VADER file stem, "tickets", "support_generated" or WRITTEN_SOURCE)."""

    source: str
    id: str
    text: str
    label: Label


def _label(value: str, where: str) -> Label:
    for label in LABELS:
        if value == label:
            return label
    raise TrainingDataError(f"{where}: unknown label {value!r}")


def load_vader(data_dir: Path) -> list[Example]:
    """Both human-rated CSVs (id, mean_rating, label, text) from `data_dir`.

    Raises:
        TrainingDataError: a file is missing (set --data-dir or HEALTHSCORE_SENTIMENT_DATA) or malformed.
    """
    out: list[Example] = []
    for source, name in VADER_FILES.items():
        path = data_dir / name
        if not path.is_file():
            raise TrainingDataError(
                f"{path} not found: pass --data-dir or set HEALTHSCORE_SENTIMENT_DATA to the folder holding {name}"
            )
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                where = f"{path}:{row.get('id')}"
                out.append(
                    Example(source=source, id=row["id"], text=row["text"], label=_label(row["label"], where))
                )
    return out


def load_tickets(path: Path, source: str = "tickets") -> list[Example]:
    """The project's own labelled support-ticket messages (JSON lines with id, text, label).

    Raises:
        TrainingDataError: the file is missing or a line is malformed.
    """
    if not path.is_file():
        builder = "generate.py" if "generated" in path.name else "build.py"
        raise TrainingDataError(f"{path} not found: run `python data/tickets/{builder}` to regenerate it")
    out: list[Example] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                Example(
                    source=source,
                    id=str(row["id"]),
                    text=row["text"],
                    label=_label(row["label"], f"{path}:{n}"),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TrainingDataError(f"{path}:{n}: {exc}") from exc
    return out


def load_written(folder: Path) -> list[Example]:
    """Every `*.jsonl` file in `folder` (id, text, label per line) as the one source WRITTEN_SOURCE.

    Raises:
        TrainingDataError: the folder is missing or a line is malformed.
    """
    if not folder.is_dir():
        raise TrainingDataError(f"{folder} not found: it holds the written customer-service messages")
    out: list[Example] = []
    for path in sorted(folder.glob("*.jsonl")):
        out += load_tickets(path, source=WRITTEN_SOURCE)
    return out


def load_unseen_writers(folder: Path) -> list[Example]:
    """The evaluation-only customer messages: one source per `*.jsonl` file (its stem). Never trained on.

    Raises:
        TrainingDataError: a line is malformed.
    """
    out: list[Example] = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        out += load_tickets(path, source=path.stem)
    return out


def load_adversarial(path: Path) -> list[Example]:
    """The named support adversarial set (data/tickets/adversarial.jsonl): each row's source is its named set
    (the id without its number, e.g. "adv_outages"). Evaluation only, never trained on.

    Raises:
        TrainingDataError: the file is missing or a line is malformed.
    """
    return [
        Example(source=e.id.rsplit("-", 1)[0], id=e.id, text=e.text, label=e.label)
        for e in load_tickets(path, source="adversarial")
    ]


def split(examples: Sequence[Example], seed: int) -> tuple[list[Example], list[Example]]:
    """Seeded split: TEST_FRACTION of each (source, label) group is held out, the rest trains."""
    groups: dict[tuple[str, str], list[Example]] = {}
    for ex in sorted(examples, key=lambda e: (e.source, e.id)):
        groups.setdefault((ex.source, ex.label), []).append(ex)
    train: list[Example] = []
    test: list[Example] = []
    for key in sorted(groups):
        members = groups[key]
        # One generator per group, derived from the seed and the group name, so adding rows to one source
        # does not reshuffle another source's split.
        group_seed = int.from_bytes(hashlib.sha256(f"{seed}/{key}".encode()).digest()[:8], "big")
        order = np.random.default_rng(group_seed).permutation(len(members))
        n_test = round(len(members) * TEST_FRACTION)
        test += [members[i] for i in order[:n_test]]
        train += [members[i] for i in order[n_test:]]
    return train, test


def fingerprint(examples: Sequence[Example]) -> str:
    """Short hash of the examples (to tell in the card which data a head was trained on)."""
    digest = hashlib.sha256()
    for ex in sorted(examples, key=lambda e: (e.source, e.id)):
        digest.update(f"{ex.source}\t{ex.id}\t{ex.label}\t{ex.text}\n".encode())
    return digest.hexdigest()[:12]
