"""Blueprints of the web app; `register` wires them and the cross-cutting pieces (errors, metrics)."""

from __future__ import annotations

import importlib
import pkgutil
import re

from flask import Flask

from connector.web import errors, health

MAX_ID = 2**63 - 1  # BIGINT / SQLite INTEGER


def _bounded_ids() -> None:
    """A path id beyond a 64-bit row id cannot exist: 404 before any view (not an overflow, a 500)."""
    from flask import abort, request

    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            abort(404, description="No such item.")


MAX_FORM_FIELDS = 1000  # Flask's MAX_FORM_PARTS for multipart; the app's largest form has a few dozen
# Routes that never read a form (JSON or signed bodies; the API answers 415 to anything else): their
# forms are not parsed before the key or signature is checked (1,000 multipart parts cost ~60 ms).
TAKES_NO_FORMS = ("/api/", "/inbound/", "/embed/")
MAX_PAGE = 10**9  # far beyond any list; (page - 1) * per_page stays inside a 64-bit OFFSET
UNSTORABLE = "The request contains a NUL character (%00, \\u0000) or a lone surrogate (\\ud800); remove it."


# A \uXXXX escape whose character cannot be stored: NUL, a high surrogate not followed by a low one, a
# low surrogate not preceded by a high one (an adjacent pair is one character). Every alternative starts
# with the literal \u, so the search skips ahead at C speed.
_HEX = rb"[0-9a-fA-F]"
_HIGH = rb"[dD][89abAB]" + _HEX * 2
_LOW = rb"[dD][c-fC-F]" + _HEX * 2
_UNSTORABLE_ESCAPE = re.compile(
    b"".join(
        [
            rb"\\u(?:0000",  # NUL
            rb"|" + _HIGH + rb"(?!\\u" + _LOW + rb")",  # a high surrogate not followed by a low one
            rb"|" + _LOW + rb"(?<!\\u" + _HIGH + rb"\\u" + _LOW + rb"))",  # a low one not after a high one
        ]
    )
)
# A surrogate written as raw UTF-8 bytes (ED A0..BF xx, "CESU-8"), not as an escape: not UTF-8, yet
# json.loads decodes bytes with "surrogatepass", so it parsed to the same unstorable string as "\ud800".
_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")


def _json_unstorable() -> bool:
    """A JSON body whose strings cannot be stored: NUL, or a lone UTF-16 surrogate ("\\ud800"), which no
    UTF-8 encoder accepts (a 500 on SQLite and PostgreSQL alike).

    Read from the raw text, never by parsing: this runs before any key or signature is checked, and
    parsing and walking a 2 MiB body cost ~0.2-0.35 s of CPU per request for anyone (security audit 7);
    the scan costs a few ms (~60 ms for 2 MiB of surrogate pairs). Escaped backslashes go first (JSON reads
    them left to right, as bytes.replace does), so every \\u left is a real escape. A NUL byte in the text
    (not UTF-8 JSON, RFC 8259) is refused too."""
    from flask import request

    raw = request.get_data()  # cached: views and signature checks see the same body
    if b"\x00" in raw or _RAW_SURROGATE.search(raw) is not None:
        return True
    if b"\\u" not in raw:
        return False
    # Escaped backslashes become a filler that stops a \\u on either side pairing across them.
    return _UNSTORABLE_ESCAPE.search(raw.replace(b"\\\\", b"--")) is not None


def _storable_text() -> None:
    """NUL cannot be stored or even compared in PostgreSQL text ("text fields cannot contain NUL"), so a
    %00 in any path, query, form or JSON value was a 500 on every route that reached the database
    (sign-in included); lone surrogates in JSON failed every engine. No legitimate value holds either:
    400 before any view."""
    from flask import abort, request

    values = [request.path, *(f"{k}{v}" for k, v in request.args.items(multi=True))]
    if (
        request.mimetype == "application/x-www-form-urlencoded"
        and request.get_data().count(b"&") >= MAX_FORM_FIELDS
    ):
        # Werkzeug counts multipart parts (MAX_FORM_PARTS) but splits a url-encoded form whatever its field
        # count: 480 KB of 'a=&' cost ~240 ms of CPU before any key, signature or rate limit (audit 7).
        abort(413, description=f"A form has at most {MAX_FORM_FIELDS} fields.")
    if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"} and not (
        request.path.startswith(TAKES_NO_FORMS)
    ):
        values.extend(f"{k}{v}" for k, v in request.form.items(multi=True))
    if any("\x00" in value for value in values) or (request.is_json and _json_unstorable()):
        abort(400, description=UNSTORABLE)


def _bounded_pages() -> None:
    """A page number no list can have is 404 before the query (its OFFSET overflowed 64 bits: a 500)."""
    from flask import abort, request

    for name in ("page", "before"):
        raw = request.args.get(name, "")
        if raw.isascii() and raw.isdigit() and len(raw) < 4000 and int(raw) > MAX_PAGE:
            abort(404, description=f"There is no {name} {raw[:30]}; lists start at page 1.")


def register(app: Flask) -> None:
    """Register every blueprint module of connector.web that exposes `bp` (and `init_app` if present)."""
    app.before_request_funcs.setdefault(None, [])[0:0] = [_storable_text, _bounded_ids, _bounded_pages]
    errors.init_app(app)
    health.init_app(app)
    # Import every module first: several add routes to one shared blueprint (connector.web.blueprints), and
    # Flask refuses routes added to a blueprint after it is registered.
    modules = [
        importlib.import_module(f"connector.web.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda mod: mod.name)
        if info.name not in {"errors", "health"}
    ]
    registered: set[int] = set()
    for module in modules:
        init = getattr(module, "init_app", None)
        bp = getattr(module, "bp", None)
        if init is not None:
            init(app)
        elif bp is not None and id(bp) not in registered:
            registered.add(id(bp))
            app.register_blueprint(bp)
