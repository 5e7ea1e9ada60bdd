"""Typed records that flow between the stages of the audit.

ingest -> speech -> analysis -> store: every arrow carries one of these,
never a loose dict. They are plain dataclasses so that the analysis can run
without a database and the store can persist them as JSON columns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

Speaker = Literal["manager", "client", "unknown"]
SPEAKERS: tuple[str, ...] = ("manager", "client", "unknown")

STAGES: tuple[str, ...] = ("profile", "needs", "presentation", "next_step")
CALL_TYPES: tuple[str, ...] = ("new_client", "existing_client", "post_sale", "no_contact")
SALES_TYPES: tuple[str, ...] = ("new_client", "existing_client")
VERDICTS: tuple[str, ...] = ("ok", "incomplete", "missed_opportunity", "exempt", "no_contact",
                             "inconclusive")
# The verdicts that say a manager did something wrong, and those that do not.
ACCUSING: tuple[str, ...] = ("missed_opportunity", "incomplete")
BLAMELESS: tuple[str, ...] = ("ok", "exempt", "no_contact")
# The verdicts of a judged sales call: only these get a checklist score.
SCORED: tuple[str, ...] = ("ok", "incomplete", "missed_opportunity")


def fmt_duration(seconds: float | None) -> str:
    """A length or a time in a call as m:ss (125.4 -> '2:05'; None -> '-'), everywhere it is shown."""
    if seconds is None:
        return "-"
    m, s = divmod(int(round(max(seconds, 0.0))), 60)
    return f"{m}:{s:02d}"


@dataclass(frozen=True)
class RecordingInfo:
    """A recording found by ingest (discovery): where it is and who/when it belongs to."""

    path: Path
    manager: str | None = None
    client: str | None = None
    started_at: datetime | None = None
    direction: str | None = None
    language: str | None = None  # from the call log's language column; else settings decide


@dataclass(frozen=True)
class AudioInfo:
    """What the container header says about a recording."""

    duration_s: float
    channels: int
    sample_rate: int
    codec: str = ""


@dataclass(frozen=True)
class Segment:
    """One speaker turn with its time span in seconds.

    Recognised segments also carry the recogniser's confidence: the average
    token log-probability, the no-speech probability and the compression
    ratio of the decoded text (None for transcripts loaded from text).
    ``dropped`` names the hallucination guard that removed a segment
    (Transcript.dropped); kept segments have it empty.
    """

    speaker: str
    start: float
    end: float
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    dropped: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("avg_logprob", "no_speech_prob", "compression_ratio"):
            if d[key] is None:
                del d[key]
        if not d["dropped"]:
            del d["dropped"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        def opt(key: str) -> float | None:
            v = d.get(key)
            return None if v is None else float(v)

        return cls(
            speaker=str(d.get("speaker", "unknown")),
            start=float(d.get("start", 0.0)),
            end=float(d.get("end", d.get("start", 0.0))),
            text=str(d.get("text", "")),
            avg_logprob=opt("avg_logprob"),
            no_speech_prob=opt("no_speech_prob"),
            compression_ratio=opt("compression_ratio"),
            dropped=str(d.get("dropped", "")),
        )


@dataclass
class ChannelStats:
    """How much of one channel's sound reached the recogniser, and what came of it.

    ``sound_s`` is the channel's audio above its noise floor that the speech
    detector did not rule out as a tone or music; ``covered_s`` the part of it
    that was sent to the recogniser; ``sent_s`` all audio sent (sound and the
    padding around it). ``dropped`` counts the words the hallucination guards
    removed, by guard.
    """

    speaker: str
    seconds: float = 0.0
    sound_s: float = 0.0
    covered_s: float = 0.0
    sent_s: float = 0.0
    words: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    detector: str = ""

    @property
    def coverage(self) -> float | None:
        """Share of the channel's sound that went to the recogniser (None: no sound)."""
        return self.covered_s / self.sound_s if self.sound_s >= 0.1 else None

    @property
    def words_per_min(self) -> float | None:
        """Words recognised per minute of the channel's sound."""
        return 60.0 * self.words / self.sound_s if self.sound_s >= 1.0 else None

    @property
    def dropped_words(self) -> int:
        return sum(self.dropped.values())

    def add(self, other: ChannelStats) -> None:
        self.seconds += other.seconds
        self.sound_s += other.sound_s
        self.covered_s += other.covered_s
        self.sent_s += other.sent_s
        self.words += other.words
        for k, v in other.dropped.items():
            self.dropped[k] = self.dropped.get(k, 0) + v
        self.detector = self.detector or other.detector

    def to_dict(self) -> dict[str, Any]:
        cov, wpm = self.coverage, self.words_per_min
        return {"speaker": self.speaker, "seconds": round(self.seconds, 2),
                "sound_s": round(self.sound_s, 2), "covered_s": round(self.covered_s, 2),
                "sent_s": round(self.sent_s, 2), "words": self.words,
                "coverage": None if cov is None else round(cov, 3),
                "words_per_min": None if wpm is None else round(wpm, 1),
                "dropped": dict(self.dropped), "detector": self.detector}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChannelStats:
        return cls(speaker=str(d.get("speaker", "unknown")), seconds=float(d.get("seconds", 0.0)),
                   sound_s=float(d.get("sound_s", 0.0)), covered_s=float(d.get("covered_s", 0.0)),
                   sent_s=float(d.get("sent_s", 0.0)), words=int(d.get("words", 0)),
                   dropped={str(k): int(v) for k, v in (d.get("dropped") or {}).items()},
                   detector=str(d.get("detector", "")))


