"""Search everything that was said, with word forms folded: the calls and segments that match.

The index (:mod:`auditor.store.search_index`) finds the matching segments;
this module keeps those of calls that pass the filter, newest calls first,
with the matched words located in each segment (and masked under redact).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from auditor.errors import SearchError
from auditor.redact import redact_spans
from auditor.store.search_index import (
    ROWID_SHIFT,
    IndexStats,
    backend_for,
    ensure_index,
    matching_keys,
    recordings_by_transcript,
    segments,
    start_times,
)
from auditor.store.search_terms import Lemmatizer, default_lemmatizer
from auditor.views.callrow import CallFilter, CallRow
from auditor.views.calls import query_calls

_MAX_IDS = 5000  # past this many matched calls, filtering all calls is as fast


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
    with engine.connect() as conn:
        keys = matching_keys(conn, backend, groups, speaker, any_word)
        owners = recordings_by_transcript(conn) if keys else {}
        started = start_times(conn) if keys else {}
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
    details = segments(engine, backend, [k for _, k in shown])
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
