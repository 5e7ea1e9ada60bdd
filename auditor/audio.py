"""Probe and decode recordings with PyAV (the FFmpeg bindings faster-whisper ships with).

Probing reads container headers only, so talk-time statistics over thousands
of files need no decoding. Decoding returns 16 kHz float32 arrays, one per
channel for stereo calls, because each channel of a call recording is one
speaker.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import AudioError
from auditor.records import AudioInfo

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".flac", ".webm", ".amr",
     ".wma", ".mp4", ".3gp", ".gsm"}
)


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _one_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:200]


def probe(path: Path) -> AudioInfo:
    """Duration, channels and sample rate from the container header (no decoding)."""
    import av

    if path.stat().st_size == 0:
        raise AudioError("empty file (0 bytes)")
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


def decode(path: Path, split_channels: bool) -> list[np.ndarray]:
    """Decode to 16 kHz mono float32; with split_channels, one array per stereo channel."""
    from faster_whisper.audio import decode_audio

    try:
        if split_channels:
            left, right = decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=True)
            return [left, right]
        return [decode_audio(str(path), sampling_rate=SAMPLE_RATE)]
    except Exception as e:
        raise AudioError(f"cannot decode audio: {_one_line(e)}") from None


def channels_are_duplicate(left: np.ndarray, right: np.ndarray) -> bool:
    """True when a 'stereo' file carries the same signal twice (a mono call in stereo)."""
    import numpy as np

    n = min(len(left), len(right))
    if n == 0:
        return True
    diff = float(np.mean(np.abs(left[:n] - right[:n])))
    level = float(np.mean(np.abs(left[:n])) + np.mean(np.abs(right[:n]))) / 2
    return level == 0.0 or diff < 0.05 * level
