"""A recording's channels transcribed apart and merged: the transcript of one pass.

The recogniser's pass over one channel (``WhisperTranscriber._run``) is a fake
here that reads the audio it is given, so that these run in a second; the
decode, the windows, the duplicate-channel check, the speakers and the merge
are the real ones. tests/test_cluster.py runs the same split through Dask
with real faster-whisper.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from auditor.config import Settings
from auditor.records import ChannelStats, Segment
from auditor.speech.audio import SAMPLE_RATE, iter_windows, probe
from auditor.speech.transcriber import Decoded, WhisperTranscriber, merge_runs

from .audio_gen import silence, speech, write_wav
from .conftest import RECORDINGS

STEREO = RECORDINGS / "Ирина Соколова" / "2026-11-02_11-40-12_+79034447788.wav"
MONO = RECORDINGS / "Павел Орлов" / "2026-11-03_14-30-00_+79161234567.wav"


def _fake_run(audio: np.ndarray, language: str, offset: float = 0.0) -> Decoded:
    """Pieces that depend on the audio: one per second where the channel is loudest."""
    n = len(audio) // SAMPLE_RATE
    loud = [float(np.abs(audio[i * SAMPLE_RATE:(i + 1) * SAMPLE_RATE]).mean()) for i in range(n)]
    top = sorted(np.argsort(loud)[-4:]) if n else []
    pieces = [Segment("unknown", round(offset + i, 2), round(offset + i + 0.5, 2),
                      f"{loud[i]:.5f}", -0.2, 0.1, 1.0) for i in top]
    dropped = [(replace(pieces[0], text="hm"), "no_energy", 1)] if pieces else []
    stats = ChannelStats("unknown", seconds=len(audio) / SAMPLE_RATE, sound_s=1.0, words=len(top))
    return Decoded(pieces, dropped, language, stats)


def _transcriber(manager_channel: str = "left", workers: int = 1) -> WhisperTranscriber:
    tr = WhisperTranscriber(Settings(manager_channel=manager_channel, cpu_threads=workers,
                                     workers=workers))
    tr._run = _fake_run  # type: ignore[method-assign]
    return tr


@pytest.mark.parametrize("manager_channel", ["left", "right"])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_stereo_call_split_by_channel_merges_into_the_transcript_of_one_pass(
        manager_channel: str, workers: int) -> None:
    info = probe(STEREO)
    tr = _transcriber(manager_channel, workers)
    whole, mode = tr.transcribe(STEREO, info, "ru")
    left, right = (tr.channel_runs(STEREO, info, "ru", ch) for ch in (0, 1))
    assert set(left.runs) == {0} and set(right.runs) == {1} and left.stereo and right.stereo
    for parts in ([left, right], [right, left]):  # whichever worker answers first
        assert merge_runs(parts, STEREO, info, "ru", manager_channel, tr.model_id) == (whole, mode)
    assert mode == "stereo"
    manager = 0 if manager_channel == "left" else 1
    by_speaker = {s.speaker: s for s in whole.channels}
    assert by_speaker["manager"].seconds == pytest.approx(info.duration_s, abs=0.1)
    mine = {s.text for s in whole.segments if s.speaker == "manager"}
    assert mine == {p.text for p in (left, right)[manager].runs[manager].pieces}
    assert [s.start for s in whole.segments] == sorted(s.start for s in whole.segments)
    assert {s.speaker for s in whole.dropped} == {"manager", "client"}
    assert {s.speaker for s in whole.segments} == {"manager", "client"}


def test_the_mono_mix_of_a_duplicated_stereo_call_is_channel_zero_s(tmp_path: Path) -> None:
    voice, _ = speech(6.0)
    path = write_wav(tmp_path / "dup.wav", [np.concatenate([voice, silence(2.0)])] * 2)
    info = probe(path)
    tr = _transcriber()
    whole, mode = tr.transcribe(path, info, "ru")
    left, right = (tr.channel_runs(path, info, "ru", ch) for ch in (0, 1))
    assert not left.stereo and not right.stereo
    assert set(left.runs) == {0} and right.runs == {}  # one pass over the mix, not two
    assert merge_runs([left, right], path, info, "ru", "left", tr.model_id) == (whole, mode)
    assert mode == "mono" and whole.segments
    assert {s.speaker for s in whole.segments} == {"unknown"}


def test_a_mono_recording_is_one_run_and_auto_language_comes_from_it() -> None:
    info = probe(MONO)
    tr = _transcriber()
    runs = tr.channel_runs(MONO, info, "auto")
    assert not runs.stereo and set(runs.runs) == {0}
    runs.runs[0].language = "en"
    doc, mode = merge_runs([runs], MONO, info, "auto", "left", tr.model_id)
    assert mode == "mono" and doc.language == "en" and doc.source == str(MONO)
    assert doc.channels == [replace(runs.runs[0].stats, speaker="unknown")]


def test_windows_of_one_channel_are_one_run() -> None:
    info = probe(STEREO)
    tr = _transcriber()
    tr.window_s = 5.0
    assert len(list(iter_windows(STEREO, True, window_s=tr.window_s))) >= 2
    whole, _ = tr.transcribe(STEREO, info, "ru")
    left = tr.channel_runs(STEREO, info, "ru", 0)
    right = tr.channel_runs(STEREO, info, "ru", 1)
    assert merge_runs([left, right], STEREO, info, "ru", "left", tr.model_id)[0] == whole
    assert left.runs[0].stats.seconds == pytest.approx(info.duration_s, abs=0.1)
    assert len(left.runs[0].pieces) > 4  # the pieces of every window, not of the last one
