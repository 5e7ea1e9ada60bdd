"""The checklist score of a sales call: a weighted list of items, each met or not, with evidence.

The checklist is data: models/<lang>/checklist.toml, or the user's copy named
by ``Settings.checklist`` (auditor.toml's ``checklist = "path"``, or a
checklist.toml next to auditor.toml; a ``{lang}`` in the path is the call's
language). The file format and the kinds of item are described at the top of
models/ru/checklist.toml. The file's hash is part of the analysis version, so
an edit makes ``rescore`` re-run. The score itself is records.checklist_score,
so that a reviewer's correction of an item moves it the same way.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.analysis.metrics import call_metrics, norms
from auditor.analysis.nlp import fold, pipeline
from auditor.errors import ConfigError
from auditor.records import (
    SCORED,
    CallMetrics,
    ChecklistItem,
    Evidence,
    StageResult,
    Transcript,
    checklist_score,
)

if TYPE_CHECKING:  # pragma: no cover

    from auditor.analysis.dialogue import Dialogue, Turn
    from auditor.config import Settings

KINDS = ("stage", "greeting", "client_name", "talk_share", "open_questions", "next_step_time",
         "stop")
CHECKLIST_FILE = "checklist.toml"
_MAX_QUOTES = 3


@dataclass(frozen=True)
class Checklist:
    version: str
    items: tuple[dict[str, Any], ...]
    source: str
    language: str = ""


def checklist_path(settings: Settings | None, language: str) -> str:
    """The user's checklist file for a language ('' when the shipped one applies)."""
    if settings is None or not settings.checklist:
        return ""
    path = settings.checklist.replace("{lang}", language)
    return path


def _stamp(path: str) -> tuple[int, int]:
    """A user's file is read again when it changes (an edit between two rescores)."""
    try:
        st = Path(path).expanduser().stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


@functools.cache
def _load(path: str, language: str, stamp: tuple[int, int] = (0, 0)) -> Checklist:
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"checklist {path} cannot be read: {e.strerror or e}") from None
        source = path
    else:
        from auditor.analysis.rules import _models_root

        try:
            text = str(_models_root().joinpath(language, CHECKLIST_FILE).read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"checklist {language}/{CHECKLIST_FILE} cannot be read: {e}") from None
        source = f"{language}/{CHECKLIST_FILE}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"checklist {source} is not valid TOML: {e}") from None
    items = data.get("item", [])
    seen: set[str] = set()
    for item in items:
        key, kind = item.get("key"), item.get("kind")
        if not key or kind not in KINDS:
            raise ConfigError(f"checklist {source}: item {key or '?'} needs a key and a kind "
                              f"out of {', '.join(KINDS)}")
        if key in seen:
            raise ConfigError(f"checklist {source}: duplicate item {key}")
        seen.add(key)
        if not isinstance(item.get("weight"), int | float):
            raise ConfigError(f"checklist {source}: item {key} needs a numeric weight")
        if kind == "stop" and item["weight"] > 0:
            raise ConfigError(f"checklist {source}: stop item {key} needs a negative weight")
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return Checklist(f"c{digest}", tuple(items), source, str(data.get("language", "")))


def load_checklist(settings: Settings | None, language: str) -> Checklist:
    """The checklist in effect for a language (the user's copy or the shipped one).

    A user's copy written for another language (its ``language`` key) leaves
    the calls in this one to the shipped checklist.
    """
    path = checklist_path(settings, language)
    if path:
        mine = _load(path, language, _stamp(path))
        if not mine.language or mine.language == language:
            return mine
    return _load("", language)


def checklist_version(settings: Settings | None, language: str) -> str:
    """The part of the analysis version that names the checklist and the metric norms."""
    from auditor.analysis.metrics import METRICS_FILE
    from auditor.analysis.rules import _models_root

    return f"{load_checklist(settings, language).version}{_metrics_hash(_models_root(), METRICS_FILE)}"


