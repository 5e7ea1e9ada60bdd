"""Conversation metrics of a call from its stored transcript: who talked how much, and how.

Everything is measured on the transcript's segments (the recogniser's word
timestamps, cut at pauses of a second: auditor.speech.transcriber), so
``rescore`` recomputes the figures without audio. The parameters and the
norms are in models/metrics.toml.

- talk time of a side: the union of its segments; the shares are of the two
  sides' talk time together;
- a monologue: one side's speech with no pause of ``monologue_pause_s`` and no
  word from the other side longer than ``backchannel_s``;
- questions: the manager's clauses read as questions (auditor.analysis.dialogue),
  answered when the client's turn follows within ``answer_window_s``;
- an interruption: a side starts while the other is speaking and both go on
  for more than ``overlap_s``; overtalk: the time both speak, % of talk time;
- silence: a gap of more than ``silence_s`` between words where nobody speaks
  (from the first word to the last), its share of the call;
- response latency: the median gap from the client's end to the manager's
  start (switches without overlap and shorter than a silence);
- speech rate: the manager's words per minute of the manager's talk time.

A stereo call names its speakers by channel: exact figures. On a mono call the
speakers are the analysis's inferred ones: the figures are estimates, left out
when the inference is unsure, and overlaps cannot be heard on one channel.
"""

from __future__ import annotations

import bisect
import functools
import statistics
from typing import TYPE_CHECKING, Any

from auditor.analysis.rules import model_toml, toml_number
from auditor.records import CallMetrics, Segment, Transcript

if TYPE_CHECKING:  # pragma: no cover
    from auditor.analysis.dialogue import Dialogue

METRICS_FILE = "metrics.toml"
Span = tuple[float, float]


@functools.cache
def metrics_settings() -> dict[str, Any]:
    """models/metrics.toml: how the metrics are measured, and the norms."""
    return model_toml(METRICS_FILE)


def _number(section: str, key: str) -> float:
    return toml_number(METRICS_FILE, metrics_settings(), section, key)


@functools.cache  # as metrics_settings is
def measure(key: str) -> float:
    """A measuring parameter of models/metrics.toml [measure]."""
    return _number("measure", key)


def norms() -> dict[str, float]:
    """The norms of models/metrics.toml [norms], by name."""
    return {k: _number("norms", k) for k in metrics_settings().get("norms", {})}


def union(spans: list[Span]) -> list[Span]:
    """Overlapping or touching spans merged, in time order."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def total(spans: list[Span]) -> float:
    return sum(b - a for a, b in spans)


def intersect(x: list[Span], y: list[Span]) -> list[Span]:
    """Where two sorted span lists overlap."""
    out: list[Span] = []
    i = j = 0
    while i < len(x) and j < len(y):
        a, b = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if a < b:
            out.append((a, b))
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return out


def monologue(own: list[Span], other: list[Span]) -> float:
    """The longest stretch of one side's speech (see the module docstring)."""
    pause, backchannel = measure("monologue_pause_s"), measure("backchannel_s")
    words = [s for s in other if s[1] - s[0] > backchannel]  # sorted, not overlapping
    best = 0.0
    start: float | None = None
    last_end = 0.0
    j = 0
    for a, b in own:
        # the other side's words that ended before this stretch cannot break a later one
        while j < len(words) and words[j][1] <= last_end:
            j += 1
        broken = start is None or a - last_end >= pause or (j < len(words) and words[j][0] < a)
        if broken:
            start = a
        assert start is not None
        if b > last_end:
            last_end = b
        if b - start > best:
            best = b - start
    return best


def interruptions(starter: list[Span], speaking: list[Span]) -> int:
    """How often ``starter`` began while ``speaking`` talked, both going on past overlap_s."""
    overlap = measure("overlap_s")
    starts = [sa for sa, _ in speaking]
    count = 0
    for a, b in starter:
        k = bisect.bisect_left(starts, a) - 1  # the last stretch that began before a
        if k >= 0 and a < speaking[k][1] and min(b, speaking[k][1]) - a > overlap:
            count += 1
    return count


def _silences(speech: list[Span]) -> list[float]:
    limit = measure("silence_s")
    gaps = [b[0] - a[1] for a, b in zip(speech, speech[1:], strict=False)]
    return [g for g in gaps if g > limit]


