"""Masking of phone numbers, cards and e-mails, and what an audit with --redact stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.redact import mask_phone, redact_text


def test_phones_cards_and_emails_are_masked() -> None:
    text = ("Пишите на ivan.petrov@stroy-resurs.ru, звоните +7 912 555-01-23 или 8 (343) 210-45-67; "
            "карта 4276 3800 1234 5679, заказ номер 2024.")
    out = redact_text(text)
    assert "ivan.petrov" not in out and "[email]" in out
    assert "555-01-23" not in out and "210-45-67" not in out
    assert "4276 3800 1234 5679" not in out and "[card]" in out
    assert "2024" in out  # an order number is not a phone


def test_non_luhn_long_number_is_treated_as_phone_or_kept_readable() -> None:
    out = redact_text("артикул 1234567890123")
    assert "1234567890123" not in out


def test_mask_phone_keeps_the_last_two_digits() -> None:
    assert mask_phone("+79125550123") == "+*********23"
    assert mask_phone(None) is None
    assert mask_phone("112") == "112"


def test_audit_with_redact_stores_no_contacts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The stored transcript and client number are masked (a fake ASR, real store and analysis)."""

    from sqlmodel import Session, select

    from auditor import store
    from auditor.audit.runner import Auditor
    from auditor.config import Settings
    from auditor.records import Segment, Transcript

    from .audio_gen import speech, write_wav

    class FakeAsr:
        model_id = "fake"

        def transcribe(self, path: Path, info: object, language: str | None = None
                       ) -> tuple[Transcript, str]:
            text = "Запишите мой номер +7 912 555-01-23 и почту ivan@example.com, карта 4276 3800 1234 5679"
            return Transcript([Segment("client", 0.0, 3.0, text)], language="ru", model="fake"), "mono"

    left, _ = speech(2)
    root = tmp_path / "calls"
    write_wav(root / "Ирина" / "2026-11-02_10-15-00_+79125550123.wav", [left])
    settings = Settings(redact=True, db=str(tmp_path / "a.db"))
    engine = store.make_engine(settings.db)
    summary = Auditor(settings, engine, transcriber=FakeAsr()).run(root)
    assert summary.items[0].status == "done"
    with Session(engine) as s:
        rec = s.exec(select(store.Recording)).one()
        stored = s.exec(select(store.Transcript)).one().segments_json
    assert rec.client == "+*********23"
    for secret in ("555-01-23", "ivan@example.com", "4276 3800 1234 5679"):
        assert secret not in stored


DIGITS = "9125550123"  # the client's number without its country code


def _where_the_number_is(db: Path) -> list[str]:
    """Every table.column holding the number, and the database files whose bytes do."""
    import sqlite3

    hits = []
    with sqlite3.connect(db) as con:
        tables = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cur = con.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cur.description]
            for row in cur:
                for column, value in zip(columns, row, strict=True):
                    text = (value.decode("utf-8", "replace") if isinstance(value, bytes)
                            else str(value))
                    if DIGITS in text:
                        hits.append(f"{table}.{column}")
    for f in (db, Path(f"{db}-wal")):
        if f.exists() and DIGITS.encode() in f.read_bytes():
            hits.append(f.name)
    return sorted(set(hits))


def _recordings(db: Path) -> list[tuple[object, ...]]:
    import sqlite3

    with sqlite3.connect(db) as con:
        return con.execute("SELECT id, path, sha256, status, error FROM recording ORDER BY id"
                           ).fetchall()


