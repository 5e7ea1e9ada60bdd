"""Who is asking and may they: the session's user, CSRF tokens, role checks.

Two modes. With accounts in the database every page needs a signed-in
account (the session cookie is signed, HttpOnly, SameSite=Lax). Without
accounts the app only serves a bind to this machine (auditor.web.server
refuses any other) and the person at it is the local user, a reviewer.
Every POST carries the session's CSRF token, in both modes.
"""

from __future__ import annotations

import getpass
import hmac
import os
import secrets
from typing import Any

from auditor.web.accounts import User, config_user, has_accounts, user_by_id

LOCAL_ROLE = "reviewer"


def local_user_name() -> str:
    """The OS user running the server: the reviewer of a local, account-less app."""
    name = os.environ.get("USER") or os.environ.get("USERNAME")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container
        return "local"


def current_user(request: Any) -> User | None:
    """The signed-in account, the local user (no accounts at all), or None."""
    st = request.app.state
    uid, uname = request.session.get("uid"), request.session.get("uname")
    user = None
    if isinstance(uid, int):
        user = user_by_id(st.engine, uid)
    elif isinstance(uname, str):
        user = config_user(uname, st.config_accounts)
    if user is not None:
        return user
    request.session.pop("uid", None)  # the account was removed
    request.session.pop("uname", None)
    if not has_accounts(st.engine, st.config_accounts):
        return User(st.local_user, LOCAL_ROLE, local=True)
    return None


def csrf_token(request: Any) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Any, form: Any) -> bool:
    sent = form.get("csrf")
    want = request.session.get("csrf")
    return (isinstance(sent, str) and isinstance(want, str)
            and hmac.compare_digest(sent.encode(), want.encode()))


def sign_in(request: Any, user: User) -> None:
    """A fresh session for the account (a new CSRF token too: no fixation)."""
    request.session.clear()
    if user.account_id is not None:
        request.session["uid"] = user.account_id
    else:  # an account of auditor.toml
        request.session["uname"] = user.name
    csrf_token(request)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only.

    Browsers drop tabs and newlines from a URL, so "/\t/evil.example" would be
    "//evil.example": any space or control character sends to "/".
    """
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        return "/"
    return target


# Scripts, styles and media from the app only; no framing (clickjacking), no sniffing.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; media-src 'self'; "
                                 b"object-src 'none'; base-uri 'none'; form-action 'self'; "
                                 b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
