"""Speech detection and hallucination guards: the whole call reaches the analysis, and nothing else.

The real-audio tests use fixtures/real/phone-call-ru.wav: real Russian speech
made phone-like (fixtures/make_real_fixtures.py): the manager loud on the left,
the client 14 dB quieter through a mobile codec on the right, a 22 s silence
and 18 s of hold music on the client's side. Its regions and reference texts
are in phone-call-ru.json.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from auditor.config import Settings
from auditor.records import ChannelStats, Segment, Transcript
from auditor.speech import guards, vad
from auditor.speech.audio import decode, probe
from auditor.speech.transcriber import WhisperTranscriber
from tests.conftest import FIXTURES

CALL = FIXTURES / "real" / "phone-call-ru.wav"
META = json.loads((FIXTURES / "real" / "phone-call-ru.json").read_text(encoding="utf-8"))
# The 16 kHz detector at threshold 0.5 the product used before issue 11.
OLD_DETECTOR = {"vad_detector": "silero-16k", "vad_threshold": 0.5,
                "vad_min_silence_ms": 160, "vad_adaptive": False}


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower().replace("ё", "е"))


def _recall(ref: str, hyp: str) -> float:
    r, h = Counter(_words(ref)), Counter(_words(hyp))
    return sum((r & h).values()) / max(1, sum(r.values()))


def _reference(side: str) -> str:
    return " ".join(r["text"] for r in META["regions"]
                    if r["channel"] == side and r["kind"] == "speech")


def _quiet(side: str, margin: float = 1.0) -> list[tuple[float, float]]:
    """Stretches of a channel with nobody speaking on it (hold music included)."""
    speech = sorted((r["start"] - margin, r["end"] + margin) for r in META["regions"]
                    if r["channel"] == side and r["kind"] == "speech")
    out, t = [], 0.0
    for a, b in speech:
        if a > t:
            out.append((t, a))
        t = max(t, b)
    out.append((t, META["duration_s"]))
    return out


@pytest.fixture(scope="module")
def transcribed(model_cache: Path) -> dict[str, Transcript]:
    """The fixture call: default settings, the old 16 kHz detector, and no VAD at all."""
    out = {}
    for name, kw in (("default", {}), ("old", OLD_DETECTOR),
                     ("novad", {"vad": False})):
        tr = WhisperTranscriber(Settings(model_cache=model_cache, **kw))
        out[name], mode = tr.transcribe(CALL, probe(CALL), "ru")
        assert mode == "stereo"
    return out


def _opts(**kw: Any) -> vad.VadOptions:
    """The product's speech-detection options, with some replaced."""
    return replace(vad.VadOptions.from_settings(Settings()), **kw)


def _text(doc: Transcript, side: str) -> str:
    return " ".join(s.text for s in doc.segments if s.speaker == side)


def _sent_share(side: str, **settings: Any) -> list[tuple[tuple[float, float], float]]:
    """For each reference speech region of a side, the share of it the detector sends on."""
    audio = decode(CALL, True)[("manager", "client").index(side)]
    speech = vad.detect(audio, vad.VadOptions.from_settings(Settings(**settings)))
    sent = speech.frames_of(speech.chunks)
    out = []
    for r in META["regions"]:
        if r["channel"] == side and r["kind"] == "speech":
            a, b = int(r["start"] / vad.FRAME_S), int(r["end"] / vad.FRAME_S)
            out.append(((r["start"], r["end"]), float(sent[a:b].mean())))
    return out