def speech_coverage(channels: list[ChannelStats]) -> float | None:
    """The lowest coverage among the channels that had sound (None: none had)."""
    known = [c.coverage for c in channels if c.coverage is not None]
    return min(known) if known else None


@dataclass
class Transcript:
    """A call's words by speaker, as recognised or as loaded from a file."""

    segments: list[Segment]
    language: str = "ru"
    duration_s: float | None = None
    source: str = ""
    model: str = ""
    # What the recogniser saw per channel and the segments the hallucination
    # guards removed (empty for transcripts loaded from text).
    channels: list[ChannelStats] = field(default_factory=list)
    dropped: list[Segment] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Recording length; falls back to the last segment's end."""
        if self.duration_s is not None:
            return self.duration_s
        return max((s.end for s in self.segments), default=0.0)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)


@dataclass(frozen=True)
class Evidence:
    """A quote that decided something, with who said it and when."""

    quote: str
    speaker: str
    start: float
    end: float
    cue: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        return cls(
            quote=str(d["quote"]),
            speaker=str(d.get("speaker", "unknown")),
            start=float(d.get("start", 0.0)),
            end=float(d.get("end", 0.0)),
            cue=str(d.get("cue", "")),
        )


@dataclass
class StageResult:
    """Whether one stage of the sales conversation happened, and why we think so."""

    stage: str
    found: bool
    evidence: list[Evidence] = field(default_factory=list)
    confidence: float = 1.0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "found": self.found,
            "evidence": [e.to_dict() for e in self.evidence],
            "confidence": self.confidence,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageResult:
        return cls(
            stage=str(d["stage"]),
            found=bool(d["found"]),
            evidence=[Evidence.from_dict(e) for e in d.get("evidence", [])],
            confidence=float(d.get("confidence", 1.0)),
            reason=str(d.get("reason", "")),
        )


@dataclass
class CallMetrics:
    """How the call was talked (auditor.analysis.metrics): shares in %, times in s.

    None is a figure the recording cannot back (a mono call whose speakers the
    analysis could not tell apart, overlaps on one channel). ``estimate``: the
    speaker-dependent figures rest on inferred speakers (mono).
    """

    estimate: bool = False
    note: str = ""
    manager_talk_pct: float | None = None
    client_talk_pct: float | None = None
    manager_monologue_s: float | None = None
    client_monologue_s: float | None = None
    questions: int | None = None
    questions_per_10min: float | None = None
    questions_answered: int | None = None
    manager_interruptions: int | None = None
    client_interruptions: int | None = None
    overtalk_pct: float | None = None
    silences: int | None = None
    silence_pct: float | None = None
    longest_silence_s: float | None = None
    response_latency_s: float | None = None
    manager_wpm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CallMetrics:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass
