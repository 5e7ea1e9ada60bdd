"""Search everything that was said, with word forms folded.

Russian changes the ending of a word with its role in the sentence
("отгрузка", "отгрузку", "отгрузки"), so a plain text search misses most of
what a head of sales looks for. We index *lemmas* instead: spaCy's blank
pipelines with the pymorphy3 lookup lemmatizer (Russian) and the lookup
lemmatizer (English), lower-cased, ё folded to е. Each token goes to the
lemmatizer of its own alphabet, so English product names inside a Russian
call fold too. The query goes through the same function, so "отгрузка" finds
"отгрузку".

On SQLite the lemmas live in an FTS5 table (``segment_fts``), one row per
transcript segment, rowid = transcript id << 20 | segment index. Other
databases get a plain table searched with LIKE, slower but the same answers.
The index is kept in sync lazily: ``ensure_index`` indexes the transcripts it
has not seen (tracked in a small table) before each search, so the audit
pipeline needs to know nothing about search.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from auditor.calls import CallFilter, CallRow, query_calls
from auditor.errors import SearchError
from auditor.redact import redact_spans

log = logging.getLogger(__name__)

# Bump when lemmatization changes: every transcript is then indexed again.
INDEX_VERSION = 1
ROWID_SHIFT = 20  # room for a million segments per transcript
_CHUNK = 200  # transcripts per indexing transaction: short write locks
_MAX_IDS = 5000  # past this many matched calls, filtering all calls is as fast

_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_LATIN = re.compile(r"[a-zA-Z]")
_WORD = re.compile(r"\w+")
# Brackets and slashes glued to words ("[шум]отгрузки", "a/b") defeat the tokenizer's
# affix rules; a space of the same length keeps every character offset in place.
_SEPARATORS = str.maketrans({c: " " for c in "[]{}()<>|/\\*=+#~^\"_"})


# --- lemmatization -------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A word of a text: its possible lemmas (normalised) and where it is."""

    lemmas: tuple[str, ...]  # lower case, ё -> е; the most likely first
    start: int  # character offsets in the original text
    end: int

    @property
    def lemma(self) -> str:
        return self.lemmas[0]

    @property
    def terms(self) -> list[str]:
        """What goes into the index: the word parts of every lemma ("какой-то" -> какой, то)."""
        out: list[str] = []
        for lemma in self.lemmas:
            out.extend(p for p in _WORD.findall(lemma) if p not in out)
        return out


class Lemmatizer:
    """Text -> normalised lemmas, with a cache per word form.

    The lookup lemmatizers look at one token at a time, so a word form always
    gets the same lemmas and a cache is exact; it makes indexing a large store
    about as fast as tokenizing it.

    Where pymorphy3's readings of a Russian form disagree ("накладными":
    накладная or накладной; "стали": стать or сталь) spaCy's lookup mode gives
    up and keeps the form, which would fold nothing. For search, recall
    matters more than a single answer, so such a form is indexed under every
    dictionary reading and a query word matches any of its readings.
    """

    def __init__(self) -> None:
        self._nlp: dict[str, Any] = {}
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}

    def _pipeline(self, lang: str) -> Any:
        nlp = self._nlp.get(lang)
        if nlp is None:
            import spacy

            nlp = spacy.blank(lang)
            mode = "pymorphy3_lookup" if lang == "ru" else "lookup"
            nlp.add_pipe("lemmatizer", config={"mode": mode})
            nlp.initialize()
            self._nlp[lang] = nlp
        return nlp

    def _readings(self, word: str) -> tuple[str, ...]:
        """Every dictionary normal form of a Russian word, most likely first."""
        morph = self._pipeline("ru").get_pipe("lemmatizer")._morph
        parses = morph.parse(word)
        known = [p for p in parses if p.is_known] or parses
        return tuple(dict.fromkeys(_fold(p.normal_form) for p in known))

    def lemmas(self, word: str) -> tuple[str, ...]:
        low = word.lower()
        lang = "ru" if _CYRILLIC.search(low) else "en" if _LATIN.search(low) else ""
        if not lang:
            return (_fold(low),)
        key = (lang, low)
        found = self._cache.get(key)
        if found is None:
            doc = self._pipeline(lang)(low)
            lemma = doc[0].lemma_ if len(doc) == 1 and doc[0].lemma_ else low
            found = (_fold(lemma),)
            if lang == "ru" and lemma == low and low.isalpha():
                found = self._readings(low) or found
            self._cache[key] = found
        return found

    def tokens(self, texts: Iterable[str], language: str = "ru") -> Iterator[list[Token]]:
        """The word tokens of each text with their lemmas and character spans."""
        tokenizer = self._pipeline(_tokenizer_lang(language)).tokenizer
        cleaned = (t.translate(_SEPARATORS) for t in texts)
        for doc in tokenizer.pipe(cleaned, batch_size=256):
            yield [Token(self.lemmas(t.text), t.idx, t.idx + len(t.text))
                   for t in doc if not (t.is_punct or t.is_space) and _WORD.search(t.text)]

    def index_terms(self, text_: str, language: str = "ru") -> str:
        """The text as the index stores it: every term of every word, space-separated."""
        return " ".join(term for t in next(self.tokens([text_], language)) for term in t.terms)

    def query_groups(self, query: str) -> list[list[str]]:
        """The query as groups of alternatives: a segment must match one term of each group."""
        lang = "ru" if _CYRILLIC.search(query) else "en"
        groups: list[list[str]] = []
        for tok in next(self.tokens([query], lang)):
            # one reading: each word part must match; several: any reading will do
            single = len(tok.lemmas) == 1
            new = [[part] for part in _WORD.findall(tok.lemma)] if single else [tok.terms]
            groups.extend(g for g in new if g and g not in groups)
        return groups

    def query_terms(self, query: str) -> list[str]:
        """Every term a query can match, in order."""
        out: list[str] = []
        for group in self.query_groups(query):
            out.extend(t for t in group if t not in out)
        return out