@pytest.mark.slow
def test_quiet_narrowband_channel_beside_a_loud_one_keeps_its_speech(
        transcribed: dict[str, Transcript]) -> None:
    doc = transcribed["default"]
    manager = _recall(_reference("manager"), _text(doc, "manager"))
    client = _recall(_reference("client"), _text(doc, "client"))
    assert manager >= 0.7, _text(doc, "manager")
    assert client >= 0.5, _text(doc, "client")
    # The detector sends the recogniser every stretch where somebody speaks:
    # at least 95% of each reference speech region, on both channels. (This is
    # the detector's own output, the same on every CPU; how many of the words
    # sent Whisper then gets right moves by a few words between CPUs on 28
    # client words, so benchmarks/recall.py measures the "within 5 points of
    # no VAD" promise on 539 client words.)
    for side in ("manager", "client"):
        for (a, b), share in _sent_share(side):
            assert share >= 0.95, (side, a, b, share)
    # The client's words right after the hold music are there too (the
    # detector's memory of the music used to silence them).
    after_hold = [s for s in doc.segments if s.speaker == "client" and s.start > 68]
    assert sum(len(_words(s.text)) for s in after_hold) >= 8, after_hold
    # The old detector (16 kHz, threshold 0.5) sent well under two thirds of
    # the client's speech, the stretch after the hold music nearly not at all,
    # and fewer of the client's words came through.
    old_shares = [share for _, share in _sent_share("client", **OLD_DETECTOR)]
    assert min(old_shares) < 0.6, old_shares
    old = _recall(_reference("client"), _text(transcribed["old"], "client"))
    assert client > old, (client, old)


@pytest.mark.slow
def test_coverage_is_measured_per_channel(transcribed: dict[str, Transcript]) -> None:
    doc = transcribed["default"]
    by = {c.speaker: c for c in doc.channels}
    assert set(by) == {"manager", "client"}
    for side, ch in by.items():
        assert ch.detector.startswith("silero-8k")
        assert ch.coverage is not None and ch.coverage >= 0.9, (side, ch)
        assert 5.0 < ch.sound_s < 20.0, ch  # ~13 s of speech per side
        assert ch.words == sum(len(guards.words(s.text)) for s in doc.segments if s.speaker == side)
        assert ch.words_per_min is not None and 60 < ch.words_per_min < 250


@pytest.mark.slow
def test_silence_and_hold_music_produce_no_text(transcribed: dict[str, Transcript]) -> None:
    doc = transcribed["default"]
    for side in ("manager", "client"):
        quiet = _quiet(side)
        stray = [s for s in doc.segments if s.speaker == side
                 and any(a <= (s.start + s.end) / 2 < b for a, b in quiet)]
        assert stray == [], stray
    # ... and were not sent to the recogniser: the client channel is 80 s long,
    # its speech ~14 s; the 18 s of hold music and the 30 s silence are skipped.
    client = next(c for c in doc.channels if c.speaker == "client")
    assert client.sent_s < 0.35 * client.seconds, client


# --- the detector on synthetic input ------------------------------------------------


def test_silence_gives_no_speech_and_no_coverage() -> None:
    audio = np.zeros(16000 * 20, dtype=np.float32)
    sm = vad.detect(audio, _opts())
    assert sm.chunks == []
    assert int(sm.sound_frames().sum()) == 0


def test_a_pure_tone_is_not_sound_for_the_coverage() -> None:
    t = np.arange(16000 * 10) / 16000
    tone = (0.1 * np.sin(2 * np.pi * 425 * t)).astype(np.float32)
    sm = vad.detect(tone, _opts())
    assert sm.chunks == []
    assert sm.sound_frames().mean() < 0.05


def test_speech_chunks_hysteresis_padding_and_max_length() -> None:
    frames_per_s = 1 / vad.FRAME_S
    p = np.zeros(int(60 * frames_per_s), dtype=np.float32)
    p[int(2 * frames_per_s): int(4 * frames_per_s)] = 0.9  # 2-4 s speech
    p[int(4 * frames_per_s): int(4.1 * frames_per_s)] = 0.1  # a 0.1 s dip: not a pause
    p[int(4.1 * frames_per_s): int(5 * frames_per_s)] = 0.9
    p[int(10 * frames_per_s): int(50 * frames_per_s)] = 0.9  # 40 s of speech: cut
    n = 60 * 16000
    chunks = vad.speech_chunks(p, _opts(threshold=0.5, min_silence_ms=300,
                                       speech_pad_ms=400), n)
    spans = [(a / 16000, b / 16000) for a, b in chunks]
    assert spans[0][0] == pytest.approx(1.6, abs=0.05)
    assert spans[0][1] == pytest.approx(5.4, abs=0.1)
    assert all(b - a <= 30.0 for a, b in spans)
    assert sum(b - a for a, b in spans[1:]) == pytest.approx(40.8, abs=0.5)


