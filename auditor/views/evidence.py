"""Where an evidence quote stands in a transcript: its segment and the span of its words.

The review screen and the HTML report both mark evidence in the transcript,
so both place it here, the same way. A quote is looked for first in the
segments that overlap its time span (the most overlapping first), then in
any segment; failing that it belongs, as a whole, to the segment that
overlaps it most. Text is compared ignoring case, ё/е and how ASR and the
analysis spaced and punctuated it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.records import Evidence, Segment

# Evidence carries its segment's times, but a stored analysis may come from an
# earlier transcript of the same audio whose segments were cut a little
# differently: half a second either way still finds the segment.
TOLERANCE_S = 0.5


@dataclass(frozen=True)
class Placement:
    """The segment (index) a quote belongs to; start/end: its characters there, -1 if not found."""

    segment: int
    start: int = -1
    end: int = -1

    @property
    def exact(self) -> bool:
        return self.start >= 0


def _norm(text: str) -> str:
    return text.lower().replace("ё", "е")


def locate(quote: str, text: str) -> tuple[int, int]:
    """Character span of quote in text, ignoring case, ё/е and runs of spaces; (-1, -1) if absent."""
    q = _norm(quote).strip().strip(".,!?…")
    if not q:
        return -1, -1
    t = _norm(text)
    i = t.find(q)
    if i >= 0:
        return i, i + len(q)
    # ASR and evidence extraction may disagree on spacing and punctuation.
    words = [re.escape(w) for w in re.findall(r"\w+", q)]
    if not words:
        return -1, -1
    m = re.search(r"\W+".join(words), t)
    return (m.start(), m.end()) if m else (-1, -1)


def _overlap(seg: Segment, ev: Evidence) -> float:
    return min(seg.end, ev.end) - max(seg.start, ev.start)


def place(segments: Sequence[Segment], ev: Evidence) -> Placement | None:
    """Where the quote of ev belongs in segments, or None (no segment near it nor quoting it)."""
    near = [i for i, s in enumerate(segments)
            if s.start <= ev.end + TOLERANCE_S and ev.start <= s.end + TOLERANCE_S]
    near.sort(key=lambda i: -_overlap(segments[i], ev))
    others = [i for i in range(len(segments)) if i not in set(near)]
    for i in near + others:
        start, end = locate(ev.quote, segments[i].text)
        if start >= 0:
            return Placement(i, start, end)
    return Placement(near[0]) if near else None