def _fold(s: str) -> str:
    return s.lower().replace("ё", "е")


def _tokenizer_lang(language: str | None) -> str:
    return "en" if (language or "").lower().startswith("en") else "ru"


_default_lemmatizer: Lemmatizer | None = None


def default_lemmatizer() -> Lemmatizer:
    """One shared lemmatizer per process (loading spaCy takes a moment)."""
    global _default_lemmatizer
    if _default_lemmatizer is None:
        _default_lemmatizer = Lemmatizer()
    return _default_lemmatizer


# --- the index -----------------------------------------------------------------


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


def backend_for(engine: Engine) -> str:
    """'fts' on SQLite with FTS5, else 'like'."""
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


_SCHEMA = {
    "fts": [
        """CREATE VIRTUAL TABLE IF NOT EXISTS segment_fts USING fts5(
               lemmas, text UNINDEXED, transcript_id UNINDEXED, seg_index UNINDEXED,
               speaker UNINDEXED, start UNINDEXED,
               tokenize = 'unicode61 remove_diacritics 0')""",
        """CREATE TABLE IF NOT EXISTS segment_fts_done (
               transcript_id INTEGER PRIMARY KEY, version INTEGER NOT NULL,
               segments INTEGER NOT NULL)""",
    ],
    "like": [
        """CREATE TABLE IF NOT EXISTS segment_lemmas (
               id BIGINT PRIMARY KEY, transcript_id INTEGER NOT NULL,
               seg_index INTEGER NOT NULL, speaker VARCHAR(16) NOT NULL, start FLOAT NOT NULL,
               lemmas TEXT NOT NULL, text TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS ix_segment_lemmas_tid ON segment_lemmas (transcript_id)",
        """CREATE TABLE IF NOT EXISTS segment_lemmas_done (
               transcript_id INTEGER PRIMARY KEY, version INTEGER NOT NULL,
               segments INTEGER NOT NULL)""",
    ],
}
_TABLES = {"fts": ("segment_fts", "segment_fts_done", "rowid"),
           "like": ("segment_lemmas", "segment_lemmas_done", "id")}


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
    backend = backend or backend_for(engine)
    lem = lemmatizer or default_lemmatizer()
    seg_table, done_table, key = _TABLES[backend]
    stats = IndexStats(backend)
    coverage = (f"SELECT count(*), max(transcript_id), sum(transcript_id), min(version), "
                f"max(version) FROM {done_table}")
    with engine.connect() as conn:
        try:
            covered = _fetch(conn, coverage)[0]
        except (DBAPIError, sqlite3.Error):  # first search on this database: no tables yet
            covered = None
    if covered is None:
        with engine.begin() as conn:
            for ddl in _SCHEMA[backend]:
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
        batch = _index_rows(lem, rows, backend)
        if not batch:
            continue
        if _store(engine, backend, batch):
            stats.indexed += len(batch)
            stats.segments += sum(len(v) for v in batch.values())
            continue
        # A concurrent search indexed some of these first: go one by one.
        for tid, seg_rows in batch.items():
            if _store(engine, backend, {tid: seg_rows}):
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
                "lm": lemmas if backend == "fts" else f" {lemmas} ", "tx": texts[n],
            })
        out[tid] = seg_rows
    return out


def _store(engine: Engine, backend: str, batch: dict[int, list[dict[str, Any]]]) -> bool:
    """Index transcripts in one transaction; False (nothing stored) if one was indexed already."""
    seg_table, done_table, key = _TABLES[backend]
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


# --- the query -----------------------------------------------------------------


@dataclass
class SearchHit:
    """One segment that matched, with the call it belongs to."""

    call: CallRow
    transcript_id: int
    seg_index: int
    speaker: str
    start: float
    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)  # matched words

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call.id, "manager": self.call.manager,
            "started_at": self.call.started_at.isoformat() if self.call.started_at else None,
            "verdict": self.call.verdict, "reviewed": self.call.reviewed,
            "call_type": self.call.call_type, "transcript_id": self.transcript_id,
            "segment": self.seg_index, "speaker": self.speaker, "start": self.start,
            "text": self.text, "matches": [list(s) for s in self.spans],
        }


@dataclass
class SearchResult:
    query: str
    terms: list[str]
    hits: list[SearchHit]
    total_segments: int  # matching segments in calls that pass the filter
    total_calls: int
    backend: str
    index: IndexStats
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "terms": self.terms, "total_segments": self.total_segments,
                "total_calls": self.total_calls, "backend": self.backend,
                "hits": [h.to_dict() for h in self.hits]}


def _fts_query(groups: list[list[str]], any_word: bool = False) -> str:
    def quoted(t: str) -> str:
        return '"' + t.replace('"', '""') + '"'

    parts = [quoted(g[0]) if len(g) == 1 else "(" + " OR ".join(map(quoted, g)) + ")"
             for g in groups]
    return (" OR " if any_word else " AND ").join(parts)


def _matching_keys(conn: Connection, backend: str, groups: list[list[str]],
                   speaker: str | None, any_word: bool = False) -> list[int]:
    if backend == "fts":
        rows = _fetch(conn, "SELECT rowid, speaker FROM segment_fts WHERE segment_fts MATCH :q",
                      {"q": _fts_query(groups, any_word)})
    else:
        params: dict[str, str] = {}
        clauses = []
        for g in groups:
            alts = []
            for t in g:
                name = f"p{len(params)}"
                params[name] = "% " + re.sub(r"([!%_])", r"!\1", t) + " %"
                alts.append(f"lemmas LIKE :{name} ESCAPE '!'")
            clauses.append("(" + " OR ".join(alts) + ")")
        where = (" OR " if any_word else " AND ").join(clauses)
        rows = _fetch(conn, f"SELECT id, speaker FROM segment_lemmas WHERE {where}", params)
    return [k for k, sp in rows if speaker is None or sp == speaker]


def _recordings_by_transcript(conn: Connection) -> dict[int, list[int]]:
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


def _has_filter(f: CallFilter) -> bool:
    return any((f.manager, f.date_from, f.date_to, f.verdict, f.call_type, f.short_below_s,
                f.missing, f.unreviewed, f.status, f.ids is not None))


def search(
    engine: Engine,
    query: str,
    f: CallFilter | None = None,
    limit: int = 50,
    speaker: str | None = None,
    lemmatizer: Lemmatizer | None = None,
    backend: str | None = None,
    any_word: bool = False,
    redact: bool = False,
) -> SearchResult:
    """Segments whose words match every word of the query (in any form), newest calls first.

    With ``any_word`` a segment needs only one of the words. With ``redact``
    the calls and the segment texts have personal data masked (the matches
    are moved to the masked text).
    """
    t0 = time.perf_counter()
    f = f or CallFilter()
    lem = lemmatizer or default_lemmatizer()
    groups = lem.query_groups(query)
    if not groups:
        raise SearchError(f"nothing to search for in {query!r}: give at least one word")
    backend = backend or backend_for(engine)
    stats = ensure_index(engine, lem, backend)
    seg_table, _, key = _TABLES[backend]
    with engine.connect() as conn:
        keys = _matching_keys(conn, backend, groups, speaker, any_word)
        owners = _recordings_by_transcript(conn) if keys else {}
        started = dict(_fetch(conn, "SELECT id, started_at FROM recording")) if keys else {}
    # (recording, key) pairs; a segment of a shared transcript counts for each call.
    matches = [(rid, k) for k in keys for rid in owners.get(k >> ROWID_SHIFT, [])]
    calls: dict[int, CallRow] = {}
    if matches and _has_filter(f):
        # Only the calls that matched need their effective verdict computed.
        matched = {rid for rid, _ in matches}
        if f.ids is not None:
            matched &= set(f.ids)
        ids = sorted(matched) if len(matched) <= _MAX_IDS or f.ids is not None else None
        calls = {r.id: r for r in query_calls(engine, replace(f, ids=ids), redact=redact)}
        matches = [m for m in matches if m[0] in calls]
    # newest call first, then the order of the conversation
    matches.sort(key=lambda m: (_ts(started.get(m[0])), -m[0], m[1]))
    shown = matches[:max(limit, 0)]
    if shown and not calls:
        calls = {r.id: r for r in query_calls(
            engine, CallFilter(ids=sorted({m[0] for m in shown})), redact=redact)}
    details = _segments(engine, seg_table, key, [k for _, k in shown])
    wanted = {t for g in groups for t in g}
    hits = []
    for rid, k in shown:
        row = details.get(k)
        call = calls.get(rid)
        if row is None or call is None:
            continue
        seg_text, seg_speaker, seg_start, language = row
        spans = [(t.start, t.end) for t in next(lem.tokens([seg_text], language))
                 if wanted.intersection(t.terms)]
        if redact:
            seg_text, spans = redact_spans(seg_text, spans)
        hits.append(SearchHit(call=call, transcript_id=k >> ROWID_SHIFT,
                              seg_index=k & ((1 << ROWID_SHIFT) - 1), speaker=seg_speaker,
                              start=float(seg_start), text=seg_text, spans=spans))
    return SearchResult(query=query, terms=lem.query_terms(query), hits=hits,
                        total_segments=len(matches), total_calls=len({m[0] for m in matches}),
                        backend=backend, index=stats, seconds=time.perf_counter() - t0)


def _ts(v: Any) -> float:
    """Sort key for newest first; calls without a time go last."""
    if v is None:
        return float("inf")
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return float("inf")
    return -v.timestamp() if isinstance(v, datetime) else float("inf")


def _in_list(keys: list[int]) -> str:
    return ",".join(str(int(k)) for k in keys)


def _segments(engine: Engine, table: str, key: str, keys: list[int]
              ) -> dict[int, tuple[str, str, float, str]]:
    out: dict[int, tuple[str, str, float, str]] = {}
    if not keys:
        return out
    with engine.connect() as conn:
        for i in range(0, len(keys), 500):
            q = (f"SELECT s.{key}, s.text, s.speaker, s.start, t.language FROM {table} s "
                 f"JOIN transcript t ON t.id = s.transcript_id "
                 f"WHERE s.{key} IN ({_in_list(keys[i:i + 500])})")
            for k, tx, sp, st, lang in _fetch(conn, q):
                out[k] = (tx, sp, st, lang)
    return out


def snippet(hit: SearchHit, width: int = 160) -> tuple[str, list[tuple[int, int]]]:
    """A window of the segment around its first match, with match spans shifted to it."""
    t = hit.text
    if len(t) <= width:
        return t, list(hit.spans)
    first = hit.spans[0][0] if hit.spans else 0
    lo = max(0, min(first - width // 3, len(t) - width))
    hi = lo + width
    # widen to word boundaries so no word is cut in half
    while lo > 0 and t[lo - 1].isalnum():
        lo -= 1
    while hi < len(t) and t[hi].isalnum():
        hi += 1
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < len(t) else ""
    shift = len(prefix) - lo
    spans = [(a + shift, b + shift) for a, b in hit.spans if a >= lo and b <= hi]
    return prefix + t[lo:hi] + suffix, spans