class ChecklistItem:
    """One item of the checklist score: met or not, its weight, and the evidence."""

    key: str
    label: str
    weight: float  # negative: a stop phrase, met when it was said
    met: bool
    evidence: list[Evidence] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "weight": self.weight, "met": self.met,
                "evidence": [e.to_dict() for e in self.evidence], "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChecklistItem:
        return cls(key=str(d["key"]), label=str(d.get("label", d["key"])),
                   weight=float(d.get("weight", 0.0)), met=bool(d.get("met")),
                   evidence=[Evidence.from_dict(e) for e in d.get("evidence", [])],
                   reason=str(d.get("reason", "")))


def checklist_score(items: list[ChecklistItem], overrides: dict[str, bool] | None = None
                    ) -> float | None:
    """0-100: the met share of the positive weights, less every stop phrase said.

    ``overrides`` are a reviewer's corrections (item key -> met). None: no item
    carries a positive weight.
    """
    over = overrides or {}
    total = sum(i.weight for i in items if i.weight > 0)
    if total <= 0:
        return None
    got = sum(i.weight for i in items if i.weight > 0 and over.get(i.key, i.met))
    penalty = sum(-i.weight for i in items if i.weight < 0 and over.get(i.key, i.met))
    return round(max(0.0, min(100.0, 100.0 * got / total - penalty)), 1)


@dataclass
class CallAnalysis:
    """The analysis of one call: type, stages, verdict, and the evidence for each."""

    call_type: str
    verdict: str
    stages: dict[str, StageResult]
    duration_s: float
    ruleset_version: str
    language: str
    call_type_evidence: list[Evidence] = field(default_factory=list)
    call_type_reason: str = ""
    reason: str = ""
    confidence: float = 1.0
    metrics: CallMetrics | None = None
    checklist: list[ChecklistItem] = field(default_factory=list)
    score: float | None = None  # None: not a scored call (exempt, no contact, inconclusive)

    @property
    def stages_found(self) -> list[str]:
        return [s for s in STAGES if s in self.stages and self.stages[s].found]

    @property
    def stages_missing(self) -> list[str]:
        return [s for s in STAGES if not (s in self.stages and self.stages[s].found)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_type": self.call_type,
            "verdict": self.verdict,
            "reason": self.reason,
            "duration_s": self.duration_s,
            "ruleset_version": self.ruleset_version,
            "language": self.language,
            "confidence": self.confidence,
            "stages_found": self.stages_found,
            "stages_missing": self.stages_missing,
            "stages": {k: v.to_dict() for k, v in self.stages.items()},
            "call_type_reason": self.call_type_reason,
            "call_type_evidence": [e.to_dict() for e in self.call_type_evidence],
            "metrics": None if self.metrics is None else self.metrics.to_dict(),
            "checklist": [i.to_dict() for i in self.checklist],
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CallAnalysis:
        return cls(
            call_type=str(d["call_type"]),
            verdict=str(d["verdict"]),
            stages={k: StageResult.from_dict(v) for k, v in d.get("stages", {}).items()},
            duration_s=float(d.get("duration_s", 0.0)),
            ruleset_version=str(d.get("ruleset_version", "")),
            language=str(d.get("language", "ru")),
            call_type_evidence=[Evidence.from_dict(e) for e in d.get("call_type_evidence", [])],
            call_type_reason=str(d.get("call_type_reason", "")),
            reason=str(d.get("reason", "")),
            confidence=float(d.get("confidence", 1.0)),
            metrics=CallMetrics.from_dict(d["metrics"]) if d.get("metrics") else None,
            checklist=[ChecklistItem.from_dict(i) for i in d.get("checklist", [])],
            score=None if d.get("score") is None else float(d["score"]),
        )
