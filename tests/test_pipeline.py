"""The audit end to end: real faster-whisper on fixture audio, real spaCy, a real SQLite file."""

from __future__ import annotations

import json
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from auditor import store
from auditor.cli import app

from .conftest import RECORDINGS, Audited, run_audit

# Every test here runs real speech recognition (the audit of the fixtures, or transcribe).
pytestmark = pytest.mark.slow

MANIFEST = json.loads((RECORDINGS / "manifest.json").read_text(encoding="utf-8"))
runner = CliRunner()


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def lemmas(text: str, language: str) -> set[str]:
    """Content-word lemmas: inflection and case do not count."""
    import re

    words = re.findall(r"[^\W\d_]+", text.lower())
    if language == "ru":
        return {_morph().parse(w)[0].normal_form.replace("ё", "е") for w in words if len(w) > 3}
    return {w.rstrip("s") for w in words if len(w) > 3}


def _copy_db(audited: Audited, dest: Path) -> Path:
    """A copy of the audited database (the recordings stay where they are)."""
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(audited.db) + suffix)
        if src.exists():
            shutil.copy(src, dest / f"audit.db{suffix}")
    return dest / "audit.db"


def _rows(db: Path) -> tuple[list[store.Recording], list[store.Transcript], list[store.Analysis]]:
    engine = store.make_engine(str(db))
    with Session(engine) as s:
        return (list(s.exec(select(store.Recording))), list(s.exec(select(store.Transcript))),
                list(s.exec(select(store.Analysis))))


def _transcript_for(db: Path, rel: str) -> list[dict[str, Any]]:
    recs, transcripts, _ = _rows(db)
    rec = next(r for r in recs if r.path.endswith(rel))
    t = next(t for t in transcripts if t.sha256 == rec.sha256)
    return [s.to_dict() for s in t.segments]


def test_audit_records_every_file_and_fails_only_the_corrupt_one(audited: Audited) -> None:
    assert audited.exit_code == 3, "some recordings failed -> documented exit code 3"
    recs, transcripts, analyses = _rows(audited.db)
    good = {r["path"] for r in MANIFEST["recordings"]}
    corrupt = {b["path"] for b in MANIFEST["bad_files"] if b["kind"] == "corrupt_audio"}
    by_rel = {str(Path(r.path).relative_to(audited.root.resolve())): r for r in recs}
    assert set(by_rel) == good | corrupt  # one Recording per audio file, nothing else
    for rel in good:
        assert by_rel[rel].status == "done", (rel, by_rel[rel].error)
        assert by_rel[rel].duration_s and by_rel[rel].duration_s > 5
    for rel in corrupt:
        row = by_rel[rel]
        assert row.status == "failed"
        assert row.error and "\n" not in row.error
    assert len(transcripts) == len(good)
    assert {a.recording_id for a in analyses} == {by_rel[rel].id for rel in good}
    skipped = {Path(p).name for p in audited.summary["skipped"]}
    assert {"notes.txt", "manifest.json"} <= skipped


def test_the_audit_runs_one_file_per_core(audited: Audited) -> None:
    import os

    t = audited.summary["timings"]
    assert t["workers"] == len(os.sched_getaffinity(0))  # one per core, from the machine
    assert t["files"] >= t["asr"] > 0
    # Files really overlapped: their times add up to more than the wall time they took
    # (about twice on two cores; one core: about equal).
    assert t["files"] >= 0.6 * min(t["workers"], 2) * t["files_wall"]


def test_manager_client_and_time_come_from_the_layout(audited: Audited) -> None:
    recs, _, _ = _rows(audited.db)
    for expected in MANIFEST["recordings"]:
        row = next(r for r in recs if r.path.endswith(expected["path"]))
        assert row.manager == expected["manager"]
        assert row.client == expected["client_phone"]
        assert row.started_at is not None
        assert row.started_at.isoformat() == expected["started_at"]


@pytest.mark.parametrize("rec", MANIFEST["recordings"], ids=lambda r: r["id"])
def test_transcript_contains_the_script_words(audited: Audited, rec: dict[str, Any]) -> None:
    segments = _transcript_for(audited.db, rec["path"])
    heard = lemmas(" ".join(s["text"] for s in segments), rec["language"])
    said = lemmas(" ".join(t["text"] for t in rec["turns"]), rec["language"])
    recall = len(heard & said) / len(said)
    assert recall >= 0.6, f"only {recall:.0%} of the script's words recognised"


@pytest.mark.parametrize(
    "rec", [r for r in MANIFEST["recordings"] if r["layout"] == "stereo"], ids=lambda r: r["id"]
)
def test_stereo_puts_each_side_on_its_speaker(audited: Audited, rec: dict[str, Any]) -> None:
    lang = rec["language"]
    segments = _transcript_for(audited.db, rec["path"])
    assert {s["speaker"] for s in segments} <= {"manager", "client"}
    script = {
        who: lemmas(" ".join(t["text"] for t in rec["turns"] if t["speaker"] == who), lang)
        for who in ("manager", "client")
    }
    for who, other in (("manager", "client"), ("client", "manager")):
        heard = lemmas(" ".join(s["text"] for s in segments if s["speaker"] == who), lang)
        own, foreign = script[who] - script[other], script[other] - script[who]
        assert len(heard & own) > 2 * len(heard & foreign), (who, heard & foreign)


def test_mono_speakers_are_unknown(audited: Audited) -> None:
    rec = next(r for r in MANIFEST["recordings"] if r["layout"] == "mono")
    assert {s["speaker"] for s in _transcript_for(audited.db, rec["path"])} == {"unknown"}


