"""The blueprints that span several modules (ui, admin, api), defined apart from the modules that add routes
to them, so those modules never import each other; `connector.web.register` imports every module of the
package before registering, so all routes are on a blueprint before Flask sees it."""

from __future__ import annotations

from flask import Blueprint

ui = Blueprint("ui", "connector.web.ui")
admin = Blueprint("admin", "connector.web.admin", url_prefix="/admin")
api = Blueprint("api", "connector.web.api", url_prefix="/api")


class BadRequestError(Exception):
    """A request the API refuses with 400 and this message (api.py turns it into a problem document)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message, self.hint = message, hint
        super().__init__(message)
