"""What the HTML report needs per call beyond the call list: transcript and evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from auditor import store
from auditor.calls import CallRow
from auditor.records import CallAnalysis, Segment
from auditor.redact import redact_analysis, redact_segments

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
    transcripts: dict[int, store.Transcript] = {}
    by_sha: dict[str, store.Transcript] = {}
    shas: dict[int, str] = {}
    paths: dict[int, str] = {}
    with Session(engine) as s:
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            for an in s.exec(select(store.Analysis).where(
                    store.Analysis.recording_id.in_(part))):  # type: ignore[attr-defined]
                analyses[an.recording_id] = an
            for rec in s.exec(select(store.Recording).where(
                    store.Recording.id.in_(part))):  # type: ignore[union-attr]
                shas[rec.id or 0] = rec.sha256
                paths[rec.id or 0] = rec.path
        t_ids = [a.transcript_id for a in analyses.values() if a.transcript_id is not None]
        for i in range(0, len(t_ids), _CHUNK):
            for tr in s.exec(select(store.Transcript).where(
                    store.Transcript.id.in_(t_ids[i:i + _CHUNK]))):  # type: ignore[union-attr]
                transcripts[tr.id or 0] = tr
        missing = sorted({shas[c] for c in ids if c in shas and shas[c]
                          and not (c in analyses and analyses[c].transcript_id in transcripts)})
        for i in range(0, len(missing), _CHUNK):
            for tr in s.exec(select(store.Transcript).where(
                    store.Transcript.sha256.in_(missing[i:i + _CHUNK]))):  # type: ignore[attr-defined]
                by_sha.setdefault(tr.sha256, tr)
    out: list[CallDetail] = []
    for c in calls:
        found_an = analyses.get(c.id)
        doc: store.Transcript | None = None
        if found_an is not None and found_an.transcript_id is not None:
            doc = transcripts.get(found_an.transcript_id)
        if doc is None:
            doc = by_sha.get(shas.get(c.id, ""))
        detail = CallDetail(row=c, audio_path=paths.get(c.id))
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
