"""The review loop through the CLI: calls, show, review, on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from auditor import store
from auditor.cli import app
from auditor.views.callrow import CallFilter
from auditor.views.calls import get_call, query_calls

from .helpers_review import (
    RU_SHORT_SALE,
    add_call,
    make_engine,
    reviews_of,
    standard_db,
)

runner = CliRunner()

# Every test on SQLite and again on PostgreSQL (tests/dbs.py).
pytestmark = pytest.mark.usefixtures("db_backend")


@pytest.fixture()
def db(tmp_path: Path) -> tuple[str, dict]:
    return standard_db(tmp_path)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def calls_json(db_path: str, *args: str) -> list[dict]:
    r = runner.invoke(app, ["calls", "--db", db_path, "--format", "json", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize("command", ["calls", "show", "review", "search", "rescore"])
def test_help_has_an_example(command: str) -> None:
    r = runner.invoke(app, [command, "--help"])
    assert r.exit_code == 0
    assert "Example:" in r.stdout


# --- calls -----------------------------------------------------------------------


def test_calls_lists_worst_first_one_line_each_with_ids(db: tuple[str, dict]) -> None:
    path, c = db
    r = runner.invoke(app, ["calls", "--db", path])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stdout.splitlines() if re.match(r"\s*\d+\s+2026-", ln)]
    assert len(lines) == 4
    ids = [int(ln.split()[0]) for ln in lines]
    # missed opportunities first (shortest first among them), exempt last
    assert ids == [c["short"].id, c["en"].id, c["full"].id, c["post"].id]
    assert "missed_opportunity" in lines[0] and "Ирина Соколова" in lines[0]


def test_calls_filters(db: tuple[str, dict]) -> None:
    path, c = db
    assert [r["id"] for r in calls_json(path, "--manager", "Павел Орлов")] == [c["post"].id]
    assert {r["id"] for r in calls_json(path, "--verdict", "missed_opportunity")} == {
        c["short"].id, c["en"].id}
    assert [r["id"] for r in calls_json(path, "--type", "post_sale")] == [c["post"].id]
    assert {r["id"] for r in calls_json(path, "--from", "2026-11-03", "--to", "2026-11-04")} == {
        c["post"].id, c["full"].id}
    # under Settings.short_call_s (300 s by default): everything but the 6-minute call
    assert {r["id"] for r in calls_json(path, "--short")} == {c["short"].id, c["post"].id,
                                                               c["en"].id}
    # missing a stage: only sales calls count (the post-sale call is exempt)
    assert {r["id"] for r in calls_json(path, "--missing", "next_step")} == {c["short"].id,
                                                                              c["en"].id}
    assert calls_json(path, "--missing", "next_step", "--limit", "1")[0]["id"] == c["short"].id
    assert calls_json(path, "--status", "failed") == []


def test_calls_rejects_bad_values(db: tuple[str, dict]) -> None:
    path, _ = db
    assert run("calls", "--db", path, "--verdict", "great").exit_code == 2
    assert run("calls", "--db", path, "--missing", "smalltalk").exit_code == 2
    assert run("calls", "--db", path, "--from", "02.11.2026").exit_code == 2
    assert run("calls", "--db", path, "--format", "xml").exit_code == 2


def test_failed_recordings_are_listed_with_status(tmp_path: Path) -> None:
    path, engine = make_engine(tmp_path)
    failed = add_call(engine, "broken", [], verdict=None, status="failed",
                      error="cannot decode audio", with_transcript=False)
    rows = calls_json(path, "--status", "failed")
    assert [(r["id"], r["verdict"]) for r in rows] == [(failed.id, "failed")]
    assert [r["id"] for r in calls_json(path, "--verdict", "failed")] == [failed.id]
    r = runner.invoke(app, ["calls", "--db", path])
    assert "cannot decode audio" in r.stdout


def test_review_queue_csv_has_bom_and_neutralised_cells(db: tuple[str, dict]) -> None:
    path, c = db
    run("review", str(c["short"].id), "--db", path, "--verdict", "missed_opportunity",
        "--note", "=SUM(A1) подтверждаю", "--reviewer", "anna")
    r = runner.invoke(app, ["calls", "--db", path, "--unreviewed", "--verdict",
                            "missed_opportunity", "--format", "csv"])
    assert r.exit_code == 0, r.output
    raw = r.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    # the reviewed call has left the queue; the English one is still in it
    assert [int(x["id"]) for x in rows] == [c["en"].id]
    assert rows[0]["client"] == "'=cmd|' /C calc'!A0"  # no formula runs in Excel
    assert rows[0]["manager"] == "John Smith"
    # the full export shows the review, with its note neutralised too
    r = runner.invoke(app, ["calls", "--db", path, "--format", "csv"])
    by_id = {int(x["id"]): x for x in csv.DictReader(io.StringIO(r.stdout_bytes.decode("utf-8-sig")))}
    reviewed = by_id[c["short"].id]
    assert reviewed["reviewed"] == "yes" and reviewed["reviewer"] == "anna"
    assert reviewed["review_note"] == "'=SUM(A1) подтверждаю"
    assert by_id[c["full"].id]["client"].startswith("'+7")
    assert by_id[c["full"].id]["manager"] == "Ирина Соколова"


# --- review changes the effective verdict ---------------------------------------------


def test_review_changes_effective_verdict_in_calls_and_show(db: tuple[str, dict]) -> None:
    path, c = db
    cid = str(c["short"].id)
    r = run("review", cid, "--db", path, "--verdict", "exempt", "--type", "post_sale",
            "--note", "это звонок про доставку", "--reviewer", "anna")
    assert r.exit_code == 0, r.output
    assert "exempt" in r.stdout and "anna" in r.stdout

    row = next(x for x in calls_json(path) if x["id"] == c["short"].id)
    assert row["verdict"] == "exempt" and row["call_type"] == "post_sale"
    assert row["auto_verdict"] == "missed_opportunity"
    assert row["reviewed"] is True and row["reviewer"] == "anna"
    # the review moved it from the top of the list to the exempt calls at the bottom
    ids = [x["id"] for x in calls_json(path)]
    assert ids[0] == c["en"].id and set(ids[-2:]) == {c["short"].id, c["post"].id}
    assert c["short"].id not in [x["id"] for x in calls_json(path, "--unreviewed")]
    assert c["short"].id not in [x["id"] for x in calls_json(path, "--unreviewed")]
    assert c["short"].id in [x["id"] for x in calls_json(path, "--verdict", "exempt")]
    assert [x["id"] for x in calls_json(path, "--verdict", "missed_opportunity")] == [c["en"].id]
    assert {x["id"] for x in calls_json(path, "--type", "post_sale")} == {c["short"].id,
                                                                         c["post"].id}
    # a later review without --type keeps the type of the analysis
    assert run("review", str(c["en"].id), "--db", path, "--verdict", "incomplete",
               "--note", "long enough after all").exit_code == 0
    assert {x["id"] for x in calls_json(path, "--type", "new_client")} == {c["en"].id,
                                                                          c["full"].id}
    assert [x["id"] for x in calls_json(path, "--verdict", "incomplete")] == [c["en"].id]
    assert c["short"].id not in [x["id"] for x in calls_json(path, "--missing", "next_step")]

    table = run("calls", "--db", path).stdout
    line = next(ln for ln in table.splitlines() if ln.split() and ln.split()[0] == cid)
    assert "exempt" in line and "✎" in line and "anna" in line and "missed_opportunity" in line

    shown = run("show", cid, "--db", path)
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "verdict: exempt" in out and "reviewed by anna" in out
    assert "automatic verdict: missed_opportunity" in out
    assert "это звонок про доставку" in out

    detail = json.loads(run("show", cid, "--db", path, "--format", "json").stdout)
    assert detail["call"]["verdict"] == "exempt"
    assert detail["call"]["auto_verdict"] == "missed_opportunity"
    assert detail["analysis"]["verdict"] == "missed_opportunity"
    assert [rv["reviewer"] for rv in detail["reviews"]] == ["anna"]


def test_second_review_keeps_the_first_in_history(db: tuple[str, dict]) -> None:
    path, c = db
    cid = str(c["full"].id)
    assert run("review", cid, "--db", path, "--verdict", "incomplete", "--stage",
               "next_step=no", "--note", "договорённость размытая", "--reviewer",
               "anna").exit_code == 0
    r = run("review", cid, "--db", path, "--verdict", "ok", "--stage", "next_step=yes",
            "--note", "переслушал: звонок в четверг в десять", "--reviewer", "boris")
    assert r.exit_code == 0, r.output
    assert "review #2" in r.stdout

    engine = store.make_engine(path)
    history = reviews_of(engine, c["full"].id)
    assert [(h["reviewer"], h["verdict"]) for h in history] == [("anna", "incomplete"),
                                                               ("boris", "ok")]
    assert history[0]["stages"] == {"next_step": False}
    assert history[0]["auto_verdict"] == "ok"
    row = get_call(engine, c["full"].id)
    assert row is not None
    assert (row.verdict, row.reviewer, row.review_count) == ("ok", "boris", 2)
    assert row.stages_missing == []

    out = run("show", cid, "--db", path).stdout
    hist = out[out.index("review history"):out.index("transcript")]
    assert hist.index("anna") < hist.index("boris")
    assert "договорённость размытая" in hist and "переслушал" in hist
    assert "reviewed by boris" in out


def test_review_with_stage_override_changes_missing_stages(db: tuple[str, dict]) -> None:
    path, c = db
    engine = store.make_engine(path)
    r = run("review", str(c["full"].id), "--db", path, "--verdict", "incomplete",
            "--stage", "next_step=no", "--stage", "needs=yes", "--note", "нет следующего шага")
    assert r.exit_code == 0, r.output
    row = get_call(engine, c["full"].id)
    assert row is not None and row.stages_missing == ["next_step"]
    assert [x.id for x in query_calls(engine, CallFilter(missing="next_step"))] == [
        c["short"].id, c["en"].id, c["full"].id]


def test_reviewer_defaults_to_user(db: tuple[str, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    path, c = db
    monkeypatch.setenv("USER", "galina")
    r = run("review", str(c["en"].id), "--db", path, "--verdict", "missed_opportunity",
            "--note", "agreed")
    assert r.exit_code == 0, r.output
    engine = store.make_engine(path)
    assert reviews_of(engine, c["en"].id)[0]["reviewer"] == "galina"


@pytest.mark.parametrize("args", [
    ["--verdict", "great", "--note", "x"],
    ["--verdict", "ok", "--type", "vip", "--note", "x"],
    ["--verdict", "ok", "--stage", "smalltalk=yes", "--note", "x"],
    ["--verdict", "ok", "--stage", "needs=maybe", "--note", "x"],
    ["--verdict", "ok", "--stage", "needs", "--note", "x"],
    ["--verdict", "ok", "--note", "   "],
    ["--verdict", "ok"],  # a decision without a reason is not recorded
])
def test_review_validates_values(db: tuple[str, dict], args: list[str]) -> None:
    path, c = db
    r = runner.invoke(app, ["review", str(c["en"].id), "--db", path, *args])
    assert r.exit_code == 2, r.output
    engine = store.make_engine(path)
    assert reviews_of(engine, c["en"].id) == []


def test_review_warns_on_inconsistent_decision(db: tuple[str, dict]) -> None:
    path, c = db
    r = run("review", str(c["post"].id), "--db", path, "--verdict", "ok", "--note", "fine")
    assert r.exit_code == 0
    assert "post_sale call is normally 'exempt'" in r.stderr


def test_unknown_call_id_is_a_one_line_error(db: tuple[str, dict]) -> None:
    path, _ = db
    for args in (["show", "999"], ["review", "999", "--verdict", "ok", "--note", "x"]):
        r = runner.invoke(app, [*args, "--db", path])
        assert r.exit_code == 2
        assert r.stderr.strip().count("\n") == 0
        assert "no call with id 999" in r.stderr


# --- show ------------------------------------------------------------------------------


def test_show_prints_metadata_transcript_and_marked_evidence(db: tuple[str, dict]) -> None:
    path, c = db
    r = run("show", str(c["full"].id), "--db", path)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert f"Call {c['full'].id}" in out and "Ирина Соколова" in out
    assert "duration: 6:08" in out and "verdict: ok (automatic)" in out
    assert "[0:13] manager: Подскажите" in out
    # evidence quotes are marked in place and tagged with their stage
    assert "⟦Какие объёмы берёте в месяц⟧" in out
    line = next(ln for ln in out.splitlines() if "в четверг в десять" in ln)
    assert "⟦в четверг в десять позвоню⟧" in line and "next_step" in line
    assert out.index("profile") < out.index("transcript")


def test_show_escapes_markup_in_transcript(tmp_path: Path) -> None:
    path, engine = make_engine(tmp_path)
    segs = [*RU_SHORT_SALE, ("client", 21.0, 23.0, "[bold]жирный[/bold] и [red]красный[/red] \\")]
    call = add_call(engine, "markup", segs, manager="[b]Менеджер[/b]", verdict="ok")
    r = run("show", str(call.id), "--db", path)
    assert r.exit_code == 0, r.output
    assert "[bold]жирный[/bold] и [red]красный[/red]" in r.stdout
    assert "[шум]" in r.stdout and "[b]Менеджер[/b]" in r.stdout
    assert "[0:21] client:" in r.stdout


def test_show_json(db: tuple[str, dict]) -> None:
    path, c = db
    r = run("show", str(c["short"].id), "--db", path, "--format", "json")
    d = json.loads(r.stdout)
    assert d["call"]["id"] == c["short"].id and d["reviews"] == []
    segs = d["transcript"]["segments"]
    assert [s["speaker"] for s in segs][:2] == ["manager", "client"]
    marked = [s for s in segs if s["marks"]]
    assert len(marked) == 1 and marked[0]["marks"][0]["label"] == "presentation"
    m = marked[0]["marks"][0]
    assert marked[0]["text"][m["start"]:m["end"]] == "четыре тысячи восемьсот за куб с доставкой"


def test_show_call_without_transcript(tmp_path: Path) -> None:
    path, engine = make_engine(tmp_path)
    call = add_call(engine, "lost", [], verdict=None, status="failed", error="bad header",
                    with_transcript=False, started_at=datetime(2026, 11, 6, 8, 0))
    r = run("show", str(call.id), "--db", path)
    assert r.exit_code == 0, r.output
    assert "failed" in r.stdout and "no stored transcript" in r.stdout


def _irina_verdicts(path: str) -> dict[str, int]:
    r = runner.invoke(app, ["report", "--db", path, "--format", "json"])
    assert r.exit_code == 0, r.output
    managers = json.loads(r.stdout)["managers"]
    return next(m["verdicts"] for m in managers if m["manager"] == "Ирина Соколова")


def test_report_uses_reviewed_verdict(db: tuple[str, dict]) -> None:
    path, c = db
    before = _irina_verdicts(path)
    assert (before["missed_opportunity"], before["exempt"]) == (1, 0)
    r = run("review", str(c["short"].id), "--db", path, "--verdict", "exempt", "--type",
            "post_sale", "--note", "звонок про доставку", "--reviewer", "anna")
    assert r.exit_code == 0, r.output
    after = _irina_verdicts(path)
    assert (after["missed_opportunity"], after["exempt"]) == (0, 1)
