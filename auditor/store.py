"""SQLModel tables and the functions that read and write them.

SQLite by default (WAL, busy timeout, so an overnight audit and a report can
run side by side); any SQLAlchemy URL works. Every recording is committed as
soon as it is done, so a killed run loses at most the one in flight.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import Column, Float, Index, Text, UniqueConstraint, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from auditor.errors import StoreError
from auditor.records import CallAnalysis, ChannelStats, Segment
from auditor.records import Transcript as TranscriptDoc

log = logging.getLogger(__name__)

# 2: transcript.quality_json (channel coverage, dropped segments), analysis.confidence
# 3: recording rows unique by (path, sha256), not path: redacted paths can coincide
SCHEMA_VERSION = 3


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
    by path and audio hash together (see pipeline.Auditor._find_row).
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
    note: str = ""
    reviewer: str = ""
    auto_verdict: str | None = None  # the automatic verdict at the time of review
    created_at: NaiveDatetime = Field(default_factory=utcnow)


def database_url(db: str) -> str:
    """A path becomes a sqlite URL; anything with '://' is taken as a URL."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(db: str) -> Engine:
    """Open (and create or migrate) the database; an engine factory, no globals."""
    url = database_url(db)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:" and not Path(path).parent.exists():
            raise StoreError(f"database folder does not exist: {Path(path).parent}")
    try:
        engine = create_engine(url, **kwargs)
    except Exception as e:  # bad URL, missing driver
        raise StoreError(f"cannot open database {db!r}: {e}") from None
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    init_schema(engine)
    return engine


def init_schema(engine: Engine) -> None:
    """Create tables, record or check the schema version, run migrations."""
    from auditor.migrations import migrate

    try:
        _create_tables(engine)
        with Session(engine) as s:
            row = s.get(Meta, "schema_version")
            if row is None:
                s.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
                try:
                    s.commit()
                except IntegrityError:  # a concurrent run recorded it first
                    s.rollback()
                return
            current = int(row.value)
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"database schema version {current} is newer than this auditor "
                f"understands ({SCHEMA_VERSION}); upgrade auditor"
            )
        if current < SCHEMA_VERSION:
            migrate(engine, current, SCHEMA_VERSION)
    except StoreError:
        raise
    except Exception as e:
        raise StoreError(f"cannot use database: {str(e).splitlines()[0]}") from None


def _create_tables(engine: Engine, attempts: int = 5) -> None:
    """create_all, tolerating a concurrent run that creates the same tables first."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(attempts):
        try:
            SQLModel.metadata.create_all(engine)
            return
        except OperationalError as e:
            if "already exists" not in str(e) or attempt == attempts - 1:
                raise


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


# --- reads and writes used by the pipeline ---------------------------------


def find_transcript(s: Session, sha256: str, model: str, language: str) -> Transcript | None:
    return s.exec(
        select(Transcript).where(
            Transcript.sha256 == sha256, Transcript.model == model, Transcript.language == language
        )
    ).first()


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


def save_analysis(
    s: Session, recording_id: int, transcript_id: int | None, result: CallAnalysis
) -> Analysis:
    """Insert or replace the automatic analysis of a recording."""
    row = s.exec(select(Analysis).where(Analysis.recording_id == recording_id)).first()
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
    row.details_json = json.dumps(result.to_dict(), ensure_ascii=False)
    row.created_at = utcnow()
    s.add(row)
    s.flush()
    return row


def latest_review(s: Session, recording_id: int) -> Review | None:
    return s.exec(
        select(Review)
        .where(Review.recording_id == recording_id)
        .order_by(col(Review.created_at).desc(), col(Review.id).desc())
    ).first()