def _latency(manager: list[Span], client: list[Span]) -> float | None:
    limit = measure("silence_s")
    events = sorted([(a, b, "m") for a, b in manager] + [(a, b, "c") for a, b in client])
    gaps = [n[0] - p[1] for p, n in zip(events, events[1:], strict=False)
            if p[2] == "c" and n[2] == "m" and 0.0 <= n[0] - p[1] < limit]
    return round(statistics.median(gaps), 2) if gaps else None


def _roles(transcript: Transcript, dialogue: Dialogue) -> tuple[list[tuple[str, Segment]], float]:
    """Each spoken segment with its side, and how sure the sides are (1: named by channel)."""
    inferred: dict[tuple[float, float], float] | None = None  # built for a mono call only
    out: list[tuple[str, Segment]] = []
    sure = weight = 0.0
    for seg in transcript.segments:
        if not seg.text.strip():
            continue
        if seg.speaker in ("manager", "client"):
            out.append((seg.speaker, seg))
            sure += seg.end - seg.start
        else:
            if inferred is None:
                inferred = {(t.segment.start, t.segment.end): t.p_manager for t in dialogue.turns}
            p = inferred.get((seg.start, seg.end), 0.5)
            out.append(("manager" if p >= 0.5 else "client", seg))
            sure += abs(2 * p - 1) * (seg.end - seg.start)
        weight += seg.end - seg.start
    return out, (sure / weight if weight > 0 else 0.0)


def call_metrics(transcript: Transcript, dialogue: Dialogue) -> CallMetrics:
    """The conversation metrics of a call (see the module docstring)."""
    sided, certainty = _roles(transcript, dialogue)
    mono = any(s.speaker not in ("manager", "client") for _, s in sided)
    duration = float(transcript.duration)
    speech = union([(s.start, s.end) for _, s in sided])
    gaps = _silences(speech)
    m = CallMetrics(
        estimate=mono, silences=len(gaps),
        silence_pct=round(100 * sum(gaps) / duration, 1) if duration > 0 else None,
        longest_silence_s=round(max(gaps, default=0.0), 2))
    if mono and certainty < measure("min_role_certainty"):
        m.note = (f"mono recording: the speakers are inferred too unsurely "
                  f"({certainty:.2f}) for per-speaker figures")
        return m
    man = union([(s.start, s.end) for side, s in sided if side == "manager"])
    cli = union([(s.start, s.end) for side, s in sided if side == "client"])
    man_s = total(man)
    talk = man_s + total(cli)
    if talk > 0:
        m.manager_talk_pct = round(100 * man_s / talk, 1)
        m.client_talk_pct = round(100 - m.manager_talk_pct, 1)
    m.manager_monologue_s = round(monologue(man, cli), 2)
    m.client_monologue_s = round(monologue(cli, man), 2)
    asked, answered = questions(dialogue)
    m.questions, m.questions_answered = asked, answered
    m.questions_per_10min = round(600 * asked / duration, 1) if duration > 0 else None
    m.response_latency_s = _latency(man, cli)
    words = sum(len(s.text.split()) for side, s in sided if side == "manager")
    m.manager_wpm = round(60 * words / man_s, 1) if man_s >= 1.0 else None
    if mono:
        m.note = "mono recording: per-speaker figures are estimates from inferred speakers"
    else:
        m.manager_interruptions = interruptions(man, cli)
        m.client_interruptions = interruptions(cli, man)
        m.overtalk_pct = round(100 * total(intersect(man, cli)) / total(speech), 1) \
            if speech else None
    return m


def questions(dialogue: Dialogue) -> tuple[int, int]:
    """The manager's questions, and how many of them the client's next turn answered."""
    window = measure("answer_window_s")
    turns = dialogue.turns
    asked = answered = 0
    for i, t in enumerate(turns):
        if t.role != "manager":
            continue
        n = sum(1 for c in t.clauses if c.question)
        if not n:
            continue
        asked += n
        nxt = turns[i + 1] if i + 1 < len(turns) else None
        if (nxt is not None and nxt.role == "client"
                and nxt.segment.start - t.segment.end <= window):
            answered += n
    return asked, answered
