"""--redact on every command that shows calls: report, calls, show, review, search.

One database holds a call whose file name, client number, transcript,
evidence quotes, reason and review note carry a phone number, an e-mail and a
card number, plus a failed recording whose error quotes its path. Every
output is checked twice: without --redact the personal data is there (so the
check can fail), with --redact none of it is.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner, Result

from auditor.cli import app
from auditor.redact import redact_path, redact_spans, redact_text

from . import helpers_review
from .conftest_reports import FakeCall, add_call, write_wav

PHONE = "+7 912 555-01-23"
EMAIL = "ivan@example.com"
CARD = "4276 3800 1234 5679"  # Luhn-valid
CLIENT = "+79125550123"
# What must never show under --redact, in any of the forms it takes.
SECRETS = ("555-01-23", "9125550123", "ivan@example.com", "ivan%40example", "4276 3800",
           "42763800")

runner = CliRunner()


@pytest.fixture()
def db(tmp_path: Path) -> tuple[str, int, int]:
    """A call full of personal data, and a failed recording whose error names its file."""
    path = str(tmp_path / "audit.db")
    from auditor import store

    engine = store.make_engine(path)
    audio = write_wav(tmp_path / "rec" / "Ирина Соколова" / f"2026-11-02_10-15-00_{CLIENT}.wav",
                      2.0)
    call = FakeCall(
        "Ирина Соколова", CLIENT, datetime(2026, 11, 2, 10, 15), 150.0, "new_client",
        "missed_opportunity",
        found={"profile": f"мой номер {PHONE}", "needs": f"пишите на {EMAIL}"},
        extra_text=[("client", f"Запишите: {PHONE}, почта {EMAIL}, карта {CARD}.")],
        reason=f"клиент оставил номер {PHONE}",
    )
    cid = add_call(engine, audio, call)
    failed_name = f"2026-11-02_11-00-00_{CLIENT}"
    failed = helpers_review.add_call(
        engine, failed_name, [], verdict=None, status="failed", client=CLIENT,
        error=f"cannot decode /calls/Ирина Соколова/{failed_name}.wav: invalid data",
        with_transcript=False, started_at=datetime(2026, 11, 2, 11, 0))
    engine.dispose()
    r = run("review", str(cid), "--db", path, "--verdict", "missed_opportunity",
            "--note", f"клиент просил писать на {EMAIL}, карта {CARD}", "--reviewer", "anna")
    assert r.exit_code == 0, r.output
    return path, cid, failed.id


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env=env)


def out(*args: str, env: dict[str, str] | None = None) -> str:
    r = run(*args, env=env)
    assert r.exit_code == 0, r.output
    return r.stdout


def leaked(text: str) -> list[str]:
    flat = re.sub(r"\s+", " ", text)
    return [s for s in SECRETS if s in text or s in flat]


def assert_both_ways(*args: str) -> tuple[str, str]:
    """The output shows personal data without --redact and none of it with --redact."""
    plain, masked = out(*args), out(*args, "--redact")
    assert leaked(plain), f"nothing to redact in: {args}"
    assert not leaked(masked), f"{args} --redact shows {leaked(masked)}:\n{masked}"
    return plain, masked


# --- the building blocks ------------------------------------------------------------


def test_redact_spans_moves_matches_to_the_masked_text() -> None:
    text = f"звоните {PHONE} или пишите {EMAIL} завтра"
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    masked, spans = redact_spans(text, words)
    assert masked == redact_text(text)
    shown = [masked[a:b] for a, b in spans]
    # the words around keep their place; each number or address is one masked match
    assert shown == ["звоните", "+*********23", "или", "пишите", "[email]", "завтра"]


@pytest.mark.parametrize("name", [
    "Ирина/2026-11-02_10-15-00_+79125550123.wav",
    "out-79125550123-101-20261102-101500-1730540100.123.wav",
    "[Ivan Petrov]_101-79125550123_20261102101500(42).wav",
    "2026-11-02/Иван/call_10.15_8 (912) 555-01-23.ogg",
])
def test_redact_path_masks_the_number_and_keeps_dates(name: str) -> None:
    shown = redact_path(name)
    assert "555" not in shown and "*23" in shown
    for keep in ("2026-11-02", "20261102", "101500", "1730540100.123"):
        if keep in name:
            assert keep in shown


def test_redact_path_masks_the_clients_own_number_in_any_grouping() -> None:
    assert "555" not in redact_path("calls/Иван/звонок 912-555-01-23.wav", CLIENT)
    assert redact_path("calls/Иван/101.wav", CLIENT) == "calls/Иван/101.wav"


# --- report ---------------------------------------------------------------------------


def test_report_table_csv_json(db: tuple[str, int, int], tmp_path: Path) -> None:
    path, cid, _ = db
    for args in (("--format", "json"), ("--format", "csv", "--table", "calls")):
        assert_both_ways("report", "--db", path, *args)
    _, masked = assert_both_ways("report", "--db", path, "--format", "json")
    problem = json.loads(masked)["problems"][0]
    assert problem["id"] == cid and problem["client"] == "+*********23"
    assert problem["path"].endswith("2026-11-02_10-15-00_+*********23.wav")
    assert "[email]" in problem["reason"] and "[card]" in problem["reason"]
    # the terminal table (written to a file so that no column is folded)
    table = {}
    for flag in ((), ("--redact",)):
        target = tmp_path / f"table{len(flag)}.txt"
        out("report", "--db", path, "-o", str(target), *flag)
        table[flag] = target.read_text(encoding="utf-8")
    assert leaked(table[()]) and not leaked(table[("--redact",)])


def _audio_srcs(html: str) -> list[str]:
    return re.findall(r'<audio id="audio-\d+" controls preload="none" src="([^"]+)"', html)


def test_report_html(db: tuple[str, int, int], tmp_path: Path) -> None:
    path, cid, _ = db
    pages = {}
    for flag in ((), ("--redact",)):
        target = tmp_path / f"report{len(flag)}.html"
        out("report", "--db", path, "--format", "html", "-o", str(target), *flag)
        pages[flag] = target.read_text(encoding="utf-8")
    plain, masked = pages[()], pages[("--redact",)]
    assert leaked(plain)
    # the player still plays the recording: its src is the one place the real name stays
    srcs = _audio_srcs(masked)
    assert srcs and (tmp_path / unquote(srcs[0])).is_file()
    visible = re.sub(r'(<audio [^>]*src=")[^"]*"', r'\1"', masked)
    assert not leaked(visible), leaked(visible)
    assert "+*********23" in visible and "[email]" in visible and "[card]" in visible
    # the evidence quotes are still marked in the masked transcript
    assert re.search(r'<mark class="st-profile"[^>]*>мой номер \+\*+23</mark>', visible)
    # the note for a recording that is not on disk names it masked
    assert "recording not found" in visible


def test_report_html_with_audio_copies_under_masked_names(db: tuple[str, int, int],
                                                          tmp_path: Path) -> None:
    path, _, _ = db
    target = tmp_path / "sent" / "report.html"
    out("report", "--db", path, "--format", "html", "-o", str(target), "--with-audio",
        "--redact")
    html = target.read_text(encoding="utf-8")
    assert not leaked(html)
    copies = [p.name for p in (target.parent / "report_audio").iterdir()]
    assert len(copies) == 1 and not leaked(copies[0]) and copies[0].endswith("xx23.wav")
    assert [(target.parent / unquote(s)).is_file() for s in _audio_srcs(html)] == [True]


# --- calls, show, review, search -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_calls(db: tuple[str, int, int], fmt: str) -> None:
    path, _, failed = db
    _, masked = assert_both_ways("calls", "--db", path, "--format", fmt)
    if fmt == "json":
        rows = {r["id"]: r for r in json.loads(masked)}
        assert rows[failed]["client"] == "+*********23"
        assert "+*********23.wav: invalid data" in rows[failed]["error"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_show(db: tuple[str, int, int], fmt: str) -> None:
    path, cid, _ = db
    _, masked = assert_both_ways("show", str(cid), "--db", path, "--format", fmt)
    if fmt == "json":
        d = json.loads(masked)
        assert d["call"]["client"] == "+*********23"
        assert "[email]" in d["reviews"][-1]["note"]
        marks = [m for s in d["transcript"]["segments"] for m in s["marks"]]
        # evidence is placed in the masked text, at the masked quote
        assert {m["label"] for m in marks} == {"profile", "needs"}
        assert all(m["start"] >= 0 for m in marks)
    else:
        assert "⟦мой номер +*********23⟧" in masked


def test_failed_call_shown_masked(db: tuple[str, int, int]) -> None:
    path, _, failed = db
    assert_both_ways("show", str(failed), "--db", path)


def test_review_output(db: tuple[str, int, int]) -> None:
    path, cid, _ = db
    args = ("review", str(cid), "--db", path, "--verdict", "missed_opportunity", "--note",
            f"ещё раз: {EMAIL}", "--reviewer", "anna", "--format", "json")
    assert leaked(out(*args))
    masked = out(*args, "--redact")
    assert not leaked(masked)
    assert json.loads(masked)["review"]["note"] == "ещё раз: [email]"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_search(db: tuple[str, int, int], fmt: str) -> None:
    path, cid, _ = db
    _, masked = assert_both_ways("search", "почта", "--db", path, "--format", fmt)
    if fmt == "json":
        hit = json.loads(masked)["hits"][0]
        assert hit["call_id"] == cid
        a, b = hit["matches"][0]
        assert hit["text"][a:b] == "почта"  # the match moved with the masked text
    else:
        assert "⟦почта⟧" in masked and "[email]" in masked


# --- settings ---------------------------------------------------------------------------------


def test_redact_from_settings(db: tuple[str, int, int], tmp_path: Path) -> None:
    path, cid, _ = db
    env = {"AUDITOR_REDACT": "1"}
    for args in (("calls", "--format", "json"), ("show", str(cid)),
                 ("report", "--format", "json"), ("search", "почта")):
        shown = out(*args[:1], *args[1:], "--db", path, env=env)
        assert not leaked(shown), (args, leaked(shown))
    (tmp_path / "auditor.toml").write_text("redact = true\n", encoding="utf-8")
    assert not leaked(out("calls", "--db", path, "--format", "csv"))


def test_stats_masks_file_names(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    write_wav(recordings / "Ирина" / f"2026-11-02_10-15-00_{CLIENT}.wav", 2.0)
    bad = recordings / "Ирина" / f"2026-11-02_11-00-00_{CLIENT}.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    odd = recordings / "Ирина" / f"звонок {PHONE}.wav"  # no time in the name: unmatched
    write_wav(odd, 2.0)
    plain = run("stats", str(recordings), "--format", "json")
    masked = run("stats", str(recordings), "--format", "json", "--redact")
    assert plain.exit_code == masked.exit_code == 0, masked.output
    assert leaked(plain.stdout) and leaked(plain.stderr)
    assert not leaked(masked.stdout) and not leaked(masked.stderr), masked.output
    assert json.loads(masked.stdout)["unreadable"][0]["path"].endswith("+*********23.wav")
