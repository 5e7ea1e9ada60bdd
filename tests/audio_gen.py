"""Make test recordings of any rate, channel count and container from fixture speech."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from auditor.speech.audio import decode

from .conftest import RECORDINGS

SPEECH_SOURCE = RECORDINGS / "Павел Орлов" / "2026-11-03_09-20-45_+74952223344.wav"


def speech(seconds: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The manager and client channels of a short fixture call at 16 kHz."""
    left, right = decode(SPEECH_SOURCE, split_channels=True)
    if seconds is not None:
        n = int(seconds * 16000)
        left, right = left[:n], right[:n]
    return left, right


def resample(x: np.ndarray, rate: int) -> np.ndarray:
    n = int(len(x) * rate / 16000)
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)


def write_wav(path: Path, channels: list[np.ndarray], rate: int = 16000) -> Path:
    """16-bit PCM WAV; channels are 16 kHz float arrays, resampled to ``rate``."""
    chans = [resample(c, rate) if rate != 16000 else c for c in channels]
    n = min(len(c) for c in chans)
    data = np.stack([c[:n] for c in chans], axis=1)
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(chans))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def write_encoded(path: Path, channels: list[np.ndarray], codec: str, rate: int = 16000) -> Path:
    """Encode with PyAV (mp3, opus, flac, aac) into the container the suffix names."""
    import av

    layout = "stereo" if len(channels) == 2 else "mono"
    data = np.stack(channels, axis=0).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout  # type: ignore[union-attr]
        frame = av.AudioFrame.from_ndarray(data.reshape(1, -1) if layout == "mono" else
                                           data.T.reshape(1, -1), format="flt", layout=layout)
        frame.sample_rate = 16000
        resampler = av.AudioResampler(format=stream.format.name, layout=layout, rate=rate)  # type: ignore[union-attr]
        for f in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(f):  # type: ignore[union-attr]
                out.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            out.mux(packet)
    return path


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.float32)
