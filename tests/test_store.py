"""The database: schema version, migrations, WAL, URLs."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from auditor import store
from auditor.errors import StoreError
from auditor.store import migrations

from .dbs import new_db


def test_new_database_records_schema_version_and_uses_wal(db_path: Path) -> None:
    engine = store.make_engine(str(db_path))
    with Session(engine) as s:
        assert s.get(store.Meta, "schema_version").value == str(store.SCHEMA_VERSION)
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_url_and_path_both_work(tmp_path: Path) -> None:
    assert store.database_url("a/b.db") == "sqlite:///a/b.db"
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store.make_engine(url)
    assert (tmp_path / "x.db").exists()


@pytest.mark.usefixtures("db_backend")
def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = new_db(tmp_path, "audit.db")
    engine = store.make_engine(db)
    with engine.begin() as c:
        c.execute(text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this auditor"):
        store.make_engine(db)


@pytest.mark.usefixtures("db_backend")
def test_older_database_is_migrated_in_place_without_losing_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = new_db(tmp_path, "audit.db")
    engine = store.make_engine(str(db_path))
    with Session(engine) as s:
        s.add(store.Recording(path="/calls/a.wav", sha256="abc", manager="Ирина"))
        s.commit()
    engine.dispose()

    def add_column(conn: object) -> None:
        conn.execute(text("ALTER TABLE recording ADD COLUMN tag TEXT DEFAULT 'x'"))  # type: ignore[attr-defined]

    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    monkeypatch.setattr("auditor.store.engine.SCHEMA_VERSION", store.SCHEMA_VERSION)
    monkeypatch.setitem(migrations.MIGRATIONS, store.SCHEMA_VERSION - 1, add_column)
    engine = store.make_engine(str(db_path))
    with Session(engine) as s:
        assert s.get(store.Meta, "schema_version").value == str(store.SCHEMA_VERSION)
        rec = s.exec(select(store.Recording)).one()
        assert rec.manager == "Ирина"
    with engine.connect() as c:
        assert c.execute(text("SELECT tag FROM recording")).scalar() == "x"


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        store.make_engine(str(tmp_path / "nope" / "a.db"))


def test_unknown_url_scheme_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        store.make_engine("nosuchdb://x/y")


def _recording(s: Session, path: str = "/calls/a.wav", sha256: str = "abc") -> store.Recording:
    """A recording stored, with its id."""
    rec = store.Recording(path=path, sha256=sha256)
    s.add(rec)
    s.commit()
    s.refresh(rec)
    return rec


def _as_version(db_path: Path, version: int, script: str) -> None:
    """Turn a current database back into an older schema (its SQL) and mark it that version."""
    con = sqlite3.connect(db_path)
    con.executescript(script)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    con.commit()
    con.close()


def _migrated(db_path: Path) -> Engine:
    """The database opened again: migrated to the current schema."""
    engine = store.make_engine(str(db_path))
    with Session(engine) as s:
        assert s.get(store.Meta, "schema_version").value == str(store.SCHEMA_VERSION)
    return engine


def test_a_version_1_database_gains_the_transcript_quality_column(db_path: Path) -> None:
    """The real 1 -> 2 migration: transcripts stored before it read back with no channel figures."""
    engine = store.make_engine(str(db_path))
    with Session(engine) as s:
        rec = _recording(s)
        s.add(store.Transcript(recording_id=rec.id, sha256="abc", model="base", language="ru",
                               segments_json='[{"speaker": "manager", "start": 0, "end": 1, '
                                             '"text": "Алло"}]'))
        s.commit()
    engine.dispose()
    _as_version(db_path, 1, """
        ALTER TABLE transcript DROP COLUMN quality_json;
        ALTER TABLE analysis DROP COLUMN confidence;""")
    with Session(_migrated(db_path)) as s:
        doc = s.exec(select(store.Transcript)).one().to_doc()
    assert doc.channels == [] and doc.dropped == [] and doc.text == "Алло"


def test_a_version_2_database_keys_recordings_by_path_and_audio(db_path: Path) -> None:
    """The real 2 -> 3 migration: one path may hold two recordings (masked names coincide)."""
    from sqlalchemy.exc import IntegrityError

    engine = store.make_engine(str(db_path))
    with Session(engine) as s:
        s.add(store.Recording(path="/calls/********00.wav", sha256="a", manager="Ирина"))
        s.commit()
    engine.dispose()
    _as_version(db_path, 2, """
        DROP INDEX ux_recording_path_sha256;
        DROP INDEX ix_recording_path;
        CREATE UNIQUE INDEX ix_recording_path ON recording (path);""")  # the path alone unique
    with Session(_migrated(db_path)) as s:
        s.add(store.Recording(path="/calls/********00.wav", sha256="b"))
        s.commit()
        assert [r.manager for r in s.exec(select(store.Recording))] == ["Ирина", None]
        s.add(store.Recording(path="/calls/********00.wav", sha256="b"))
        with pytest.raises(IntegrityError):
            s.commit()


def test_a_version_3_database_gains_the_score_columns(db_path: Path) -> None:
    """The real 3 -> 4 migration: analyses stored before it have no score until a rescore."""
    engine = store.make_engine(str(db_path))
    with Session(engine) as s:
        rec = _recording(s)
        s.add(store.Analysis(recording_id=rec.id or 0, ruleset_version="old", call_type="new_client",
                             verdict="ok"))
        s.add(store.Review(recording_id=rec.id or 0, verdict="ok"))
        s.commit()
    engine.dispose()
    _as_version(db_path, 3, """
        DROP INDEX ix_analysis_score;
        ALTER TABLE analysis DROP COLUMN score;
        ALTER TABLE analysis DROP COLUMN metrics_json;
        ALTER TABLE review DROP COLUMN items_json;""")
    with Session(_migrated(db_path)) as s:
        row = s.exec(select(store.Analysis)).one()
        assert row.score is None and row.metrics_json == "{}" and row.verdict == "ok"
        assert s.exec(select(store.Review)).one().items_json == "{}"


def test_a_version_4_database_gets_accounts_and_the_account_of_each_review(db_path: Path) -> None:
    """The real 4 -> 5 migration: review.account_id added, old reviews kept (account unknown)."""
    engine = store.make_engine(str(db_path))
    with Session(engine) as s:
        rec = _recording(s, sha256="a")
        s.add(store.Review(recording_id=rec.id or 0, verdict="ok", note="fine", reviewer="anna"))
        s.commit()
    engine.dispose()
    cols = ("id, recording_id, verdict, call_type, stages_json, items_json, note, reviewer, "
            "auto_verdict, created_at")
    _as_version(db_path, 4, f"""
        CREATE TABLE review4 (id INTEGER PRIMARY KEY, recording_id INTEGER NOT NULL
          REFERENCES recording (id), verdict VARCHAR NOT NULL, call_type VARCHAR,
          stages_json TEXT NOT NULL, items_json TEXT NOT NULL DEFAULT '{{}}',
          note VARCHAR NOT NULL, reviewer VARCHAR NOT NULL,
          auto_verdict VARCHAR, created_at DATETIME NOT NULL);
        INSERT INTO review4 ({cols}) SELECT {cols} FROM review;
        DROP TABLE review;
        ALTER TABLE review4 RENAME TO review;
        DROP TABLE account;""")  # the version 4 schema: no accounts
    con = sqlite3.connect(db_path)
    assert "account_id" not in [r[1] for r in con.execute("PRAGMA table_info(review)")]
    con.close()
    with Session(_migrated(db_path)) as s:
        rv = s.exec(select(store.Review)).one()
        assert (rv.reviewer, rv.account_id) == ("anna", None)
        acc = store.save_account(s, "boris", "reviewer", "scrypt$hash")
        s.add(store.Review(recording_id=rv.recording_id, verdict="incomplete", note="no",
                           reviewer="boris", account_id=acc.id))
        s.commit()
        assert [r.account_id for r in s.exec(select(store.Review))] == [None, acc.id]


def test_an_unreachable_postgresql_server_is_a_one_line_error_without_the_password() -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError, match="cannot use database") as e:
        store.make_engine(f"postgresql://auditor:s3cret@127.0.0.1:{port}/calls")
    assert "s3cret" not in str(e.value) and len(str(e.value).splitlines()) == 1
    with pytest.raises(StoreError, match="cannot open database") as e:
        store.make_engine("postgresql+nosuchdriver://auditor:s3cret@127.0.0.1/calls")
    assert "s3cret" not in str(e.value) and "***" in str(e.value)
