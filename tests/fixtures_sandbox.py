"""Pytest plugin: one running sandbox set for the whole test session, reset between tests.

`sandbox_set` (session scope) starts the three vendor sandboxes and the control API once (seed 7, 120
accounts, TLS). `sandbox` (function scope) hands out the same set after clearing faults and counters and
restoring vendor state (tokens, fields, written values) and, if a test moved the clock, the book; it
restores again afterwards so tests that use `sandbox_set` directly also start clean. `sandbox_http` is a
requests session that trusts the sandbox CA (with `trust_env = False`: REQUESTS_CA_BUNDLE in the
environment would otherwise override `verify`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet

SANDBOX_SEED = 7
SANDBOX_ACCOUNTS = 120


@pytest.fixture(scope="session")
def sandbox_set() -> Iterator[SandboxSet]:
    """The session's running sandboxes (vendors over TLS, control API over plain HTTP)."""
    for vendor in ("salesforce", "hubspot", "zendesk"):
        pytest.importorskip(f"integrations.sandbox.{vendor}")
    from integrations.sandbox.runner import SandboxSet

    sset = SandboxSet.start(seed=SANDBOX_SEED, accounts=SANDBOX_ACCOUNTS, tls=True)
    yield sset
    sset.stop()


@pytest.fixture
def sandbox(sandbox_set: SandboxSet) -> Iterator[SandboxSet]:
    """The shared sandbox set, reset to its initial state before and after the test."""
    sandbox_set.restore()
    yield sandbox_set
    sandbox_set.restore()


@pytest.fixture
def sandbox_http(sandbox_set: SandboxSet) -> Iterator[requests.Session]:
    """A requests session that trusts the sandbox CA."""
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox_set.ca_file or True
    yield session
    session.close()
