"""One evidence placer for the review screen and the HTML report (auditor.views.evidence)."""

from __future__ import annotations

from auditor.records import CallAnalysis, Evidence, Segment, StageResult
from auditor.views.evidence import TOLERANCE_S, Placement, locate, place
from auditor.views.review import place_evidence

SEGMENTS = [
    Segment("manager", 0.0, 4.0, "Добрый день, компания Стройснаб."),
    Segment("client", 4.0, 9.0, "Нам нужен газоблок на объект, сколько стоит?"),
    Segment("manager", 9.0, 14.0, "Газоблок   D500 есть, отгрузка завтра."),
]


def ev(quote: str, start: float, end: float) -> Evidence:
    return Evidence(quote, "manager", start, end, "cue")


def test_locate_ignores_case_yo_spacing_and_punctuation() -> None:
    text = SEGMENTS[2].text
    assert locate("газоблок d500", text) == (0, len("Газоблок   D500"))
    assert locate("Отгрузка завтра.", text) == (text.index("отгрузка"), len(text) - 1)
    assert locate("ещё", "Еще раз") == (0, 3)
    assert locate("...", text) == (-1, -1)


def test_quote_in_its_own_segment() -> None:
    at = place(SEGMENTS, ev("сколько стоит", 4.0, 9.0))
    assert at == Placement(1, SEGMENTS[1].text.index("сколько"), SEGMENTS[1].text.index("?"))
    assert at is not None and at.exact


def test_times_a_little_off_still_find_the_segment_most_overlapping_first() -> None:
    # Within the tolerance both of the first two segments are near; the quote is in the second.
    at = place(SEGMENTS, ev("газоблок", 4.0 - TOLERANCE_S / 2, 9.0))
    assert at is not None and at.segment == 1
    # The same words in two segments: the one the evidence overlaps wins.
    at = place(SEGMENTS, ev("газоблок", 9.2, 13.0))
    assert at is not None and at.segment == 2


def test_quote_elsewhere_then_whole_segment_then_nothing() -> None:
    at = place(SEGMENTS, ev("компания стройснаб", 9.0, 14.0))  # times point at the wrong one
    assert at is not None and (at.segment, at.exact) == (0, True)
    at = place(SEGMENTS, ev("не было сказано", 9.5, 12.0))
    assert at == Placement(2)
    assert place(SEGMENTS, ev("не было сказано", 100.0, 101.0)) is None
    assert place([], ev("газоблок", 0, 1)) is None


def test_review_marks_use_the_same_placement() -> None:
    analysis = CallAnalysis(call_type="new_client", verdict="ok", duration_s=14.0,
                            ruleset_version="test", language="ru", stages={
        "needs": StageResult("needs", True, evidence=[ev("нужен газоблок", 4.0, 9.0)])})
    views = place_evidence(SEGMENTS, analysis)
    marks = [(v.index, m.label, m.start, m.end) for v in views for m in v.marks]
    start = SEGMENTS[1].text.index("нужен")
    assert marks == [(1, "needs", start, start + len("нужен газоблок"))]
