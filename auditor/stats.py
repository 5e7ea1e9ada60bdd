"""Talk-time statistics from durations alone: no decoding, no ASR, no database.

Durations come from container headers. Call recordings are mostly WAV (every
PBX writes it), and parsing a RIFF header with ``struct`` costs a few
microseconds where opening the file with FFmpeg costs a millisecond or more,
so WAV takes that fast path and everything else (and any WAV the fast path
does not understand: RF64, a broken header) goes to :func:`auditor.audio.probe`.
Files are probed on a thread pool: the work is mostly waiting on the disk.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from auditor.audio import probe
from auditor.errors import AudioError
from auditor.intake import Discovery
from auditor.records import AudioInfo

log = logging.getLogger(__name__)

# WAVE format tags whose duration is data bytes / block align (one block per frame).
_FRAME_CODECS = {1: "pcm_s", 3: "pcm_f", 6: "pcm_alaw", 7: "pcm_mulaw", 0xFFFE: "pcm_ext"}
_CODEC_NAMES = {0x31: "gsm_ms", 0x11: "adpcm_ima_wav", 0x02: "adpcm_ms", 0x55: "mp3",
                0x22: "truespeech", 0x40: "g721", 0x64: "g726"}
_MAX_CHUNKS = 64


def wav_info(path: Path) -> AudioInfo | None:
    """Duration from a RIFF/WAVE header, or None when the fast path cannot tell."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            fmt: tuple[int, int, int, int, int] | None = None
            fact_samples: int | None = None
            pos = 12
            for _ in range(_MAX_CHUNKS):
                f.seek(pos)
                hdr = f.read(8)
                if len(hdr) < 8:
                    return None
                cid, clen = hdr[:4], struct.unpack("<I", hdr[4:])[0]
                body = pos + 8
                if cid == b"fmt ":
                    data = f.read(16)
                    if len(data) < 16:
                        return None
                    tag, ch, rate, byte_rate, align = struct.unpack("<HHIIH", data[:14])
                    fmt = (tag, ch, rate, byte_rate, align)
                elif cid == b"fact" and clen >= 4:
                    fact_samples = struct.unpack("<I", f.read(4))[0]
                elif cid == b"data":
                    if fmt is None:
                        return None
                    # Streaming writers leave 0 or 0xFFFFFFFF until the call ends.
                    avail = size - body
                    dlen = clen if 0 < clen <= avail else avail
                    return _wav_duration(fmt, dlen, fact_samples)
                pos = body + clen + (clen & 1)
                if pos >= size:
                    return None
    except (OSError, struct.error):
        return None
    return None


def _wav_duration(fmt: tuple[int, int, int, int, int], dlen: int, fact: int | None
                  ) -> AudioInfo | None:
    tag, ch, rate, byte_rate, align = fmt
    if rate <= 0:
        return None
    if tag in _FRAME_CODECS and align > 0:
        seconds = (dlen // align) / rate
        codec = _FRAME_CODECS[tag]
    elif fact:
        seconds, codec = fact / rate, _CODEC_NAMES.get(tag, f"wav_0x{tag:04x}")
    elif byte_rate > 0:
        seconds, codec = dlen / byte_rate, _CODEC_NAMES.get(tag, f"wav_0x{tag:04x}")
    else:
        return None
    return AudioInfo(duration_s=round(seconds, 3), channels=ch, sample_rate=rate, codec=codec)


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