@functools.cache
def _metrics_hash(root: Any, name: str) -> str:
    try:
        return hashlib.sha256(root.joinpath(name).read_bytes()).hexdigest()[:6]
    except OSError as e:
        raise ConfigError(f"{name} cannot be read: {e}") from None


# --- phrases ------------------------------------------------------------------------


# A turn's words as spaCy string hashes, read in one call (Doc.to_array):
# (token index, lower-case form, lemma, original spelling); punctuation left out.
Words = list[tuple[int, int, int, int]]
# (phrases by their first word, phrases starting with "*", the start of the
# longest word of each phrase: a turn whose text has none of these holds none
# of the phrases, as a word form or as a lemma of the same stem)
Compiled = tuple[dict[int, tuple[tuple[int, ...], ...]], tuple[tuple[int, ...], ...],
                 tuple[str, ...]]
_STEM = 4
_ANY = 0  # "*" in a phrase: any one word


def _hash(word: str) -> int:
    from spacy.strings import hash_string  # type: ignore[attr-defined]

    return int(hash_string(fold(word)))


@functools.cache
def _compiled(language: str, phrases: tuple[str, ...]) -> Compiled:
    """The phrases as word hashes, by their first word ("*" first: tried everywhere)."""
    by_first: dict[int, list[tuple[int, ...]]] = {}
    wild = []
    anchors = set()
    for phrase in phrases:
        tokens = [t.text for t in pipeline(language).tokenizer(phrase)
                  if not t.is_punct or t.text == "*"]
        pw = tuple(_ANY if w == "*" else _hash(w) for w in tokens)
        if not pw:
            continue
        anchors.add(fold(max((w for w in tokens if w != "*"), key=len, default=""))[:_STEM])
        if pw[0] == _ANY:
            wild.append(pw)
        else:
            by_first.setdefault(pw[0], []).append(pw)
    return {k: tuple(v) for k, v in by_first.items()}, tuple(wild), tuple(sorted(anchors))


@functools.cache
def _hashes(words: tuple[str, ...]) -> frozenset[int]:
    return frozenset(_hash(w) for w in words)


def find_phrase(language: str, words: Words, phrases: list[str]) -> int | None:
    """The token index where one of the phrases starts in a turn's words, or None."""
    by_first, wild, _anchors = _compiled(language, tuple(phrases))
    n = len(words)
    for k, (index, form, lemma, _orth) in enumerate(words):
        cands = by_first.get(form, ()) + (by_first.get(lemma, ()) if lemma != form else ()) + wild
        for pw in cands:
            if k + len(pw) <= n and all(p == _ANY or p in (words[k + j][1], words[k + j][2])
                                        for j, p in enumerate(pw)):
                return index
    return None


class _Turns:
    """The dialogue's turns with what several items read of them, computed once."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.language = dialogue.language
        self.all = dialogue.turns
        self.manager = [t for t in dialogue.turns if t.role == "manager"]
        self._words: dict[int, Words] = {}
        self._text: dict[int, str] = {}

    def _array(self, t: Turn) -> Any:
        from spacy.attrs import IS_PUNCT, LEMMA, LOWER, ORTH

        return t.doc.to_array([IS_PUNCT, LOWER, LEMMA, ORTH])

    def words(self, t: Turn) -> Words:
        if t.index not in self._words:
            rows = self._array(t).tolist() if len(t.doc) else []
            self._words[t.index] = [(i, low, lem, orth) for i, (punct, low, lem, orth)
                                    in enumerate(rows) if not punct]
        return self._words[t.index]

    def find(self, t: Turn, phrases: list[str]) -> int | None:
        anchors = _compiled(self.language, tuple(phrases))[2]
        # Most turns hold no word of any phrase: one set test.
        if not self.holds_any(t, anchors):
            return None
        return find_phrase(self.language, self.words(t), phrases)

    def holds_any(self, t: Turn, stems: tuple[str, ...]) -> bool:
        """Whether a turn's text has one of these word starts (a cheap test before the words)."""
        if t.index not in self._text:
            self._text[t.index] = fold(t.segment.text)  # the Doc's text, without rebuilding it
        text = self._text[t.index]
        return any(stem in text for stem in stems)

    def text(self, t: Turn, orth: int) -> str:
        return str(t.doc.vocab.strings[orth])


