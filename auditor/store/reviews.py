"""Reviews: the human decisions on calls, kept as history; the latest one wins."""

from __future__ import annotations

from sqlmodel import Session, select

from auditor.store.tables import Review


def latest_reviews_and_counts(s: Session, ids: list[int] | None
                   ) -> tuple[dict[int, Review], dict[int, int]]:
    """The latest review per recording, and how many reviews each has."""
    q = select(Review).order_by(Review.created_at, Review.id)  # type: ignore[arg-type]
    if ids is not None:
        q = q.where(Review.recording_id.in_(ids))  # type: ignore[attr-defined]
    latest: dict[int, Review] = {}
    counts: dict[int, int] = {}
    for rv in s.exec(q):
        latest[rv.recording_id] = rv  # ordered ascending: the last one wins
        counts[rv.recording_id] = counts.get(rv.recording_id, 0) + 1
    return latest, counts


def latest_reviews(s: Session, ids: list[int] | None = None) -> dict[int, Review]:
    """The effective (latest) review of each recording that has one."""
    return latest_reviews_and_counts(s, ids)[0]
