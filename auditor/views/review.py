"""The human side of the audit: read one call with its evidence, record a decision.

Reviews are history: a new decision is a new row, never an update, and the
latest one is the effective verdict everywhere (see auditor.views.calls). The
automatic verdict at the time of the review is kept beside it, so a later
``rescore`` can tell which human decisions the new rules disagree with.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from auditor import store
from auditor.errors import InvalidReview, NotFoundError
from auditor.records import CALL_TYPES, STAGES, VERDICTS, CallAnalysis, Evidence, Segment
from auditor.records import Transcript as TranscriptDoc
from auditor.redact import redact_analysis, redact_segments, redact_text
from auditor.views.callrow import CallRow
from auditor.views.calls import get_call
from auditor.views.evidence import place

log = logging.getLogger(__name__)

_YES = ("yes", "y", "true", "1", "да")
_NO = ("no", "n", "false", "0", "нет")


@dataclass(frozen=True)
class ReviewEntry:
    """One human decision on a call, as kept in the history."""

    id: int
    recording_id: int
    created_at: datetime
    reviewer: str
    verdict: str
    call_type: str | None
    stages: dict[str, bool]
    note: str
    auto_verdict: str | None
    items: dict[str, bool] = field(default_factory=dict)  # checklist items corrected

    @classmethod
    def from_row(cls, rv: store.Review) -> ReviewEntry:
        return cls(
            id=rv.id or 0, recording_id=rv.recording_id, created_at=rv.created_at,
            reviewer=rv.reviewer, verdict=rv.verdict, call_type=rv.call_type,
            stages={k: bool(v) for k, v in json.loads(rv.stages_json or "{}").items()},
            note=rv.note, auto_verdict=rv.auto_verdict,
            items={k: bool(v) for k, v in json.loads(rv.items_json or "{}").items()},
        )

    def redacted(self) -> ReviewEntry:
        """The entry with personal data in the note masked."""
        return replace(self, note=redact_text(self.note))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "recording_id": self.recording_id,
            "created_at": self.created_at.isoformat(), "reviewer": self.reviewer,
            "verdict": self.verdict, "call_type": self.call_type, "stages": self.stages,
            "note": self.note, "auto_verdict": self.auto_verdict, "items": self.items,
        }


@dataclass(frozen=True)
class Mark:
    """A piece of evidence placed in a segment: which stage, and where the quote sits.

    ``start``/``end`` are character offsets in the segment text; both are -1
    when the quote could not be located and the whole segment is the evidence.
    """

    label: str  # a stage name, or "call_type"
    quote: str
    cue: str
    start: int = -1
    end: int = -1

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "quote": self.quote, "cue": self.cue,
                "start": self.start, "end": self.end}


@dataclass
class SegmentView:
    index: int
    segment: Segment
    marks: list[Mark] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, **self.segment.to_dict(),
                "marks": [m.to_dict() for m in self.marks]}


@dataclass
class CallDetail:
    """Everything ``show`` needs about one call."""

    call: CallRow
    analysis: CallAnalysis | None
    transcript: TranscriptDoc | None
    segments: list[SegmentView]
    reviews: list[ReviewEntry]

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call.to_dict(),
            "analysis": self.analysis.to_dict() if self.analysis else None,
            "reviews": [r.to_dict() for r in self.reviews],
            "transcript": None if self.transcript is None else {
                "language": self.transcript.language,
                "model": self.transcript.model,
                "channels": [c.to_dict() for c in self.transcript.channels],
                "dropped": [seg.to_dict() for seg in self.transcript.dropped],
                "segments": [v.to_dict() for v in self.segments],
            },
        }


@dataclass
class ReviewOutcome:
    review: ReviewEntry
    call: CallRow  # the call with its new effective verdict
    warnings: list[str] = field(default_factory=list)

    def redacted(self) -> ReviewOutcome:
        return replace(self, review=self.review.redacted(), call=self.call.redacted())


# --- reading ---------------------------------------------------------------


def review_history(engine: Engine, call_id: int) -> list[ReviewEntry]:
    """Every review of a call, oldest first (the last one is effective)."""
    with Session(engine) as s:
        rows = s.exec(
            select(store.Review).where(store.Review.recording_id == call_id)
            .order_by(store.Review.created_at, store.Review.id)  # type: ignore[arg-type]
        ).all()
        return [ReviewEntry.from_row(r) for r in rows]


def call_detail(engine: Engine, call_id: int, redact: bool = False) -> CallDetail:
    """One call with its analysis, transcript (evidence placed) and review history.

    With ``redact``, personal data is masked in everything the detail holds;
    the evidence is placed in the redacted transcript.
    """
    row = get_call(engine, call_id, redact=redact)
    if row is None:
        raise NotFoundError(f"no call with id {call_id}; list them with 'auditor calls'")
    with Session(engine) as s:
        rec = s.get(store.Recording, call_id)
        an = store.find_analysis(s, call_id)
        analysis = an.details if an is not None else None
        stored = store.transcripts_for(s, [(rec, an)]).get(call_id) if rec is not None else None
        doc = stored.to_doc() if stored is not None else None
    if doc is not None and row.duration_s is not None:
        doc.duration_s = row.duration_s
    reviews = review_history(engine, call_id)
    if redact:
        analysis = redact_analysis(analysis) if analysis is not None else None
        if doc is not None:
            doc.segments = redact_segments(doc.segments)
            doc.dropped = redact_segments(doc.dropped)
        reviews = [r.redacted() for r in reviews]
    segments = place_evidence(doc.segments if doc else [], analysis)
    return CallDetail(call=row, analysis=analysis, transcript=doc, segments=segments,
                      reviews=reviews)


def _evidence(analysis: CallAnalysis) -> list[tuple[str, Evidence]]:
    out = [(stage, ev) for stage in STAGES if stage in analysis.stages
           and analysis.stages[stage].found for ev in analysis.stages[stage].evidence]
    out += [("call_type", ev) for ev in analysis.call_type_evidence]
    return out


def place_evidence(segments: list[Segment], analysis: CallAnalysis | None) -> list[SegmentView]:
    """Attach each piece of evidence to the segment it was quoted from.

    See :func:`auditor.views.evidence.place`: the segment near it that quotes
    it, else any that does, else the one that overlaps it most (marked as a whole).
    """
    views = [SegmentView(i, seg) for i, seg in enumerate(segments)]
    if analysis is None or not segments:
        return views
    for label, ev in _evidence(analysis):
        at = place(segments, ev)
        if at is not None:
            views[at.segment].marks.append(Mark(label, ev.quote, ev.cue, at.start, at.end)
                                           if at.exact else Mark(label, ev.quote, ev.cue))
    return views


# --- writing ---------------------------------------------------------------


def parse_stage_flags(values: list[str] | None, option: str = "--stage",
                      names: tuple[str, ...] | None = STAGES) -> dict[str, bool]:
    """'needs=yes', 'next_step=no' -> {'needs': True, 'next_step': False}.

    ``names=None`` takes any name (checklist items, checked against the call later).
    """
    stages: dict[str, bool] = {}
    what = option.lstrip("-").upper()
    for raw in values or []:
        name, sep, answer = raw.partition("=")
        name, answer = name.strip(), answer.strip().lower()
        if not sep or not name or (names is not None and name not in names):
            known = f" with {what} one of {', '.join(names)}" if names is not None else ""
            raise InvalidReview(f"{option} must be {what}=yes|no{known}; got {raw!r}")
        if answer in _YES:
            stages[name] = True
        elif answer in _NO:
            stages[name] = False
        else:
            raise InvalidReview(f"{option} {name}= must be yes or no; got {answer!r}")
    return stages


def _consistency(verdict: str, call_type: str | None, stages: dict[str, bool],
                 auto_type: str | None, auto_found: list[str]) -> list[str]:
    """Ways a decision contradicts the labelling rules; told, never refused."""
    warnings = []
    ctype = call_type or auto_type
    expected = {"post_sale": "exempt", "no_contact": "no_contact"}.get(ctype or "")
    if expected and verdict != expected:
        warnings.append(f"a {ctype} call is normally '{expected}', not '{verdict}'")
    if ctype in ("new_client", "existing_client") and verdict in ("exempt", "no_contact"):
        hint = "post_sale" if verdict == "exempt" else "no_contact"
        warnings.append(f"verdict '{verdict}' with call type '{ctype}': consider --type {hint}")
    found = (set(auto_found) | {s for s, v in stages.items() if v}) - {
        s for s, v in stages.items() if not v}
    if verdict == "ok" and ctype in ("new_client", "existing_client") and set(STAGES) - found:
        missing = ", ".join(s for s in STAGES if s not in found)
        warnings.append(f"verdict 'ok' while stages are missing: {missing} "
                        f"(mark them with --stage STAGE=yes if they were there)")
    return warnings


def add_review(
    engine: Engine,
    call_id: int,
    verdict: str,
    note: str,
    reviewer: str,
    call_type: str | None = None,
    stages: dict[str, bool] | None = None,
    items: dict[str, bool] | None = None,
    account_id: int | None = None,
) -> ReviewOutcome:
    """Record a human decision on a call; earlier decisions stay in the history.

    ``items`` correct checklist items (their keys: the call's checklist); the
    score follows them, and the stage answers, in every list and report.
    ``account_id``: the web account that decided (``auditor serve``), kept with the review.
    """
    if verdict not in VERDICTS:
        raise InvalidReview(f"verdict must be one of {', '.join(VERDICTS)}; got {verdict!r}")
    if call_type is not None and call_type not in CALL_TYPES:
        raise InvalidReview(f"call type must be one of {', '.join(CALL_TYPES)}; got {call_type!r}")
    stages = dict(stages or {})
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise InvalidReview(f"unknown stage {unknown[0]!r}; stages are {', '.join(STAGES)}")
    if not note.strip():
        raise InvalidReview("a review needs a note: say why, for whoever reads it next")
    if not reviewer.strip():
        raise InvalidReview("a review needs a reviewer name (--reviewer)")
    before = get_call(engine, call_id)
    if before is None:
        raise NotFoundError(f"no call with id {call_id}; list them with 'auditor calls'")
    warnings = _consistency(verdict, call_type, stages, before.auto_call_type,
                            _auto_stages(engine, call_id))
    items = dict(items or {})
    if items:
        _check_items(engine, call_id, items)
    with store.session(engine) as s:
        rv = store.Review(
            recording_id=call_id, verdict=verdict, call_type=call_type,
            stages_json=json.dumps(stages, ensure_ascii=False),
            items_json=json.dumps(items, ensure_ascii=False), note=note.strip(),
            reviewer=reviewer.strip(), auto_verdict=before.auto_verdict, account_id=account_id,
        )
        s.add(rv)
        s.commit()
        entry = ReviewEntry.from_row(rv)
    log.info("call %s reviewed by %s: %s", call_id, entry.reviewer, verdict)
    after = get_call(engine, call_id)
    assert after is not None
    return ReviewOutcome(review=entry, call=after, warnings=warnings)


def _check_items(engine: Engine, call_id: int, items: dict[str, bool]) -> None:
    with Session(engine) as s:
        an = store.find_analysis(s, call_id)
        keys = [i.key for i in an.details.checklist] if an is not None else []
    if not keys:
        raise InvalidReview(f"call {call_id} has no checklist score to correct (only judged "
                            "sales calls are scored)")
    unknown = [k for k in items if k not in keys]
    if unknown:
        raise InvalidReview(f"unknown checklist item {unknown[0]!r}; this call's items are "
                            f"{', '.join(keys)}")


def _auto_stages(engine: Engine, call_id: int) -> list[str]:
    with Session(engine) as s:
        an = store.find_analysis(s, call_id)
        return [x for x in (an.stages_found if an else "").split(",") if x]
