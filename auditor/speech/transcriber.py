"""The transcriber: speech recognition with faster-whisper, offline, on the CPU.

Why these choices (measured on synthesized 8 kHz calls, see benchmarks/):
- int8 on the CPU: 1.5x less CPU and 300 MB less memory than float32, same WER.
- One CTranslate2 worker per core with one thread each, files side by side
  (Settings.asr_workers): on 2 cores 1.2-1.5x the throughput of one file on
  two threads, whose OpenMP threads mostly wait on each other at this size.
  A lone file uses the idle worker for its other channel or half.
- BatchedInferencePipeline, beam 5, batch 4: each VAD chunk decoded on its
  own; 25% faster than the sequential decoder at beam 5 and more accurate
  (WER 12.2% vs 14.0%), as accurate as plain faster-whisper on the mono mix.
  Beam 1 is 15% faster but 3.5 WER points worse. Batch 4 takes 6% less CPU
  than 2 on the phone set; its encoder takes the windows one at a time
  (_one_window_encoder), or it would take 250 MB more per worker.
- Word timestamps, segments cut into sentences and at 1 s pauses: a channel's
  segment otherwise spans the other side's turns and the merged transcript is
  out of order.
- The language is always passed (default ``ru``): auto-detection on phone audio
  is unreliable and costs an extra encoder pass.
- VAD on: call recordings are full of rings, holds and the other side's turns.
- One pass per stereo channel: each channel of a call recording is one speaker,
  which gives the speaker for free and lets VAD drop the other side's turns.
- condition_on_previous_text=False (sequential decoder only; batched decodes
  phrases independently): stops one misheard phrase from repeating.

Which model to load, and the assembly of the bundled one, is
:mod:`auditor.speech.model`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from auditor.config import Settings
from auditor.errors import ModelError
from auditor.records import AudioInfo, ChannelStats, Segment, Transcript
from auditor.speech import guards, vad
from auditor.speech.audio import SAMPLE_RATE, channels_are_duplicate, iter_windows, quiet_middle
from auditor.speech.guards import compression_ratio
from auditor.speech.model import model_id, resolve_model

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

class Transcriber(Protocol):
    """Turns a recording into a speaker-attributed transcript.

    One that also has ``workers: int`` > 1 is thread-safe and is given that many
    files at once by the audit; without it, files go one at a time.
    """

    model_id: str

    def transcribe(
        self, path: Path, info: AudioInfo, language: str | None = None
    ) -> tuple[Transcript, str]: ...


# A lone mono window is cut in two for the idle worker only when each half is
# at least this long (shorter ones are not worth a thread).
MIN_HALF_S = 30.0

# A pause this long between two words of one Whisper segment is where the
# other side spoke: split there, so that the channels interleave in time order.
SPLIT_PAUSE_S = 1.0
_SENTENCE_END = (".", "?", "!", "…")
# The recogniser's window: speech stretches are packed into pieces this long.
_CHUNK_S = 30


@dataclass
class AsrTimings:
    decode_s: float = 0.0
    asr_s: float = 0.0
    vad_s: float = 0.0


@dataclass
class Decoded:
    """What one pass over some audio of one channel gives."""

    pieces: list[Segment]  # speaker still "unknown": the caller knows the channel
    dropped: list[tuple[Segment, str, int]]
    language: str
    stats: ChannelStats

    def extend(self, other: Decoded) -> None:
        self.pieces += other.pieces
        self.dropped += other.dropped
        self.stats.add(other.stats)


def _split_segment(seg: Any, pause_s: float) -> list[tuple[float, float, str]]:
    """One Whisper segment as sentences, also cut at pauses of at least pause_s.

    The batched decoder returns a segment per speech chunk (up to 30 s, several
    turns of a mono call); sentences give the analysis its turns back and
    stereo channels interleave in time order.
    """
    words = seg.words or []
    if not words:
        return [(seg.start, seg.end, seg.text.strip())]
    pieces: list[list[Any]] = [[words[0]]]
    for w in words[1:]:
        last = pieces[-1][-1]
        if w.start - last.end >= pause_s or last.word.rstrip().endswith(_SENTENCE_END):
            pieces.append([])
        pieces[-1].append(w)
    return [(p[0].start, p[-1].end, "".join(w.word for w in p).strip()) for p in pieces]


def _pieces(segments: Any, offset: float) -> list[Segment]:
    out = []
    for seg in segments:
        for a, b, text in _split_segment(seg, SPLIT_PAUSE_S):
            if text:
                out.append(Segment("unknown", round(float(a) + offset, 2),
                                   round(float(b) + offset, 2), text,
                                   round(float(seg.avg_logprob), 3),
                                   round(float(seg.no_speech_prob), 3),
                                   round(compression_ratio(text), 2)))
    return out


class WhisperTranscriber:
    """faster-whisper on the CPU; the model loads on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: Any = None
        self._batched: Any = None
        self.model_id = model_id(settings.model)
        self.language = settings.language
        self.timings = AsrTimings()
        # transcriptions this transcriber runs well at once (the audit runs as
        # many files side by side; a lone stereo file runs its channels so)
        self.workers = settings.asr_workers
        self._active = 0  # transcribe() calls in flight
        self._lock = threading.Lock()  # files may be transcribed from several threads
        self.window_s = 600.0  # decode at most ten minutes at a time: bounded memory
        self.vad_options = vad.VadOptions.from_settings(settings)

    @property
    def model(self) -> Any:
        with self._lock:
            return self._load()

    def _load(self) -> Any:
        if self._model is None:
            s = self.settings
            source = resolve_model(s.model, s.model_cache)
            try:
                self._model = _one_window_encoder()(
                    source,
                    device=s.device,
                    compute_type=s.compute_type,
                    # one CTranslate2 worker per file transcribed at once
                    cpu_threads=max(1, s.threads // s.asr_workers),
                    num_workers=s.asr_workers,
                    local_files_only=False,
                )
            except Exception as e:
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                if not Path(source).exists():
                    raise ModelError(
                        f"cannot load model {source!r} ({msg}); offline, use the bundled "
                        "--model base or --model /path/to/converted-model"
                    ) from None
                raise ModelError(f"cannot load model {source!r}: {msg}") from None
        return self._model

    @property
    def batched(self) -> Any:
        model = self.model
        with self._lock:
            if self._batched is None:
                from faster_whisper import BatchedInferencePipeline

                self._batched = BatchedInferencePipeline(model)
            return self._batched

    def _run(self, audio: np.ndarray, language: str, offset: float = 0.0) -> Decoded:
        """Detect speech in one channel, decode it, and drop what nobody said."""
        s = self.settings
        t0 = time.perf_counter()
        speech = vad.detect(audio, self.vad_options)
        with self._lock:
            self.timings.vad_s += time.perf_counter() - t0
        chunks = speech.chunks if s.vad else ([(0, len(audio))] if len(audio) else [])
        stats = _channel_stats(speech, chunks, len(audio), all_sent=not s.vad)
        if not chunks:
            return Decoded([], [], language, stats)
        common: dict[str, Any] = {
            "language": None if language == "auto" else language,
            "beam_size": s.beam_size,
            "word_timestamps": True,
        }
        if not s.vad:
            segments, info = self.model.transcribe(
                audio, vad_filter=False, condition_on_previous_text=False, **common)
            pieces = _pieces(segments, offset)
        else:
            # The speech stretches are packed, without the silence between them,
            # into pieces of at most 30 s, as faster-whisper's own VAD filter
            # does; each piece is decoded on its own and the times are mapped back.
            import numpy as np
            from faster_whisper.transcribe import restore_speech_timestamps
            from faster_whisper.vad import collect_chunks

            marks = [{"start": a, "end": b} for a, b in chunks]
            parts, meta = collect_chunks(audio, marks, max_duration=_CHUNK_S)
            packed = np.concatenate(parts)
            if s.batch_size > 1:
                clips = [{"start": m["offset"], "end": m["offset"] + m["duration"]} for m in meta]
                # Text tokens only by default (Settings.decode_timestamps):
                # the word timestamps place the words all the same.
                segments, info = self.batched.transcribe(
                    packed, clip_timestamps=clips, batch_size=s.batch_size,
                    without_timestamps=not s.decode_timestamps, **common)
            else:
                segments, info = self.model.transcribe(
                    packed, vad_filter=False, condition_on_previous_text=False, **common)
            pieces = _pieces(restore_speech_timestamps(segments, marks, SAMPLE_RATE), offset)
        if s.guards:
            kept, dropped = guards.apply(
                pieces, lambda a, b: speech.peak_above_floor(a - offset, b - offset))
        else:
            kept, dropped = pieces, []
        stats.words = sum(len(guards.words(p.text)) for p in kept)
        for _, why, n in dropped:
            stats.dropped[why] = stats.dropped.get(why, 0) + n
        return Decoded(kept, dropped, info.language, stats)

    def _run_all(self, arrays: list[np.ndarray], language: str, offset: float) -> list[Decoded]:
        """One result per channel of a window; in parallel when a worker is idle.

        In a batch every worker has a file of its own and the work of one file
        runs in sequence (measured: no faster, more memory). A lone file (the
        `transcribe` command, the last long call of a batch) uses the idle
        worker: the two channels side by side, or a long mono window cut in two
        at a quiet point (the batched decoder decodes each speech chunk on its
        own, so the cut costs no accuracy).
        """
        with self._lock:
            idle = self.workers - self._active
        if idle < 1:
            return [self._run(audio, language, offset) for audio in arrays]
        if len(arrays) == 1 and arrays[0].shape[0] >= 2 * MIN_HALF_S * SAMPLE_RATE:
            cut = quiet_middle(arrays[0])
            first, second = self._parallel([(arrays[0][:cut], offset),
                                            (arrays[0][cut:], offset + cut / SAMPLE_RATE)], language)
            first.extend(second)
            return [first]
        return self._parallel([(audio, offset) for audio in arrays], language)

    def _parallel(self, pieces: list[tuple[np.ndarray, float]], language: str) -> list[Decoded]:
        if len(pieces) < 2:
            return [self._run(audio, language, at) for audio, at in pieces]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(pieces) - 1, thread_name_prefix="asr-piece") as side:
            rest = [side.submit(self._run, audio, language, at) for audio, at in pieces[1:]]
            audio, at = pieces[0]
            return [self._run(audio, language, at)] + [f.result() for f in rest]

    def transcribe(
        self, path: Path, info: AudioInfo, language: str | None = None
    ) -> tuple[Transcript, str]:
        """Transcribe one file; stereo gives manager/client by channel, mono 'unknown'."""
        language = language or self.settings.language
        runs = self.channel_runs(path, info, language)
        return merge_runs([runs], path, info, language, self.settings.manager_channel,
                          self.model_id)

    def channel_runs(self, path: Path, info: AudioInfo, language: str,
                     channel: int | None = None) -> ChannelRuns:
        """Every channel of a recording (channel None), or one of a stereo one (0 left, 1 right).

        Two machines can each take one channel of a stereo call; the
        :func:`merge_runs` of their two results is the transcript of one pass.
        """
        with self._lock:
            self._active += 1
        try:
            return self._channel_runs(path, info, language, channel)
        finally:
            with self._lock:
                self._active -= 1

    def _channel_runs(self, path: Path, info: AudioInfo, language: str,
                      channel: int | None) -> ChannelRuns:
        # Exactly two channels are the two sides of a call; more (surround
        # exports) carry no speaker layout we can trust, so they are mixed down.
        stereo = info.channels == 2
        runs: dict[int, Decoded] = {}
        windows = iter_windows(path, split_channels=stereo, window_s=self.window_s)
        first = True
        while True:
            t0 = time.perf_counter()
            try:
                offset, arrays = next(windows)
            except StopIteration:
                break
            finally:
                with self._lock:
                    self.timings.decode_s += time.perf_counter() - t0
            if first and stereo and channels_are_duplicate(arrays[0], arrays[1]):
                stereo = False  # a mono call saved as stereo: one pass, speaker unknown
            first = False
            if len(arrays) == 2 and not stereo:
                arrays = [(arrays[0] + arrays[1]) / 2]
            if not stereo and channel:
                break  # the mono mix is channel 0's to transcribe
            picked = [channel] if stereo and channel is not None else list(range(len(arrays)))
            t1 = time.perf_counter()
            for idx, run in zip(picked, self._run_all([arrays[i] for i in picked],
                                                      language, offset)):
                if idx in runs:
                    runs[idx].extend(run)
                    runs[idx].language = run.language
                else:
                    runs[idx] = run
            with self._lock:
                self.timings.asr_s += time.perf_counter() - t1
        return ChannelRuns(stereo, runs)


