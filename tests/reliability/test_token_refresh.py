"""A transient fault at a vendor's token endpoint during a refresh is retried like any other call.

Vendor behaviour: after a 401 (expired access token) the adapter refreshes; the token endpoint answers
503, 429 + Retry-After, or stalls past the client timeout once. Every vendor must then refresh again and
finish the read; found by the fault suite (Zendesk raised, a timeout even as a fatal error).
"""

from __future__ import annotations

from typing import Any

import pytest

from integrations.base import Stream
from integrations.sandbox.context import Fault
from tests.integrations.contract_support import SPECS, VENDORS, Harness
from tests.reliability import figures

TOKEN_FAULTS = {
    "503": Fault("server_error", status=503),
    "429": Fault("rate_limit", retry_after=0.0),
    "timeout": Fault("timeout", delay=0.6),
}


@pytest.mark.parametrize("fault", TOKEN_FAULTS, ids=list(TOKEN_FAULTS))
@pytest.mark.parametrize("vendor", VENDORS)
def test_refresh_survives_a_transient_token_endpoint_fault(rel_sandbox: Any, vendor: str, fault: str) -> None:
    h = Harness(spec=SPECS[vendor], sandbox=rel_sandbox)
    try:
        truth = h.spec.truth(h.ctx)
        h.ctx.faults.script(vendor, h.spec.accounts_read, Fault("expired_token"))
        h.ctx.faults.script(vendor, h.spec.token_path, TOKEN_FAULTS[fault])
        got = {r.external_id for p in h.adapter(timeout=0.4).read(Stream.ACCOUNTS, None) for r in p.records}
        assert got == set(truth["accounts"])
        assert h.token_calls() == 2  # the faulted refresh, then the one that worked
        assert len(h.saved) == 1  # the rotated pair was saved once
    finally:
        h.close()
    figures.record("vendor_faults", token_refresh_faults=1)
