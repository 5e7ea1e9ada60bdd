"""auditor serve in a real browser: Debian's Chromium driven by Playwright, uvicorn on 127.0.0.1.

The server is the real command (``python -m auditor serve``) in a subprocess on
a free local port, over a database of the sample calls on the real fixture
recordings. The browser opens the queue, opens the worst call, clicks an
evidence quote and checks the player seeked there, sets a verdict through the
form, and the review is then read back from the database. Screenshots of the
queue and the call page go to the test's tmp dir.

Playwright only drives the system browser (``executable_path``); it downloads
nothing. Without Chromium or Playwright the test skips on a developer machine
and fails in CI (CI=1, set by .ci/run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from auditor import store

from .helpers_web import running_server, web_db

CHROMIUM = Path("/usr/bin/chromium")
_NEEDS = ("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium) and "
          "the playwright package (pip install -e '.[dev]')")


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{_NEEDS}: {why}; CI must run the browser test")
    pytest.skip(f"{_NEEDS}: {why}")


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Any, list[int]]]:
    """`auditor serve` on 127.0.0.1, no accounts (the local user, $USER, reviews)."""
    engine, db, ids = web_db(tmp_path)
    with running_server(tmp_path, db) as url:
        yield url, engine, ids


@pytest.fixture()
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing("no /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                  args=["--no-sandbox", "--disable-dev-shm-usage",
                                        "--mute-audio",
                                        "--autoplay-policy=no-user-gesture-required"])
        except Exception as e:  # the browser cannot start here
            _missing(f"Chromium did not start: {str(e).splitlines()[0]}")
        try:
            yield b
        finally:
            b.close()


def _png(path: Path) -> bytes:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, path
    return data


def test_queue_call_quote_seeks_and_a_verdict_lands_in_the_database(
        server: tuple[str, Any, list[int]], browser: Any, tmp_path: Path) -> None:
    url, engine, _ids = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)

    page.goto(url + "/")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 8
    page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)
    _png(tmp_path / "queue.png")
    first = rows.first
    assert "missed_opportunity" in first.inner_text()  # worst first
    call_id = int(first.get_attribute("data-id") or 0)

    first.locator("a.open").click()
    page.wait_for_url(f"{url}/calls/{call_id}")
    audio = page.locator(f"#audio-{call_id}")
    assert audio.count() == 1
    quote = page.locator("a.quote").first
    expected = float(quote.get_attribute("data-t") or "nan")
    assert expected > 1.0
    page.evaluate("""(id) => {
      const a = document.getElementById("audio-" + id);
      window.__seek = new Promise((resolve) => a.addEventListener("seeked",
        () => resolve({t: a.currentTime, ready: a.readyState, duration: a.duration}),
        {once: true}));
    }""", call_id)
    quote.click()  # a real mouse click on the quote
    seeked = page.evaluate("window.__seek")
    assert seeked["ready"] >= 1 and seeked["duration"] > expected
    assert seeked["t"] == pytest.approx(expected, abs=0.05)
    # the player stays there (or plays on from there), it does not jump back
    now = page.evaluate(f"document.getElementById('audio-{call_id}').currentTime")
    assert now >= expected - 0.05
    page.screenshot(path=str(tmp_path / "call.png"), full_page=True)
    _png(tmp_path / "call.png")

    page.select_option("#verdict-select", "incomplete")
    page.select_option("#stage-needs", "yes")
    page.fill("#note", "listened: needs asked, no next step")
    page.click("#save")
    page.wait_for_selector("#flash")
    assert "review #" in page.inner_text("#flash")
    assert page.inner_text("#verdict") == "incomplete"
    page.screenshot(path=str(tmp_path / "after-review.png"), full_page=True)

    with Session(engine) as s:
        rv = s.exec(select(store.Review).where(store.Review.recording_id == call_id)
                    .order_by(store.Review.id.desc())).first()  # type: ignore[union-attr]
    assert rv is not None
    assert (rv.verdict, rv.reviewer, rv.note) == ("incomplete", "browser-tester",
                                                  "listened: needs asked, no next step")
    assert '"needs": true' in rv.stages_json

    # keyboard: j opens the next call of the queue
    page.goto(f"{url}/calls/{call_id}")
    nxt = page.get_attribute("#next", "href")
    page.keyboard.press("j")
    page.wait_for_url(url + (nxt or ""))
    assert problems == []


def _seek_by_key(page: Any, call_id: int, key: str) -> float:
    page.evaluate("""(id) => {
      const a = document.getElementById("audio-" + id);
      window.__seek = new Promise((resolve) => a.addEventListener("seeked",
        () => resolve(a.currentTime), {once: true}));
    }""", call_id)
    page.keyboard.press(key)
    return float(page.evaluate("window.__seek"))


def test_keys_play_from_the_next_quote_and_agree(server: tuple[str, Any, list[int]],
                                                 browser: Any) -> None:
    url, engine, ids = server
    call_id = ids[0]  # all four stages: four quotes
    page = browser.new_page()
    page.goto(f"{url}/calls/{call_id}")
    times = sorted(float(t) for t in page.eval_on_selector_all(
        "a.quote", "els => els.map(e => e.getAttribute('data-t'))"))
    assert len(times) == 4
    assert _seek_by_key(page, call_id, "n") == pytest.approx(times[0], abs=0.05)
    assert _seek_by_key(page, call_id, "n") == pytest.approx(times[1], abs=0.05)
    # a search hit opens the call with the player at the moment it links to
    page.goto(f"{url}/search?q=доставку")
    hit = page.locator(f'a.hit[href^="/calls/{call_id}?t="]')
    t = float((hit.get_attribute("href") or "").split("t=")[1].split("#")[0])
    hit.click()
    page.wait_for_function("([id, t]) => { const a = document.getElementById('audio-' + id);"
                           " return a && a.readyState >= 1 && Math.abs(a.currentTime - t) < 0.05; }",
                           arg=[call_id, t])
    page.goto(f"{url}/calls/{call_id}")
    nxt = page.get_attribute("#next", "href")
    page.keyboard.press("a")  # agree with the verdict shown, then the next call
    page.wait_for_url(url + (nxt or ""))
    with Session(engine) as s:
        rv = s.exec(select(store.Review).where(store.Review.recording_id == call_id)).one()
    assert (rv.verdict, rv.auto_verdict, rv.note, rv.reviewer) == (
        "ok", "ok", "agreed", "browser-tester")