def test_a_channel_scored_low_as_a_whole_gets_a_lower_threshold() -> None:
    levels = np.full(200, -30.0, dtype=np.float32)
    probs = np.full(200, 0.3, dtype=np.float32)
    opts = vad._adapted(_opts(threshold=0.35), probs, levels, floor=-60.0)
    assert opts.threshold == pytest.approx(0.18)
    high = vad._adapted(_opts(threshold=0.35), np.full(200, 0.9), levels, floor=-60.0)
    assert high.threshold == 0.35


# --- hallucination guards ------------------------------------------------------------


def test_repeated_tokens_are_cut_to_one_copy_and_counted() -> None:
    assert guards.cut_repeats("Да, да, да, да, да, да, да, да, конечно") == ("Да, конечно", 7)
    text, cut = guards.cut_repeats("ну вот " + "и мы пошли " * 6 + "дальше")
    assert (text, cut) == ("ну вот и мы пошли дальше", 15)
    assert guards.cut_repeats("А-" * 150 + "а") == ("А", 150)
    assert guards.cut_repeats("лалалалалала привет") == ("ла привет", 5)
    for natural in ("да да да", "нет нет нет нет", "ха-ха-ха", "кукуруза", "Ммм, понятно",
                    "Мы работаем с 2010 года, 20, 20 и 20 процентов."):
        assert guards.cut_repeats(natural) == (natural, 0), natural


def test_guards_drop_loops_captions_and_text_on_silence() -> None:
    loud = lambda a, b: 30.0  # noqa: E731 - sound everywhere
    pieces = [
        Segment("unknown", 1.0, 3.0, "Добрый день, компания СтройРесурс."),
        Segment("unknown", 4.0, 9.0, "Сейчас " + "20, " * 40, -0.7, 0.3),
        Segment("unknown", 10.0, 12.0, "Продолжение следует..."),
        Segment("unknown", 13.0, 15.0, "ДИНАМИЧНАЯ МУЗЫКА"),
        Segment("unknown", 16.0, 18.0, "Хорошо.", -1.4, 0.8),
    ]
    kept, dropped = guards.apply(pieces, loud)
    assert [p.text for p in kept] == ["Добрый день, компания СтройРесурс.", "Сейчас 20,"]
    assert [(why, n) for _, why, n in dropped] == [
        ("repeat", 39), ("phrase", 2), ("phrase", 2), ("no_speech", 1)]
    silent = lambda a, b: 2.0  # noqa: E731 - nothing above the noise floor
    kept, dropped = guards.apply([Segment("unknown", 1.0, 3.0, "Спасибо.")], silent)
    assert kept == [] and [why for _, why, _ in dropped] == ["no_energy"]


