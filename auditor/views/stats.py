"""Talk-time statistics from durations alone: no decoding, no ASR, no database.

Durations come from container headers. Call recordings are mostly WAV (every
PBX writes it), and parsing a RIFF header with ``struct`` costs a few
microseconds where opening the file with FFmpeg costs a millisecond or more,
so WAV takes that fast path and everything else (and any WAV the fast path
does not understand: RF64, a broken header) goes to :func:`auditor.speech.audio.probe`.
Files are probed on a thread pool: the work is mostly waiting on the disk.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from auditor.errors import AudioError
from auditor.ingest.discovery import Discovery
from auditor.records import AudioInfo
from auditor.speech.audio import WAV_FRAME_CODECS, probe, read_wav_header

log = logging.getLogger(__name__)

_CODEC_NAMES = {0x31: "gsm_ms", 0x11: "adpcm_ima_wav", 0x02: "adpcm_ms", 0x55: "mp3",
                0x22: "truespeech", 0x40: "g721", 0x64: "g726"}


def wav_info(path: Path) -> AudioInfo | None:
    """Duration from a RIFF/WAVE header, or None when the fast path cannot tell.

    The duration is of the data the file holds (a streaming writer leaves the
    size at 0 or 0xFFFFFFFF until the call ends; a cut-off file holds less).
    """
    h = read_wav_header(path)
    if h is None:
        return None
    dlen = h.declared if h.declared is not None and h.declared <= h.available else h.available
    codec = WAV_FRAME_CODECS.get(h.tag) or _CODEC_NAMES.get(h.tag, f"wav_0x{h.tag:04x}")
    if h.tag in WAV_FRAME_CODECS and h.block_align > 0:
        seconds = h.seconds(dlen)
    elif h.fact_samples and h.sample_rate > 0:
        seconds = h.fact_samples / h.sample_rate
    else:
        seconds = h.seconds(dlen)
    if seconds is None:
        return None
    return AudioInfo(duration_s=round(seconds, 3), channels=h.channels, sample_rate=h.sample_rate,
                     codec=codec)


def probe_fast(path: Path) -> AudioInfo:
    """Header duration: the WAV fast path, else PyAV. Raises AudioError like probe()."""
    if path.suffix.lower() == ".wav":
        info = wav_info(path)
        if info is not None and info.duration_s > 0:
            return info
    return probe(path)


@dataclass(frozen=True)
class CallDuration:
    """A recording's who/when with its length: all talk-time KPIs need."""

    path: Path
    manager: str | None
    client: str | None
    started_at: datetime | None
    duration_s: float


@dataclass
class DurationScan:
    calls: list[CallDuration] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_per_s(self) -> float:
        n = len(self.calls) + len(self.problems)
        return n / self.seconds if self.seconds > 0 else 0.0


def _probe_one(path: Path) -> AudioInfo | str:
    try:
        return probe_fast(path)
    except AudioError as e:
        return str(e)
    except OSError as e:
        return f"cannot read file: {e.strerror or e}"


def scan_durations(found: Discovery, threads: int | None = None,
                   progress: Callable[[int], None] | None = None) -> DurationScan:
    """Probe every recording found (headers only) on a thread pool."""
    t0 = time.perf_counter()
    scan = DurationScan()
    recs = found.recordings
    workers = threads or min(32, (os.cpu_count() or 1) * 4)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for n, (rec, res) in enumerate(zip(recs, pool.map(_probe_one, [r.path for r in recs])), 1):
            if isinstance(res, str):
                scan.problems.append((rec.path, res))
            else:
                scan.calls.append(CallDuration(path=rec.path, manager=rec.manager,
                                               client=rec.client, started_at=rec.started_at,
                                               duration_s=res.duration_s))
            if progress is not None:
                progress(n)
    scan.seconds = time.perf_counter() - t0
    return scan
