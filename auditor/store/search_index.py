"""The search index: the lemmas of every transcript segment, behind a small backend protocol.

On SQLite the lemmas live in an FTS5 table (``segment_fts``), one row per
transcript segment, rowid = transcript id << 20 | segment index. On
PostgreSQL they live in a table with a ``tsvector`` column (``simple``
configuration: the text is lemmatised already) under a GIN index. Other
databases get a plain table searched with LIKE, slower but the same answers.
Each is an :class:`IndexBackend`: where the rows live and how a query of
term groups finds them. The index is kept in sync lazily: ``ensure_index``
indexes the transcripts it has not seen (tracked in a small table) before
each search, so the audit needs to know nothing about search. What a search
shows (calls, filters, snippets) is :mod:`auditor.views.search`.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from auditor.store.search_terms import Lemmatizer, default_lemmatizer

log = logging.getLogger(__name__)

# Bump when lemmatization changes: every transcript is then indexed again.
# 2: lemmas folded by auditor.analysis.nlp, as the analysis folds them
INDEX_VERSION = 2
ROWID_SHIFT = 20  # room for a million segments per transcript
_CHUNK = 200  # transcripts per indexing transaction: short write locks


def _fetch(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """All rows of a read as plain tuples.

    On SQLite the driver's cursor is used directly: for the tens of thousands
    of ids a search over a large store reads, SQLAlchemy's row objects would
    cost more than the query.
    """
    if conn.dialect.name == "sqlite":
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            return cur.execute(sql, params or {}).fetchall()
        finally:
            cur.close()
    return [tuple(r) for r in conn.execute(text(sql), params or {})]



class IndexBackend(Protocol):
    """Where the index rows live and how a query finds them."""

    name: str
    schema: tuple[str, ...]  # DDL, run once per database
    segments: str  # the table of segment rows
    done: str  # the table of indexed transcripts
    key: str  # the segment row's key column

    def stored_lemmas(self, lemmas: str) -> str:
        """The lemmas column of a segment row, from space-separated terms."""
        ...

    def matching(self, conn: Connection, groups: list[list[str]], any_word: bool
                 ) -> list[tuple[int, str]]:
        """(key, speaker) of the segments with a term of every group (of any, ``any_word``)."""
        ...


def _done_table(name: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {name} (transcript_id INTEGER PRIMARY KEY, "
            "version INTEGER NOT NULL, segments INTEGER NOT NULL)")


def _bound_terms(groups: list[list[str]], any_word: bool, term: Callable[[str], str],
                 value: Callable[[str], str], or_: str, and_: str) -> tuple[str, dict[str, str]]:
    """Groups of alternative terms as one SQL expression over bound parameters.

    ``term(name)`` is the SQL test of one parameter, ``value(term)`` its bound
    value; a group matches on any of its terms, the groups combine with
    ``and_`` (or ``or_`` when ``any_word``).
    """
    params: dict[str, str] = {}
    parts = []
    for g in groups:
        alts = []
        for t in g:
            name = f"p{len(params)}"
            params[name] = value(t)
            alts.append(term(name))
        parts.append("(" + or_.join(alts) + ")")
    return (or_ if any_word else and_).join(parts), params


class FtsBackend:
    """SQLite FTS5: a MATCH query over the lemmas column."""

    name: str = "fts"
    segments, done, key = "segment_fts", "segment_fts_done", "rowid"
    schema: tuple[str, ...] = (
        """CREATE VIRTUAL TABLE IF NOT EXISTS segment_fts USING fts5(
               lemmas, text UNINDEXED, transcript_id UNINDEXED, seg_index UNINDEXED,
               speaker UNINDEXED, start UNINDEXED,
               tokenize = 'unicode61 remove_diacritics 0')""",
        _done_table("segment_fts_done"),
    )

    def stored_lemmas(self, lemmas: str) -> str:
        return lemmas

    def matching(self, conn: Connection, groups: list[list[str]], any_word: bool
                 ) -> list[tuple[int, str]]:
        def quoted(t: str) -> str:
            return '"' + t.replace('"', '""') + '"'

        parts = [quoted(g[0]) if len(g) == 1 else "(" + " OR ".join(map(quoted, g)) + ")"
                 for g in groups]
        q = (" OR " if any_word else " AND ").join(parts)
        return [(k, sp) for k, sp in _fetch(
            conn, "SELECT rowid, speaker FROM segment_fts WHERE segment_fts MATCH :q", {"q": q})]


class LikeBackend:
    """Any database: LIKE over a space-padded lemmas column."""

    name: str = "like"
    segments, done, key = "segment_lemmas", "segment_lemmas_done", "id"
    schema: tuple[str, ...] = (
        """CREATE TABLE IF NOT EXISTS segment_lemmas (
               id BIGINT PRIMARY KEY, transcript_id INTEGER NOT NULL,
               seg_index INTEGER NOT NULL, speaker VARCHAR(16) NOT NULL, start FLOAT NOT NULL,
               lemmas TEXT NOT NULL, text TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS ix_segment_lemmas_tid ON segment_lemmas (transcript_id)",
        _done_table("segment_lemmas_done"),
    )

    def stored_lemmas(self, lemmas: str) -> str:
        return f" {lemmas} "

    def matching(self, conn: Connection, groups: list[list[str]], any_word: bool
                 ) -> list[tuple[int, str]]:
        where, params = _bound_terms(
            groups, any_word, lambda n: f"lemmas LIKE :{n} ESCAPE '!'",
            lambda t: "% " + re.sub(r"([!%_])", r"!\1", t) + " %", " OR ", " AND ")
        return [(k, sp) for k, sp in _fetch(
            conn, f"SELECT id, speaker FROM segment_lemmas WHERE {where}", params)]


