"""Who is asking: the request's database session, the signed-in user, and the role checks on views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from connector.config import Settings
from connector.installs import users as auth
from connector.store import models as m
from connector.store.db import session_factory

F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    value: Settings = current_app.config["HEALTHSCORE"]
    return value


def db() -> Session:
    """One session per request, committed by the view that writes (`db().commit()`), closed at teardown."""
    if "db_session" not in g:
        g.db_session = session_factory(settings().sqlalchemy_url)()
    session_: Session = g.db_session
    return session_


def close_db(_exc: BaseException | None = None) -> None:
    sess = g.pop("db_session", None)
    if sess is not None:
        sess.close()


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person, as views need them."""

    id: int
    tenant_id: int
    tenant_name: str
    email: str
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def current_user() -> Viewer | None:
    if "viewer" in g:
        viewer: Viewer | None = g.viewer
        return viewer
    viewer = None
    uid, tid, sid = session.get("uid"), session.get("tid"), session.get("sid")
    # The signed cookie alone is not enough: its session must still exist server-side (logout, sign out
    # everywhere, removal and role changes delete it).
    if (
        isinstance(uid, int)
        and isinstance(tid, int)
        and isinstance(sid, str)
        and (auth.session_user_id(db(), sid) == uid)
    ):
        user = db().get(m.User, uid)
        # The tenant in the cookie must still be the user's tenant (a moved or deleted user loses access).
        if user is not None and user.tenant_id == tid and user.password_hash is not None:
            tenant = db().get(m.Tenant, tid)
            viewer = Viewer(user.id, tid, tenant.name if tenant else "", user.email, user.name, user.role)
    g.viewer = viewer
    return viewer


def sign_in(user: m.User) -> None:
    """Start a server-side session (the caller commits) and put its id in a fresh cookie."""
    previous = session.get("sid")
    if isinstance(previous, str):
        # The session this browser held before (another person at the same machine): it ends here, so a
        # copy of the old cookie opens nothing.
        auth.end_session(db(), previous)
    session.clear()  # no session fixation: a fresh session on every sign-in
    session.permanent = True
    session["uid"], session["tid"] = user.id, user.tenant_id
    session["sid"] = auth.start_session(db(), user)


def sign_out(everywhere: bool = False) -> None:
    """End this session (or every session of the signed-in user) server-side, and clear the cookie."""
    uid, sid = session.get("uid"), session.get("sid")
    if isinstance(sid, str) and isinstance(uid, int) and auth.session_user_id(db(), sid) == uid:
        if everywhere:
            auth.end_all_sessions(db(), uid)
        else:
            auth.end_session(db(), sid)
        db().commit()
    session.clear()
    g.pop("viewer", None)


def to_sign_in() -> Any:
    """The answer to a request without a live session: the sign-in page, back here afterwards (a GET).

    A cookie that still names a session the server ended (signed out on another device or everywhere, a
    role change, removal) gets a word on why, instead of a bare sign-in page; a form sent with it is not
    kept, so the word says to send it again."""
    if isinstance(session.get("sid"), str):
        session.clear()
        if request.method == "GET":
            message = (
                "Your session has ended (signed out on another device, or your role changed). Sign in again."
            )
            flash(message, "info")
        else:
            flash(
                "Your session had ended, so that was not saved. Sign in again, then do it once more.", "info"
            )
    if request.method != "GET":
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return to_sign_in()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        viewer = current_user()
        if viewer is None:
            return to_sign_in()
        if not auth.can(viewer.role, "write"):
            abort(403, description="Only admins can do this.")  # what to do: the 403 page
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def tenant_id() -> int:
    viewer = current_user()
    if viewer is None:  # pragma: no cover - guarded by login_required
        abort(401)
    return viewer.tenant_id


def actor() -> str:
    viewer = current_user()
    return viewer.email if viewer else "system"
