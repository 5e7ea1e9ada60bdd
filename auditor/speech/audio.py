"""Probe and decode recordings with PyAV (the FFmpeg bindings faster-whisper ships with).

Probing reads container headers only, so talk-time statistics over thousands
of files need no decoding. Decoding returns 16 kHz float32 arrays, one per
channel for stereo calls, because each channel of a call recording is one
speaker.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import AudioError
from auditor.records import AudioInfo

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# WAVE format tags whose duration is data bytes / block align (one block per frame).
WAV_FRAME_CODECS = {1: "pcm_s", 3: "pcm_f", 6: "pcm_alaw", 7: "pcm_mulaw", 0xFFFE: "pcm_ext"}
_MAX_CHUNKS = 64
# A WAV may hold this much less than its header says (a writer cut off in its
# last block) and still be audited; more, and it is a truncated file.
TRUNCATION_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class WavHeader:
    """What a RIFF/WAVE header declares, and how much data the file really holds."""

    tag: int
    channels: int
    sample_rate: int
    byte_rate: int
    block_align: int
    fact_samples: int | None
    data_offset: int
    # The data size the header declares; None where a streaming writer left 0
    # or 0xFFFFFFFF (the call was still being recorded): then the file is all there is.
    declared: int | None
    file_size: int

    @property
    def available(self) -> int:
        """Data bytes actually in the file."""
        return max(0, self.file_size - self.data_offset)

    def seconds(self, nbytes: int) -> float | None:
        """How long nbytes of this file's data play, or None when the header cannot tell."""
        if self.sample_rate <= 0:
            return None
        if self.tag in WAV_FRAME_CODECS and self.block_align > 0:
            return (nbytes // self.block_align) / self.sample_rate
        if self.byte_rate > 0:
            return nbytes / self.byte_rate
        return None


def read_wav_header(path: Path) -> WavHeader | None:
    """The RIFF/WAVE header of a file (a few small reads), or None if it is not one we read.

    RF64, RIFX and broken headers give None: FFmpeg reads those.
    """
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
                    declared = clen if 0 < clen < 0xFFFFFFFF else None
                    return WavHeader(*fmt, fact_samples=fact_samples, data_offset=body,
                                     declared=declared, file_size=size)
                pos = body + clen + (clen & 1)
                if pos >= size:
                    return None
    except (OSError, struct.error):
        return None
    return None


def _m_ss(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def wav_truncation(path: Path) -> str | None:
    """Why a WAV is truncated ("truncated: header says 3:00, file holds 0:00"), or None.

    FFmpeg plays what is there and reports that as the duration, so a call whose
    file was cut off would be audited as the few seconds left of it.
    """
    h = read_wav_header(path)
    if h is None or h.declared is None or h.declared <= h.available:
        return None
    promised, holds = h.seconds(h.declared), h.seconds(h.available)
    if promised is None or holds is None or promised - holds < TRUNCATION_TOLERANCE_S:
        return None
    return f"truncated: header says {_m_ss(promised)}, file holds {_m_ss(holds)}"


def _one_line(e: BaseException) -> str:
    """FFmpeg's own words without errno and path (the path is already on the row)."""
    strerror = getattr(e, "strerror", None)
    if isinstance(strerror, str) and strerror:
        return strerror[:200]
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:200]


def probe(path: Path) -> AudioInfo:
    """Duration, channels and sample rate from the container header (no decoding).

    A WAV whose header promises more than the file holds is refused (AudioError).
    """
    import av

    if path.stat().st_size == 0:
        raise AudioError("empty file (0 bytes)")
    truncated = wav_truncation(path)
    if truncated is not None:
        raise AudioError(truncated)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                raise AudioError("no audio stream")
            stream = streams[0]
            duration: float | None = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            codec = stream.codec_context
            channels = codec.channels or 0
            rate = codec.sample_rate or 0
            if duration is None or duration <= 0:
                duration = _decoded_duration(container, stream)
            return AudioInfo(duration_s=round(duration, 3), channels=channels,
                             sample_rate=rate, codec=codec.name or "")
    except AudioError:
        raise
    except Exception as e:
        raise AudioError(f"not a readable audio file: {_one_line(e)}") from None


def _decoded_duration(container: object, stream: object) -> float:
    """Fallback for containers without a duration header: count decoded samples."""
    samples = 0
    rate = 0
    for frame in container.decode(stream):  # type: ignore[attr-defined]
        samples += frame.samples
        rate = frame.sample_rate
    return samples / rate if rate else 0.0


def iter_windows(
    path: Path, split_channels: bool, window_s: float = 600.0, search_s: float = 30.0
) -> Iterator[tuple[float, list[np.ndarray]]]:
    """Decode in windows of about ``window_s`` seconds: (offset_s, one array per channel).

    Memory stays bounded however long the recording (an hours-long call left
    running is decoded a window at a time). Windows are cut at the quietest
    half second in the last ``search_s`` seconds, so a cut rarely splits a word.
    """
    import av
    import numpy as np

    layout = "stereo" if split_channels else "mono"
    n_ch = 2 if split_channels else 1
    window = int(window_s * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    buffered = 0
    offset = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("no audio stream")
            resampler = av.AudioResampler(format="s16", layout=layout, rate=SAMPLE_RATE)
            for frame in _frames(container):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1, n_ch))
                    buffered += chunks[-1].shape[0]
                while buffered >= window + int(search_s * SAMPLE_RATE):
                    data = np.concatenate(chunks)
                    cut = _quiet_cut(data, window, int(search_s * SAMPLE_RATE))
                    yield offset / SAMPLE_RATE, _to_float(data[:cut])
                    offset += cut
                    chunks, buffered = [data[cut:]], data.shape[0] - cut
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1, n_ch))
    except AudioError:
        raise
    except Exception as e:
        raise AudioError(f"cannot decode audio: {_one_line(e)}") from None
    data = np.concatenate(chunks) if chunks else np.zeros((0, n_ch), dtype=np.int16)
    if data.shape[0] or offset == 0:
        yield offset / SAMPLE_RATE, _to_float(data)