def _one_window_encoder() -> type:
    """faster-whisper's WhisperModel, its encoder fed one 30 s window at a time.

    The batched decoder decodes ``batch_size`` windows together, but the
    encoder's attention over a batch of four windows takes 250 MB more per
    worker than one at a time, and is slower per window on the CPU (1.76 s
    against 1.57 s at int8 on one thread); one window at a time, stacked, is
    the same encoder output. On a GPU the batch is encoded at once.
    """
    import numpy as np
    from faster_whisper import WhisperModel

    class OneWindowEncoder(WhisperModel):  # type: ignore[misc]
        def encode(self, features: np.ndarray) -> Any:
            if features.ndim < 3 or len(features) < 2 or self.model.device != "cpu":
                return super().encode(features)  # (a GPU keeps its batch and its memory)
            import ctranslate2

            parts = [np.asarray(super(OneWindowEncoder, self).encode(features[i:i + 1]))
                     for i in range(len(features))]
            return ctranslate2.StorageView.from_array(np.concatenate(parts))

    return OneWindowEncoder


@dataclass
class ChannelRuns:
    """What a pass over a recording's channels gave, before they are one transcript.

    ``runs`` maps a channel index (0 left, 1 right; 0 for a mono pass or the
    mix of a mono call saved as stereo) to its pieces over every window.
    """

    stereo: bool  # the two channels are the two sides of the call
    runs: dict[int, Decoded]