def _evidence(turn: Turn, token: int | None, cue: str) -> Evidence:
    clause = next((c for c in turn.clauses if token is not None and c.start <= token < c.end),
                  None)
    seg = turn.segment
    quote = clause.text if clause is not None else seg.text
    return Evidence(quote, turn.role if not turn.attributed else seg.speaker, seg.start, seg.end,
                    cue)


# --- the items ----------------------------------------------------------------------


def _greeting(d: _Turns, item: dict[str, Any]) -> tuple[bool, list[Evidence], str]:
    within = float(item.get("within_s", 30))
    found: dict[str, Evidence] = {}
    for t in d.manager:
        if t.segment.start > within:
            break
        for part in ("company", "name"):
            at = d.find(t, list(item.get(part, [])))
            if part not in found and at is not None:
                found[part] = _evidence(t, at, part)
        if "company" in found and "name" not in found and d.language == "ru":
            # "Компания «СтройРесурс», Ирина, добрый день": the own name, no "меня зовут".
            own = _names(d, t)
            if own:
                found["name"] = _evidence(t, own[0][1], "name")
    ev = list({e.quote: e for e in found.values()}.values())
    missing = [p for p in ("company", "name") if p not in found]
    return not missing, ev, (f"not said in the first {within:.0f} s: {', '.join(missing)}"
                             if missing else "")


def _is_first_name(language: str, word: str) -> bool:
    if not word[:1].isupper() or not word.isalpha() or len(word) < 2:
        return False
    return language != "ru" or _russian_name(word.lower())


@functools.lru_cache(maxsize=20000)
def _russian_name(word: str) -> bool:
    morph = pipeline("ru").get_pipe("lemmatizer")._morph  # type: ignore[attr-defined]
    return any("Name" in p.tag and p.is_known and p.score >= 0.25
               for p in morph.parse(word))


_CAPITALISED = re.compile(r"(?:([^\W\d_][\w'’-]*)[^\w]+)?\b([A-ZА-ЯЁ][a-zа-яё]+)\b")


def _names(d: _Turns, t: Turn) -> list[tuple[str, int, str]]:
    """(folded word before, token index, text) of each first name in a turn.

    Read from the turn's text: only capitalised words can be names, and the
    dictionary is asked only about those.
    """
    out = []
    for m in _CAPITALISED.finditer(t.segment.text):
        before, word = m.group(1), m.group(2)
        if (before or d.language == "ru") and _is_first_name(d.language, word):
            span = t.doc.char_span(m.start(2), m.end(2), alignment_mode="expand")
            out.append((fold(before or ""), span.start if span is not None else 0, word))
    return out


def _greeting_turn(d: _Turns, greeting: dict[str, Any] | None) -> int | None:
    """The manager's first turn, when it falls in the greeting's first seconds."""
    within = float((greeting or {}).get("within_s", 30))
    first = next(iter(d.manager), None)
    return first.index if first is not None and first.segment.start <= within else None


def _client_name(d: _Turns, item: dict[str, Any], greeting: dict[str, Any] | None
                 ) -> tuple[bool, list[Evidence], str]:
    after = {fold(w) for w in item.get("address_after", [])}
    own = {fold(w) for w in item.get("own_before", [])}
    intro = _greeting_turn(d, greeting)
    for t in d.manager:
        at = d.find(t, list(item.get("ask", [])))
        if at is not None:
            return True, [_evidence(t, at, "asked")], ""
        for prev, at, text in _names(d, t):
            if prev in own:
                continue
            # Without an address word before it, a name in the greeting is the manager's own.
            if prev in after or (d.language == "ru" and t.index != intro):
                return True, [_evidence(t, at, f"name {text}")], ""
    return False, [], "the manager neither asked nor used the client's name"


