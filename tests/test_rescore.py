"""rescore: new rules over stored transcripts; human decisions stay in force."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner, Result

from auditor import store
from auditor.audit import rescore as rescore_mod
from auditor.audit.rescore import rescore
from auditor.cli import app
from auditor.config import Settings
from auditor.records import SALES_TYPES, VERDICTS, CallAnalysis
from auditor.records import Transcript as TranscriptDoc
from auditor.views.calls import get_call

from .helpers_review import (
    RU_FULL_SALE,
    RU_SHORT_SALE,
    add_call,
    analysis_for,
    make_engine,
    reviews_of,
    standard_calls,
    standard_db,
)

runner = CliRunner()

# Every test on SQLite and again on PostgreSQL (tests/dbs.py).
pytestmark = pytest.mark.usefixtures("db_backend")
SEEN: list[TranscriptDoc] = []


def stricter_rules(doc: TranscriptDoc, settings: Settings) -> CallAnalysis:
    """A rule change: every sales call now misses its next step.

    Short ones become missed opportunities, long ones incomplete; calls that
    are not sales keep what they were (the fake reads it from the text).
    """
    SEEN.append(doc)
    segs = [(s.speaker, s.start, s.end, s.text) for s in doc.segments]
    text = doc.text.lower()
    if "отгрузк" in text:
        return analysis_for(segs, "exempt", "post_sale", doc.duration, ruleset="test-2")
    verdict = "missed_opportunity" if doc.duration < settings.short_call_s else "incomplete"
    return analysis_for(segs, verdict, "new_client", doc.duration, language=doc.language,
                        ruleset="test-2")


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict]:
    monkeypatch.setattr(rescore_mod, "default_analyzer", lambda: stricter_rules)
    SEEN.clear()
    return standard_db(tmp_path)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_rescore_after_rule_change_leaves_reviews_alone(db: tuple[str, dict]) -> None:
    path, c = db
    # the head of sales listened to two calls
    assert run("review", str(c["full"].id), "--db", path, "--verdict", "ok", "--note",
               "следующий шаг есть: звонок в четверг", "--reviewer", "anna").exit_code == 0
    assert run("review", str(c["en"].id), "--db", path, "--verdict", "missed_opportunity",
               "--note", "no next step", "--reviewer", "anna").exit_code == 0
    engine = store.make_engine(path)
    history_before = {k: reviews_of(engine, v.id) for k, v in c.items()}

    r = runner.invoke(app, ["rescore", "--db", path])
    assert r.exit_code == 0, r.output
    out = r.stdout
    # full: ok -> incomplete (reviewed ok: stays ok, reported as a disagreement)
    # en: missed stays missed; short: missed stays missed; post: exempt stays exempt
    assert "rescored 4 of 4 calls (ruleset test-2)" in out and "1 verdicts changed" in out
    assert "ok → incomplete: 1" in out
    assert f"#{c['full'].id}" in out and "review stays in force" in out
    assert "1 reviewed calls disagree" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith(f"#{c['full'].id}")
                and "reviewed ok by anna" in ln)
    assert "automatic now incomplete (was ok) new" in line

    # reviews untouched and still effective
    assert {k: reviews_of(engine, v.id) for k, v in c.items()} == history_before
    full = get_call(engine, c["full"].id)
    assert full is not None
    assert (full.verdict, full.auto_verdict, full.reviewed) == ("ok", "incomplete", True)
    assert full.ruleset_version == "test-2"
    # the stored analysis of every call is the new one
    with store.session(engine) as s:
        rows = s.exec(select(store.Analysis)).all()
        assert {a.ruleset_version for a in rows} == {"test-2"}
        assert {a.recording_id: a.verdict for a in rows}[c["full"].id] == "incomplete"
    # calls and show: the reviewed verdict, with the new automatic one beside it
    listed = {x["id"]: x for x in json.loads(run("calls", "--db", path, "-f", "json").stdout)}
    assert listed[c["full"].id]["verdict"] == "ok"
    assert listed[c["full"].id]["auto_verdict"] == "incomplete"
    assert "automatic verdict: incomplete" in run("show", str(c["full"].id), "--db", path).stdout


def test_rescore_uses_stored_transcripts_and_recording_duration(db: tuple[str, dict]) -> None:
    path, c = db
    r = runner.invoke(app, ["rescore", "--db", path, "--short-call-s", "400"])
    assert r.exit_code == 0, r.output
    assert len(SEEN) == 4
    by_source = {d.source.rsplit("/", 1)[-1]: d for d in SEEN}
    assert by_source["full.wav"].duration_s == 368.0
    assert by_source["full.wav"].segments[0].text.startswith("Компания «СтройРесурс»")
    assert by_source["en.wav"].language == "en"
    # the threshold came from the flag: the 6-minute call is now "short"
    engine = store.make_engine(path)
    full = get_call(engine, c["full"].id)
    assert full is not None and full.verdict == "missed_opportunity"


def test_rescore_json_and_dry_run(db: tuple[str, dict]) -> None:
    path, c = db
    r = runner.invoke(app, ["rescore", "--db", path, "--dry-run", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["dry_run"] is True and d["changed"] == 1
    assert d["transitions"] == [{"from": "ok", "to": "incomplete", "count": 1}]
    assert d["changes"][0]["recording_id"] == c["full"].id
    assert d["rulesets"] == {"test-2": 4}
    engine = store.make_engine(path)
    full = get_call(engine, c["full"].id)
    assert full is not None and full.verdict == "ok" and full.ruleset_version == "test-1"


def test_rescore_skips_missing_transcripts_and_survives_failures(tmp_path: Path) -> None:
    _, engine = make_engine(tmp_path)
    good = add_call(engine, "good", RU_FULL_SALE, duration_s=368.0)
    bad = add_call(engine, "bad", RU_SHORT_SALE, duration_s=21.0)
    lost = add_call(engine, "lost", [], with_transcript=False)
    failed = add_call(engine, "failed", [], verdict=None, status="failed", with_transcript=False)

    def flaky(doc: TranscriptDoc, settings: Settings) -> CallAnalysis:
        if doc.duration < 60:
            raise ValueError("rule model broken\nsecond line")
        return stricter_rules(doc, settings)

    summary = rescore(engine, Settings(), analyzer=flaky, jobs=1)
    assert summary.total == 3  # the failed recording is not 'done'
    assert summary.rescored == 1
    assert summary.skipped == [(lost.id, "no stored transcript")]
    assert summary.failed == [(bad.id, "rule model broken")]
    assert [(ch.recording_id, ch.old, ch.new) for ch in summary.changes] == [
        (good.id, "ok", "incomplete")]
    row = get_call(engine, bad.id)
    assert row is not None and row.auto_verdict == "ok" and row.ruleset_version == "test-1"
    assert failed.id not in {ch.recording_id for ch in summary.changes}


def test_rescore_cli_exit_code_when_some_fail(db: tuple[str, dict],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = db

    def broken(doc: TranscriptDoc, settings: Settings) -> CallAnalysis:
        raise RuntimeError("boom")

    monkeypatch.setattr(rescore_mod, "default_analyzer", lambda: broken)
    r = runner.invoke(app, ["rescore", "--db", path])
    assert r.exit_code == 3
    assert "failed #" in r.stdout and "boom" in r.stdout


def _many(engine: object, n: int) -> None:
    """n stored calls written in one transaction (the way a long audit leaves them)."""
    base = datetime(2026, 11, 2, 9, 0)
    with store.session(engine) as s:  # type: ignore[arg-type]
        for i in range(n):
            segs = RU_FULL_SALE if i % 2 else RU_SHORT_SALE
            dur = 368.0 if i % 2 else 21.0
            rec = store.Recording(path=f"/calls/m{i % 7}/{i}.wav", sha256=f"{i:064x}",
                                  duration_s=dur, manager=f"manager {i % 7}",
                                  started_at=base + timedelta(minutes=7 * i), status="done")
            s.add(rec)
            s.flush()
            doc = TranscriptDoc(segments=[], language="ru", duration_s=dur, model="base")
            t = store.save_transcript(s, rec, doc, "stereo", 1.0)
            t.segments_json = json.dumps([{"speaker": a, "start": b, "end": c_, "text": d}
                                          for a, b, c_, d in segs], ensure_ascii=False)
            store.save_analysis(s, rec.id or 0, t.id, analysis_for(
                segs, "ok", "new_client", dur, ruleset="test-1"))
            if i % 10 == 0:
                s.add(store.Review(recording_id=rec.id or 0, verdict="ok", note="checked",
                                   reviewer="anna", auto_verdict="ok"))
        s.commit()


def test_rescore_of_1000_transcripts_accounts_for_every_call(tmp_path: Path) -> None:
    # How fast, with the real analysis: benchmarks/rescore.py (target < 30 s).
    _, engine = make_engine(tmp_path)
    _many(engine, 1000)
    summary = rescore(engine, Settings(), analyzer=stricter_rules, jobs=1)
    assert summary.rescored == 1000
    assert summary.transitions == {("ok", "missed_opportunity"): 500, ("ok", "incomplete"): 500}
    assert len(summary.disagreements) == 100 and all(d.is_new for d in summary.disagreements)


def test_parallel_rescore_matches_sequential(tmp_path: Path) -> None:
    _, engine = make_engine(tmp_path)
    _many(engine, 150)
    seq = rescore(engine, Settings(), analyzer=stricter_rules, jobs=1, dry_run=True)
    seen: list[int] = []
    par = rescore(engine, Settings(), analyzer=stricter_rules, jobs=2,
                  progress=lambda done, total: seen.append(done))
    assert [c.to_dict() for c in par.changes] == [c.to_dict() for c in seq.changes]
    assert seen[-1] == 150 and seen == sorted(seen)
    with store.session(engine) as s:
        assert {a.ruleset_version for a in s.exec(select(store.Analysis))} == {"test-2"}


def _real_analyze() -> object:
    from auditor.analysis import analyze

    return analyze


def test_rescore_with_the_real_analyzer(tmp_path: Path) -> None:
    analyze = _real_analyze()
    path, engine = make_engine(tmp_path)
    calls = standard_calls(engine)
    ru = [v.id for k, v in calls.items() if k != "en"]
    # A review to keep: the real rules must not touch it.
    assert run("review", str(calls["short"].id), "--db", path, "--verdict", "no_contact",
               "--type", "no_contact", "--note", "это был автоответчик").exit_code == 0
    summary = rescore(engine, Settings(), ids=ru, jobs=1)
    assert summary.failed == [] and summary.rescored == 3
    assert rescore_mod.default_analyzer() is analyze
    with store.session(engine) as s:
        rows = {a.recording_id: a for a in s.exec(select(store.Analysis))}
    for rid in ru:
        a = rows[rid]
        assert a.verdict in VERDICTS and a.ruleset_version not in ("test-1", "")
        assert a.details.to_dict()["verdict"] == a.verdict
    # the shipping call is post-sale whatever the rules, so exempt
    assert rows[calls["post"].id].call_type == "post_sale"
    assert rows[calls["post"].id].verdict == "exempt"
    # the full sale goes through all four stages: a sales call, and ok
    full = rows[calls["full"].id]
    assert (full.call_type in SALES_TYPES, full.verdict) == (True, "ok"), full.details.to_dict()
    short = get_call(engine, calls["short"].id)
    assert short is not None and short.verdict == "no_contact" and short.reviewed
    assert len(reviews_of(engine, calls["short"].id)) == 1


def test_rescore_of_silent_and_very_short_calls_keeps_them_no_contact(tmp_path: Path) -> None:
    """The defect: a call audit stored as no_contact (nothing said) broke rescore."""
    _real_analyze()
    path, engine = make_engine(tmp_path)
    silent = add_call(engine, "silent", [], duration_s=6.0, verdict="no_contact",
                      call_type="no_contact", ruleset="old")
    short = add_call(engine, "short", [("client", 0.0, 0.7, " … ")], duration_s=1.2,
                     verdict="no_contact", call_type="no_contact", ruleset="old")
    for args in (("rescore", "--db", path), ("rescore", "--db", path, "--format", "json")):
        r = run(*args)
        assert r.exit_code == 0, r.output
        assert "Traceback" not in r.output and "Traceback" not in r.stderr
        assert "failed" not in r.stdout.lower() or args[-1] == "json"
    summary = json.loads(r.stdout)
    assert summary["failed"] == [] and summary["rescored"] == 2
    for call in (silent, short):
        row = get_call(engine, call.id)
        assert row is not None and (row.verdict, row.call_type) == ("no_contact", "no_contact")
        assert row.ruleset_version not in ("old", "")