def test_a_looping_decode_is_dropped_before_analysis_and_kept_in_the_transcript(
        tmp_path: Path) -> None:
    """The transcriber with a stand-in decoder that loops, as Whisper does on a bad line."""

    class Word:
        def __init__(self, word: str, start: float, end: float) -> None:
            self.word, self.start, self.end = word, start, end

    class Seg:
        def __init__(self, words: list[Word]) -> None:
            self.words = words
            self.start, self.end = words[0].start, words[-1].end
            self.text = "".join(w.word for w in words)
            self.avg_logprob, self.no_speech_prob = -0.6, 0.2

    class Info:
        language = "ru"

    class LoopingModel:
        def transcribe(self, audio: Any, **kw: Any) -> tuple[list[Seg], Info]:
            words = [Word(" Алло,", 0.2, 0.6)] + [Word(" ба", 0.7 + 0.1 * i, 0.8 + 0.1 * i)
                                                  for i in range(60)]
            return [Seg(words)], Info()

    t = np.arange(16000 * 8) / 16000
    voice = (0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    tr = WhisperTranscriber(Settings(vad=False))
    tr._model = LoopingModel()
    run = tr._run(voice, "ru")
    assert [p.text for p in run.pieces] == ["Алло, ба"]
    assert run.stats.dropped == {"repeat": 59}
    assert run.stats.words == 2
    # Stored and read back, the dropped text is kept beside the transcript.
    from auditor import store
    from auditor.records import ChannelStats as CS

    doc = Transcript([Segment("client", 0.2, 6.7, "Алло, ба")], channels=[run.stats],
                     dropped=[Segment("client", 0.2, 6.7, run.dropped[0][0].text, dropped="repeat")],
                     model="base")
    engine = store.make_engine(str(tmp_path / "a.db"))
    from sqlmodel import Session

    with Session(engine) as s:
        rec = store.Recording(path="/x.wav", sha256="abc")
        s.add(rec)
        s.commit()
        s.refresh(rec)
        row = store.save_transcript(s, rec, doc, "stereo", 1.0)
        s.commit()
        back = row.to_doc()
    assert back.dropped[0].dropped == "repeat" and back.dropped[0].text.count("ба") == 60
    assert isinstance(back.channels[0], CS) and back.channels[0].dropped == {"repeat": 59}
    assert back.text == "Алло, ба"


def test_channel_stats_add_and_round_trip() -> None:
    a = ChannelStats("client", 600, 100, 90, 120, 200, {"repeat": 3}, "silero-8k")
    a.add(ChannelStats("client", 100, 10, 10, 12, 30, {"repeat": 1, "no_energy": 2}))
    assert (a.seconds, a.sound_s, a.covered_s, a.words) == (700, 110, 100, 230)
    assert a.dropped == {"repeat": 4, "no_energy": 2} and a.dropped_words == 6
    assert a.coverage == pytest.approx(100 / 110)
    assert ChannelStats.from_dict(a.to_dict()) == a


def test_stereo_channel_decode_is_8k_aware() -> None:
    """The fixture is 8 kHz: the detector runs on 8 kHz audio however it was decoded."""
    chans = decode(CALL, split_channels=True)
    x8 = vad.to_8k(chans[0])
    assert abs(len(x8) * 2 - len(chans[0])) <= 1
    assert vad.model_name() == "silero-8k"


# --- what the user sees: show and report ------------------------------------------------


def _partly_heard_db(tmp_path: Path) -> tuple[str, int]:
    from tests.helpers_review import RU_SHORT_EVIDENCE, RU_SHORT_SALE, add_call, make_engine

    path, engine = make_engine(tmp_path)
    call = add_call(
        engine, "partly", RU_SHORT_SALE, duration_s=21.0, verdict="missed_opportunity",
        evidence=RU_SHORT_EVIDENCE,
        channels=[ChannelStats("manager", 21.0, 9.0, 8.9, 10.0, 30),
                  ChannelStats("client", 21.0, 8.0, 4.0, 5.0, 9, {"repeat": 12})],
        dropped=[Segment("client", 16.0, 18.0, "ба-ба-ба-ба-ба-ба", dropped="repeat")])
    engine.dispose()
    return path, call.id


def test_show_and_report_say_when_a_channel_was_heard_only_in_part(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app

    db, call_id = _partly_heard_db(tmp_path)
    runner = CliRunner()
    shown = runner.invoke(app, ["show", str(call_id), "--db", db])
    assert shown.exit_code == 0, shown.output
    out = " ".join(shown.output.split())
    assert "client: 50% of its sound decoded, 9 words" in out
    assert "dropped 12 repeat" in out
    assert "low speech coverage on the client channel (50% under 80%)" in out
    assert "1 segment(s) dropped as recognition artefacts" in out
    data = json.loads(runner.invoke(app, ["show", str(call_id), "--db", db, "--format", "json"]).output)
    client = next(c for c in data["transcript"]["channels"] if c["speaker"] == "client")
    assert client["coverage"] == 0.5 and client["dropped"] == {"repeat": 12}
    assert data["transcript"]["dropped"][0]["dropped"] == "repeat"

    rep = runner.invoke(app, ["report", "--db", db, "--format", "json"])
    problem = json.loads(rep.output)["problems"][0]
    assert problem["speech_coverage"] == 0.5
    table = " ".join(runner.invoke(app, ["report", "--db", db]).output.split())
    assert "1 of them heard only in part (speech coverage under 80%)" in table
