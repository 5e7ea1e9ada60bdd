"""The audit of one recording: hash -> cached or new transcript -> analysis -> store.

A transcript is keyed by (audio sha256, model, language): the same audio under
a new name is not transcribed twice, and a stored analysis is redone only
when the transcript or the ruleset changed. Each recording is committed as
soon as it is done, so a killed run loses at most the recording in flight.

With ``Settings.redact`` nothing stored holds a client's number: not the
transcript, the client column, the file path (PBX names carry the number)
nor the error. The SQL is in :mod:`auditor.store.recordings`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from auditor import store
from auditor.config import Settings
from auditor.errors import AuditorError, ModelError
from auditor.records import AudioInfo, CallAnalysis, RecordingInfo, Transcript
from auditor.redact import redact_path, redact_segments
from auditor.speech.audio import file_sha256
from auditor.speech.transcriber import Transcriber
from auditor.store import recordings

log = logging.getLogger(__name__)

Analyzer = Callable[[Transcript, Settings], CallAnalysis]


@dataclass
class AuditItem:
    """The outcome for one recording, for the end-of-run table."""

    path: Path
    recording_id: int | None
    manager: str | None
    status: str  # done | failed | busy
    duration_s: float | None = None
    call_type: str | None = None
    verdict: str | None = None
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    transcribed: bool = False  # False when the transcript came from the cache


class Timings:
    """Seconds per phase, added to from several threads.

    "files" is the sum of per-file times (several run at once), "files_wall"
    the wall time of that phase, "workers" files at once.
    """

    def __init__(self) -> None:
        self.values: dict[str, float] = {"hash": 0.0, "probe": 0.0, "asr": 0.0, "analysis": 0.0,
                                         "store": 0.0, "files": 0.0, "files_wall": 0.0,
                                         "workers": 1.0}
        self._lock = threading.Lock()

    def add(self, key: str, seconds: float) -> None:
        with self._lock:
            self.values[key] += seconds


def default_analyzer(doc: Transcript, settings: Settings) -> CallAnalysis:
    from auditor.analysis import analyze

    return analyze(doc, settings)


class FileAudit:
    """Audits one recording at a time against one database; thread-safe."""

    def __init__(self, settings: Settings, engine: Engine,
                 transcriber: Callable[[], Transcriber], model_id: Callable[[], str],
                 analyzer: Analyzer, timings: Timings) -> None:
        self.settings = settings
        self.engine = engine
        self._transcriber = transcriber
        self._model_id = model_id
        self.analyzer = analyzer
        self.timings = timings
        self.owner = recordings.run_owner()
        self._analysis_lock = threading.Lock()

    def __call__(self, rec: RecordingInfo, info: AudioInfo | None, probe_error: str | None
                 ) -> AuditItem:
        """The outcome of one recording; raises only ModelError (and BaseExceptions)."""
        redact = self.settings.redact
        item = AuditItem(path=rec.path, recording_id=None, manager=rec.manager, status="failed")
        try:
            t0 = time.perf_counter()
            sha = file_sha256(rec.path)
            size = rec.path.stat().st_size
            self.timings.add("hash", time.perf_counter() - t0)
        except OSError as e:
            item.error = self._shown(f"cannot read file: {e.strerror or e}", rec)
            with Session(self.engine) as s:
                recordings.record_unreadable(s, rec, item.error, redact)
            return item
        with Session(self.engine, expire_on_commit=False) as s:
            row = recordings.upsert_recording(s, rec, sha, size, info, redact)
            item.recording_id = row.id
            item.duration_s = row.duration_s
            if info is None:
                recordings.mark_failed(s, row, self._shown(probe_error or "unreadable audio", rec))
                item.error = row.error
                return item
            try:
                try:
                    return self._process(s, row, rec, info, item)
                except IntegrityError:
                    # a concurrent run stored the same transcript or analysis first
                    s.rollback()
                    return self._process(s, row, rec, info, item)
            except ModelError:
                # Not this recording's fault: the audit stops as a whole and the
                # recording is left for the next run instead of stored as failed.
                s.rollback()
                recordings.release(s, item.recording_id, self.owner)
                raise
            except AuditorError as e:
                s.rollback()
                row = s.get(store.Recording, item.recording_id) or row
                recordings.mark_failed(s, row, self._shown(str(e), rec))
                item.status, item.error = "failed", row.error
                return item
            except Exception as e:  # one file must never stop the batch
                log.exception("unexpected error on %s", rec.path)
                s.rollback()
                row = s.get(store.Recording, item.recording_id) or row
                recordings.mark_failed(s, row, self._shown(f"internal error: {err_text(e)}", rec))
                item.status, item.error = "failed", row.error
                return item

    def _process(
        self, s: Session, row: store.Recording, rec: RecordingInfo, info: AudioInfo,
        item: AuditItem,
    ) -> AuditItem:
        model_id = self._model_id()
        language = self.settings.language_for(rec.manager, rec.language)
        transcript = store.find_transcript(s, row.sha256, model_id, language)
        if transcript is None:
            if not recordings.claim(s, row, self.owner):
                item.status = "busy"
                item.error = "being transcribed by another run"
                return item
            transcript = store.find_transcript(s, row.sha256, model_id, language)
        if transcript is None:
            t0 = time.perf_counter()
            doc, mode = self._transcriber().transcribe(rec.path, info, language)
            if self.settings.redact:
                doc = redact_transcript(doc)
            asr_s = time.perf_counter() - t0
            self.timings.add("asr", asr_s)
            t0 = time.perf_counter()
            transcript = store.save_transcript(s, row, doc, mode, asr_s)
            s.commit()
            self.timings.add("store", time.perf_counter() - t0)
            item.transcribed = True
        doc = transcript.to_doc()
        doc.duration_s = info.duration_s
        doc.source = str(rec.path)
        existing = store.find_analysis(s, row.id or 0)
        if existing is not None and existing.transcript_id == transcript.id and not item.transcribed:
            result = existing.details
            if result.ruleset_version != _ruleset_version(doc.language, self.settings):
                result = self._analyze(doc)
                store.save_analysis(s, row.id or 0, transcript.id, result)
        else:
            result = self._analyze(doc)
            t0 = time.perf_counter()
            store.save_analysis(s, row.id or 0, transcript.id, result)
            self.timings.add("store", time.perf_counter() - t0)
        recordings.mark_done(s, row)
        item.status = "done"
        item.call_type = result.call_type
        item.verdict = result.verdict
        item.missing = result.stages_missing if result.call_type in ("new_client",
                                                                     "existing_client") else []
        return item

    def _analyze(self, doc: Transcript) -> CallAnalysis:
        with self._analysis_lock:  # pure Python (no gain from threads); spaCy loads once
            t0 = time.perf_counter()
            result = self.analyzer(doc, self.settings)
            self.timings.add("analysis", time.perf_counter() - t0)
        return result

    def _shown(self, text: str, rec: RecordingInfo) -> str:
        """Text to store about a recording (an error may quote its path): masked under redact."""
        return redact_path(text, rec.client) if self.settings.redact else text


def redact_transcript(doc: Transcript) -> Transcript:
    """Personal data masked in what is stored: the segments and those the guards dropped."""
    doc.segments = redact_segments(doc.segments)
    doc.dropped = redact_segments(doc.dropped)
    return doc


def _ruleset_version(language: str, settings: Settings) -> str:
    from auditor.analysis import ruleset_version

    return ruleset_version(language, settings)


def err_text(e: BaseException) -> str:
    """The first line of an error, for a stored message."""
    if isinstance(e, OSError) and e.strerror:
        return f"cannot read file: {e.strerror}"
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
