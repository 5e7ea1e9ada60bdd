"""A database for the web-app tests: the report tests' sample calls, each on a real fixture recording.

No ASR: transcripts and analyses are written through auditor.store
(tests/conftest_reports.py), and each call's Recording.path is a file of
fixtures/recordings, so the audio route serves real WAVs (the failed call
gets the corrupt one).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from auditor import store
from auditor.config import Settings

from .conftest_reports import FakeCall, add_call, sample_calls

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "fixtures" / "recordings"
CORRUPT = RECORDINGS / "Павел Орлов" / "2026-11-03_12-00-00_+79990000000.wav"


def fixture_audio() -> list[Path]:
    """The decodable fixture recordings, longest first."""
    manifest = json.loads((RECORDINGS / "manifest.json").read_text(encoding="utf-8"))
    recs = sorted(manifest["recordings"], key=lambda r: -r["duration_s"])
    return [RECORDINGS / r["path"] for r in recs]


def web_db(tmp_path: Path, calls: list[FakeCall] | None = None
           ) -> tuple[Engine, str, list[int]]:
    """(engine, db path, call ids) of the sample calls (or ``calls``) on real recordings."""
    db = str(tmp_path / "web.db")
    engine = store.make_engine(db)
    audio = fixture_audio()
    ids = []
    for i, call in enumerate(sample_calls() if calls is None else calls):
        path = CORRUPT if call.status == "failed" else audio[i % len(audio)]
        ids.append(add_call(engine, path, call))
    return engine, db, ids


def settings(db: str, **kw: Any) -> Settings:
    return Settings(db=db, **kw)


def client(engine: Engine, db: str, **kw: Any) -> Any:
    """A Starlette TestClient on the app, reached as http://127.0.0.1 like a local browser."""
    from starlette.testclient import TestClient

    from auditor.web.app import create_app

    redact, accounts = kw.pop("redact", False), kw.pop("accounts", {})
    app = create_app(engine, settings(db, redact=redact, accounts=accounts), local_user="tester",
                     **kw)
    return TestClient(app, base_url="http://127.0.0.1")


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def sign_in(c: Any, name: str, password: str) -> Any:
    page = c.get("/login")
    return c.post("/login", data={"name": name, "password": password, "next": "/",
                                  "csrf": csrf_of(page.text)}, follow_redirects=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(tmp_path: Path, db: str, *args: str, scheme: str = "http",
                   ready: Any = None) -> Iterator[str]:
    """``python -m auditor serve`` on 127.0.0.1 and a free port until the block ends: its URL.

    ``ready(url)`` says whether it answers (default: fetch /static/app.css over plain HTTP).
    """
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    env = {**os.environ, "USER": "browser-tester", "PYTHONUNBUFFERED": "1"}
    url = f"{scheme}://127.0.0.1:{port}"

    def answers(u: str) -> bool:
        with urllib.request.urlopen(u + "/static/app.css", timeout=2) as r:
            return bool(r.status == 200)

    check = ready or answers
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "auditor", "serve", "--db", db,
                                 "--host", "127.0.0.1", "--port", str(port), *args],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if check(url):
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise AssertionError("auditor serve did not start: "
                                         + log_path.read_text()[-2000:])
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
