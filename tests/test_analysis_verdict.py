"""The verdict table of LABELING.md and the short-call threshold from Settings."""

from __future__ import annotations

import pytest

from auditor.analysis import analyze
from auditor.analysis.verdict import decide_verdict
from auditor.config import Settings
from auditor.records import fmt_duration as format_duration
from tests.test_analysis_stages import FULL_RU, call

ALL = ["profile", "needs", "presentation", "next_step"]


@pytest.mark.parametrize("call_type,found,duration,verdict", [
    ("post_sale", [], 30, "exempt"),
    ("post_sale", ALL, 600, "exempt"),
    ("no_contact", [], 10, "no_contact"),
    ("no_contact", ["next_step"], 500, "no_contact"),
    ("new_client", ALL, 60, "ok"),
    ("existing_client", ALL, 900, "ok"),
    ("new_client", ["profile"], 299.9, "missed_opportunity"),
    ("existing_client", [], 0, "missed_opportunity"),
    ("new_client", ["profile", "needs", "presentation"], 300.0, "incomplete"),
    ("existing_client", ["needs"], 1200, "incomplete"),
])
def test_verdict_table(call_type, found, duration, verdict):
    assert decide_verdict(call_type, found, duration, 300.0)[0] == verdict


def test_reason_names_duration_threshold_and_missing_stages():
    verdict, reason = decide_verdict("new_client", ["profile", "presentation"], 125, 300)
    assert verdict == "missed_opportunity"
    assert reason == "sales call of 2:05 under 5:00 missing needs, next_step"
    _, reason = decide_verdict("existing_client", ["profile"], 330, 300)
    assert "5:30" in reason and "needs, presentation, next_step" in reason


def test_unknown_call_type_is_refused():
    with pytest.raises(ValueError):
        decide_verdict("sales", [], 10, 300)


def test_format_duration():
    assert format_duration(0) == "0:00"
    assert format_duration(59.6) == "1:00"
    assert format_duration(3725) == "62:05"


def test_threshold_comes_from_settings_and_duration_from_the_recording():
    # A call missing its next step, 4 minutes of speech in a 6-minute recording.
    turns = FULL_RU[:10]
    transcript = call(turns, "ru", duration=360)
    assert transcript.segments[-1].end < 300
    assert analyze(transcript).verdict == "incomplete"
    assert analyze(transcript, Settings(short_call_s=400)).verdict == "missed_opportunity"
    transcript.duration_s = None  # falls back to the last segment's end
    assert analyze(transcript).verdict == "missed_opportunity"
