"""The batch runner: probe every recording, then audit them side by side, longest first.

Files run in a thread pool as wide as the transcriber runs well at once
(``workers``, one CTranslate2 worker each); the longest go first so that no
worker is left alone with a long call at the end. A ``stop`` event lets the
files in flight finish and starts no other; an exception that escapes a
file (KeyboardInterrupt, ModelError) stops the batch. One file is
:class:`auditor.audit.file.FileAudit`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine

from auditor.audit.file import Analyzer, AuditItem, FileAudit, Timings, default_analyzer, err_text
from auditor.config import Settings
from auditor.errors import AudioError
from auditor.ingest.discovery import Discovery, discover
from auditor.records import AudioInfo, RecordingInfo
from auditor.speech.audio import probe
from auditor.speech.transcriber import Transcriber

__all__ = ["AuditItem", "AuditSummary", "Auditor", "Events", "NoEvents", "default_analyzer"]


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
        self._timings = Timings()
        self._one = FileAudit(settings, engine, lambda: self.transcriber, lambda: self.model_id,
                              analyzer, self._timings)

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per phase so far (see :class:`auditor.audit.file.Timings`)."""
        return self._timings.values

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
                info, err = None, err_text(e)
            self._timings.add("probe", time.perf_counter() - t0)
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
                self._timings.add("files", time.perf_counter() - t0)
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
        self._timings.add("files_wall", time.perf_counter() - t_files)
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
