"""The real server: ``python -m auditor serve`` (uvicorn) on 127.0.0.1, over HTTP and over TLS.

The TestClient tests call the app in-process; these go through a socket, so
what a browser on the office network gets (range requests, the Host check,
the Secure cookie over HTTPS) is what uvicorn really sends. The TLS test makes
a throwaway self-signed certificate with the openssl command.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app as cli
from auditor.web.accounts import add_user

from .helpers_web import running_server, web_db


def _get(url: str, headers: dict[str, str] | None = None,
         context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_the_real_server_serves_pages_and_audio_ranges(tmp_path: Path) -> None:
    engine, db, ids = web_db(tmp_path)
    from auditor import store

    with store.session(engine) as s:
        rec = s.get(store.Recording, ids[0])
        assert rec is not None
        data = Path(rec.path).read_bytes()
    with running_server(tmp_path, db) as url:
        status, headers, body = _get(url + "/")
        assert status == 200 and b'id="queue"' in body and "server" not in headers
        status, headers, body = _get(f"{url}/calls/{ids[0]}/audio", {"Range": "bytes=44-1043"})
        assert status == 206 and body == data[44:1044]
        assert headers["content-range"] == f"bytes 44-1043/{len(data)}"
        assert _get(url + "/", {"Host": "attacker.example"})[0] == 400


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("the TLS test needs the openssl command (apt-get install -y openssl)")
        pytest.skip("the TLS test needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_over_tls_the_session_cookie_is_secure_and_plain_http_gets_nothing(tmp_path: Path
                                                                           ) -> None:
    engine, db, _ids = web_db(tmp_path)
    add_user(engine, "anna", "reviewer", "anna-secret-1")
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(cafile=str(cert))

    def ready(url: str) -> bool:
        return _get(url + "/static/app.css", context=context)[0] == 200

    with running_server(tmp_path, db, "--tls-cert", str(cert), "--tls-key", str(key),
                        scheme="https", ready=ready) as url:
        status, headers, body = _get(url + "/login", context=context)
        assert status == 200 and b'name="password"' in body
        cookie = headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        status, _h, _b = _get(url + "/", context=context)
        assert status == 200 and _b.count(b'type="password"') == 1  # redirected to sign in
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            _get(url.replace("https://", "http://") + "/login")


@pytest.mark.parametrize("args", [["--tls-cert", "cert.pem"], ["--tls-key", "key.pem"],
                                  ["--tls-cert", "nope.pem", "--tls-key", "nope.key"]])
def test_tls_needs_both_files(tmp_path: Path, args: list[str]) -> None:
    r = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "a.db"), *args])
    assert r.exit_code == 2 and r.stderr.startswith("error: ")
    assert r.stderr.strip().count("\n") == 0