class PgBackend:
    """PostgreSQL full-text search: a tsvector of the lemmas under a GIN index.

    Each query term goes through ``phraseto_tsquery('simple', ...)``, the
    parser that built the tsvector, as FTS5 reads a quoted term as a phrase of
    its tokens; the user's text is never parsed as tsquery syntax.
    """

    name: str = "pgfts"
    segments, done, key = "segment_tsv", "segment_tsv_done", "id"
    schema: tuple[str, ...] = (
        """CREATE TABLE IF NOT EXISTS segment_tsv (
               id BIGINT PRIMARY KEY, transcript_id INTEGER NOT NULL,
               seg_index INTEGER NOT NULL, speaker VARCHAR(16) NOT NULL, start FLOAT NOT NULL,
               lemmas TEXT NOT NULL, text TEXT NOT NULL,
               tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', lemmas)) STORED)""",
        "CREATE INDEX IF NOT EXISTS ix_segment_tsv_tsv ON segment_tsv USING GIN (tsv)",
        "CREATE INDEX IF NOT EXISTS ix_segment_tsv_tid ON segment_tsv (transcript_id)",
        _done_table("segment_tsv_done"),
    )

    def stored_lemmas(self, lemmas: str) -> str:
        return lemmas

    def matching(self, conn: Connection, groups: list[list[str]], any_word: bool
                 ) -> list[tuple[int, str]]:
        q, params = _bound_terms(groups, any_word, lambda n: f"phraseto_tsquery('simple', :{n})",
                                 lambda t: t, " || ", " && ")
        return [(k, sp) for k, sp in _fetch(
            conn, f"SELECT id, speaker FROM segment_tsv WHERE tsv @@ ({q})", params)]


BACKENDS: dict[str, IndexBackend] = {b.name: b for b in (FtsBackend(), PgBackend(),
                                                         LikeBackend())}


def backend_for(engine: Engine) -> str:
    """'fts' on SQLite with FTS5, 'pgfts' on PostgreSQL, else 'like'."""
    if engine.dialect.name == "postgresql":
        return "pgfts"
    if engine.dialect.name != "sqlite":
        return "like"
    with engine.connect() as conn:
        try:
            conn.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts5_probe USING fts5(x)"))
            conn.execute(text("DROP TABLE temp.fts5_probe"))
        except OperationalError:
            log.warning("this SQLite has no FTS5; search falls back to LIKE")
            return "like"
    return "fts"