@pytest.mark.slow
def test_a_database_audited_with_redact_holds_the_number_nowhere(
    tmp_path: Path, model_cache: Path
) -> None:
    """Real audio, real Whisper, the search index built: no table, column or file has it."""
    import json
    import os

    from typer.testing import CliRunner

    from auditor.cli import app

    from .audio_gen import speech, write_wav

    runner = CliRunner()
    root = tmp_path / "calls" / "Ирина Соколова"
    left, right = speech(6)
    write_wav(root / f"2026-11-02_10-15-00_+7{DIGITS}.wav", [left, right], 8000)
    (root / f"2026-11-02_11-00-00_+7{DIGITS}.wav").write_text("not audio", encoding="utf-8")
    os.symlink("/nonexistent/recording.wav", root / f"2026-11-02_12-00-00_+7{DIGITS}.wav")

    def audit(db: Path, *extra: str) -> dict[str, Any]:
        r = runner.invoke(app, ["audit", str(tmp_path / "calls"), "--db", str(db),
                                "--model-cache", str(model_cache), "--format", "json", *extra])
        assert r.exit_code == 3, r.output  # two of the three cannot be audited
        assert sorted(i["status"] for i in json.loads(r.stdout)["items"]) == [
            "done", "failed", "failed"]
        return {"summary": json.loads(r.stdout), "stdout": r.stdout}

    def index(db: Path) -> None:
        r = runner.invoke(app, ["search", "директор", "--db", str(db)])
        assert r.exit_code == 0, r.output

    # Without --redact the number is in the database: the check can fail.
    plain = tmp_path / "plain.db"
    audit(plain)
    index(plain)
    assert "recording.path" in _where_the_number_is(plain)

    db = tmp_path / "redacted.db"
    first = audit(db, "--redact")
    index(db)
    assert _where_the_number_is(db) == []
    assert DIGITS not in first["stdout"]  # nor in what the audit shows
    rows = _recordings(db)
    assert len(rows) == 3

    # A second run finds every recording again: no new row, nothing transcribed.
    again = audit(db, "--redact")
    assert again["summary"]["transcribed"] == 0
    assert _recordings(db) == rows
    assert _where_the_number_is(db) == []


def _fake_audit(root: Path, db: Path) -> Any:
    from auditor import store
    from auditor.audit.runner import Auditor
    from auditor.config import Settings
    from auditor.records import Segment, Transcript

    class Fake:
        model_id = "fake"

        def transcribe(self, path: Path, info: Any, language: str | None = None
                       ) -> tuple[Transcript, str]:
            return Transcript([Segment("unknown", 0.0, 1.0, "алло")], language="ru",
                              duration_s=info.duration_s, model="fake"), "mono"

    settings = Settings(redact=True, db=str(db))
    engine = store.make_engine(settings.db)
    try:
        return Auditor(settings, engine, transcriber=Fake()).run(root)
    finally:
        engine.dispose()


def test_redacted_rows_are_found_again_by_masked_path_and_audio(tmp_path: Path) -> None:
    """Names that mask alike keep a row each; a file changed on disk keeps its row."""
    from .conftest_reports import write_wav

    root = tmp_path / "calls"
    # Unix-time names: both mask to ********00.wav.
    write_wav(root / "crm" / "1730540100.wav", 1.0)
    write_wav(root / "crm" / "1730540200.wav", 1.2)
    changing = write_wav(root / "Ирина" / f"2026-11-02_10-15-00_+7{DIGITS}.wav", 1.4)
    db = tmp_path / "a.db"
    first = _fake_audit(root, db)
    assert [i.status for i in first.items] == ["done"] * 3 and first.transcribed == 3
    rows = _recordings(db)
    assert sorted(str(r[1]).rsplit("/", 1)[-1] for r in rows) == [
        "********00.wav", "********00.wav", "2026-11-02_10-15-00_+*********23.wav"]
    assert len({r[2] for r in rows}) == 3

    again = _fake_audit(root, db)
    assert again.transcribed == 0 and _recordings(db) == rows

    write_wav(changing, 2.0)  # the PBX finished writing it: new audio, same name
    third = _fake_audit(root, db)
    assert third.transcribed == 1
    after = _recordings(db)
    assert [r[0] for r in after] == [r[0] for r in rows]  # the same rows, no new one
    assert [r[2] for r in after] != [r[2] for r in rows]
    assert _where_the_number_is(db) == []