def test_second_run_transcribes_nothing(
    audited: Audited, tmp_path: Path, model_cache: Path
) -> None:
    db = _copy_db(audited, tmp_path)
    before = _rows(db)
    code, summary = run_audit(audited.root, db, model_cache)
    assert code == 3
    assert summary["transcribed"] == 0
    assert [i["status"] for i in summary["items"]].count("done") == len(MANIFEST["recordings"])
    after = _rows(db)
    assert [len(x) for x in after] == [len(x) for x in before]  # no duplicate rows


def test_same_audio_under_a_new_name_is_not_transcribed_again(
    audited: Audited, tmp_path: Path, model_cache: Path
) -> None:
    db = _copy_db(audited, tmp_path)
    first = MANIFEST["recordings"][0]["path"]
    moved = tmp_path / "calls" / "Новый менеджер" / "2026-11-05_09-00-00_+79000000000.wav"
    moved.parent.mkdir(parents=True)
    shutil.copy(audited.root / first, moved)
    code, summary = run_audit(tmp_path / "calls", db, model_cache)
    assert code == 0
    assert summary["transcribed"] == 0
    recs, transcripts, analyses = _rows(db)
    new = next(r for r in recs if r.path.endswith("+79000000000.wav"))
    assert new.status == "done" and new.manager == "Новый менеджер"
    assert len(transcripts) == len(MANIFEST["recordings"])
    assert any(a.recording_id == new.id for a in analyses)


def test_fixture_calls_get_their_expected_verdicts(audited: Audited) -> None:
    """The analysis on real ASR output decides the scripted calls as a listener would."""
    items = {Path(i["path"]).resolve(): i for i in audited.summary["items"]}
    wrong = []
    for rec in MANIFEST["recordings"]:
        item = items[(audited.root / rec["path"]).resolve()]
        exp = rec["expected"]
        if (item["call_type"], item["verdict"]) != (exp["call_type"], exp["verdict"]):
            wrong.append((rec["id"], item["call_type"], item["verdict"], exp))
    assert not wrong


def test_only_short_audits_only_calls_under_the_threshold(
    audited: Audited, tmp_path: Path, model_cache: Path
) -> None:
    db = _copy_db(audited, tmp_path)
    code, summary = run_audit(audited.root, db, model_cache, "--only-short", "--short-call-s", "60")
    short = [r for r in MANIFEST["recordings"] if r["duration_s"] < 60]
    done = [i for i in summary["items"] if i["status"] == "done"]
    assert 0 < len(short) < len(MANIFEST["recordings"])
    assert len(done) == len(short)
    assert all(i["duration_s"] < 60 for i in done)
    assert summary["not_short"] == len(MANIFEST["recordings"]) - len(short)


def test_transcribe_prints_one_transcript(model_cache: Path) -> None:
    rec = min(MANIFEST["recordings"], key=lambda r: r["duration_s"])
    r = runner.invoke(app, ["transcribe", str(RECORDINGS / rec["path"]), "--model-cache",
                            str(model_cache), "--format", "json"])
    assert r.exit_code == 0, r.output
    segs = json.loads(r.stdout)["segments"]
    assert {s["speaker"] for s in segs} == {"manager", "client"}
    said = lemmas(" ".join(t["text"] for t in rec["turns"]), rec["language"])
    heard = lemmas(" ".join(s["text"] for s in segs), rec["language"])
    assert len(heard & said) >= 0.5 * len(said)


def _stored_doc(audited: Audited) -> Any:
    """A real transcript of a stereo fixture call, as the audit stored it."""
    rec = next(r for r in MANIFEST["recordings"] if r["layout"] == "stereo")
    recs, transcripts, _ = _rows(audited.db)
    row = next(r for r in recs if r.path.endswith(rec["path"]))
    return next(t for t in transcripts if t.sha256 == row.sha256).to_doc()


def _stamp(t: float, sep: str) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


@pytest.mark.parametrize("fmt", ["txt", "json", "srt", "vtt"])
def test_transcript_formats_render_every_segment(audited: Audited, fmt: str) -> None:
    from auditor.cli.audit import format_transcript
    from auditor.records import fmt_duration

    doc = _stored_doc(audited)
    segs = doc.segments
    assert len(segs) >= 2 and {s.speaker for s in segs} == {"manager", "client"}
    out = format_transcript(doc, fmt)
    if fmt == "json":
        data = json.loads(out)
        assert [s["text"] for s in data["segments"]] == [s.text for s in segs]
        assert (data["language"], data["model"]) == (doc.language, doc.model)
    elif fmt == "txt":
        assert out.splitlines() == [f"[{fmt_duration(s.start)}-{fmt_duration(s.end)}] "
                                    f"{s.speaker}: {s.text}" for s in segs]
    else:
        sep = "," if fmt == "srt" else "."
        blocks = out.strip().split("\n\n")
        if fmt == "vtt":
            assert blocks.pop(0) == "WEBVTT"
        assert len(blocks) == len(segs)
        for n, (block, s) in enumerate(zip(blocks, segs, strict=True), 1):
            lines = block.splitlines()
            if fmt == "srt":
                assert lines.pop(0) == str(n)
            assert lines[0] == f"{_stamp(s.start, sep)} --> {_stamp(s.end, sep)}"
            assert lines[1] == (f"{s.speaker}: {s.text}" if fmt == "srt" else
                                f"<v {s.speaker}>{s.text}")
