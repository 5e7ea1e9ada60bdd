"""The Starlette app of ``auditor serve``: routes, sessions, templates, the guard on every request.

Everything is served by the app itself (no CDN): the report's stylesheet and
the app's own CSS and JS are package files read once. Jinja2 autoescaping is
on for every template, so transcripts, names and notes are always text.
The audio route takes a call id and serves the recording the database names;
no path ever comes from the request.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from auditor import __version__
from auditor.errors import AuditorError, InvalidReview, NotFoundError
from auditor.web import pages
from auditor.web.accounts import User, authenticate, config_accounts
from auditor.web.forms import BadRequest, decision, queue_params, queue_qs
from auditor.web.security import (
    SecurityHeaders,
    csrf_ok,
    csrf_token,
    current_user,
    local_user_name,
    safe_next,
)
from auditor.web.security import sign_in as start_session

ASSETS = {  # name -> (package, file, media type): the only files /static serves
    "report.css": ("auditor.views.reports", "templates/report.css", "text/css"),
    "report.js": ("auditor.views.reports", "templates/report.js", "text/javascript"),
    "app.css": ("auditor.web", "static/app.css", "text/css"),
    "app.js": ("auditor.web", "static/app.js", "text/javascript"),
    "favicon.svg": ("auditor.web", "static/favicon.svg", "image/svg+xml"),
}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# Sign-in attempts per account name: this many failures within the window lock it out for
# the rest of the window (passwords cannot be guessed at network speed).
LOGIN_ATTEMPTS, LOGIN_WINDOW_S = 10, 300
_AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
                ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4",
                ".flac": "audio/flac", ".webm": "audio/webm"}


def _templates() -> Jinja2Templates:
    env = Environment(loader=PackageLoader("auditor.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return Jinja2Templates(env=env)


def _render(request: Request, user: User, data: dict[str, Any], status: int = 200) -> Response:
    st = request.app.state
    flash = request.session.pop("flash", None)
    ctx = {"user": user, "csrf": csrf_token(request), "redact": st.redact, "version": __version__,
           "flash": flash, "path": request.url.path, **data}
    return st.templates.TemplateResponse(request, data["template"], ctx, status_code=status)


def _error(request: Request, user: User | None, status: int, message: str) -> Response:
    anyone = user or User("-", "viewer")
    return _render(request, anyone, {"template": "error.html.j2", "status": status,
                                     "message": message}, status)


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + queue_qs({"next": target}), status_code=303)


def _page(build: Callable[..., dict[str, Any]], with_id: bool = False) -> Callable[
        [Request], Awaitable[Response]]:
    """A GET page: signed-in users only; bad input 400, unknown call 404."""
    async def endpoint(request: Request) -> Response:
        user = await run_in_threadpool(current_user, request)
        if user is None:
            return _login_redirect(request)
        args = (request.path_params["call_id"],) if with_id else ()
        try:
            data = await run_in_threadpool(build, request, *args)
        except BadRequest as e:
            return _error(request, user, 400, str(e))
        except NotFoundError as e:
            return _error(request, user, 404, str(e))
        except AuditorError as e:
            return _error(request, user, 400, str(e))
        return _render(request, user, data)
    return endpoint


async def audio(request: Request) -> Response:
    """The recording of a call, with HTTP range requests (206) so the player can seek."""
    user = await run_in_threadpool(current_user, request)
    if user is None:
        return Response("sign in first", status_code=401)
    call_id = request.path_params["call_id"]
    path = await run_in_threadpool(pages.audio_file, request, call_id)
    if path is None:
        return Response("no recording for this call", status_code=404)
    kind = _AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "private, no-store"})


async def review(request: Request) -> Response:
    """Record a decision on a call: agree with the verdict shown, or set verdict, type, stages."""
    from auditor.views.calls import get_call
    from auditor.views.review import add_review

    user = await run_in_threadpool(current_user, request)
    form = await request.form()
    if not csrf_ok(request, form):
        return _error(request, user, 403, "the form's security token is missing or out of date; "
                                          "reload the page and try again")
    if user is None:
        return Response("sign in first", status_code=401)
    if not user.can_review:
        return _error(request, user, 403, f"{user.name} is a viewer: viewers cannot review")
    st = request.app.state
    call_id = request.path_params["call_id"]
    params = queue_params(form, prefix="q_")
    try:
        row = await run_in_threadpool(get_call, st.engine, call_id)
        if row is None:
            raise NotFoundError(f"no call with id {call_id}")
        next_id = None
        if form.get("after") == "next":  # the queue is read only when it is needed
            _, next_id = await run_in_threadpool(pages.neighbours, request, params, call_id)
        d = decision(form, row.verdict)
        outcome = await run_in_threadpool(
            lambda: add_review(st.engine, call_id, verdict=d.verdict, note=d.note,
                               reviewer=user.name, call_type=d.call_type, stages=d.stages,
                               account_id=user.account_id))
    except NotFoundError as e:
        return _error(request, user, 404, str(e))
    except (InvalidReview, BadRequest) as e:
        request.session["flash"] = {"kind": "error", "messages": [str(e)]}
        return RedirectResponse(_call_url(call_id, params), status_code=303)
    c = outcome.call
    request.session["flash"] = {"kind": "ok", "messages": [
        f"call {c.id}: verdict {c.verdict} (reviewed by {user.name}); review "
        f"#{c.review_count} of this call", *(f"warning: {w}" for w in outcome.warnings)]}
    go = next_id if next_id is not None else call_id
    return RedirectResponse(_call_url(go, params), status_code=303)


def _call_url(call_id: int, params: dict[str, str]) -> str:
    qs = queue_qs(params)
    return f"/calls/{call_id}" + (f"?{qs}" if qs else "")


async def login(request: Request) -> Response:
    st = request.app.state
    if request.method == "GET":
        return _render(request, User("-", "viewer"), {
            "template": "login.html.j2", "next": safe_next(request.query_params.get("next")),
            "failed": False})
    form = await request.form()
    target = safe_next(str(form.get("next") or ""))
    if not csrf_ok(request, form):
        return _error(request, None, 403, "the form's security token is missing or out of date; "
                                          "reload the page and try again")
    name = str(form.get("name") or "").strip().lower()
    now = time.monotonic()
    recent = [t for t in st.failed_logins.get(name, []) if now - t < LOGIN_WINDOW_S]
    if len(recent) >= LOGIN_ATTEMPTS:
        return _error(request, None, 429, f"too many failed sign-ins for {name!r}; "
                                          f"wait {LOGIN_WINDOW_S // 60} minutes")
    user = await run_in_threadpool(authenticate, st.engine, name,
                                   str(form.get("password") or ""), st.config_accounts)
    if user is None:
        st.failed_logins[name] = [*recent, now]
        if len(st.failed_logins) > 1000:  # made-up names must not grow it without end
            st.failed_logins = {k: v for k, v in st.failed_logins.items()
                                if now - v[-1] < LOGIN_WINDOW_S}
        return _render(request, User("-", "viewer"), {
            "template": "login.html.j2", "next": target, "failed": True}, 401)
    st.failed_logins.pop(name, None)
    start_session(request, user)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form):
        return _error(request, None, 403, "the form's security token is missing or out of date")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    body = request.app.state.assets.get(name)
    if body is None:
        return Response("not found", status_code=404)
    return Response(body, media_type=ASSETS[name][2], headers={"Cache-Control": "no-cache"})


def create_app(engine: Any, settings: Any, *, secret_key: str | None = None,
               local_user: str | None = None, allowed_hosts: list[str] | None = None,
               https_only: bool = False) -> Starlette:
    """The app over one database. ``settings`` gives redact, targets and thresholds.

    ``allowed_hosts``: the Host headers accepted (default: this machine's names,
    which keeps a DNS-rebinding page from reading a local app); ``["*"]`` for a
    bind on the network.
    """
    routes = [
        Route("/", _page(pages.queue)),
        Route("/calls/{call_id:int}", _page(pages.call, with_id=True)),
        Route("/calls/{call_id:int}/audio", audio),
        Route("/calls/{call_id:int}/review", review, methods=["POST"]),
        Route("/managers", _page(pages.managers)),
        Route("/search", _page(pages.search)),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/static/{name}", asset),
        Route("/favicon.ico", lambda _r: RedirectResponse("/static/favicon.svg", status_code=301)),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or list(LOCAL_HOSTS)),
        Middleware(SessionMiddleware, secret_key=secret_key or secrets.token_urlsafe(32),
                   session_cookie="auditor_session", same_site="lax", max_age=12 * 3600,
                   https_only=https_only),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.engine = engine
    app.state.settings = settings
    app.state.redact = bool(settings.redact)
    app.state.config_accounts = config_accounts(settings.accounts)
    app.state.failed_logins = {}  # account name -> monotonic times of recent failures
    app.state.local_user = local_user or local_user_name()
    app.state.templates = _templates()
    app.state.assets = {name: resources.files(pkg).joinpath(f).read_bytes()
                        for name, (pkg, f, _kind) in ASSETS.items()}
    return app
