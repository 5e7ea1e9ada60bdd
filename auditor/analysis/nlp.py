"""spaCy pipelines for the analysis: tokenizer + lemmatizer, nothing statistical.

Why no trained models: calls come from speech recognition (lower case, little
punctuation, misheard words), where a tagger trained on news text helps little,
and a blank pipeline with a dictionary lemmatizer starts in a fraction of a
second and runs offline. Rules match on lemmas, so every word form of a cue
matches ("берёте", "брали", "возьмёте" -> "брать").

Russian uses pymorphy3 in lookup mode; where the lookup gives up because a word
form has several readings ("берете": beret or take), the most likely reading
wins, verbs before nouns before adjectives on a tie, which is what a
conversation about buying and selling usually means. Lemmas are lower-cased and
"ё" is written as "е" so that rule files need only one spelling.

spaCy is imported inside the functions: ``import auditor.analysis`` stays cheap.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from auditor.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

SUPPORTED_LANGUAGES: tuple[str, ...] = ("ru", "en")

_LANGUAGE_NAMES = {
    "ru": "ru", "rus": "ru", "russian": "ru", "русский": "ru",
    "en": "en", "eng": "en", "english": "en",
}
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_LATIN = re.compile(r"[A-Za-z]")
_NORM_COMPONENT = "auditor_lemma_norm"
# Tie-break between equally likely pymorphy readings (see the module docstring).
_POS_PREFERENCE = {"VERB": 0, "INFN": 0, "GRND": 1, "PRTF": 1, "PRTS": 1, "NOUN": 2,
                   "ADVB": 3, "PRED": 3, "ADJF": 4, "ADJS": 4}
_EN_CONTRACTIONS = {"'re": "be", "'m": "be", "'ll": "will", "n't": "not", "'ve": "have",
                    "'d": "would"}


def detect_language(text: str) -> str:
    """'ru' when most letters are Cyrillic, else 'en'."""
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    return "ru" if cyr >= lat and cyr > 0 else "en"


def resolve_language(language: str | None, text: str = "") -> str:
    """Map a language tag ("ru", "en-US", "Russian") to a supported rule set.

    An empty tag is detected from the text. Any other language raises
    InputError: the rules are written per language and applying English cues
    to, say, German would produce confident nonsense.
    """
    tag = (language or "").strip().lower()
    if not tag or tag == "auto":
        return detect_language(text)
    base = re.split(r"[-_.]", tag, maxsplit=1)[0]
    resolved = _LANGUAGE_NAMES.get(tag) or _LANGUAGE_NAMES.get(base)
    if resolved is None:
        raise InputError(
            f"language {language!r} is not supported by the analysis rules "
            f"(supported: {', '.join(SUPPORTED_LANGUAGES)})"
        )
    return resolved


@functools.cache
def pipeline(language: str) -> Language:
    """The cached spaCy pipeline for a supported language code."""
    import spacy

    _register_components()
    if language == "ru":
        nlp = spacy.blank("ru")
        lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "pymorphy3_lookup"})
        # pymorphy parses every token afresh; the same few thousand words recur
        # in every call, so a cache makes analysis several times faster.
        morph = lemmatizer._morph  # type: ignore[attr-defined]
        morph.parse = functools.lru_cache(maxsize=200_000)(morph.parse)
    elif language == "en":
        nlp = spacy.blank("en")
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    else:
        raise InputError(f"language {language!r} is not supported by the analysis rules")
    nlp.add_pipe(_NORM_COMPONENT)
    nlp.initialize()
    return nlp


def fold(s: str) -> str:
    """Lower case, ё written as е: how every lemma is compared."""
    return s.lower().replace("ё", "е")


def word_lemmas(word: str) -> tuple[str, ...]:
    """The lemmas of one word form, folded, the one the analysis matches rules on first.

    The language is the word's alphabet, so English product names inside a
    Russian call fold too. Where the Russian dictionary lookup cannot decide
    ("накладными": накладная or накладной; "стали": стать or сталь) every
    other dictionary reading follows: the search index matches any of them,
    for recall; the analysis uses only the first.
    """
    low = word.lower()
    lang = "ru" if _CYRILLIC.search(low) else "en" if _LATIN.search(low) else ""
    if not lang:
        return (fold(low),)
    nlp = pipeline(lang)
    doc = nlp(low)
    if len(doc) != 1 or not doc[0].lemma_:
        return (fold(low),)
    lemma = fold(doc[0].lemma_)
    if lang != "ru" or not low.isalpha():
        return (lemma,)
    parses = nlp.get_pipe("lemmatizer")._morph.parse(low)  # type: ignore[attr-defined]
    if len({p.normal_form for p in parses}) == 1 and parses[0].normal_form != low:
        return (lemma,)  # the lookup decided
    known = [p for p in parses if p.is_known] or parses
    return tuple(dict.fromkeys((lemma, *(fold(p.normal_form) for p in known))))


def tokenizer(language: str | None) -> Any:
    """The tokenizer of the pipeline for a language tag (English for en*, else Russian)."""
    return pipeline("en" if (language or "").lower().startswith("en") else "ru").tokenizer


def parse(language: str, texts: list[str]) -> list[Doc]:
    """Tokenise and lemmatise texts with the cached pipeline of the language."""
    nlp = pipeline(language)
    return list(nlp.pipe(texts, batch_size=256))


_registered = False


def _register_components() -> None:
    global _registered
    if _registered:
        return
    from spacy.language import Language

    @Language.factory(_NORM_COMPONENT)
    def _make_norm(nlp: Language, name: str) -> Any:
        if nlp.lang == "ru":
            morph = nlp.get_pipe("lemmatizer")._morph  # type: ignore[attr-defined]
            return _RuLemmaNorm(morph)
        return _EnLemmaNorm(nlp.get_pipe("lemmatizer"))

    _registered = True


class _RuLemmaNorm:
    """Lower-case lemmas, ё -> е, and resolve the lookups pymorphy gave up on."""

    def __init__(self, morph: Any) -> None:
        self._morph = morph
        self._best = functools.lru_cache(maxsize=200_000)(self._best_lemma)

    def _best_lemma(self, word: str) -> str:
        parses = self._morph.parse(word)
        if not parses:
            return word
        top = parses[0].score
        close = [p for p in parses if top - p.score <= 0.05]
        close.sort(key=lambda p: _POS_PREFERENCE.get(p.tag.POS or "", 9))
        return str(close[0].normal_form)

    def __call__(self, doc: Doc) -> Doc:
        for tok in doc:
            lemma = tok.lemma_
            text = tok.text
            # The lookup returns the word itself when it cannot decide.
            ambiguous = lemma == text and tok.is_alpha
            lemma = self._best(text.lower()) if ambiguous else lemma.lower()
            if "ё" in lemma:
                lemma = lemma.replace("ё", "е")
            if lemma != tok.lemma_:
                tok.lemma_ = lemma
        return doc


class _EnLemmaNorm:
    """Lower-case lemmas, look up capitalised words again in lower case ("Quotes"
    at the start of a sentence), and expand clitics the lookup table leaves alone."""

    def __init__(self, lemmatizer: Any) -> None:
        self._lemmatizer = lemmatizer  # its lookup table is loaded by nlp.initialize()
        self._table: Any = None

    def __call__(self, doc: Doc) -> Doc:
        if self._table is None:
            self._table = self._lemmatizer.lookups.get_table("lemma_lookup")
        for tok in doc:
            original = lemma = tok.lemma_
            if lemma == tok.text and not tok.is_lower and tok.is_alpha:
                lemma = self._table.get(tok.lower_, tok.lower_)
            low = lemma.lower()
            low = _EN_CONTRACTIONS.get(low, low)
            if low != original:
                tok.lemma_ = low
        return doc