@dataclass
class IndexStats:
    backend: str
    indexed: int = 0  # transcripts indexed by this call
    removed: int = 0  # transcripts dropped (deleted, or indexed by an older version)
    segments: int = 0
    seconds: float = 0.0


def ensure_index(engine: Engine, lemmatizer: Lemmatizer | None = None,
                 backend: str | None = None) -> IndexStats:
    """Index every stored transcript not indexed yet; cheap when nothing is new."""
    t0 = time.perf_counter()
    be = BACKENDS[backend or backend_for(engine)]
    lem = lemmatizer or default_lemmatizer()
    seg_table, done_table, key = be.segments, be.done, be.key
    stats = IndexStats(be.name)
    coverage = (f"SELECT count(*), max(transcript_id), sum(transcript_id), min(version), "
                f"max(version) FROM {done_table}")
    with engine.connect() as conn:
        try:
            covered = _fetch(conn, coverage)[0]
        except (DBAPIError, sqlite3.Error):  # first search on this database: no tables yet
            covered = None
    if covered is None:
        with engine.begin() as conn:
            for ddl in be.schema:
                conn.execute(text(ddl))
    with engine.connect() as conn:
        # Fast path, the usual case: the tracking table covers exactly the
        # transcripts there are (same count, max and sum of ids), all indexed
        # by this version.
        have = _fetch(conn, "SELECT count(*), max(id), sum(id) FROM transcript")[0]
        if covered is not None and tuple(have) == tuple(covered[:3]) and (
                covered[0] == 0 or covered[3] == covered[4] == INDEX_VERSION):
            stats.seconds = time.perf_counter() - t0
            return stats
        present = {r[0] for r in _fetch(conn, "SELECT id FROM transcript")}
        done = dict(_fetch(conn, f"SELECT transcript_id, version FROM {done_table}"))
    stale = sorted(tid for tid, v in done.items() if tid not in present or v != INDEX_VERSION)
    if stale:
        with engine.begin() as conn:
            for tid in stale:
                lo = tid << ROWID_SHIFT
                conn.execute(text(f"DELETE FROM {seg_table} WHERE {key} BETWEEN :lo AND :hi"),
                             {"lo": lo, "hi": lo + (1 << ROWID_SHIFT) - 1})
                conn.execute(text(f"DELETE FROM {done_table} WHERE transcript_id = :t"),
                             {"t": tid})
        stats.removed = len(stale)
    todo = sorted(present - {t for t, v in done.items() if v == INDEX_VERSION})
    for i in range(0, len(todo), _CHUNK):
        chunk = todo[i:i + _CHUNK]
        with engine.connect() as conn:
            rows = _fetch(conn, "SELECT id, language, segments_json FROM transcript WHERE id IN "
                                f"({_in_list(chunk)})")
        batch = _index_rows(lem, rows, be.name)
        if not batch:
            continue
        if _store(engine, be.name, batch):
            stats.indexed += len(batch)
            stats.segments += sum(len(v) for v in batch.values())
            continue
        # A concurrent search indexed some of these first: go one by one.
        for tid, seg_rows in batch.items():
            if _store(engine, be.name, {tid: seg_rows}):
                stats.indexed += 1
                stats.segments += len(seg_rows)
    stats.seconds = time.perf_counter() - t0
    if stats.indexed or stats.removed:
        log.info("search index: %d transcripts indexed, %d removed in %.1f s",
                 stats.indexed, stats.removed, stats.seconds)
    return stats


