"""The audit: intake -> probe -> ASR (cached by content hash) -> analysis -> store.

Each recording is committed as soon as it is done, so a killed run loses at
most the recording in flight, and a re-run redoes nothing that was finished.
A transcript is keyed by (audio sha256, model, language): the same audio under
a new name is not transcribed twice.

With ``Settings.redact`` nothing stored holds a client's number: not the
transcript, the client column, the file path (PBX names carry the number)
nor the error. A recording's row is then found again by its masked path and
its audio hash, which is all the database keeps of it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from auditor import store
from auditor.config import Settings
from auditor.errors import AudioError, AuditorError, ModelError
from auditor.ingest.discovery import Discovery, discover
from auditor.records import (
    AudioInfo,
    CallAnalysis,
    RecordingInfo,
    Transcript,
)
from auditor.redact import mask_phone, redact_path, redact_segments
from auditor.speech.audio import file_sha256, probe
from auditor.speech.transcriber import Transcriber

log = logging.getLogger(__name__)

# A claim older than this is taken to belong to a run that died.
STALE_CLAIM = timedelta(minutes=30)


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


@dataclass
class AuditSummary:
    items: list[AuditItem] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)
    not_short: int = 0
    interrupted: bool = False
    wall_s: float = 0.0
    audio_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[AuditItem]:
        return [i for i in self.items if i.status == "failed"]

    @property
    def transcribed(self) -> int:
        return sum(1 for i in self.items if i.transcribed)


class Events(Protocol):
    """What the audit reports while it runs (the CLI draws a progress bar from it)."""

    def started(self, total: int, audio_s: float) -> None: ...
    def file_started(self, path: Path) -> None: ...
    def file_done(self, item: AuditItem) -> None: ...


class NoEvents:
    def started(self, total: int, audio_s: float) -> None:
        pass

    def file_started(self, path: Path) -> None:
        pass

    def file_done(self, item: AuditItem) -> None:
        pass


def default_analyzer(doc: Transcript, settings: Settings) -> CallAnalysis:
    from auditor.analysis import analyze

    return analyze(doc, settings)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str | None) -> bool:
    """A claim by a process of this host that no longer exists (a killed run)."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Auditor:
    """Runs the audit of a folder against one database."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        transcriber: Transcriber | None = None,
        analyzer: Analyzer = default_analyzer,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self._transcriber = transcriber
        self.analyzer = analyzer
        self.owner = _owner()
        # seconds; "files" is the sum of per-file times (several run at once),
        # "files_wall" the wall time of that phase, "workers" files at once
        self.timings: dict[str, float] = {"hash": 0.0, "probe": 0.0, "asr": 0.0,
                                          "analysis": 0.0, "store": 0.0, "files": 0.0,
                                          "files_wall": 0.0, "workers": 1.0}
        self._timings_lock = threading.Lock()
        self._analysis_lock = threading.Lock()

    @property
    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            from auditor.speech.transcriber import WhisperTranscriber

            self._transcriber = WhisperTranscriber(self.settings)
        return self._transcriber

    @property
    def model_id(self) -> str:
        if self._transcriber is not None:
            return self._transcriber.model_id
        from auditor.speech.model import model_id

        return model_id(self.settings.model)

    def run(
        self,
        root: Path,
        events: Events | None = None,
        stop: threading.Event | None = None,
        only_short: bool = False,
        found: Discovery | None = None,
    ) -> AuditSummary:
        """Audit every recording under root; never raises for one bad file."""
        events = events or NoEvents()
        t_start = time.perf_counter()
        found = found or discover(root)
        summary = AuditSummary(skipped=found.skipped, problems=found.problems)
        probed: list[tuple[RecordingInfo, AudioInfo | None, str | None]] = []
        for rec in found.recordings:
            t0 = time.perf_counter()
            try:
                info: AudioInfo | None = probe(rec.path)
                err = None
            except (AudioError, OSError) as e:
                info, err = None, _err_text(e)
            self._add("probe", time.perf_counter() - t0)
            if only_short and info is not None and info.duration_s >= self.settings.short_call_s:
                summary.not_short += 1
                continue
            probed.append((rec, info, err))
        events.started(len(probed), sum(i.duration_s for _, i, _ in probed if i))

        # An exception that escapes a file (KeyboardInterrupt, SystemExit; errors of one
        # file are recorded by _one) stops the batch: no new file starts.
        aborted = threading.Event()

        def job(rec: RecordingInfo, info: AudioInfo | None, err: str | None) -> AuditItem | None:
            if aborted.is_set() or (stop is not None and stop.is_set()):
                return None
            events.file_started(rec.path)
            t0 = time.perf_counter()
            try:
                item = self._one(rec, info, err)
            except BaseException:
                aborted.set()
                raise
            finally:
                self._add("files", time.perf_counter() - t0)
            events.file_done(item)
            return item

        # Files side by side, as many as the transcriber runs well at once (one
        # CTranslate2 worker each, Settings.asr_workers): on a small CPU whole
        # files in parallel use the cores better than one file on all of them.
        # A transcriber without a `workers` attribute is run one file at a time.
        workers = getattr(self.transcriber, "workers", 1) if probed else 1
        self.timings["workers"] = float(workers)
        t_files = time.perf_counter()
        if workers > 1 and len(probed) > 1:
            from concurrent.futures import ThreadPoolExecutor

            # longest first, so that no worker is left alone with a long call at the end
            def length(i: int) -> float:
                info = probed[i][1]
                return info.duration_s if info is not None else 0.0

            order = sorted(range(len(probed)), key=length, reverse=True)
            with ThreadPoolExecutor(workers, thread_name_prefix="audit") as pool:
                done = dict(zip(order, pool.map(lambda i: job(*probed[i]), order)))
            results = [done[i] for i in range(len(probed))]
        else:
            results = []
            for p in probed:
                results.append(job(*p))
                if results[-1] is None:
                    break
        self._add("files_wall", time.perf_counter() - t_files)
        for (_, info, _), item in zip(probed, results):
            if item is None:
                summary.interrupted = True
                continue
            if info is not None and item.status == "done":
                summary.audio_s += info.duration_s
            summary.items.append(item)
        summary.wall_s = time.perf_counter() - t_start
        summary.timings = dict(self.timings)
        return summary

    def _one(self, rec: RecordingInfo, info: AudioInfo | None, probe_error: str | None) -> AuditItem:
        item = AuditItem(path=rec.path, recording_id=None, manager=rec.manager, status="failed")
        try:
            t0 = time.perf_counter()
            sha = file_sha256(rec.path)
            size = rec.path.stat().st_size
            self._add("hash", time.perf_counter() - t0)
        except OSError as e:
            item.error = self._shown(f"cannot read file: {e.strerror or e}", rec)
            self._record_unreadable(rec, item.error)
            return item
        with Session(self.engine, expire_on_commit=False) as s:
            row = self._upsert_recording(s, rec, sha, size, info)
            item.recording_id = row.id
            item.duration_s = row.duration_s
            if info is None:
                self._fail(s, row, self._shown(probe_error or "unreadable audio", rec))
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
                self._release(s, item.recording_id)
                raise
            except AuditorError as e:
                s.rollback()
                row = s.get(store.Recording, item.recording_id) or row
                self._fail(s, row, self._shown(str(e), rec))
                item.status, item.error = "failed", row.error
                return item
            except Exception as e:  # one file must never stop the batch
                log.exception("unexpected error on %s", rec.path)
                s.rollback()
                row = s.get(store.Recording, item.recording_id) or row
                self._fail(s, row, self._shown(f"internal error: {_err_text(e)}", rec))
                item.status, item.error = "failed", row.error
                return item

    def _process(
        self, s: Session, row: store.Recording, rec: RecordingInfo, info: AudioInfo,
        item: AuditItem,
    ) -> AuditItem:
        model_id = self.model_id
        language = self.settings.language_for(rec.manager, rec.language)
        transcript = self._cached_transcript(s, row.sha256, model_id, language)
        if transcript is None:
            if not self._claim(s, row):
                item.status = "busy"
                item.error = "being transcribed by another run"
                return item
            transcript = self._cached_transcript(s, row.sha256, model_id, language)
        if transcript is None:
            t0 = time.perf_counter()
            doc, mode = self.transcriber.transcribe(rec.path, info, language)
            if self.settings.redact:
                doc = redact_transcript(doc)
            asr_s = time.perf_counter() - t0
            self._add("asr", asr_s)
            t0 = time.perf_counter()
            transcript = store.save_transcript(s, row, doc, mode, asr_s)
            s.commit()
            self._add("store", time.perf_counter() - t0)
            item.transcribed = True
        doc = transcript.to_doc()
        doc.duration_s = info.duration_s
        doc.source = str(rec.path)
        existing = s.exec(
            select(store.Analysis).where(store.Analysis.recording_id == row.id)
        ).first()
        if existing is not None and existing.transcript_id == transcript.id and not item.transcribed:
            result = existing.details
            if result.ruleset_version != _ruleset_version(doc.language):
                result = self._analyze(doc)
                store.save_analysis(s, row.id or 0, transcript.id, result)
        else:
            result = self._analyze(doc)
            t0 = time.perf_counter()
            store.save_analysis(s, row.id or 0, transcript.id, result)
            self._add("store", time.perf_counter() - t0)
        row.status = "done"
        row.error = None
        row.claimed_by = None
        row.updated_at = store.utcnow()
        s.add(row)
        s.commit()
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
            self._add("analysis", time.perf_counter() - t0)
        return result

    def _add(self, key: str, seconds: float) -> None:
        with self._timings_lock:
            self.timings[key] += seconds

    def _cached_transcript(
        self, s: Session, sha: str, model_id: str, language: str
    ) -> store.Transcript | None:
        if language != "auto":
            return store.find_transcript(s, sha, model_id, language)
        return s.exec(
            select(store.Transcript).where(
                store.Transcript.sha256 == sha, store.Transcript.model == model_id
            )
        ).first()

    def _claim(self, s: Session, row: store.Recording) -> bool:
        """Atomically mark the recording as ours; False if another live run holds it.

        One UPDATE with the condition in its WHERE clause, so two runs on the
        same database can never both win the same recording.
        """
        now = store.utcnow()
        R = store.Recording
        s.refresh(row)
        dead = row.claimed_by if _owner_is_dead(row.claimed_by) else self.owner
        result = s.execute(
            update(R)
            .where(col(R.id) == row.id)
            .where(
                or_(
                    col(R.status) != "running",
                    col(R.claimed_by).is_(None),
                    col(R.claimed_by) == self.owner,
                    col(R.claimed_by) == dead,
                    col(R.claimed_at) < now - STALE_CLAIM,
                )
            )
            .values(status="running", claimed_by=self.owner, claimed_at=now)
        )
        s.commit()
        s.refresh(row)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _shown(self, text: str, rec: RecordingInfo) -> str:
        """Text to store about a recording (an error may quote its path): masked under redact."""
        return redact_path(text, rec.client) if self.settings.redact else text

    def _row_path(self, rec: RecordingInfo) -> str:
        path = _stored_path(rec.path)
        return redact_path(path, rec.client) if self.settings.redact else path

    def _find_row(self, s: Session, rec: RecordingInfo, path: str, sha: str
                  ) -> store.Recording | None:
        """The row of this recording: by its path, or by masked path and audio when redacting.

        A masked path may be shared ("1730540100.wav" and "1730540200.wav" are both
        "********00.wav"), so the audio hash tells the files apart; a row with this
        masked path and other audio is this file changed on disk, unless another
        file of the folder masks to the same path.
        """
        R = store.Recording
        rows = list(s.exec(select(R).where(R.path == path).order_by(col(R.id))))
        if not self.settings.redact:
            return rows[0] if rows else None
        same = [r for r in rows if r.sha256 == sha]
        if same:
            return same[0]
        if rows and not _masked_twin(rec.path, path, rec.client):
            return rows[0]
        return None

    def _upsert_recording(
        self, s: Session, rec: RecordingInfo, sha: str, size: int, info: AudioInfo | None
    ) -> store.Recording:
        path = self._row_path(rec)
        row = self._find_row(s, rec, path, sha)
        if row is None:
            row = store.Recording(path=path, sha256=sha)
        elif row.sha256 != sha:
            row.status = "pending"  # the file changed on disk: audit it again
        row.sha256 = sha
        row.size = size
        row.manager = rec.manager
        row.client = mask_phone(rec.client) if self.settings.redact else rec.client
        row.started_at = rec.started_at
        row.direction = rec.direction
        if info is not None:
            row.duration_s = info.duration_s
            row.channels = info.channels
            row.sample_rate = info.sample_rate
        row.updated_at = store.utcnow()
        s.add(row)
        try:
            s.commit()
        except Exception:
            # a concurrent run inserted the same recording first
            s.rollback()
            found = self._find_row(s, rec, path, sha)
            if found is None:
                raise
            row = found
        return row

    def _release(self, s: Session, recording_id: int | None) -> None:
        """Give up our claim on a recording without a verdict: it is audited next time."""
        row = s.get(store.Recording, recording_id) if recording_id is not None else None
        if row is None or row.claimed_by != self.owner:
            return
        row.status = "pending"
        row.claimed_by = None
        row.claimed_at = None
        row.updated_at = store.utcnow()
        s.add(row)
        s.commit()

    def _fail(self, s: Session, row: store.Recording, error: str) -> None:
        row.status = "failed"
        row.error = error.splitlines()[0][:300] if error else "failed"
        row.claimed_by = None
        row.updated_at = store.utcnow()
        s.add(row)
        s.commit()

    def _record_unreadable(self, rec: RecordingInfo, error: str) -> None:
        with Session(self.engine) as s:
            path = self._row_path(rec)
            row = self._find_row(s, rec, path, "")
            if row is None:
                client = mask_phone(rec.client) if self.settings.redact else rec.client
                row = store.Recording(path=path, sha256="", manager=rec.manager,
                                      client=client, started_at=rec.started_at)
            self._fail(s, row, error)


def _stored_path(path: Path) -> str:
    """Absolute and normalised, without following links (a dangling link is still a row)."""
    return os.path.abspath(path)


def _masked_twin(path: Path, masked: str, client: str | None) -> bool:
    """Whether another file in path's folder is stored under the same masked path."""
    try:
        siblings = [e.path for e in os.scandir(path.parent) if e.name != path.name]
    except OSError:
        return False
    return any(redact_path(os.path.abspath(p), client) == masked
               or redact_path(os.path.abspath(p)) == masked for p in siblings)


def redact_transcript(doc: Transcript) -> Transcript:
    """Personal data masked in what is stored: the segments and those the guards dropped."""
    doc.segments = redact_segments(doc.segments)
    doc.dropped = redact_segments(doc.dropped)
    return doc


def _ruleset_version(language: str) -> str:
    from auditor.analysis import ruleset_version

    return ruleset_version(language)


def _err_text(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"cannot read file: {e.strerror}"
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


