"""Several transcriptions at once: files side by side, the channels of a lone file,
sentence segments; real faster-whisper on fixture audio, and a fake for the scheduling."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from auditor import store
from auditor.audit.runner import Auditor
from auditor.config import Settings
from auditor.records import AudioInfo, Segment, Transcript
from auditor.speech import audio
from auditor.speech.audio import probe
from auditor.speech.transcriber import WhisperTranscriber, _split_segment

from .audio_gen import speech, write_wav
from .conftest import RECORDINGS
from .test_pipeline import lemmas

MANIFEST = json.loads((RECORDINGS / "manifest.json").read_text(encoding="utf-8"))


def _rec(rid: str) -> dict[str, Any]:
    return next(r for r in MANIFEST["recordings"] if r["id"] == rid)


def _word(text: str, start: float, end: float) -> SimpleNamespace:
    return SimpleNamespace(word=text, start=start, end=end)


def test_a_segment_is_cut_into_sentences_and_at_pauses() -> None:
    words = [_word(" Добрый", 0.0, 0.4), _word(" день.", 0.4, 0.8), _word(" Как", 0.9, 1.1),
             _word(" дела?", 1.1, 1.5), _word(" Хорошо", 3.0, 3.4), _word(" спасибо", 3.4, 3.9)]
    seg = SimpleNamespace(start=0.0, end=3.9, text="unused", words=words)
    assert _split_segment(seg, 1.0) == [(0.0, 0.8, "Добрый день."), (0.9, 1.5, "Как дела?"),
                                        (3.0, 3.9, "Хорошо спасибо")]
    no_words = SimpleNamespace(start=1.0, end=2.0, text=" как есть ", words=None)
    assert _split_segment(no_words, 1.0) == [(1.0, 2.0, "как есть")]


def _settings(model_cache: Path, workers: int) -> Settings:
    return Settings(model_cache=model_cache, cpu_threads=2, workers=workers)


def _said(rec: dict[str, Any], speaker: str | None = None) -> set[str]:
    return lemmas(" ".join(t["text"] for t in rec["turns"]
                           if speaker is None or t["speaker"] == speaker), rec["language"])


@pytest.mark.slow
def test_a_lone_stereo_file_runs_its_channels_side_by_side(model_cache: Path) -> None:
    rec = _rec("short_leak_ru")
    path = RECORDINGS / rec["path"]
    info = probe(path)
    seen: list[int] = []
    tr = WhisperTranscriber(_settings(model_cache, workers=2))
    run = tr._run

    def spy(*args: Any, **kw: Any) -> Any:  # the real pass, counted
        seen.append(threading.get_ident())
        return run(*args, **kw)

    tr._run = spy  # type: ignore[method-assign]
    doc, mode = tr.transcribe(path, info)
    assert mode == "stereo"
    assert len(set(seen)) == 2  # one pass per channel, in two threads
    starts = [s.start for s in doc.segments]
    assert starts == sorted(starts)
    for speaker in ("manager", "client"):
        got = lemmas(" ".join(s.text for s in doc.segments if s.speaker == speaker), "ru")
        said = _said(rec, speaker)
        assert len(got & said) >= 0.6 * len(said), speaker


@pytest.mark.slow
def test_a_lone_long_mono_file_is_cut_in_two_at_a_quiet_point(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = _rec("existing_upsell_ru")  # 105 s, mono
    path = RECORDINGS / rec["path"]
    info = probe(path)
    cuts: list[int] = []
    real = audio.quiet_middle

    def spy(x: Any) -> int:
        cuts.append(real(x))
        return cuts[-1]

    monkeypatch.setattr("auditor.speech.transcriber.quiet_middle", spy)
    doc, mode = WhisperTranscriber(_settings(model_cache, workers=2)).transcribe(path, info)
    assert mode == "mono" and len(cuts) == 1
    cut_s = cuts[0] / audio.SAMPLE_RATE
    assert info.duration_s / 4 <= cut_s <= 3 * info.duration_s / 4
    # both halves transcribed, in time order, nothing lost at the cut
    assert any(s.end <= cut_s for s in doc.segments) and any(s.start >= cut_s for s in doc.segments)
    starts = [s.start for s in doc.segments]
    assert starts == sorted(starts) and doc.segments[-1].end <= info.duration_s + 0.5
    said = _said(rec)
    assert len(lemmas(" ".join(s.text for s in doc.segments), "ru") & said) >= 0.7 * len(said)


@pytest.mark.slow
def test_one_worker_transcribes_the_same_words(model_cache: Path) -> None:
    rec = _rec("short_leak_ru")
    path = RECORDINGS / rec["path"]
    info = probe(path)
    one, _ = WhisperTranscriber(_settings(model_cache, workers=1)).transcribe(path, info)
    two, _ = WhisperTranscriber(_settings(model_cache, workers=2)).transcribe(path, info)
    words_one = lemmas(" ".join(s.text for s in one.segments), "ru")
    words_two = lemmas(" ".join(s.text for s in two.segments), "ru")
    assert len(words_one & words_two) >= 0.9 * len(words_one | words_two)


# --- scheduling, with a fake transcriber (fast; the real one is used above and in
# test_pipeline.py, whose audit of the fixtures runs with one worker per core) ----


class Fatal(BaseException):
    """Escapes the per-file error handling, as KeyboardInterrupt or SystemExit do."""


class SlowAsr:
    """Thread-safe fake: records when each file starts and how many run at once."""

    model_id = "fake"
    language = "ru"

    def __init__(self, workers: int, fail_on: str | None = None) -> None:
        self.workers = workers
        self.fail_on = fail_on
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.running = 0
        self.peak = 0

    def transcribe(self, path: Path, info: AudioInfo, language: str | None = None
                   ) -> tuple[Transcript, str]:
        with self.lock:
            self.started.append(path.name)
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(0.3)
            if self.fail_on and path.name == self.fail_on:
                raise Fatal("the model went away")
            seg = Segment("client", 0.0, 1.0, "Здравствуйте, сколько стоит доставка?")
            return Transcript([seg], language="ru", duration_s=info.duration_s, model="fake"), "mono"
        finally:
            with self.lock:
                self.running -= 1


def _calls(root: Path, seconds: list[float]) -> list[Path]:
    left, _ = speech()
    paths = []
    for n, s in enumerate(seconds):
        reps = int(s * 16000 // len(left)) + 1
        clip = np.tile(left, reps)[: int(s * 16000)]
        paths.append(write_wav(root / "Ирина" / f"2026-11-02_10-{n:02d}-00_+7912555010{n}.wav",
                               [clip]))
    return paths


def test_files_run_side_by_side_longest_first_and_come_back_in_order(tmp_path: Path) -> None:
    paths = _calls(tmp_path / "calls", [5, 20, 10, 15])
    asr = SlowAsr(workers=2)
    engine = store.make_engine(str(tmp_path / "a.db"))
    summary = Auditor(Settings(), engine, transcriber=asr).run(tmp_path / "calls")
    assert [i.path.name for i in summary.items] == [p.name for p in sorted(paths)]
    assert all(i.status == "done" for i in summary.items)
    assert asr.peak == 2
    by_len = [p.name for p in sorted(paths, key=lambda p: -probe(p).duration_s)]
    # two start at once, so the order within each pair is a race
    assert set(asr.started[:2]) == set(by_len[:2]) and set(asr.started[2:]) == set(by_len[2:])
    assert summary.timings["workers"] == 2


def test_a_transcriber_without_workers_gets_one_file_at_a_time(tmp_path: Path) -> None:
    _calls(tmp_path / "calls", [5, 6, 7])
    asr = SlowAsr(workers=2)
    del asr.workers  # an older or custom transcriber: no thread-safety promised
    engine = store.make_engine(str(tmp_path / "a.db"))
    summary = Auditor(Settings(), engine, transcriber=asr).run(tmp_path / "calls")
    assert len(summary.items) == 3 and asr.peak == 1


def test_stop_lets_the_files_in_flight_finish_and_leaves_the_rest(tmp_path: Path) -> None:
    _calls(tmp_path / "calls", [5, 6, 7, 8, 9, 10])
    asr = SlowAsr(workers=2)
    stop = threading.Event()

    class StopAfterFirst:
        def started(self, total: int, audio_s: float) -> None:
            pass

        def file_started(self, path: Path) -> None:
            stop.set()

        def file_done(self, item: Any) -> None:
            pass

    engine = store.make_engine(str(tmp_path / "a.db"))
    summary = Auditor(Settings(), engine, transcriber=asr).run(
        tmp_path / "calls", events=StopAfterFirst(), stop=stop)
    assert summary.interrupted
    assert 1 <= len(summary.items) <= 2 and all(i.status == "done" for i in summary.items)
    again = Auditor(Settings(), engine, transcriber=SlowAsr(workers=2)).run(tmp_path / "calls")
    assert len(again.items) == 6 and not again.interrupted
    assert again.transcribed == 6 - len(summary.items)  # nothing redone


def test_an_error_that_escapes_a_file_stops_the_batch(tmp_path: Path) -> None:
    paths = _calls(tmp_path / "calls", [20, 5, 6, 7, 8])
    longest = paths[0].name
    asr = SlowAsr(workers=2, fail_on=longest)
    engine = store.make_engine(str(tmp_path / "a.db"))
    with pytest.raises(Fatal, match="went away"):
        Auditor(Settings(), engine, transcriber=asr).run(tmp_path / "calls")
    assert len(asr.started) <= 3  # the files already running finish; no new one starts


@pytest.mark.parametrize("flag", [["--workers", "-1"], ["--batch-size", "0"], ["--beam-size", "0"]])
def test_bad_decoder_flags_are_usage_errors(tmp_path: Path, flag: list[str]) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app

    r = CliRunner().invoke(app, ["audit", str(tmp_path), "--db", str(tmp_path / "a.db"), *flag])
    assert r.exit_code == 2 and flag[0] in r.output
