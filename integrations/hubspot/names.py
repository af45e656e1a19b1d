"""Names people read instead of HubSpot ids: company owners (owners API) and deal stage labels (pipelines
API). Each lookup is made once per adapter, lazily (only when a page carries an id), and again only when an
id it has not seen turns up; a portal that did not grant the owners scope keeps ids (nothing breaks)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from integrations.errors import PermissionDeniedError
from integrations.hubspot.client import HubSpotClient
from integrations.records import AccountRecord, DealRecord, Record

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Names:
    def __init__(self, client: HubSpotClient, call: Callable[[Callable[[], Any]], Any]) -> None:
        self._client = client
        self._call = call
        self._owners: dict[str, tuple[str, str | None]] | None = None
        self._stages: dict[str, str] | None = None

    def _lookup(self, fetch: Callable[[], T], what: str) -> T | None:
        try:
            result: T = self._call(fetch)
        except PermissionDeniedError as exc:  # an install from before the scope was asked for
            logger.warning("HubSpot %s lookup not permitted (%s); showing ids", what, exc)
            return None
        return result

    def _owner_map(self, ids: set[str]) -> dict[str, tuple[str, str | None]]:
        if self._owners is None or not ids <= self._owners.keys():
            found = self._lookup(self._client.owners, "owners") or {}
            self._owners = {**{i: (i, None) for i in ids}, **(self._owners or {}), **found}
        return self._owners

    def _stage_map(self, ids: set[str]) -> dict[str, str]:
        if self._stages is None or not ids <= self._stages.keys():
            found = self._lookup(lambda: self._client.stage_labels("deals"), "pipelines") or {}
            self._stages = {**{i: i for i in ids}, **(self._stages or {}), **found}
        return self._stages

    def apply(self, records: Sequence[Record]) -> list[Record]:
        """Records with owner names/e-mails and stage labels filled in."""
        owner_ids = {r.owner for r in records if isinstance(r, AccountRecord) and r.owner and not r.deleted}
        stage_ids = {r.stage for r in records if isinstance(r, DealRecord) and r.stage and not r.deleted}
        owners = self._owner_map(owner_ids) if owner_ids else {}
        stages = self._stage_map(stage_ids) if stage_ids else {}
        out: list[Record] = []
        for r in records:
            if isinstance(r, AccountRecord) and r.owner in owners:
                name, email = owners[r.owner]
                r = replace(r, owner=name, owner_email=email)
            elif isinstance(r, DealRecord) and r.stage in stages:
                r = replace(r, stage_label=stages[r.stage])
            out.append(r)
        return out
