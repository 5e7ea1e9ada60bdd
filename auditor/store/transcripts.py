"""Transcripts: the cache lookup by audio, the write, and the one lookup by recording.

A transcript is keyed by (audio sha256, model, language); the same audio under
a new name is not transcribed twice. :func:`transcripts_for` is how every
reader (review, rescore, reports) finds the transcript of a call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlmodel import Session, col, select

from auditor.records import Transcript as TranscriptDoc
from auditor.store.tables import Analysis, Recording, Transcript

_CHUNK = 500  # SQLite allows a limited number of bound parameters


def find_transcript(s: Session, sha256: str, model: str, language: str) -> Transcript | None:
    """The cached transcript of this audio by this model; ``language="auto"``: in any language."""
    q = select(Transcript).where(Transcript.sha256 == sha256, Transcript.model == model)
    if language != "auto":
        q = q.where(Transcript.language == language)
    return s.exec(q).first()


def save_transcript(
    s: Session, recording: Recording, doc: TranscriptDoc, mode: str, asr_seconds: float
) -> Transcript:
    """Insert the transcript, or return the one a concurrent run stored first."""
    existing = find_transcript(s, recording.sha256, doc.model, doc.language)
    if existing is not None:
        return existing
    row = Transcript(
        recording_id=recording.id,
        sha256=recording.sha256,
        model=doc.model,
        language=doc.language,
        mode=mode,
        duration_s=doc.duration,
        segments_json=json.dumps([seg.to_dict() for seg in doc.segments], ensure_ascii=False),
        quality_json=json.dumps({"channels": [c.to_dict() for c in doc.channels],
                                 "dropped": [seg.to_dict() for seg in doc.dropped]},
                                ensure_ascii=False),
        asr_seconds=asr_seconds,
    )
    s.add(row)
    s.flush()
    return row


def transcripts_for(s: Session, pairs: Iterable[tuple[Recording, Analysis | None]]
                    ) -> dict[int, Transcript]:
    """The stored transcript of each recording, by recording id, loaded in a few queries.

    The analysis names the transcript it was made from; a recording without
    one (or whose transcript is gone) falls back to a transcript of the same
    audio (sha256), newest first.
    """
    pairs = list(pairs)
    ids = sorted({an.transcript_id for _, an in pairs if an is not None and an.transcript_id})
    found: dict[int, Transcript] = {}
    for i in range(0, len(ids), _CHUNK):
        for tr in s.exec(select(Transcript).where(col(Transcript.id).in_(ids[i:i + _CHUNK]))):
            found[tr.id or 0] = tr
    shas = sorted({rec.sha256 for rec, an in pairs if rec.sha256 and (
        an is None or not an.transcript_id or an.transcript_id not in found)})
    by_sha: dict[str, Transcript] = {}
    for i in range(0, len(shas), _CHUNK):
        q = select(Transcript).where(col(Transcript.sha256).in_(shas[i:i + _CHUNK]))
        for tr in s.exec(q.order_by(col(Transcript.created_at), col(Transcript.id))):
            by_sha[tr.sha256] = tr  # ascending: the newest wins
    out: dict[int, Transcript] = {}
    for rec, an in pairs:
        t: Transcript | None = None
        if an is not None and an.transcript_id:
            t = found.get(an.transcript_id)
        if t is None:
            t = by_sha.get(rec.sha256)
        if t is not None and rec.id is not None:
            out[rec.id] = t
    return out