def _frames(container: Any) -> Iterator[Any]:
    """Decoded audio frames; a damaged frame in the middle is skipped, not fatal."""
    import av

    it = container.decode(audio=0)
    decoded = 0
    while True:
        try:
            frame = next(it)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            if decoded == 0:
                raise
            continue
        decoded += 1
        yield frame


def _quiet_cut(data: np.ndarray, window: int, search: int) -> int:
    """The sample index of the quietest half second in [window - search, window + search).

    ``data`` is samples x channels, or one channel.
    """
    import numpy as np

    lo, hi = max(window - search, 1), min(window + search, data.shape[0])
    step = SAMPLE_RATE // 2
    energy = np.abs(data[lo:hi].astype(np.float64))
    if energy.ndim == 2:
        energy = energy.sum(axis=1)
    n = (hi - lo) // step
    if n < 2:
        return window
    blocks = energy[: n * step].reshape(n, step).sum(axis=1)
    return lo + int(np.argmin(blocks)) * step + step // 2


def quiet_middle(audio: np.ndarray) -> int:
    """Where to cut one channel in two: the quietest half second of its middle half."""
    n = audio.shape[0]
    return _quiet_cut(audio, n // 2, n // 4)


def _to_float(data: np.ndarray) -> list[np.ndarray]:
    import numpy as np

    return [np.ascontiguousarray(data[:, c], dtype=np.float32) / 32768.0
            for c in range(data.shape[1])]


def decode(path: Path, split_channels: bool) -> list[np.ndarray]:
    """The whole recording at 16 kHz float32, one array per channel (for short files)."""
    import numpy as np

    parts = list(iter_windows(path, split_channels, window_s=1e9))
    return [np.concatenate([p[1][c] for p in parts]) for c in range(len(parts[0][1]))]


def channels_are_duplicate(left: np.ndarray, right: np.ndarray) -> bool:
    """True when a 'stereo' file carries the same signal twice (a mono call in stereo)."""
    import numpy as np

    n = min(len(left), len(right), SAMPLE_RATE * 120)  # two minutes tell
    if n == 0:
        return True
    diff = float(np.mean(np.abs(left[:n] - right[:n])))
    level = float(np.mean(np.abs(left[:n])) + np.mean(np.abs(right[:n]))) / 2
    return level == 0.0 or diff < 0.05 * level
