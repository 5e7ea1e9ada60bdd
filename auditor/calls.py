"""The call list: recordings joined with their analysis and the latest human review.

One query serves ``calls``, ``show``, reports and exports, so that they all
use the *effective* verdict: the latest review if there is one, else the
automatic verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from auditor import store
from auditor.records import STAGES

# Worst first: what a head of sales should listen to before anything else.
VERDICT_RANK = {"missed_opportunity": 0, "incomplete": 1, "failed": 2, "ok": 3,
                "no_contact": 4, "exempt": 5}


@dataclass
class CallFilter:
    manager: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    verdict: str | None = None
    call_type: str | None = None
    short_below_s: float | None = None  # only calls shorter than this
    missing: str | None = None  # a stage name
    unreviewed: bool = False
    status: str | None = None  # done | failed | ...
    ids: list[int] | None = None


@dataclass
class CallRow:
    """One call as the reports and the review loop see it."""

    id: int
    path: str
    manager: str | None
    client: str | None
    started_at: datetime | None
    duration_s: float | None
    status: str
    error: str | None
    call_type: str | None = None
    verdict: str | None = None
    auto_call_type: str | None = None
    auto_verdict: str | None = None
    reason: str = ""
    stages_found: list[str] = field(default_factory=list)
    stages_missing: list[str] = field(default_factory=list)
    reviewed: bool = False
    reviewer: str | None = None
    review_note: str | None = None
    ruleset_version: str | None = None
    language: str | None = None

    @property
    def is_sales(self) -> bool:
        return self.call_type in ("new_client", "existing_client")

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["started_at"] = self.started_at.isoformat() if self.started_at else None
        return d


def _row(rec: store.Recording, an: store.Analysis | None, rv: store.Review | None) -> CallRow:
    row = CallRow(
        id=rec.id or 0, path=rec.path, manager=rec.manager, client=rec.client,
        started_at=rec.started_at, duration_s=rec.duration_s, status=rec.status, error=rec.error,
    )
    if an is not None:
        row.auto_call_type = row.call_type = an.call_type
        row.auto_verdict = row.verdict = an.verdict
        row.reason = an.reason
        row.stages_found = [s for s in an.stages_found.split(",") if s]
        row.ruleset_version = an.ruleset_version
        try:
            row.language = json.loads(an.details_json).get("language")
        except ValueError:
            row.language = None
    if rv is not None:
        row.reviewed = True
        row.verdict = rv.verdict
        row.call_type = rv.call_type or row.call_type
        row.reviewer = rv.reviewer
        row.review_note = rv.note
        found = set(row.stages_found)
        for stage, present in json.loads(rv.stages_json or "{}").items():
            if present:
                found.add(stage)
            else:
                found.discard(stage)
        row.stages_found = [s for s in STAGES if s in found]
        row.reason = f"reviewed: {rv.note}" if rv.note else "reviewed"
    if an is not None or rv is not None:
        row.stages_missing = [s for s in STAGES if s not in row.stages_found]
    if rec.status == "failed":
        row.verdict = row.verdict or "failed"
    return row


def _latest_reviews(s: Session, ids: list[int] | None) -> dict[int, store.Review]:
    q = select(store.Review).order_by(store.Review.created_at, store.Review.id)  # type: ignore[arg-type]
    if ids is not None:
        q = q.where(store.Review.recording_id.in_(ids))  # type: ignore[attr-defined]
    latest: dict[int, store.Review] = {}
    for rv in s.exec(q):
        latest[rv.recording_id] = rv  # ordered ascending: the last one wins
    return latest


def sort_key(row: CallRow) -> tuple[Any, ...]:
    return (
        VERDICT_RANK.get(row.verdict or "", 9),
        -len(row.stages_missing) if row.is_sales else 0,
        row.duration_s if row.duration_s is not None else 1e9,
        row.id,
    )


def query_calls(engine: Engine, f: CallFilter | None = None, worst_first: bool = True
                ) -> list[CallRow]:
    """Calls matching the filter, with effective (reviewed) verdicts."""
    f = f or CallFilter()
    with Session(engine) as s:
        q = select(store.Recording, store.Analysis).join(
            store.Analysis, store.Analysis.recording_id == store.Recording.id,  # type: ignore[arg-type]
            isouter=True,
        )
        R = store.Recording
        if f.manager:
            q = q.where(R.manager == f.manager)
        if f.date_from:
            q = q.where(R.started_at >= datetime.combine(f.date_from, time.min))  # type: ignore[operator]
        if f.date_to:
            q = q.where(R.started_at <= datetime.combine(f.date_to, time.max))  # type: ignore[operator]
        if f.status:
            q = q.where(R.status == f.status)
        if f.short_below_s is not None:
            q = q.where(R.duration_s < f.short_below_s)  # type: ignore[operator]
        if f.ids is not None:
            q = q.where(R.id.in_(f.ids))  # type: ignore[union-attr]
        pairs = list(s.exec(q))
        reviews = _latest_reviews(s, f.ids)
    rows = [_row(rec, an, reviews.get(rec.id or 0)) for rec, an in pairs]
    if f.verdict:
        rows = [r for r in rows if r.verdict == f.verdict]
    if f.call_type:
        rows = [r for r in rows if r.call_type == f.call_type]
    if f.missing:
        rows = [r for r in rows if r.is_sales and f.missing in r.stages_missing]
    if f.unreviewed:
        rows = [r for r in rows if not r.reviewed]
    rows.sort(key=sort_key if worst_first else (lambda r: (r.started_at or datetime.min, r.id)))
    return rows


def get_call(engine: Engine, call_id: int) -> CallRow | None:
    rows = query_calls(engine, CallFilter(ids=[call_id]))
    return rows[0] if rows else None
