"""The checklist score of a sales call: a weighted list of items, each met or not, with evidence.

The checklist is data: models/<lang>/checklist.toml, or the user's copy named
by ``Settings.checklist`` (auditor.toml's ``checklist = "path"``, or a
checklist.toml next to auditor.toml; a ``{lang}`` in the path is the call's
language). The file format and the kinds of item are described at the top of
models/ru/checklist.toml. The file's hash is part of the analysis version, so
an edit makes ``rescore`` re-run. The score itself is records.checklist_score,
so that a reviewer's correction of an item moves it the same way. Phrases are
matched by auditor.analysis.phrases, each list prepared once per loaded
checklist (``Checklist.part``).
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.analysis.metrics import call_metrics, norms
from auditor.analysis.nlp import fold, pipeline
from auditor.analysis.phrases import Phrases, TurnReader, phrases, word_list
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
T = TypeVar("T")


@dataclass(frozen=True)
class Checklist:
    version: str
    items: tuple[dict[str, Any], ...]
    source: str
    language: str = ""
    _prepared: dict[tuple[str, str, str], Any] = field(default_factory=dict, compare=False,
                                                         repr=False)

    def part(self, language: str, item: dict[str, Any], name: str,
             prepare: Callable[[str, tuple[str, ...]], T]) -> T:
        """An item's word or phrase list ``name``, prepared once per checklist and language."""
        key = (language, str(item["key"]), name)
        if key not in self._prepared:
            self._prepared[key] = prepare(language, tuple(item.get(name, [])))
        out: T = self._prepared[key]
        return out

    def phrases(self, language: str, item: dict[str, Any], name: str) -> Phrases:
        return self.part(language, item, name, phrases)

    def words(self, language: str, item: dict[str, Any], name: str) -> frozenset[str]:
        """An item's single words, folded."""
        return self.part(language, item, name, word_list).forms


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


def _evidence(turn: Turn, token: int | None, cue: str) -> Evidence:
    clause = next((c for c in turn.clauses if token is not None and c.start <= token < c.end),
                  None)
    seg = turn.segment
    quote = clause.text if clause is not None else seg.text
    return Evidence(quote, turn.role if not turn.attributed else seg.speaker, seg.start, seg.end,
                    cue)


# --- the items ---------------------------------------------------------------------


Found = tuple[bool, list[Evidence], str]


def _greeting(d: TurnReader, c: Checklist, item: dict[str, Any]) -> Found:
    within = float(item.get("within_s", 30))
    parts = {part: c.phrases(d.language, item, part) for part in ("company", "name")}
    found: dict[str, Evidence] = {}
    for t in d.manager:
        if t.segment.start > within:
            break
        for part, ph in parts.items():
            at = d.find(t, ph)
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


@functools.lru_cache(maxsize=20000)
def _is_first_name(language: str, word: str) -> bool:
    if not word[:1].isupper() or not word.isalpha() or len(word) < 2:
        return False
    if language != "ru":
        return True
    morph = pipeline("ru").get_pipe("lemmatizer")._morph  # type: ignore[attr-defined]
    return any("Name" in p.tag and p.is_known and p.score >= 0.25
               for p in morph.parse(word.lower()))


_CAPITALISED = re.compile(r"(?:([^\W\d_][\w'’-]*)[^\w]+)?\b([A-ZА-ЯЁ][a-zа-яё]+)\b")
_CAPITAL_WORD = re.compile(r"\b[A-ZА-ЯЁ][a-zа-яё]+\b")  # the second group of _CAPITALISED


def _names(d: TurnReader, t: Turn) -> list[tuple[str, int, str]]:
    """(folded word before, token index, text) of each first name in a turn.

    Read from the turn's text: only capitalised words can be names, and the
    dictionary is asked only about those (a turn with none is left at that).
    """
    text = t.segment.text
    if not any(_is_first_name(d.language, w) for w in _CAPITAL_WORD.findall(text)):
        return []
    out = []
    for m in _CAPITALISED.finditer(text):
        before, word = m.group(1), m.group(2)
        if (before or d.language == "ru") and _is_first_name(d.language, word):
            span = t.doc.char_span(m.start(2), m.end(2), alignment_mode="expand")
            out.append((fold(before or ""), span.start if span is not None else 0, word))
    return out