def merge_runs(parts: list[ChannelRuns], path: Path, info: AudioInfo, language: str,
               manager_channel: str, model: str) -> tuple[Transcript, str]:
    """(transcript, mode) of one recording from its channel runs: one pass, or one per channel."""
    stereo = all(p.stereo for p in parts)
    runs = {idx: run for p in parts for idx, run in p.runs.items()}
    manager_idx = 0 if manager_channel == "left" else 1
    segments: list[Segment] = []
    dropped: list[Segment] = []
    channels: list[ChannelStats] = []
    for idx in sorted(runs):
        run = runs[idx]
        speaker = ("manager" if idx == manager_idx else "client") if stereo else "unknown"
        segments += [replace(p, speaker=speaker) for p in run.pieces]
        dropped += [replace(p, speaker=speaker, dropped=why) for p, why, _ in run.dropped]
        channels.append(replace(run.stats, speaker=speaker))
    segments.sort(key=lambda seg: (seg.start, seg.end))
    if language == "auto" and runs:
        language = runs[min(runs)].language
    doc = Transcript(
        segments=segments,
        language=language,
        duration_s=info.duration_s,
        source=str(path),
        model=model,
        channels=channels,
        dropped=sorted(dropped, key=lambda seg: (seg.start, seg.end)),
    )
    return doc, "stereo" if stereo else "mono"


def _channel_stats(speech: vad.SpeechMap, chunks: list[tuple[int, int]], n: int,
                   all_sent: bool) -> ChannelStats:
    """Sound, coverage and sent seconds of one channel (speaker filled in by the caller)."""
    sound = speech.sound_frames()
    sent = speech.frames_of(chunks)
    return ChannelStats(
        speaker="unknown", seconds=n / SAMPLE_RATE,
        sound_s=float(sound.sum()) * vad.FRAME_S,
        covered_s=float((sound & sent).sum()) * vad.FRAME_S,
        sent_s=sum(b - a for a, b in chunks) / SAMPLE_RATE,
        detector=(f"{speech.model}, all audio sent" if all_sent
                  else f"{speech.model} threshold {speech.threshold:.2f}"))