def _open_questions(d: _Turns, item: dict[str, Any]) -> tuple[bool, list[Evidence], str]:
    open_words = tuple(item.get("open_words", []))
    words, stems = _hashes(open_words), tuple(fold(w)[:_STEM] for w in open_words)
    need = int(item.get("min", 1))
    ev: list[Evidence] = []
    for t in d.manager:
        asked = [c for c in t.clauses if c.question or c.maybe_question]
        if not asked or not d.holds_any(t, stems):
            continue
        tw = d.words(t)
        for c in asked:
            if any(c.start <= i < c.end and (form in words or lemma in words)
                   for i, form, lemma, _ in tw):
                ev.append(_evidence(t, c.start, "open question"))
    met = len(ev) >= need
    return met, ev[:_MAX_QUOTES], f"{len(ev)} open question(s), {need} needed"


def _next_step_time(d: _Turns) -> tuple[bool, list[Evidence], str]:
    for t in d.all:
        for c in t.clauses:
            if c.hits and c.has_section("next_step") and c.has_section("time"):
                return True, [_evidence(t, c.start, "next step with a time")], ""
    for t in d.all:
        if t.has_section("next_step") and t.has_section("time"):
            return True, [_evidence(t, t.clauses[0].start if t.clauses else None,
                                    "next step with a time")], ""
    return False, [], "no next step with a date or time"


def _stop(d: _Turns, item: dict[str, Any]) -> tuple[bool, list[Evidence], str]:
    ev = []
    phrases = list(item.get("phrases", []))
    for t in d.manager:
        at = d.find(t, phrases)
        if at is not None:
            ev.append(_evidence(t, at, "stop phrase"))
    return bool(ev), ev[:_MAX_QUOTES], ""


def score_call(transcript: Transcript, dialogue: Dialogue, stages: dict[str, StageResult],
               verdict: str, settings: Settings | None
               ) -> tuple[CallMetrics, list[ChecklistItem], float | None]:
    """The metrics of a call, and for a scored one its checklist and score.

    Exempt, no-contact and inconclusive calls (and any call type other than a
    sales one) are not scored: their checklist is empty and the score None.
    """
    metrics = call_metrics(transcript, dialogue)
    if verdict not in SCORED:
        return metrics, [], None
    items = evaluate(load_checklist(settings, dialogue.language), dialogue, stages, metrics)
    return metrics, items, checklist_score(items)


def evaluate(checklist: Checklist, dialogue: Dialogue, stages: dict[str, StageResult],
             metrics: CallMetrics | None) -> list[ChecklistItem]:
    """Every item of the checklist, met or not, with its evidence."""
    out = []
    greeting = next((i for i in checklist.items if i["kind"] == "greeting"), None)
    d = _Turns(dialogue)
    for item in checklist.items:
        kind, key = item["kind"], str(item["key"])
        weight = float(item["weight"])
        label = str(item.get("label", key))
        if kind == "stage":
            st = stages.get(str(item.get("stage", key)))
            met, ev = bool(st and st.found), list(st.evidence[:_MAX_QUOTES]) if st else []
            why = st.reason if st else "no such stage"
        elif kind == "greeting":
            met, ev, why = _greeting(d, item)
        elif kind == "client_name":
            met, ev, why = _client_name(d, item, greeting)
        elif kind == "talk_share":
            share = metrics.manager_talk_pct if metrics else None
            lo = float(item.get("min", norms()["talk_share_min"]))
            hi = float(item.get("max", norms()["talk_share_max"]))
            if share is None:
                met, ev, why = False, [], "not measurable on this recording (not scored)"
                weight = 0.0
            else:
                met, ev = lo <= share <= hi, []
                why = f"manager {share:.0f}% of the talk time (band {lo:.0f}-{hi:.0f}%)"
        elif kind == "open_questions":
            met, ev, why = _open_questions(d, item)
        elif kind == "next_step_time":
            met, ev, why = _next_step_time(d)
        else:
            met, ev, why = _stop(d, item)
        out.append(ChecklistItem(key, label, weight, met, ev, why))
    return out
