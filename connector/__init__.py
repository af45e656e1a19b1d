"""healthscore service: the Flask app factory (nothing else lives here)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask is imported by create_app: `import connector.…` (the CLI entry) stays light
    from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the web app from validated settings (defaults → instance cfg → env → `overrides`).

    Raises:
        connector.config.ConfigError: every configuration problem at once.
    """
    from flask import Flask

    from connector.config import exposure_warnings, load_settings
    from connector.logs import configure_logging
    from connector.web import register

    settings = load_settings(overrides)
    configure_logging(settings.log_format, settings.log_level)
    for warning in exposure_warnings(settings):
        logging.getLogger("connector").warning(warning)
    app = Flask(__name__, instance_path=settings.instance_path, instance_relative_config=True)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        HEALTHSCORE=settings,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        TESTING=settings.env == "test",
        WTF_CSRF_ENABLED=True,
    )
    register(app)
    return app
