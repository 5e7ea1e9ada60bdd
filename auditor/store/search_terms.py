"""Search terms: each word of a text with the lemmas the index stores for it.

Russian changes the ending of a word with its role in the sentence
("отгрузка", "отгрузку", "отгрузки"), so a plain text search misses most of
what a head of sales looks for. The index stores *lemmas*, folded exactly as
the analysis folds them (:func:`auditor.analysis.nlp.word_lemmas`), and the
query goes through the same function, so "отгрузка" finds "отгрузку".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from auditor.analysis import nlp

_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_WORD = re.compile(r"\w+")
# Brackets and slashes glued to words ("[шум]отгрузки", "a/b") defeat the tokenizer's
# affix rules; a space of the same length keeps every character offset in place.
_SEPARATORS = str.maketrans({c: " " for c in "[]{}()<>|/\\*=+#~^\"_"})


@dataclass(frozen=True)
class Token:
    """A word of a text: its possible lemmas (normalised) and where it is."""

    lemmas: tuple[str, ...]  # lower case, ё -> е; the most likely first
    start: int  # character offsets in the original text
    end: int

    @property
    def lemma(self) -> str:
        return self.lemmas[0]

    @property
    def terms(self) -> list[str]:
        """What goes into the index: the word parts of every lemma ("какой-то" -> какой, то)."""
        out: list[str] = []
        for lemma in self.lemmas:
            out.extend(p for p in _WORD.findall(lemma) if p not in out)
        return out


class Lemmatizer:
    """Text -> search terms, with a cache per word form.

    The lemmas of a word form do not depend on its neighbours, so a cache is
    exact; it makes indexing a large store about as fast as tokenizing it.
    Where a Russian form has several dictionary readings, search indexes
    every one and a query word matches any (recall matters more than a
    single answer); the first is the analysis's lemma.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, ...]] = {}

    def lemmas(self, word: str) -> tuple[str, ...]:
        low = word.lower()
        found = self._cache.get(low)
        if found is None:
            found = self._cache[low] = nlp.word_lemmas(low)
        return found

    def tokens(self, texts: Iterable[str], language: str = "ru") -> Iterator[list[Token]]:
        """The word tokens of each text with their lemmas and character spans."""
        tokenizer = nlp.tokenizer(language)
        cleaned = (t.translate(_SEPARATORS) for t in texts)
        for doc in tokenizer.pipe(cleaned, batch_size=256):
            yield [Token(self.lemmas(t.text), t.idx, t.idx + len(t.text))
                   for t in doc if not (t.is_punct or t.is_space) and _WORD.search(t.text)]

    def query_groups(self, query: str) -> list[list[str]]:
        """The query as groups of alternatives: a segment must match one term of each group."""
        lang = "ru" if _CYRILLIC.search(query) else "en"
        groups: list[list[str]] = []
        for tok in next(self.tokens([query], lang)):
            # one reading: each word part must match; several: any reading will do
            single = len(tok.lemmas) == 1
            new = [[part] for part in _WORD.findall(tok.lemma)] if single else [tok.terms]
            groups.extend(g for g in new if g and g not in groups)
        return groups

    def query_terms(self, query: str) -> list[str]:
        """Every term a query can match, in order."""
        out: list[str] = []
        for group in self.query_groups(query):
            out.extend(t for t in group if t not in out)
        return out


_default_lemmatizer: Lemmatizer | None = None


def default_lemmatizer() -> Lemmatizer:
    """One shared lemmatizer per process (its cache grows with the store's vocabulary)."""
    global _default_lemmatizer
    if _default_lemmatizer is None:
        _default_lemmatizer = Lemmatizer()
    return _default_lemmatizer
