"""The SQLModel tables: recordings, transcripts, analyses, reviews, accounts, the schema version.

A transcript is kept once per (audio hash, model, language); an analysis per
recording names the transcript and ruleset it was made from; reviews are
history, the latest one wins. Bump SCHEMA_VERSION with a step in
:mod:`auditor.store.migrations`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from pydantic import NaiveDatetime
from sqlalchemy import Column, Float, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from auditor.records import CallAnalysis, ChannelStats, Segment
from auditor.records import Transcript as TranscriptDoc

log = logging.getLogger(__name__)

# 2: transcript.quality_json (channel coverage, dropped segments), analysis.confidence
# 3: recording rows unique by (path, sha256), not path: redacted paths can coincide
# 4: analysis.score (sorting, filtering) and metrics_json (the conversation metrics), review.items_json
# 5: accounts of the web app (auditor serve); review.account_id names the one who decided
SCHEMA_VERSION = 5


def utcnow() -> datetime:
    """Naive UTC: stored times carry no zone (recordings' start times are local wall time)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself (schema version)."""

    key: str = Field(primary_key=True)
    value: str


class Recording(SQLModel, table=True):
    """One audio file as found on disk, with who/when and its audit status.

    ``path`` is the file's absolute path, or under ``audit --redact`` the path
    with phone numbers masked: two files can then share it, so a row is unique
    by path and audio hash together (see auditor.store.recordings.find_row).
    """

    __table_args__ = (Index("ux_recording_path_sha256", "path", "sha256", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(index=True)
    sha256: str = Field(index=True)
    size: int = 0
    duration_s: float | None = None
    channels: int | None = None
    sample_rate: int | None = None
    manager: str | None = Field(default=None, index=True)
    client: str | None = None
    started_at: NaiveDatetime | None = Field(default=None, index=True)
    direction: str | None = None
    status: str = Field(default="pending", index=True)  # pending|running|done|failed
    error: str | None = None
    claimed_by: str | None = None
    claimed_at: NaiveDatetime | None = None
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)


class Transcript(SQLModel, table=True):
    """A transcript, computed once per (audio hash, model, language) and kept."""

    __table_args__ = (UniqueConstraint("sha256", "model", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    recording_id: int | None = Field(default=None, foreign_key="recording.id", index=True)
    sha256: str = Field(index=True)
    model: str
    language: str
    mode: str = "mono"  # stereo (speaker by channel) or mono
    duration_s: float = 0.0
    segments_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    # What the recogniser saw per channel and the segments the hallucination
    # guards dropped: {"channels": [...], "dropped": [...]}.
    quality_json: str = Field(default="{}", sa_column=Column(Text, nullable=False,
                                                             server_default="{}"))
    asr_seconds: float = 0.0
    created_at: NaiveDatetime = Field(default_factory=utcnow)

    @property
    def segments(self) -> list[Segment]:
        return [Segment.from_dict(d) for d in json.loads(self.segments_json)]

    @property
    def channels(self) -> list[ChannelStats]:
        return [ChannelStats.from_dict(d)
                for d in json.loads(self.quality_json or "{}").get("channels", [])]

    @property
    def dropped(self) -> list[Segment]:
        return [Segment.from_dict(d)
                for d in json.loads(self.quality_json or "{}").get("dropped", [])]

    def to_doc(self) -> TranscriptDoc:
        return TranscriptDoc(
            segments=self.segments,
            language=self.language,
            duration_s=self.duration_s,
            model=self.model,
            channels=self.channels,
            dropped=self.dropped,
        )


class Analysis(SQLModel, table=True):
    """The automatic analysis of a recording with the ruleset that made it."""

    id: int | None = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recording.id", index=True, unique=True)
    transcript_id: int | None = Field(default=None, foreign_key="transcript.id")
    ruleset_version: str
    call_type: str = Field(index=True)
    verdict: str = Field(index=True)
    reason: str = ""
    stages_found: str = ""  # comma-separated, for filtering in SQL
    stages_missing: str = ""
    confidence: float = Field(default=1.0, sa_column=Column(Float, nullable=False,
                                                            server_default="1.0"))
    # The checklist score (None: not a scored call) and the conversation metrics
    # (records.CallMetrics; also in details_json, kept apart for lists and reports).
    score: float | None = Field(default=None, sa_column=Column(Float, nullable=True, index=True))
    metrics_json: str = Field(default="{}", sa_column=Column(Text, nullable=False,
                                                             server_default="{}"))
    details_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: NaiveDatetime = Field(default_factory=utcnow)

    @property
    def details(self) -> CallAnalysis:
        return CallAnalysis.from_dict(json.loads(self.details_json))


class Review(SQLModel, table=True):
    """A human decision on a call; kept as history, the latest one wins."""

    id: int | None = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recording.id", index=True)
    verdict: str
    call_type: str | None = None
    stages_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # Checklist items the reviewer corrected: {"greeting": false}.
    items_json: str = Field(default="{}", sa_column=Column(Text, nullable=False,
                                                           server_default="{}"))
    note: str = ""
    reviewer: str = ""
    auto_verdict: str | None = None  # the automatic verdict at the time of review
    # The web account that made it (auditor serve); None from the command line.
    account_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class Account(SQLModel, table=True):
    """Someone who may sign in to the web app: a reviewer (may decide) or a viewer (may read).

    Only a salted KDF hash of the password is kept (see auditor.web.accounts).
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    role: str = "viewer"  # reviewer | viewer
    password_hash: str
    created_at: NaiveDatetime = Field(default_factory=utcnow)
