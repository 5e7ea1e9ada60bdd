"""Analyses: the automatic verdict of a recording, one row each, replaced on rescore."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from auditor.records import CallAnalysis
from auditor.store.tables import Analysis, utcnow


def find_analysis(s: Session, recording_id: int) -> Analysis | None:
    """The stored analysis of a recording, if any."""
    return s.exec(select(Analysis).where(Analysis.recording_id == recording_id)).first()


def save_analysis(
    s: Session, recording_id: int, transcript_id: int | None, result: CallAnalysis
) -> Analysis:
    """Insert or replace the automatic analysis of a recording."""
    row = find_analysis(s, recording_id)
    if row is None:
        row = Analysis(recording_id=recording_id, ruleset_version=result.ruleset_version,
                       call_type=result.call_type, verdict=result.verdict)
    row.transcript_id = transcript_id
    row.ruleset_version = result.ruleset_version
    row.call_type = result.call_type
    row.verdict = result.verdict
    row.reason = result.reason
    row.stages_found = ",".join(result.stages_found)
    row.stages_missing = ",".join(result.stages_missing)
    row.confidence = result.confidence
    row.score = result.score
    row.metrics_json = json.dumps(result.metrics.to_dict() if result.metrics else {},
                                  ensure_ascii=False)
    row.details_json = json.dumps(result.to_dict(), ensure_ascii=False)
    row.created_at = utcnow()
    s.add(row)
    s.flush()
    return row
