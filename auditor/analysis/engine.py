"""analyze(): transcript -> CallAnalysis, wiring nlp, dialogue, stages, call type, verdict."""

from __future__ import annotations

import logging

from auditor.analysis.calltype import decide_call_type
from auditor.analysis.dialogue import build_dialogue
from auditor.analysis.nlp import parse, resolve_language
from auditor.analysis.rules import load_ruleset
from auditor.analysis.stages import not_assessed, score_stages, stage_results
from auditor.analysis.verdict import decide_verdict
from auditor.config import Settings
from auditor.errors import InputError
from auditor.records import SALES_TYPES, CallAnalysis, Transcript

log = logging.getLogger(__name__)


def analyze(transcript: Transcript, settings: Settings | None = None) -> CallAnalysis:
    """Call type, stages with evidence, and verdict of one transcript.

    Raises InputError for an unsupported language or a transcript without text.
    """
    settings = settings or Settings()
    segments = [s for s in transcript.segments if s.text.strip()]
    if not segments:
        raise InputError(f"{transcript.source or 'transcript'}: no speech to analyse")
    language = resolve_language(transcript.language, " ".join(s.text for s in segments[:20]))
    rules = load_ruleset(language)
    docs = parse(language, [s.text for s in segments])
    dialogue = build_dialogue(segments, docs, rules)
    scores = score_stages(dialogue)
    ct = decide_call_type(dialogue, scores)
    sales = ct.call_type in SALES_TYPES
    stages = stage_results(dialogue, scores) if sales else not_assessed(ct.call_type)
    found = [s for s, r in stages.items() if r.found]
    duration = float(transcript.duration)
    verdict, reason = decide_verdict(ct.call_type, found, duration, settings.short_call_s)
    confidence = ct.confidence
    if ct.call_type in SALES_TYPES:
        confidence = round(min([ct.confidence] + [r.confidence for r in stages.values()]), 2)
    log.debug("%s: %s/%s (%s)", transcript.source, ct.call_type, verdict, rules.version)
    return CallAnalysis(
        call_type=ct.call_type,
        verdict=verdict,
        stages=stages,
        duration_s=duration,
        ruleset_version=rules.version,
        language=language,
        call_type_evidence=ct.evidence,
        call_type_reason=ct.reason,
        reason=reason,
        confidence=confidence,
    )
