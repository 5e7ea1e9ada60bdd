"""A call as every view sees it (CallRow), the filter that selects calls, and their order.

Plain data, no I/O and no ORM: the KPIs and report formats work on these
rows; :mod:`auditor.views.calls` fills them from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from auditor.records import CallMetrics
from auditor.redact import mask_phone, redact_path, redact_text

# Worst first: what a head of sales should listen to before anything else.
VERDICT_RANK = {"missed_opportunity": 0, "incomplete": 1, "inconclusive": 2, "failed": 3, "ok": 4,
                "no_contact": 5, "exempt": 6}


REVIEW_VERDICTS = ("missed_opportunity", "incomplete", "ok", "inconclusive")


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
    min_score: float | None = None  # only scored calls within these (checklist score)
    max_score: float | None = None
    status: str | None = None  # done | failed | ...
    ids: list[int] | None = None
    # Automatic sales-call verdicts and inconclusive calls nobody has reviewed,
    # the least sure first: where a reviewer's ear is worth most.
    needs_review: bool = False


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
    reviewed_at: datetime | None = None
    review_count: int = 0
    transcript_id: int | None = None
    # The least-heard channel's share of its sound that reached the recogniser.
    speech_coverage: float | None = None
    confidence: float | None = None  # of the automatic analysis
    # The checklist score (a review's corrections applied; None: not scored)
    # and the conversation metrics (``estimate``: inferred speakers, mono).
    score: float | None = None
    auto_score: float | None = None
    metrics: CallMetrics | None = None

    @property
    def talk_share(self) -> float | None:
        """The manager's share of the talk time, %."""
        return self.metrics.manager_talk_pct if self.metrics is not None else None

    @property
    def mono(self) -> bool:
        return self.metrics is not None and self.metrics.estimate

    @property
    def is_sales(self) -> bool:
        return self.call_type in ("new_client", "existing_client")

    @property
    def overridden(self) -> bool:
        """A human review set a verdict other than the automatic one."""
        return self.reviewed and self.verdict != self.auto_verdict

    def redacted(self) -> CallRow:
        """A copy fit to show to someone who must not see clients' contacts.

        The client number is masked, phone numbers in the file path and the
        error (which quotes paths), and phone numbers, card numbers and e-mails
        in the reason and the review note.
        """
        return replace(
            self, client=mask_phone(self.client), path=redact_path(self.path, self.client),
            reason=redact_text(self.reason),
            review_note=None if self.review_note is None else redact_text(self.review_note),
            error=None if self.error is None else redact_path(self.error, self.client),
        )

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["started_at"] = self.started_at.isoformat() if self.started_at else None
        d["reviewed_at"] = self.reviewed_at.isoformat() if self.reviewed_at else None
        d["metrics"] = self.metrics.to_dict() if self.metrics is not None else None
        d["talk_share"] = self.talk_share
        return d


def score_key(row: CallRow) -> tuple[Any, ...]:
    """Lowest checklist score first; unscored calls last."""
    return (row.score is None, row.score if row.score is not None else 0.0, sort_key(row))


def sort_key(row: CallRow) -> tuple[Any, ...]:
    return (
        VERDICT_RANK.get(row.verdict or "", 9),
        -len(row.stages_missing) if row.is_sales else 0,
        row.duration_s if row.duration_s is not None else 1e9,
        row.id,
    )
