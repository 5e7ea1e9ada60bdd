"""auditor serve, page by page, through Starlette's TestClient on a real SQLite file.

The database holds the report tests' sample calls (two managers, every
verdict, reviews, hostile text) on the real fixture recordings; what the
pages show is checked against the views the CLI prints (`calls`, `show`).
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
from auditor.views.calls import query_calls

from .helpers_web import client, csrf_of, web_db


@pytest.fixture()
def web(tmp_path: Path) -> tuple[Any, Any, str, list[int]]:
    engine, db, ids = web_db(tmp_path)
    return client(engine, db), engine, db, ids


def _queue_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-id="(\d+)">', html)]


def _reviews(engine: Any, call_id: int) -> list[store.Review]:
    with Session(engine) as s:
        return list(s.exec(select(store.Review).where(store.Review.recording_id == call_id)
                           .order_by(store.Review.id)))  # type: ignore[arg-type]


def test_queue_is_the_calls_list_worst_first_with_counts_per_manager(web: Any) -> None:
    c, engine, db, ids = web
    r = c.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    cli_ids = [row["id"] for row in json.loads(CliRunner().invoke(
        cli, ["calls", "--db", db, "--format", "json"]).stdout)]
    assert _queue_ids(r.text) == cli_ids and len(cli_ids) == 8
    assert r.text.count('class="verdict v-missed"') == 2  # the two missed opportunities
    per = re.search(r'id="per-manager">(.*?)</section>', r.text, re.S)
    assert per and "Ирина Соколова" in per.group(1)
    # Ирина: 4 calls, 2 of them reviewed
    assert re.search(r'<span class="big">4</span>Ирина Соколова<br>\s*2 unreviewed', per.group(1))


@pytest.mark.parametrize(("query", "cli_args"), [
    ("manager=Ирина+Соколова", ["--manager", "Ирина Соколова"]),
    ("verdict=missed_opportunity", ["--verdict", "missed_opportunity"]),
    ("unreviewed=1", ["--unreviewed"]),
    ("needs_review=1", ["--needs-review"]),
    ("missing=next_step", ["--missing", "next_step"]),
    ("type=new_client&short=1", ["--type", "new_client", "--short"]),
    ("from=2026-11-03&to=2026-11-03", ["--from", "2026-11-03", "--to", "2026-11-03"]),
])
def test_queue_filters_are_those_of_auditor_calls(web: Any, query: str, cli_args: list[str]
                                                  ) -> None:
    c, _engine, db, _ids = web
    got = _queue_ids(c.get(f"/?{query}").text)
    want = [row["id"] for row in json.loads(CliRunner().invoke(
        cli, ["calls", "--db", db, "--format", "json", *cli_args]).stdout)]
    assert got == want and 0 < len(got) < 8


def test_a_long_queue_is_shown_a_page_at_a_time(web: Any, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    from auditor.web import pages

    monkeypatch.setattr(pages, "QUEUE_PAGE", 3)
    c = web[0]
    everything = _queue_ids(c.get("/?limit=100").text)
    first = c.get("/")
    assert _queue_ids(first.text) == everything[:3]
    assert "showing 3 of 8 calls" in first.text and 'href="/?limit=6" id="more"' in first.text
    assert _queue_ids(c.get("/?limit=6").text) == everything[:6]
    # the counts per manager cover the whole queue
    assert '<span class="big">4</span>Ирина Соколова' in first.text
    assert c.get("/?limit=0").status_code == 400


@pytest.mark.parametrize("query", ["verdict=great", "from=yesterday", "from=2026-11-05&to=2026-11-01",
                                   "missing=smile"])
def test_a_bad_filter_is_a_400_with_one_message(web: Any, query: str) -> None:
    r = web[0].get(f"/?{query}")
    assert r.status_code == 400
    assert re.search(r'<p class="error" id="error">[^<\n]+</p>', r.text)


def test_call_page_shows_verdict_evidence_transcript_audio_and_history(web: Any) -> None:
    c, engine, _db, ids = web
    cid = ids[0]  # ok, all four stages
    r = c.get(f"/calls/{cid}")
    assert r.status_code == 200
    html = r.text
    assert f'<audio id="audio-{cid}" class="player" controls preload="metadata" ' \
           f'src="/calls/{cid}/audio">' in html
    quotes = re.findall(r'<a class="quote" href="#seg-\d+-(\d+)" data-call="\d+" '
                        r'data-t="([\d.]+)">&laquo;(.*?)&raquo;', html)
    with Session(engine) as s:
        an = store.find_analysis(s, cid)
        assert an is not None
        evidence = [(ev.start, ev.quote) for st in an.details.stages.values() for ev in st.evidence]
    assert sorted((float(t), q) for _seg, t, q in quotes) == sorted(evidence)
    assert len(quotes) == 4
    # each quote is marked in its segment of the transcript
    for seg, _t, q in quotes:
        para = re.search(rf'<p class="seg [^"]*" id="seg-{cid}-{seg}">(.*?)</p>', html, re.S)
        assert para and f'">{q}</mark>' in para.group(1)
    for stage in ("profile", "needs", "presentation", "next_step"):
        assert f'<span class="chip st-{stage}">{stage} &#10003;' in html
    assert 'id="review-form"' in html and 'id="agree-form"' in html
    # a reviewed call shows its history
    reviewed = c.get(f"/calls/{ids[1]}").text
    assert 'id="history"' in reviewed and "<td>head</td>" in reviewed


def test_previous_and_next_follow_the_filtered_queue(web: Any) -> None:
    c, _e, _db, _ids = web
    queue = _queue_ids(c.get("/?manager=Ирина+Соколова").text)
    page = c.get(f"/calls/{queue[1]}?manager=Ирина+Соколова").text
    assert f'href="/calls/{queue[0]}?manager=%D0%98' in page and 'id="prev"' in page
    assert f'href="/calls/{queue[2]}?manager=%D0%98' in page and 'id="next"' in page


def test_unknown_call_is_404(web: Any) -> None:
    assert web[0].get("/calls/9999").status_code == 404
    assert web[0].get("/calls/9999/audio").status_code == 404


def test_audio_is_the_recording_with_range_requests(web: Any) -> None:
    c, engine, _db, ids = web
    with Session(engine) as s:
        rec = s.get(store.Recording, ids[0])
        assert rec is not None
        data = Path(rec.path).read_bytes()
    full = c.get(f"/calls/{ids[0]}/audio")
    assert full.status_code == 200 and full.content == data
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "audio/wav"
    part = c.get(f"/calls/{ids[0]}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert part.content == data[1000:2000]
    tail = c.get(f"/calls/{ids[0]}/audio", headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    rest = c.get(f"/calls/{ids[0]}/audio", headers={"Range": f"bytes={len(data) - 10}-"})
    assert rest.status_code == 206 and rest.content == data[-10:]
    bad = c.get(f"/calls/{ids[0]}/audio", headers={"Range": f"bytes={len(data) + 5}-"})
    assert bad.status_code == 416


def test_a_recording_missing_on_disk_is_404_and_the_page_says_so(web: Any, tmp_path: Path
                                                                  ) -> None:
    c, engine, _db, ids = web
    with store.session(engine) as s:
        rec = s.get(store.Recording, ids[2])
        assert rec is not None
        rec.path = str(tmp_path / "gone.wav")
        s.add(rec)
        s.commit()
    assert c.get(f"/calls/{ids[2]}/audio").status_code == 404
    page = c.get(f"/calls/{ids[2]}").text
    assert "<audio" not in page and "not on this machine" in page


def _set_verdict(c: Any, call_id: int, **fields: str) -> Any:
    page = c.get(f"/calls/{call_id}")
    data = {"csrf": csrf_of(page.text), "action": "set", **fields}
    return c.post(f"/calls/{call_id}/review", data=data, follow_redirects=False)


def test_a_decision_is_the_same_review_record_as_the_cli(web: Any) -> None:
    c, engine, db, ids = web
    cid = ids[3]  # incomplete, reviewed ok by "head"
    r = _set_verdict(c, cid, verdict="missed_opportunity", type="existing_client",
                     stage_next_step="no", stage_needs="yes", note="no next step agreed")
    assert r.status_code == 303 and r.headers["location"] == f"/calls/{cid}"
    rows = _reviews(engine, cid)
    assert len(rows) == 2 and rows[-1].verdict == "missed_opportunity"
    assert rows[-1].reviewer == "tester" and rows[-1].account_id is None
    assert rows[-1].auto_verdict == "incomplete" and rows[-1].call_type == "existing_client"
    assert json.loads(rows[-1].stages_json) == {"needs": True, "next_step": False}
    # the CLI sees the same history, latest wins
    shown = json.loads(CliRunner().invoke(cli, ["show", str(cid), "--db", db, "-f", "json"]).stdout)
    assert [rv["reviewer"] for rv in shown["reviews"]] == ["head", "tester"]
    assert shown["call"]["verdict"] == "missed_opportunity"
    page = c.get(f"/calls/{cid}").text
    assert 'id="flash"' in page and "review #2 of this call" in page
    assert '<span class="verdict v-missed" id="verdict">missed_opportunity</span>' in page


def test_agree_keeps_the_verdict_and_opens_the_next_call_in_the_queue(web: Any) -> None:
    c, engine, _db, _ids = web
    queue = _queue_ids(c.get("/?unreviewed=1").text)
    failed = queue[0]  # a failed audit comes first and has no verdict to agree with
    page = c.get(f"/calls/{failed}").text
    assert re.search(r'<button type="submit" id="agree" disabled>', page)
    r = c.post(f"/calls/{failed}/review", data={"csrf": csrf_of(page), "action": "agree"},
               follow_redirects=False)
    assert r.status_code == 303 and _reviews(engine, failed) == []
    assert "no verdict to agree with" in c.get(r.headers["location"]).text
    first, second = queue[1], queue[2]
    page = c.get(f"/calls/{first}?unreviewed=1").text
    row = next(r for r in query_calls(engine) if r.id == first)
    r = c.post(f"/calls/{first}/review", data={"csrf": csrf_of(page), "action": "agree",
                                               "after": "next", "q_unreviewed": "1"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/calls/{second}?unreviewed=1"
    rv = _reviews(engine, first)[-1]
    assert rv.verdict == row.verdict == rv.auto_verdict and rv.note == "agreed"
    assert first not in _queue_ids(c.get("/?unreviewed=1").text)


def test_agree_is_refused_when_the_verdict_changed_since_the_page_was_read(web: Any) -> None:
    c, engine, _db, ids = web
    page = c.get(f"/calls/{ids[0]}").text  # automatic ok
    assert 'name="seen" value="ok"' in page
    other = client(engine, web[2])
    _set_verdict(other, ids[0], verdict="incomplete", note="no next step")
    r = c.post(f"/calls/{ids[0]}/review", data={"csrf": csrf_of(page), "action": "agree",
                                                "seen": "ok"}, follow_redirects=False)
    assert r.status_code == 303
    assert [rv.verdict for rv in _reviews(engine, ids[0])] == ["incomplete"]
    assert "changed from ok to incomplete" in c.get(r.headers["location"]).text


def test_a_decision_without_a_note_is_refused_with_a_message(web: Any) -> None:
    c, engine, _db, ids = web
    r = _set_verdict(c, ids[0], verdict="incomplete", note="  ")
    assert r.status_code == 303
    assert _reviews(engine, ids[0]) == []
    page = c.get(r.headers["location"]).text
    assert 'class="flash-box error"' in page and "a review needs a note" in page


def test_managers_page_has_the_report_kpis_charts_and_links_to_queues(web: Any) -> None:
    c, _engine, _db, ids = web
    html = c.get("/managers").text
    assert html.count('<svg class="chart"') == 2 and 'class="target"' in html
    assert 'href="/?manager=%D0%98%D1%80%D0%B8%D0%BD%D0%B0' in html  # Ирина's queue
    assert "Pavel &lt;Orlov&gt;" in html and "Pavel <Orlov>" not in html
    before = re.search(r'id="agreement-pct">(\d+)%', html)
    assert before and before.group(1) == "67"  # 2 of the 3 reviews kept the automatic verdict
    _set_verdict(c, ids[0], verdict="ok", note="fine")  # agrees with ok
    after = re.search(r'id="agreement-pct">(\d+)%', c.get("/managers").text)
    assert after and after.group(1) == "75"
    one_day = c.get("/managers?from=2026-11-03&to=2026-11-03").text
    assert 'href="/?manager=Pavel+%3COrlov%3E&amp;from=2026-11-03&amp;to=2026-11-03"' in one_day


def test_search_hits_link_to_the_moment_in_the_call(web: Any) -> None:
    c, _engine, _db, ids = web
    html = c.get("/search?q=доставку").text  # "у нас своя доставка и гарантия": forms fold
    links = re.findall(r'<a class="hit" href="/calls/(\d+)\?t=([\d.]+)#seg-\d+-(\d+)">', html)
    assert {int(x) for x, _t, _s in links} == {ids[0], ids[3], ids[6]}
    assert html.count("<mark>доставка</mark>") == len(links)
    cid, t, seg = links[0]
    page = c.get(f"/calls/{cid}?t={t}").text
    assert f'data-start="{float(t):.2f}"' in page and f'id="seg-{cid}-{seg}"' in page
    assert "no matches" not in c.get("/search").text.lower()
    # the filters of `auditor search`
    one = c.get("/search?q=доставку&manager=Ирина+Соколова").text
    assert {int(x) for x in re.findall(r'<a class="hit" href="/calls/(\d+)', one)} == {ids[0], ids[3]}
    said_by_client = c.get("/search?q=доставку&speaker=client").text
    assert 'class="hit"' not in said_by_client and "No matches." in said_by_client
    assert c.get("/search?q=x&speaker=robot").status_code == 400


def test_assets_are_served_by_the_app(web: Any) -> None:
    c = web[0]
    for name, kind in (("report.css", "text/css"), ("app.css", "text/css"),
                       ("report.js", "text/javascript"), ("app.js", "text/javascript")):
        r = c.get(f"/static/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind) and r.content
    page = c.get("/").text
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert refs and all(ref.startswith(("/", "#")) for ref in refs)  # nothing from a CDN
