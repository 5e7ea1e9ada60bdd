"""auditor serve's security rules, through Starlette's TestClient and the CLI.

Recordings of clients: a bind beyond this machine needs accounts, passwords
are salted KDF hashes, sessions are signed HttpOnly SameSite cookies, every
POST needs its CSRF token, viewers cannot review, audio comes only by call
id, every text is escaped and --redact holds on every page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from auditor import store
from auditor.cli import app as cli
from auditor.web.accounts import add_user, hash_password, verify_password
from auditor.web.server import build_app, check_bind, is_local

from .conftest_reports import FakeCall, sample_calls
from .helpers_web import client, csrf_of, settings, sign_in, web_db

runner = CliRunner()


@pytest.fixture()
def web(tmp_path: Path) -> tuple[Any, Any, str, list[int]]:
    engine, db, ids = web_db(tmp_path)
    return client(engine, db), engine, db, ids


@pytest.fixture()
def accounts(web: Any) -> Any:
    _c, engine, _db, _ids = web
    add_user(engine, "anna", "reviewer", "anna-secret-1")
    add_user(engine, "victor", "viewer", "victor-secret-1")
    return web


def _reviews(engine: Any) -> list[store.Review]:
    with Session(engine) as s:
        return list(s.exec(select(store.Review).order_by(store.Review.id)))  # type: ignore[arg-type]


def _post_review(c: Any, call_id: int, csrf: str | None, **extra: str) -> Any:
    data = {"action": "set", "verdict": "ok", "note": "fine", **extra}
    if csrf is not None:
        data["csrf"] = csrf
    return c.post(f"/calls/{call_id}/review", data=data, follow_redirects=False)


# --- CSRF -------------------------------------------------------------------------


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(web: Any) -> None:
    c, engine, _db, ids = web
    before = len(_reviews(engine))
    c.get(f"/calls/{ids[0]}")  # the session has a token now
    assert _post_review(c, ids[0], None).status_code == 403
    assert _post_review(c, ids[0], "forged-token").status_code == 403
    assert len(_reviews(engine)) == before
    token = csrf_of(c.get(f"/calls/{ids[0]}").text)
    assert _post_review(c, ids[0], token).status_code == 303
    assert len(_reviews(engine)) == before + 1


def test_another_browser_cannot_use_my_token(web: Any) -> None:
    c, engine, db, ids = web
    token = csrf_of(c.get(f"/calls/{ids[0]}").text)
    other = client(engine, db)
    other.get("/")
    assert _post_review(other, ids[0], token).status_code == 403


# --- accounts and roles -------------------------------------------------------------


def test_with_accounts_every_page_needs_signing_in(accounts: Any) -> None:
    c, _engine, _db, ids = accounts
    for url in ("/", f"/calls/{ids[0]}", "/managers", "/search?q=x"):
        r = c.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert c.get(f"/calls/{ids[0]}/audio").status_code == 401
    assert sign_in(c, "anna", "wrong password").status_code == 401
    assert sign_in(c, "nobody", "anna-secret-1").status_code == 401
    r = sign_in(c, "anna", "anna-secret-1")
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = c.get("/").text
    assert '<span id="user">anna</span> <small>(reviewer)</small>' in page


def test_repeated_wrong_passwords_lock_the_name_for_a_while(accounts: Any) -> None:
    from auditor.web.app import LOGIN_ATTEMPTS

    c = accounts[0]
    for _ in range(LOGIN_ATTEMPTS):
        assert sign_in(c, "anna", "guess").status_code == 401
    r = sign_in(c, "anna", "anna-secret-1")  # even the right password, for now
    assert r.status_code == 429 and "too many failed sign-ins" in r.text
    assert sign_in(c, "victor", "victor-secret-1").status_code == 303  # others are not locked
    c.app.state.failed_logins.clear()  # the window has passed
    assert sign_in(c, "anna", "anna-secret-1").status_code == 303


def test_login_needs_its_csrf_token_and_goes_back_only_to_this_site(accounts: Any) -> None:
    c = accounts[0]
    c.get("/login")
    r = c.post("/login", data={"name": "anna", "password": "anna-secret-1"})
    assert r.status_code == 403
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"name": "anna", "password": "anna-secret-1", "csrf": token,
                               "next": "//evil.example/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example", "/\\evil.example",
                                    "https://evil.example", "/\n/evil.example"])
def test_after_signing_in_only_paths_of_this_site(accounts: Any, target: str) -> None:
    c = accounts[0]
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"name": "anna", "password": "anna-secret-1", "csrf": token,
                               "next": target}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_pages_forbid_framing_and_outside_scripts(web: Any) -> None:
    c, _e, _db, ids = web
    for url in ("/", f"/calls/{ids[0]}", f"/calls/{ids[0]}/audio", "/nowhere"):
        h = c.get(url).headers
        assert "script-src" not in h["content-security-policy"]  # default-src 'self' covers it
        assert "default-src 'self'" in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"


def test_the_session_cookie_is_signed_httponly_samesite(accounts: Any) -> None:
    c = accounts[0]
    r = sign_in(c, "anna", "anna-secret-1")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("auditor_session=")
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    value = c.cookies["auditor_session"]
    assert "anna" not in value
    assert c.get("/", follow_redirects=False).status_code == 200
    payload, _dot, signature = value.rpartition(".")
    forged = payload + "." + ("A" * len(signature) if signature[0] != "A" else "B" * len(signature))
    c.cookies.clear()
    r = c.get("/", headers={"Cookie": f"auditor_session={forged}"}, follow_redirects=False)
    assert r.status_code == 303  # a tampered cookie: signed out


def test_a_viewer_reads_but_cannot_review(accounts: Any) -> None:
    c, engine, _db, ids = accounts
    before = len(_reviews(engine))
    sign_in(c, "victor", "victor-secret-1")
    page = c.get(f"/calls/{ids[0]}").text
    assert 'id="review-form"' not in page and 'id="viewer-note"' in page
    r = _post_review(c, ids[0], csrf_of(page))
    assert r.status_code == 403 and "viewers cannot review" in r.text
    assert len(_reviews(engine)) == before


def test_each_review_records_the_account_that_made_it(accounts: Any) -> None:
    c, engine, db, ids = accounts
    sign_in(c, "anna", "anna-secret-1")
    token = csrf_of(c.get(f"/calls/{ids[0]}").text)
    assert _post_review(c, ids[0], token, note="checked by ear").status_code == 303
    rv = _reviews(engine)[-1]
    with Session(engine) as s:
        anna = store.find_account(s, "anna")
    assert anna is not None and rv.account_id == anna.id and rv.reviewer == "anna"
    # removing the account keeps the name on its reviews and ends its sessions
    assert runner.invoke(cli, ["users", "remove", "anna", "--db", db]).exit_code == 0
    assert _reviews(engine)[-1].reviewer == "anna" and _reviews(engine)[-1].account_id is None
    assert c.get("/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(accounts: Any) -> None:
    c = accounts[0]
    sign_in(c, "anna", "anna-secret-1")
    token = csrf_of(c.get("/").text)
    assert c.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert c.get("/", follow_redirects=False).status_code == 303


def test_passwords_are_salted_scrypt_hashes(tmp_path: Path) -> None:
    a, b = hash_password("same password"), hash_password("same password")
    assert a != b and a.startswith("scrypt$16384$8$1$")
    assert verify_password("same password", a) and not verify_password("Same password", a)
    assert not verify_password("x", "garbage")
    db = str(tmp_path / "u.db")
    r = runner.invoke(cli, ["users", "add", "Anna", "--role", "viewer", "--password-stdin",
                            "--db", db], input="correct horse\n")
    assert r.exit_code == 0 and "account anna: viewer" in r.stdout
    with Session(store.make_engine(db)) as s:
        row = store.find_account(s, "anna")
    assert row is not None and "correct horse" not in row.password_hash
    assert verify_password("correct horse", row.password_hash)
    listed = runner.invoke(cli, ["users", "list", "--db", db])
    assert listed.stdout.startswith("anna\tviewer\t")


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["users", "add", "anna", "--role", "admin", "--password-stdin"], "long enough pw\n", "role"),
    (["users", "add", "anna", "--password-stdin"], "short\n", "at least 8"),
    (["users", "add", "an na", "--password-stdin"], "long enough pw\n", "account name"),
    (["users", "remove", "ghost"], "", "no account"),
])
def test_bad_account_input_is_a_one_line_error(tmp_path: Path, args: list[str], stdin: str,
                                               message: str) -> None:
    r = runner.invoke(cli, [*args, "--db", str(tmp_path / "u.db")], input=stdin)
    assert r.exit_code != 0 and message in r.stderr and r.stderr.strip().count("\n") == 0


def test_accounts_from_auditor_toml(tmp_path: Path) -> None:
    from auditor.config import load_settings

    engine, db, ids = web_db(tmp_path)
    lines = [runner.invoke(cli, ["users", "hash", name, "--role", role, "--password-stdin"],
                           input=f"{name}-password\n") for name, role in
             (("olga", "reviewer"), ("petr", "viewer"))]
    assert all(r.exit_code == 0 for r in lines)
    assert lines[0].stdout.startswith('"olga" = "reviewer:scrypt$')
    toml = tmp_path / "auditor.toml"
    toml.write_text("[accounts]\n" + "".join(r.stdout for r in lines), encoding="utf-8")
    conf = load_settings(toml)
    assert "olga-password" not in toml.read_text(encoding="utf-8")
    check_bind(engine, "0.0.0.0", conf.accounts)  # config accounts count as accounts
    listed = runner.invoke(cli, ["users", "list", "--db", db, "--config", str(toml)]).stdout
    assert "olga\treviewer\tauditor.toml" in listed
    c = client(engine, db, accounts=conf.accounts)
    assert c.get("/", follow_redirects=False).status_code == 303  # no local user any more
    assert sign_in(c, "olga", "wrong-password").status_code == 401
    assert sign_in(c, "olga", "olga-password").status_code == 303
    token = csrf_of(c.get(f"/calls/{ids[0]}").text)
    assert _post_review(c, ids[0], token).status_code == 303
    rv = _reviews(engine)[-1]
    assert (rv.reviewer, rv.account_id) == ("olga", None)
    viewer = client(engine, db, accounts=conf.accounts)
    sign_in(viewer, "petr", "petr-password")
    assert _post_review(viewer, ids[0], csrf_of(viewer.get("/").text)).status_code == 403


def test_a_bad_account_in_auditor_toml_is_a_one_line_error(tmp_path: Path) -> None:
    toml = tmp_path / "auditor.toml"
    toml.write_text('[accounts]\nanna = "admin:plaintext"\n', encoding="utf-8")
    r = runner.invoke(cli, ["serve", "--db", str(tmp_path / "a.db"), "--config", str(toml)])
    assert r.exit_code == 2 and "[accounts] anna" in r.stderr
    assert r.stderr.strip().count("\n") == 0


# --- where it may listen -----------------------------------------------------------


def test_a_non_local_bind_without_accounts_refuses_to_start(tmp_path: Path) -> None:
    _engine, db, _ids = web_db(tmp_path)
    r = runner.invoke(cli, ["serve", "--db", db, "--host", "0.0.0.0", "--port", "1"])
    assert r.exit_code == 2
    assert r.stderr.startswith("error: refusing to listen on 0.0.0.0 without accounts")
    assert "auditor users add" in r.stderr and r.stderr.strip().count("\n") == 0


def test_a_non_local_bind_with_accounts_is_allowed(tmp_path: Path) -> None:
    engine, db, _ids = web_db(tmp_path)
    with pytest.raises(Exception, match="refusing"):
        check_bind(engine, "192.168.1.20")
    add_user(engine, "anna", "reviewer", "anna-secret-1")
    check_bind(engine, "192.168.1.20")
    app = build_app(settings(db), "0.0.0.0")
    assert app.state.engine is not None


@pytest.mark.parametrize(("host", "local"), [("127.0.0.1", True), ("localhost", True),
                                             ("::1", True), ("127.0.0.2", True),
                                             ("0.0.0.0", False), ("192.168.1.5", False),
                                             ("::", False), ("example.com", False)])
def test_which_binds_are_local(host: str, local: bool) -> None:
    assert is_local(host) is local


def test_a_local_bind_answers_to_its_own_address_too(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    _engine, db, _ids = web_db(tmp_path)
    app = build_app(settings(db), "127.0.0.2")
    assert TestClient(app, base_url="http://127.0.0.2:8080").get("/").status_code == 200
    assert TestClient(app, base_url="http://192.168.1.5").get("/").status_code == 400


def test_a_local_app_answers_only_to_local_host_names(web: Any) -> None:
    c = web[0]
    assert c.get("/", headers={"Host": "evil.example"}).status_code == 400  # DNS rebinding
    assert c.get("/", headers={"Host": "localhost:8080"}).status_code == 200


# --- audio: only by id ---------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "/calls/../../../../etc/passwd/audio",
    "/calls/1/audio/../../../../etc/passwd",
    "/calls/%2e%2e%2f%2e%2e%2fetc%2fpasswd/audio",
    "/calls/1%2F..%2F..%2Fetc%2Fpasswd/audio",
    "/calls/-1/audio",
    "/static/..%2F..%2Fweb%2Fapp.py",
    "/static/../accounts.py",
    "/static/app.py",
])
def test_path_traversal_on_the_audio_and_static_routes_is_404(web: Any, url: str) -> None:
    r = web[0].get(url)
    assert r.status_code == 404
    assert b"root:" not in r.content and b"def create_app" not in r.content


def test_the_audio_route_takes_no_path_from_the_request(web: Any) -> None:
    c, engine, _db, ids = web
    r = c.get(f"/calls/{ids[0]}/audio?path=/etc/passwd&file=../../etc/passwd")
    with Session(engine) as s:
        rec = s.get(store.Recording, ids[0])
        assert rec is not None
    assert r.status_code == 200 and r.content == Path(rec.path).read_bytes()


# --- escaping and redaction ---------------------------------------------------------


def test_script_in_a_transcript_and_a_name_is_text(web: Any) -> None:
    c, _engine, _db, ids = web
    page = c.get(f"/calls/{ids[1]}").text  # the client said "<script>alert('xss')</script>"
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page and "<b>bold" not in page
    assert page.count("<script") == 2  # the app's own two scripts
    queue = c.get("/").text
    assert "Pavel &lt;Orlov&gt;" in queue and "<Orlov>" not in queue
    search = c.get("/search?q=xss").text
    assert "&lt;script&gt;" in search and "<script>alert" not in search


def test_redact_holds_on_every_page(tmp_path: Path) -> None:
    calls = sample_calls()
    calls[1] = FakeCall(calls[1].manager, "+79125550102", calls[1].started_at, 150.0,
                        "new_client", "missed_opportunity", {},
                        [("client", "мой номер +7 912 555-66-77, почта ivan@example.com")])
    engine, db, ids = web_db(tmp_path, calls)
    c = client(engine, db, redact=True)
    token = csrf_of(c.get(f"/calls/{ids[1]}").text)
    _post_review(c, ids[1], token, note="перезвонить на +7 912 555-66-77")
    pages = {url: c.get(url).text for url in (
        "/", f"/calls/{ids[1]}", f"/calls/{ids[0]}", "/managers", "/search?q=номер",
        "/search?q=почта")}
    for url, html in pages.items():
        assert c.get(url).status_code == 200, url
        for secret in ("9125550102", "+79125550101", "555-66-77", "ivan@example.com",
                       "+79161234567", "79161234567"):
            assert secret not in html, (url, secret)
    assert "+*********02" in pages["/"] and 'class="badge">redacted' in pages["/"]
    assert "[email]" in pages[f"/calls/{ids[1]}"] and "[email]" in pages["/search?q=почта"]
    # what is stored is not changed by a redacted view: the note keeps the number
    assert "555-66-77" in _reviews(engine)[-1].note
    shown = json.loads(runner.invoke(cli, ["show", str(ids[1]), "--db", db, "-f", "json",
                                           "--redact"]).stdout)
    assert "555-66-77" not in json.dumps(shown, ensure_ascii=False)
    assert re.search(r"\+\*+77", pages[f"/calls/{ids[1]}"])
