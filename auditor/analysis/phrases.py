"""The checklist's phrase and word lists, prepared once, and a dialogue's turns read for them.

A phrase matches a turn's words in order, each word as the word form or as
its lemma ("*": any one word), punctuation skipped. A list is prepared once
per loaded checklist (``Checklist.part``): word hashes by first word, the
words each phrase needs, and the word starts its text must show. A turn is
read only when it holds every word one of the phrases needs (the forms and
lemmas the cue matching already read: ``Turn.forms``); its tokens are read
once (Doc.to_array) for all the items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.analysis.nlp import fold, pipeline

if TYPE_CHECKING:  # pragma: no cover
    from auditor.analysis.dialogue import Dialogue, Turn

# A turn's words as spaCy string hashes: (token index, lower-case form, lemma);
# punctuation left out.
Words = list[tuple[int, int, int]]
_STEM = 4
_ANY = 0  # "*" in a phrase: any one word


def _hash(word: str) -> int:
    from spacy.strings import hash_string  # type: ignore[attr-defined]

    return int(hash_string(fold(word)))


@dataclass(frozen=True)
class Phrases:
    """A phrase list, prepared: see the module docstring."""

    by_first: dict[int, tuple[tuple[int, ...], ...]]  # phrases as hashes, by their first word
    wild: tuple[tuple[int, ...], ...]  # phrases starting with "*": tried at every word
    # The start of the longest word of each phrase: a turn whose text has none
    # of these holds none of the phrases (as a word form or a lemma of that stem).
    anchors: tuple[str, ...]
    needs: tuple[frozenset[str], ...]  # the folded words of each phrase but "*"
    # One word of each phrase (its longest): a turn with none of them holds no
    # phrase; None when a phrase is all "*".
    keys: frozenset[str] | None


def phrases(language: str, phrase_list: tuple[str, ...]) -> Phrases:
    """A phrase list as word hashes, by first word ("*" first: tried everywhere)."""
    by_first: dict[int, list[tuple[int, ...]]] = {}
    wild = []
    anchors = set()
    needs = []
    for phrase in phrase_list:
        tokens = [t.text for t in pipeline(language).tokenizer(phrase)
                  if not t.is_punct or t.text == "*"]
        pw = tuple(_ANY if w == "*" else _hash(w) for w in tokens)
        if not pw:
            continue
        anchors.add(fold(max((w for w in tokens if w != "*"), key=len, default=""))[:_STEM])
        needs.append(frozenset(fold(w) for w in tokens if w != "*"))
        if pw[0] == _ANY:
            wild.append(pw)
        else:
            by_first.setdefault(pw[0], []).append(pw)
    keys = None if any(not n for n in needs) else frozenset(max(sorted(n), key=len) for n in needs)
    return Phrases({k: tuple(v) for k, v in by_first.items()}, tuple(wild),
                   tuple(sorted(anchors)), tuple(needs), keys)


@dataclass(frozen=True)
class WordList:
    """Single words (open question words), prepared."""

    forms: frozenset[str]  # folded, as in Turn.forms
    stems: tuple[str, ...]  # the text test before the words, as for phrases' anchors


def word_list(language: str, words: tuple[str, ...]) -> WordList:
    del language  # single words need no tokenizer
    return WordList(frozenset(fold(w) for w in words), tuple(fold(w)[:_STEM] for w in words))


def find_phrase(words: Words, ph: Phrases) -> int | None:
    """The token index where one of the phrases starts in a turn's words, or None."""
    by_first, wild = ph.by_first, ph.wild
    n = len(words)
    for k, (index, form, lemma) in enumerate(words):
        cands = by_first.get(form, ()) + (by_first.get(lemma, ()) if lemma != form else ()) + wild
        for pw in cands:
            if k + len(pw) <= n and all(p == _ANY or p in (words[k + j][1], words[k + j][2])
                                        for j, p in enumerate(pw)):
                return index
    return None


class TurnReader:
    """The dialogue's turns with what several checklist items read of them, computed once."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.language = dialogue.language
        self.all = dialogue.turns
        self.manager = [t for t in dialogue.turns if t.role == "manager"]
        self._words: dict[int, Words] = {}
        self._text: dict[int, str] = {}

    def words(self, t: Turn) -> Words:
        if t.index not in self._words:
            from spacy.attrs import IS_PUNCT, LEMMA, LOWER

            rows = t.doc.to_array([IS_PUNCT, LOWER, LEMMA]).tolist() if len(t.doc) else []
            self._words[t.index] = [(i, low, lem) for i, (punct, low, lem)
                                    in enumerate(rows) if not punct]
        return self._words[t.index]

    def find(self, t: Turn, ph: Phrases) -> int | None:
        """The token index where one of the phrases starts in a turn, or None."""
        forms = t.forms.words
        if ph.keys is not None and ph.keys.isdisjoint(forms):
            return None  # most turns: no phrase's longest word
        if not any(need <= forms for need in ph.needs):
            return None  # a word of every phrase is missing
        at = find_phrase(self.words(t), ph)
        return at if at is not None and self.holds_any(t, ph.anchors) else None

    def holds_any(self, t: Turn, stems: tuple[str, ...]) -> bool:
        """Whether a turn's text has one of these word starts."""
        if t.index not in self._text:
            self._text[t.index] = fold(t.segment.text)  # the Doc's text, without rebuilding it
        text = self._text[t.index]
        return any(stem in text for stem in stems)
