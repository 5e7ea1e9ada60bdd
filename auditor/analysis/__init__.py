"""Analysis of a call transcript: call type, the four stages, the verdict.

    >>> from auditor.analysis import analyze
    >>> result = analyze(transcript)            # a records.Transcript
    >>> result.verdict, result.stages_missing

Rules live in per-language model files (models/ru, models/en; see
models/README.md); ``ruleset_version(language)`` names the version every
analysis records, so stored calls can be re-scored when the rules change.
Languages other than Russian and English raise InputError: the cues are
written per language, and English rules on another language would produce
confident nonsense.

spaCy is imported on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.analysis.nlp import SUPPORTED_LANGUAGES

if TYPE_CHECKING:  # pragma: no cover
    from auditor.config import Settings
    from auditor.records import CallAnalysis, Transcript

__all__ = ["analyze", "ruleset_version", "SUPPORTED_LANGUAGES"]



def analyze(transcript: Transcript, settings: Settings | None = None) -> CallAnalysis:
    """Analyse one transcript; see auditor.analysis.engine.analyze."""
    from auditor.analysis.engine import analyze as _analyze

    return _analyze(transcript, settings)


def ruleset_version(language: str, settings: Settings | None = None) -> str:
    """Version string of the rules (and the checklist in effect) for a language."""
    from auditor.analysis.engine import ruleset_version as _version

    return _version(language, settings)
