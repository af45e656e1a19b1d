"""Encrypted storage of vendor tokens and secrets (MultiFernet: newest key encrypts, all keys decrypt).

Outside production, when no key is configured, a key is created once under instance/ so the demo and
tests work on a fresh machine; production refuses to start without HEALTHSCORE_TOKEN_KEYS (config.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from connector.config import Settings

DEV_KEY_FILE = "token-key.dev"


class VaultError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _keys(settings: Settings) -> list[str]:
    if settings.token_keys:
        return list(settings.token_keys)
    path = Path(settings.instance_path) / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode())
    return [path.read_text().strip()]


class Vault:
    """Encrypt/decrypt small secrets and JSON token sets."""

    def __init__(self, settings: Settings) -> None:
        self._fernet = MultiFernet([Fernet(k.encode()) for k in _keys(settings)])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Raises: VaultError when no configured key opens it (say which setting to fix)."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError(
                "a stored secret cannot be decrypted with the configured keys; keep the old key in "
                "HEALTHSCORE_TOKEN_KEYS (after the new one) until `healthscore keys rotate` has run"
            ) from exc

    def encrypt_json(self, value: Any) -> str:
        return self.encrypt(json.dumps(value, default=str))

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self.decrypt(token))

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(token.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()