def _greeting_turn(d: TurnReader, greeting: dict[str, Any] | None) -> int | None:
    """The manager's first turn, when it falls in the greeting's first seconds."""
    within = float((greeting or {}).get("within_s", 30))
    first = next(iter(d.manager), None)
    return first.index if first is not None and first.segment.start <= within else None


def _client_name(d: TurnReader, c: Checklist, item: dict[str, Any],
                 greeting: dict[str, Any] | None) -> Found:
    after = c.words(d.language, item, "address_after")
    own = c.words(d.language, item, "own_before")
    ask = c.phrases(d.language, item, "ask")
    intro = _greeting_turn(d, greeting)
    for t in d.manager:
        at = d.find(t, ask)
        if at is not None:
            return True, [_evidence(t, at, "asked")], ""
        for prev, at, text in _names(d, t):
            if prev in own:
                continue
            # Without an address word before it, a name in the greeting is the manager's own.
            if prev in after or (d.language == "ru" and t.index != intro):
                return True, [_evidence(t, at, f"name {text}")], ""
    return False, [], "the manager neither asked nor used the client's name"


def _open_questions(d: TurnReader, c: Checklist, item: dict[str, Any]) -> Found:
    ow = c.part(d.language, item, "open_words", word_list)
    need = int(item.get("min", 1))
    ev: list[Evidence] = []
    for t in d.manager:
        forms = t.forms
        if ow.forms.isdisjoint(forms.words):
            continue  # no open question word in the turn at all
        asked = [q for q in t.clauses if q.question or q.maybe_question]
        if not asked or not d.holds_any(t, ow.stems):
            continue
        low, lem, words = forms.lower, forms.lemma, ow.forms
        for q in asked:
            if any((low[i] in words or lem[i] in words) and not t.doc[i].is_punct
                   for i in range(q.start, q.end)):
                ev.append(_evidence(t, q.start, "open question"))
    met = len(ev) >= need
    return met, ev[:_MAX_QUOTES], f"{len(ev)} open question(s), {need} needed"


def _next_step_time(d: TurnReader) -> Found:
    """A clause with a next step and a time; failing one, a turn with both."""
    turn = None
    for t in d.all:
        step = time = False
        for c in t.clauses:
            cs, ct = c.has_section("next_step"), c.has_section("time")
            if cs and ct:
                return True, [_evidence(t, c.start, "next step with a time")], ""
            step, time = step or cs, time or ct
        if turn is None and step and time:
            turn = t
    if turn is not None:
        return True, [_evidence(turn, turn.clauses[0].start, "next step with a time")], ""
    return False, [], "no next step with a date or time"


def _stop(d: TurnReader, c: Checklist, item: dict[str, Any]) -> Found:
    ev = []
    ph = c.phrases(d.language, item, "phrases")
    for t in d.manager:
        at = d.find(t, ph)
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
    d = TurnReader(dialogue)
    for item in checklist.items:
        kind, key = item["kind"], str(item["key"])
        weight = float(item["weight"])
        label = str(item.get("label", key))
        if kind == "stage":
            st = stages.get(str(item.get("stage", key)))
            met, ev = bool(st and st.found), list(st.evidence[:_MAX_QUOTES]) if st else []
            why = st.reason if st else "no such stage"
        elif kind == "greeting":
            met, ev, why = _greeting(d, checklist, item)
        elif kind == "client_name":
            met, ev, why = _client_name(d, checklist, item, greeting)
        elif kind == "talk_share":
            share = metrics.manager_talk_pct if metrics else None
            band = norms()
            lo = float(item.get("min", band["talk_share_min"]))
            hi = float(item.get("max", band["talk_share_max"]))
            if share is None:
                met, ev, why = False, [], "not measurable on this recording (not scored)"
                weight = 0.0
            else:
                met, ev = lo <= share <= hi, []
                why = f"manager {share:.0f}% of the talk time (band {lo:.0f}-{hi:.0f}%)"
        elif kind == "open_questions":
            met, ev, why = _open_questions(d, checklist, item)
        elif kind == "next_step_time":
            met, ev, why = _next_step_time(d)
        else:
            met, ev, why = _stop(d, checklist, item)
        out.append(ChecklistItem(key, label, weight, met, ev, why))
    return out
