"""analyze(): transcript -> CallAnalysis, wiring nlp, dialogue, stages, call type, verdict.

Speech-recognition output is read for what it is:
- consecutive segments of one attributed speaker (Whisper cuts a turn into
  sentences and at pauses) are one turn, so a question cut in two keeps its
  form and its answer;
- its punctuation is not trusted: a question ending with a full stop is still
  a question when its words say so (dialogue.build_dialogue);
- a call the audio cannot support a judgement on gets the verdict
  ``inconclusive`` with the reason (models/decision.toml), never an accusation.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from auditor.analysis.calltype import CallTypeDecision, decide_call_type
from auditor.analysis.checklist import checklist_version, score_call
from auditor.analysis.dialogue import Dialogue, build_dialogue
from auditor.analysis.features import Features, call_features
from auditor.analysis.model import CallTypeModel, models_version
from auditor.analysis.nlp import parse, resolve_language
from auditor.analysis.rules import RuleSet, load_ruleset, threshold
from auditor.analysis.rules import ruleset_version as rules_version
from auditor.analysis.scoring import StageScore
from auditor.analysis.stages import not_assessed, score_stages, stage_results
from auditor.analysis.verdict import decide_verdict
from auditor.config import Settings
from auditor.records import (
    ACCUSING,
    SALES_TYPES,
    STAGES,
    CallAnalysis,
    Segment,
    StageResult,
    Transcript,
    speech_coverage,
)

log = logging.getLogger(__name__)

# Same-speaker segments closer than this are one turn.
_MERGE_GAP_S = 2.0
_SCRIPTS = {"ru": re.compile(r"[А-Яа-яЁё]"), "en": re.compile(r"[A-Za-z]")}
_LETTER = re.compile(r"[^\W\d_]")


@dataclass
class Prepared:
    """A transcript read as a dialogue, before any decision."""

    language: str
    rules: RuleSet
    segments: list[Segment]
    dialogue: Dialogue
    scores: dict[str, StageScore]
    features: Features
    recognised: bool  # speech-recognition output (segments carry its confidence)


def recognised(transcript: Transcript) -> bool:
    return bool(transcript.channels) or any(s.avg_logprob is not None for s in transcript.segments)


def merge_turns(segments: list[Segment]) -> list[Segment]:
    """Consecutive segments of one attributed speaker, close in time, as one turn."""
    out: list[Segment] = []
    for seg in segments:
        last = out[-1] if out else None
        if (last is not None and seg.speaker == last.speaker and seg.speaker != "unknown"
                and seg.start - last.end < _MERGE_GAP_S):
            out[-1] = Segment(last.speaker, last.start, max(last.end, seg.end),
                              _join(last.text, seg.text),
                              _mean(last.avg_logprob, seg.avg_logprob),
                              max(last.no_speech_prob or 0.0, seg.no_speech_prob or 0.0)
                              if last.no_speech_prob is not None else seg.no_speech_prob)
        else:
            out.append(seg)
    return out


def _join(first: str, then: str) -> str:
    """Two fragments of one turn; a full stop before a lower-case continuation was a pause."""
    first, then = first.rstrip(), then.lstrip()
    if first.endswith(".") and not first.endswith("..") and then[:1].islower():
        first = first[:-1]
    return f"{first} {then}"


def _mean(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return (a + b) / 2


def prepare(transcript: Transcript) -> Prepared | None:
    """The dialogue, stage evidence and features of a transcript (None: no speech)."""
    segments = [s for s in transcript.segments if s.text.strip()]
    if not any(_LETTER.search(s.text) for s in segments):
        return None  # nothing said: silence, ringing, or only punctuation ("…")
    asr = recognised(transcript)
    if asr:
        segments = merge_turns(segments)
    language = resolve_language(transcript.language, " ".join(s.text for s in segments[:20]))
    rules = load_ruleset(language)
    docs = parse(language, [s.text for s in segments])
    # Punctuation tells questions only where the transcript has question marks
    # at all: not in speech-recognition output, nor in text without any "?".
    trust = not asr and any("?" in s.text for s in segments)
    dialogue = build_dialogue(segments, docs, rules, trust_punctuation=trust)
    if asr:
        dialogue.threshold_scale = threshold("recognised", "stage_threshold_scale")
    scores = score_stages(dialogue)
    return Prepared(language, rules, segments, dialogue, scores,
                    call_features(dialogue, scores), asr)


def analyze(transcript: Transcript, settings: Settings | None = None,
            model: CallTypeModel | None = None) -> CallAnalysis:
    """Call type, stages with evidence, and verdict of one transcript.

    A transcript with no words is a call with no contact (silence, ringing, a
    dropped line). Raises InputError for an unsupported language.
    ``model`` replaces the shipped call-type model (held-out evaluation).
    """
    settings = settings or Settings()
    p = prepare(transcript)
    if p is None:
        return no_speech_analysis(transcript, settings)
    ct: CallTypeDecision = decide_call_type(p.dialogue, p.scores, p.features, model)
    sales = ct.call_type in SALES_TYPES
    stages = stage_results(p.dialogue, p.scores) if sales else not_assessed(ct.call_type)
    found = [s for s, r in stages.items() if r.found]
    duration = float(transcript.duration)
    verdict, reason = decide_verdict(ct.call_type, found, duration, settings.short_call_s)
    confidence = ct.confidence
    if sales:
        confidence = round(min([ct.confidence] + [r.confidence for r in stages.values()]), 2)
    unsure = cannot_judge(transcript, p)
    if unsure is not None and (verdict in ACCUSING or unsure.startswith("language")):
        reason = f"inconclusive: {unsure} (the analysis would say {verdict}: {reason})"
        verdict = "inconclusive"
        confidence = round(min(confidence, 0.3), 2)
    log.debug("%s: %s/%s (%s)", transcript.source, ct.call_type, verdict, p.rules.version)
    metrics, checklist, score = score_call(transcript, p.dialogue, stages, verdict, settings)
    return CallAnalysis(
        call_type=ct.call_type,
        verdict=verdict,
        stages=stages,
        duration_s=duration,
        ruleset_version=_version(p.rules.version, p.language, settings),
        language=p.language,
        call_type_evidence=ct.evidence,
        call_type_reason=ct.reason,
        reason=reason,
        confidence=confidence,
        metrics=metrics,
        checklist=checklist,
        score=score,
    )


def cannot_judge(transcript: Transcript, p: Prepared) -> str | None:
    """Why the recognised speech cannot carry a judgement, or None."""
    text = " ".join(s.text for s in p.segments)
    letters = len(_LETTER.findall(text))
    script = _SCRIPTS.get(p.language)
    if script is not None and letters >= 20:
        share = len(script.findall(text)) / letters
        if share < threshold("inconclusive", "min_script_share"):
            return (f"language mismatch: only {100 * share:.0f}% of the text is in the "
                    f"{p.language} script")
    if not p.recognised:
        return None
    coverage = speech_coverage(transcript.channels)
    if coverage is not None and coverage < threshold("inconclusive", "min_coverage"):
        low = min((c for c in transcript.channels if c.coverage is not None),
                  key=lambda c: c.coverage or 0.0)
        return (f"too little recognised speech: {100 * coverage:.0f}% of the {low.speaker}'s "
                "sound reached the recogniser")
    words = sum(len(s.text.split()) for s in p.segments)
    if (transcript.duration >= threshold("inconclusive", "min_seconds")
            and words < threshold("inconclusive", "min_words")):
        return f"too little recognised speech: {words} words in {transcript.duration:.0f} s"
    weighted = [(s.avg_logprob, len(s.text.split())) for s in p.segments
                if s.avg_logprob is not None]
    total = sum(n for _, n in weighted)
    if total:
        mean = sum(lp * n for lp, n in weighted) / total
        if mean < threshold("inconclusive", "min_avg_logprob"):
            return f"recognition too unsure (mean log-probability {mean:.2f})"
    return None


def ruleset_version(language: str, settings: Settings | None = None) -> str:
    """Version string of the rules (and checklist) used for a language ('ru', 'en-US', ...)."""
    lang = resolve_language(language)
    return _version(rules_version(lang), lang, settings)


def _version(rules: str, language: str, settings: Settings | None) -> str:
    """The analysis version: rules, call-type model, checklist and norms (rescore compares it)."""
    return f"{rules}+{models_version()}+{checklist_version(settings, language)}"


def no_speech_analysis(transcript: Transcript, settings: Settings | None = None) -> CallAnalysis:
    """Silence, a ring, a dropped line: nobody spoke, so there was no contact."""
    reason = "no speech recognised: silence, ringing or a dropped line"
    language = transcript.language if transcript.language in ("ru", "en") else "ru"
    return CallAnalysis(
        call_type="no_contact",
        verdict="no_contact",
        stages={stage: StageResult(stage, False, reason="no speech") for stage in STAGES},
        duration_s=transcript.duration,
        ruleset_version=ruleset_version(language, settings),
        language=language,
        call_type_reason=reason,
        reason=reason,
    )
