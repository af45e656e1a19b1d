"""A secret shown once, in a real browser: the Copy button has the keyboard focus and copies it, without a
script error or a CSP violation (only a browser runs app.js)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Served
from tests.e2e.test_roles import book, sign_in  # noqa: F401 - the seeded book fixture, no sandbox

pytestmark = [pytest.mark.e2e]


def test_a_new_key_is_focused_and_copied(book: Served, page: Any) -> None:  # noqa: F811
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=book.base_url)
    sign_in(page, book.base_url, "admin@acme.test")
    page.goto(f"{book.base_url}/admin/keys")
    page.fill("input[name=name]", "Copied key")
    page.click("text=Create key")
    page.wait_for_selector("#new-key")
    secret = page.inner_text("#new-key code.secret")
    assert secret.startswith("hsk_")
    # Enter on the focused button copies: no hunting for the text with a mouse
    assert page.evaluate("document.activeElement.matches('#new-key button[data-copy]')")
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-key button[data-copy]:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert errors == []