def _index_rows(lem: Lemmatizer, rows: Iterable[Any], backend: str
                ) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for tid, language, segments_json in rows:
        try:
            segs = json.loads(segments_json or "[]")
        except ValueError:
            log.warning("transcript %s has unreadable segments; not indexed", tid)
            segs = []
        texts = [str(s.get("text", "")) for s in segs]
        seg_rows = []
        for n, (seg, toks) in enumerate(zip(segs, lem.tokens(texts, language), strict=True)):
            lemmas = " ".join(term for t in toks for term in t.terms)
            seg_rows.append({
                "k": (tid << ROWID_SHIFT) | n, "tid": tid, "n": n,
                "sp": str(seg.get("speaker", "unknown")), "st": float(seg.get("start", 0.0)),
                "lm": BACKENDS[backend].stored_lemmas(lemmas), "tx": texts[n],
            })
        out[tid] = seg_rows
    return out


def _store(engine: Engine, backend: str, batch: dict[int, list[dict[str, Any]]]) -> bool:
    """Index transcripts in one transaction; False (nothing stored) if one was indexed already."""
    be = BACKENDS[backend]
    seg_table, done_table, key = be.segments, be.done, be.key
    try:
        with engine.begin() as conn:
            # The tracking rows go first: their primary key makes a concurrent
            # indexer of the same transcript fail here, before any duplicate.
            conn.execute(text(f"INSERT INTO {done_table} (transcript_id, version, segments) "
                              "VALUES (:t, :v, :n)"),
                         [{"t": tid, "v": INDEX_VERSION, "n": len(rows)}
                          for tid, rows in batch.items()])
            seg_rows = [r for rows in batch.values() for r in rows]
            if seg_rows:
                conn.execute(text(
                    f"INSERT INTO {seg_table} ({key}, lemmas, text, transcript_id, seg_index, "
                    "speaker, start) VALUES (:k, :lm, :tx, :tid, :n, :sp, :st)"), seg_rows)
    except IntegrityError:
        return False
    return True


# --- reads for a search --------------------------------------------------------


def matching_keys(conn: Connection, backend: str, groups: list[list[str]],
                  speaker: str | None, any_word: bool = False) -> list[int]:
    """The keys of the segments that match the term groups (and speaker, if given)."""
    rows = BACKENDS[backend].matching(conn, groups, any_word)
    return [k for k, sp in rows if speaker is None or sp == speaker]


def recordings_by_transcript(conn: Connection) -> dict[int, list[int]]:
    """transcript id -> the recordings it belongs to (the same audio may be stored twice)."""
    out: dict[int, list[int]] = {}
    analysed: set[int] = set()
    for rid, tid in _fetch(
            conn, "SELECT recording_id, transcript_id FROM analysis WHERE transcript_id IS NOT NULL"):
        out.setdefault(tid, []).append(rid)
        analysed.add(rid)
    for tid, rid in _fetch(
            conn, "SELECT id, recording_id FROM transcript WHERE recording_id IS NOT NULL"):
        if rid not in analysed and tid not in out:
            out[tid] = [rid]
    return out


def start_times(conn: Connection) -> dict[int, Any]:
    """recording id -> its start time as the driver returns it."""
    return dict(_fetch(conn, "SELECT id, started_at FROM recording"))


def _in_list(keys: list[int]) -> str:
    return ",".join(str(int(k)) for k in keys)


def segments(engine: Engine, backend: str, keys: list[int]
             ) -> dict[int, tuple[str, str, float, str]]:
    """key -> (text, speaker, start, language) of the given segments."""
    be = BACKENDS[backend]
    out: dict[int, tuple[str, str, float, str]] = {}
    if not keys:
        return out
    with engine.connect() as conn:
        for i in range(0, len(keys), 500):
            q = (f"SELECT s.{be.key}, s.text, s.speaker, s.start, t.language FROM {be.segments} s "
                 f"JOIN transcript t ON t.id = s.transcript_id "
                 f"WHERE s.{be.key} IN ({_in_list(keys[i:i + 500])})")
            for k, tx, sp, st, lang in _fetch(conn, q):
                out[k] = (tx, sp, st, lang)
    return out
