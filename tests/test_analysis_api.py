"""The public surface: analyze(), ruleset_version(), languages, records, cheap import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.analysis import SUPPORTED_LANGUAGES, analyze, ruleset_version
from auditor.analysis.nlp import parse, resolve_language
from auditor.analysis.rules import load_ruleset, read_rule_files
from auditor.errors import InputError
from auditor.records import CallAnalysis, Segment, Transcript
from tests.test_analysis_stages import FULL_EN, FULL_RU, call


def test_ruleset_version_per_language_and_stored_with_the_analysis():
    assert ruleset_version("ru").startswith("ru-")
    assert ruleset_version("en-US") == ruleset_version("en")
    result = analyze(call(FULL_EN, "en"))
    assert result.ruleset_version == ruleset_version("en")
    assert result.language == "en"


def test_unsupported_language_is_a_one_line_input_error():
    transcript = Transcript([Segment("manager", 0, 1, "Guten Tag, wie kann ich helfen?")],
                            language="de")
    with pytest.raises(InputError, match="language 'de' is not supported .*ru, en"):
        analyze(transcript)
    with pytest.raises(InputError):
        ruleset_version("fr")


def test_language_tags_and_detection():
    assert resolve_language("RU") == "ru"
    assert resolve_language("english") == "en"
    assert resolve_language("", "Добрый день, компания") == "ru"
    assert resolve_language("auto", "Good morning") == "en"
    assert set(SUPPORTED_LANGUAGES) == {"ru", "en"}


def test_a_transcript_without_words_is_a_call_with_no_contact():
    """The analysis decides "no speech" itself, so audit and rescore agree (no error)."""
    result = analyze(Transcript([Segment("manager", 0, 1, "  ")], language="ru", duration_s=12))
    assert (result.call_type, result.verdict) == ("no_contact", "no_contact")
    assert "no speech" in result.reason and result.duration_s == 12


def test_lemmas_are_normalised_so_every_word_form_matches():
    doc = parse("ru", ["Берёте счёт? Накладную, машина, скину."])[0]
    assert [t.lemma_ for t in doc if t.is_alpha] == ["брать", "счет", "накладная", "машина",
                                                     "скинуть"]
    doc = parse("en", ["We're shipping the Quotes on Thursday"])[0]
    assert [t.lemma_ for t in doc] == ["we", "be", "ship", "the", "quote", "on", "thursday"]


def test_analysis_round_trips_through_its_dict():
    result = analyze(call(FULL_RU, "ru", duration=200))
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    again = CallAnalysis.from_dict(data)
    assert again.verdict == result.verdict
    assert again.stages_found == result.stages_found
    assert again.stages["needs"].evidence == result.stages["needs"].evidence


@pytest.mark.parametrize("language", ["ru", "en"])
def test_rule_files_compile_and_every_stage_is_configured(language):
    raw = read_rule_files(language)
    assert raw["ruleset"]["language"] == language
    rules = load_ruleset(language)
    for stage in ("profile", "needs", "presentation", "next_step"):
        assert rules.section(stage), stage
    actions = {c.extra.get("action") for c in rules.section("next_step")}
    assert actions == {"call", "meet", "trial", "order", "send"}


def test_importing_the_analysis_does_not_import_spacy():
    code = ("import sys, auditor.analysis, auditor.cli.analyze; "
            "print('spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
