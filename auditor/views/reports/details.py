"""What the HTML report needs per call beyond the call list: transcript and evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from auditor import store
from auditor.records import CallAnalysis, Segment
from auditor.redact import redact_analysis, redact_segments
from auditor.views.callrow import CallRow

_CHUNK = 500  # SQLite allows a limited number of bound parameters


@dataclass
class CallDetail:
    row: CallRow
    segments: list[Segment] = field(default_factory=list)
    analysis: CallAnalysis | None = None
    # The recording on disk, for the audio player: row.path may be redacted for display.
    audio_path: str | None = None


def load_details(engine: Engine, calls: Sequence[CallRow], redact: bool = False
                 ) -> list[CallDetail]:
    """Transcript segments and the stored analysis for each call, in the given order.

    With ``redact`` the segments and the analysis (evidence quotes, reasons)
    have personal data masked; pass rows that are redacted too.
    """
    ids = [c.id for c in calls]
    analyses: dict[int, store.Analysis] = {}
    recordings: dict[int, store.Recording] = {}
    with Session(engine) as s:
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            for an in s.exec(select(store.Analysis).where(
                    store.Analysis.recording_id.in_(part))):  # type: ignore[attr-defined]
                analyses[an.recording_id] = an
            for rec in s.exec(select(store.Recording).where(
                    store.Recording.id.in_(part))):  # type: ignore[union-attr]
                recordings[rec.id or 0] = rec
        transcripts = store.transcripts_for(
            s, [(rec, analyses.get(rid)) for rid, rec in recordings.items()])
    out: list[CallDetail] = []
    for c in calls:
        found_an = analyses.get(c.id)
        doc = transcripts.get(c.id)
        stored = recordings.get(c.id)
        detail = CallDetail(row=c, audio_path=stored.path if stored is not None else None)
        if doc is not None:
            detail.segments = redact_segments(doc.segments) if redact else doc.segments
        if found_an is not None:
            try:
                detail.analysis = found_an.details
            except (ValueError, KeyError, TypeError):
                detail.analysis = None
        if redact and detail.analysis is not None:
            detail.analysis = redact_analysis(detail.analysis)
        out.append(detail)
    return out
