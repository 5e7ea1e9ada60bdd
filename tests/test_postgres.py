"""PostgreSQL as the store: URLs, migrations, the same search hits as SQLite, row-locked claims.

The store, review, search, report and rescore tests run on both databases
(``db_backend``, tests/dbs.py); here is what only PostgreSQL has: its URL
and driver, a real migration on it, SKIP LOCKED claims and several audit
processes sharing one database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlmodel import Session, select

from auditor import store
from auditor.store import recordings
from auditor.store.search_index import backend_for
from auditor.store.search_terms import Lemmatizer
from auditor.views.callrow import CallFilter
from auditor.views.search import search

from .audio_gen import write_wav
from .dbs import PgServer, row_counts
from .helpers_review import add_call, standard_calls
from .test_search import QUERIES


def _db(pg: PgServer, tmp_path: Path, tag: str) -> str:
    return pg.database(f"t_{tag}_{abs(hash(str(tmp_path))) % 10**8}")


def test_a_plain_postgresql_url_is_driven_by_psycopg3(pg_server: PgServer, tmp_path: Path) -> None:
    url = _db(pg_server, tmp_path, "url")
    assert url.startswith("postgresql://")
    assert store.database_url(url).startswith("postgresql+psycopg://")
    engine = store.make_engine(url)
    assert engine.dialect.driver == "psycopg"
    with Session(engine) as s:
        assert s.get(store.Meta, "schema_version").value == str(store.SCHEMA_VERSION)
    engine.dispose()


def test_an_old_postgresql_database_is_migrated_in_place(pg_server: PgServer,
                                                         tmp_path: Path) -> None:
    """The real 1 -> 2 -> 3 steps on PostgreSQL: the columns they add, and data kept."""
    url = _db(pg_server, tmp_path, "mig")
    engine = store.make_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO recording (path, sha256, size, status, created_at, updated_at)"
                       " VALUES ('/calls/a.wav', 'abc', 1, 'done', now(), now())"))
        c.execute(text("ALTER TABLE transcript DROP COLUMN quality_json"))
        c.execute(text("ALTER TABLE analysis DROP COLUMN confidence"))
        c.execute(text("DROP INDEX ux_recording_path_sha256"))
        c.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()
    engine = store.make_engine(url)
    with engine.connect() as c:
        assert c.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar() == str(
            store.SCHEMA_VERSION)
        assert c.execute(text("SELECT path FROM recording")).scalar() == "/calls/a.wav"
        cols = {r[0] for r in c.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name='analysis'"))}
        assert "confidence" in cols
        assert c.execute(text("SELECT count(*) FROM pg_indexes "
                              "WHERE indexname='ux_recording_path_sha256'")).scalar() == 1
    engine.dispose()


def _hits(engine: object, query: str, flt: CallFilter | None, lem: Lemmatizer,
          any_word: bool) -> list[tuple[int, int, object]]:
    found = search(engine, query, flt, lemmatizer=lem, any_word=any_word)  # type: ignore[arg-type]
    return [(h.call.id, h.seg_index, h.spans) for h in found.hits]


def test_sqlite_and_postgresql_give_the_same_hits(tmp_path: Path, pg_server: PgServer) -> None:
    """The same calls stored in both: every query finds the same segments and words."""
    lem = Lemmatizer()
    lite = store.make_engine(str(tmp_path / "lite.db"))
    pg = store.make_engine(_db(pg_server, tmp_path, "hits"))
    for engine in (lite, pg):
        standard_calls(engine)
        add_call(engine, "docs", [("manager", 0.0, 3.0, "Накладную и акт передаст водитель."),
                                  ("client", 3.5, 6.0, "С накладными была путаница.")])
    assert (backend_for(lite), backend_for(pg)) == ("fts", "pgfts")
    for query, flt in (*QUERIES, ("накладная", None), ("быть", None)):
        for any_word in (False, True):
            want = _hits(lite, query, flt, lem, any_word)
            assert _hits(pg, query, flt, lem, any_word) == want, query
    assert len(_hits(pg, "отгрузка", None, lem, False)) == 2  # not trivially equal: real hits
    with pg.connect() as c:  # the search is the GIN index, not a scan of the text
        c.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(r[0] for r in c.execute(text(
            "EXPLAIN SELECT id FROM segment_tsv WHERE tsv @@ phraseto_tsquery('simple', 'x')")))
        assert "ix_segment_tsv_tsv" in plan
    pg.dispose()


def test_a_row_another_run_is_claiming_is_skipped_not_waited_for(pg_server: PgServer,
                                                                  tmp_path: Path) -> None:
    engine = store.make_engine(_db(pg_server, tmp_path, "skip"))
    with Session(engine, expire_on_commit=False) as s:
        row = store.Recording(path="/calls/a.wav", sha256="a")
        s.add(row)
        s.commit()
    holder = engine.connect()
    tx = holder.begin()
    holder.execute(text("SELECT id FROM recording WHERE id = :i FOR UPDATE"), {"i": row.id})
    outcome: list[bool] = []
    with Session(engine, expire_on_commit=False) as s:
        mine = s.get(store.Recording, row.id)
        t = threading.Thread(target=lambda: outcome.append(recordings.claim(s, mine, "host:1")))
        t.start()
        t.join(10)
        assert not t.is_alive(), "claim waited on a locked row instead of skipping it"
    assert outcome == [False]
    tx.rollback()
    holder.close()
    with Session(engine, expire_on_commit=False) as s:  # once free, the row is claimed
        mine = s.get(store.Recording, row.id)
        assert recordings.claim(s, mine, "host:1") is True
        assert s.exec(select(store.Recording.claimed_by)).one() == "host:1"
    engine.dispose()


_WORKER = '''
import json, sys, time
from pathlib import Path
from auditor import store
from auditor.audit.runner import Auditor
from auditor.config import Settings
from auditor.records import CallAnalysis, Segment, Transcript

class SlowAsr:
    """Takes a while per file, as Whisper does, and notes what it transcribed."""
    model_id = "fake"
    workers = 2
    done = []
    def transcribe(self, path, info, language=None):
        time.sleep(0.2)
        SlowAsr.done.append(path.name)
        seg = Segment("client", 0.0, 1.0, "Здравствуйте")
        return Transcript([seg], language="ru", duration_s=info.duration_s, model="fake"), "mono"

def analyzer(doc, settings):
    return CallAnalysis(call_type="no_contact", verdict="no_contact", stages={},
                        duration_s=doc.duration_s, ruleset_version="t", language="ru", reason="t")

engine = store.make_engine(sys.argv[2])
summary = Auditor(Settings(), engine, transcriber=SlowAsr(), analyzer=analyzer).run(Path(sys.argv[1]))
print(json.dumps({"transcribed": SlowAsr.done,
                  "statuses": sorted({i.status for i in summary.items})}))
'''


def test_several_audit_processes_on_one_database_transcribe_each_recording_once(
        pg_server: PgServer, tmp_path: Path) -> None:
    """Four processes (a fake transcriber: only the claims are under test) on 24 recordings."""
    root = tmp_path / "calls"
    rng = np.random.default_rng(7)
    for n in range(24):
        write_wav(root / "Ирина" / f"call-{n:02d}.wav", [rng.normal(0, 0.1, 8000).astype("float32")],
                  8000)
    url = _db(pg_server, tmp_path, "procs")
    store.make_engine(url).dispose()
    script = tmp_path / "worker.py"
    script.write_text(_WORKER, encoding="utf-8")
    procs = [subprocess.Popen([sys.executable, str(script), str(root), url], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    transcribed = [name for o in outs for name in o["transcribed"]]
    assert sorted(transcribed) == sorted(f"call-{n:02d}.wav" for n in range(24))  # each once
    assert sum(1 for o in outs if o["transcribed"]) >= 2  # the work was shared
    counts = row_counts(url)
    assert counts == {"recordings": 24, "distinct_paths": 24, "transcripts": 24,
                      "analyses": 24, "done": 24}
