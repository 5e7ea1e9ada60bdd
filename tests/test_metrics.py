"""Conversation metrics against a call whose turn timing is known.

tests/call_gen.py lays fixture speech on a timeline with an interruption each
way and a 10 s hold. The truth follows from the plan alone. The slow tests run
the real recogniser on the stereo call (every figure within 0.5 s or 2 points)
and on its mono mix (marked as an estimate); the fast ones run the analysis on
the plan's own segments, where the figures must come out exact.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from auditor.analysis import analyze
from auditor.analysis.loaders import load_transcript
from auditor.config import Settings
from auditor.records import CallMetrics, Segment, Transcript
from auditor.speech.audio import probe
from auditor.speech.transcriber import WhisperTranscriber

from .call_gen import LENGTH_S, Placed, timed_call, true_metrics
from .conftest import CORPUS

SECONDS = ("manager_monologue_s", "client_monologue_s", "longest_silence_s", "response_latency_s")
POINTS = ("manager_talk_pct", "client_talk_pct", "overtalk_pct", "silence_pct")
COUNTS = ("manager_interruptions", "client_interruptions", "silences")
# The manager's questions in the plan's turns (0, 2, 4, 8): "?" in the script.
QUESTIONS = 5


def _check(m: CallMetrics, truth: dict[str, float], keys: tuple[str, ...], tol: float) -> None:
    for key in keys:
        got = getattr(m, key)
        assert got is not None, key
        assert abs(got - truth[key]) <= tol, (key, got, truth[key])


def _words_per_min(turns: list[Placed]) -> float:
    man = [t for t in turns if t.speaker == "manager"]
    return 60 * sum(len(t.text.split()) for t in man) / sum(t.end - t.start for t in man)


def _transcribe(path: Path, model_cache: Path) -> Transcript:
    tr = WhisperTranscriber(Settings(model_cache=model_cache))
    doc, _mode = tr.transcribe(path, probe(path), "ru")
    return doc


@pytest.mark.slow
def test_stereo_metrics_match_the_known_timing(tmp_path: Path, model_cache: Path) -> None:
    turns = timed_call(tmp_path / "timed.wav")
    truth = true_metrics(turns)
    assert truth["manager_interruptions"] == truth["client_interruptions"] == 1
    assert truth["silences"] == 1 and 10.0 <= truth["longest_silence_s"] <= 10.1
    m = analyze(_transcribe(tmp_path / "timed.wav", model_cache)).metrics
    assert m is not None and not m.estimate and m.note == ""
    _check(m, truth, SECONDS, 0.5)
    _check(m, truth, POINTS, 2.0)
    _check(m, truth, COUNTS, 0)
    assert m.questions is not None and abs(m.questions - QUESTIONS) <= 2
    assert m.questions_answered is not None and m.questions_answered <= m.questions
    assert m.questions_per_10min == pytest.approx(600 * m.questions / LENGTH_S, abs=0.1)
    # Recognised words differ from the script's a little; the rate within 15%.
    assert m.manager_wpm == pytest.approx(_words_per_min(turns), rel=0.15)


@pytest.mark.slow
def test_mono_metrics_are_marked_as_estimates(tmp_path: Path, model_cache: Path) -> None:
    turns = timed_call(tmp_path / "mono.wav", mono=True)
    truth = true_metrics(turns)
    m = analyze(_transcribe(tmp_path / "mono.wav", model_cache)).metrics
    assert m is not None and m.estimate and m.note.startswith("mono recording")
    # Nobody speaking needs no speakers: as exact as on stereo.
    _check(m, truth, ("longest_silence_s",), 0.5)
    _check(m, truth, ("silence_pct",), 2.0)
    _check(m, truth, ("silences",), 0)
    # One channel cannot show two people speaking at once.
    assert m.manager_interruptions is None and m.overtalk_pct is None
    if "unsurely" in m.note:
        assert m.manager_talk_pct is None and m.manager_monologue_s is None
    else:
        _check(m, truth, ("manager_talk_pct",), 10.0)


def _plan_transcript(turns: list[Placed], speaker: bool = True) -> Transcript:
    return Transcript([Segment(t.speaker if speaker else "unknown", t.start, t.end, t.text)
                       for t in sorted(turns, key=lambda t: t.start)],
                      language="ru", duration_s=LENGTH_S)


def test_metrics_of_exact_segments_are_exact(tmp_path: Path) -> None:
    turns = timed_call(tmp_path / "timed.wav")
    truth = true_metrics(turns)
    m = analyze(_plan_transcript(turns)).metrics
    assert m is not None and not m.estimate
    _check(m, truth, SECONDS + POINTS, 0.06)  # the figures are rounded
    _check(m, truth, COUNTS, 0)
    assert m.questions == QUESTIONS
    assert m.manager_wpm == pytest.approx(_words_per_min(turns), abs=0.1)


def test_the_checklist_reads_the_known_call(tmp_path: Path) -> None:
    a = analyze(_plan_transcript(timed_call(tmp_path / "timed.wav")))
    items = {i.key: i for i in a.checklist}
    assert items["greeting"].met and "меня зовут Ирина" in items["greeting"].evidence[0].quote
    assert items["client_name"].met and items["client_name"].evidence[0].speaker == "manager"
    share = a.metrics.manager_talk_pct if a.metrics else None
    assert share is not None and items["talk_share"].met == (35 <= share <= 65)
    assert items["open_questions"].met and len(items["open_questions"].evidence) == 3
    assert not items["stop_dont_know"].met


def test_mono_figures_are_estimates_or_left_out() -> None:
    """A mono call: the figures rest on inferred speakers, or are not shown at all."""
    shown = left_out = 0
    for name in ("dev-ru-001", "dev-ru-002", "dev-en-001", "dev-en-004"):
        doc, _ = load_transcript(CORPUS / f"{name}.json")
        stereo = analyze(doc).metrics
        mono = analyze(replace(doc, segments=[replace(s, speaker="unknown")
                                              for s in doc.segments])).metrics
        assert stereo is not None and mono is not None and mono.estimate
        assert mono.overtalk_pct is None and mono.manager_interruptions is None
        assert mono.silences == stereo.silences  # speaker-free figures stay
        if mono.manager_talk_pct is None:
            left_out += 1
            assert "unsurely" in mono.note and mono.questions is None
        else:
            shown += 1
            assert stereo.manager_talk_pct is not None
            assert abs(mono.manager_talk_pct - stereo.manager_talk_pct) <= 10
    assert shown and left_out
