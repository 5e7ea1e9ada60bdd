"""A transcript as a dialogue: turns, clauses, questions, cues and who said what.

The stage and call-type rules reason about dialogue structure ("the manager
asked, the client answered"), so this module turns segments into:

- ``Turn``: one segment, its spaCy Doc, and ``p_manager``, the probability that
  the manager said it: 1 or 0 when the transcript names the speaker; for mono
  recordings (speaker ``unknown``) it is inferred from turn-taking and from
  clues in the words (see ``infer_roles``);
- ``Clause``: a sentence of a turn, or, where speech recognition left no
  punctuation, a stretch between discourse markers ("а", "ну"; "so", "and"),
  flagged as a question from "?" or, failing punctuation, from interrogative
  words and word order;
- the cue hits of every clause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.analysis.rules import Forms, Hit, RuleSet
from auditor.records import Segment

if TYPE_CHECKING:  # pragma: no cover
    from spacy.tokens import Doc

_SENT_END = frozenset({".", "!", "?", "…", "...", "?!", "!?", "..", ";"})
_QUESTION_MARKS = ("?",)
_LONG_PAUSE_S = 4.0  # a hold ("one moment, let me check") rarely changes the speaker
_SWITCH = 0.85
_SWITCH_AFTER_PAUSE = 0.4


@dataclass
class Clause:
    """A sentence (or unpunctuated stretch) of one turn."""

    turn: int
    start: int
    end: int
    text: str
    question: bool
    hits: list[Hit] = field(default_factory=list)
    # Without punctuation a clause may still be a question that the word-order
    # test missed ("да есть оба вам какая плотность нужна"): ``maybe_question``
    # admits it for the manager's questions (profile, needs) while
    # ``question`` (certain) keeps it out of the manager's statements.
    maybe_question: bool = False

    def has(self, key: str) -> bool:
        return any(h.key == key and not h.negated for h in self.hits)

    def has_section(self, section: str) -> bool:
        prefix = section + "."
        return any(h.key.startswith(prefix) and not h.negated for h in self.hits)

    def section_hits(self, section: str, *, include_negated: bool = False) -> list[Hit]:
        prefix = section + "."
        return [h for h in self.hits if h.key.startswith(prefix)
                and (include_negated or not h.negated)]


@dataclass
class Turn:
    """One segment of the transcript as a speaker turn."""

    index: int
    segment: Segment
    doc: Doc
    clauses: list[Clause]
    p_manager: float
    attributed: bool
    forms: Forms  # the Doc's lower-case forms and lemmas (RuleSet.match)

    @property
    def speaker(self) -> str:
        return self.segment.speaker

    @property
    def role(self) -> str:
        """Who most likely spoke: 'manager' or 'client'."""
        return "manager" if self.p_manager >= 0.5 else "client"

    @property
    def words(self) -> int:
        return sum(1 for t in self.doc if t.is_alpha)

    def has_section(self, section: str) -> bool:
        return any(c.has_section(section) for c in self.clauses)

    def has(self, key: str) -> bool:
        return any(c.has(key) for c in self.clauses)


@dataclass
class Dialogue:
    turns: list[Turn]
    language: str
    rules: RuleSet
    # Stage thresholds are multiplied by this: lower for speech-recognition
    # output, where cue words are misheard (models/decision.toml [recognised]).
    threshold_scale: float = 1.0

    @property
    def attributed(self) -> bool:
        """True when every turn names its speaker (no inferred roles)."""
        return all(t.attributed for t in self.turns)

    def clauses(self) -> list[Clause]:
        return [c for t in self.turns for c in t.clauses]


def build_dialogue(segments: list[Segment], docs: list[Doc], rules: RuleSet,
                   trust_punctuation: bool = True) -> Dialogue:
    """Split turns into clauses, find cues, mark questions and infer mono roles.

    Without ``trust_punctuation`` (speech-recognition output: Whisper often
    ends a question with a full stop) a clause's question form is read from
    its words even when it ends with a full stop; a "?" still decides.
    """
    cfg = rules.dialogue
    fillers = frozenset(cfg.get("fillers", []))
    markers = frozenset(cfg.get("clause_markers", []))
    second = frozenset(cfg.get("second_person", []))
    first = frozenset(cfg.get("first_person", []))
    qcfg = cfg.get("question", {})
    yesno = int(qcfg.get("yesno_max_words", 0))
    no_q = frozenset(qcfg.get("not_question_words", []))
    qcues = {f"question.{k}": v for k, v in qcfg.get("cues", {}).items()}
    max_pos = int(qcfg.get("max_position", 4))
    short = int(qcfg.get("short_clause", 10))
    turns: list[Turn] = []
    for i, (seg, doc) in enumerate(zip(segments, docs, strict=True)):
        hits, forms = rules.match(doc)
        spans = _clause_spans(doc, markers)
        clauses = []
        punctuated = any(t.text in _SENT_END or "?" in t.text for t in doc)
        if not trust_punctuation:
            punctuated = False  # for the question test only; clauses still split at "."
        for start, end in spans:
            # A cue must lie within one clause: "у нас | кстати новая коллекция"
            # is two clauses, and a pattern gap must not bridge them.
            chits = [h for h in hits if start <= h.start and h.end <= end]
            question = _is_question(doc, start, end, chits, punctuated, fillers, second,
                                    qcues, max_pos, short)
            maybe = question
            if not question and not (punctuated and doc[end - 1].is_punct):
                maybe = any(h.key in qcues and qcues[h.key].get("position") != "end"
                            for h in chits)
                if not maybe and yesno:
                    maybe = _yes_no(doc, start, end, second, first, no_q, yesno)
            text = doc[start:end].text
            clauses.append(Clause(i, start, end, text, question, chits, maybe))
        attributed = seg.speaker in ("manager", "client")
        p = 1.0 if seg.speaker == "manager" else 0.0 if seg.speaker == "client" else 0.5
        turns.append(Turn(i, seg, doc, clauses, p, attributed, forms))
    answers = frozenset(qcfg.get("answer_starts", []))
    if answers:
        _answered_questions(turns, rules, answers, first, int(qcfg.get("answer_max_words", 8)))
    dialogue = Dialogue(turns, rules.language, rules)
    if not dialogue.attributed:
        infer_roles(dialogue)
    return dialogue


def _answered_questions(turns: list[Turn], rules: RuleSet, answers: frozenset[str],
                        first: frozenset[str], max_words: int) -> None:
    """A short question about the client that ASR punctuated as a statement.

    "Что-то изменилось в компании." followed by the other side's "Да, мы взяли
    ещё два объекта" was a question: speech recognition often ends a question
    with a full stop. Only a clause carrying a question-only cue (profile,
    needs) with no "I/we" in it is promoted, and only when the next clause, by
    the other speaker (or an unknown one), starts with yes or no.
    """
    flat = [(t, c) for t in turns for c in t.clauses]
    for (turn, clause), (nxt_turn, nxt) in zip(flat, flat[1:], strict=False):
        if clause.question or turn.doc[clause.end - 1].text == "!":
            continue
        if turn.attributed and nxt_turn.attributed and turn.speaker == nxt_turn.speaker:
            continue  # (also the next clause of the same attributed turn)
        words = [t for t in turn.doc[clause.start:clause.end] if t.is_alpha]
        if not words or len(words) > max_words:
            continue
        if any(t.lower_ in first or t.lemma_ in first for t in words):
            continue
        opener = next((t for t in nxt_turn.doc[nxt.start:nxt.end] if t.is_alpha), None)
        if opener is None or opener.lower_ not in answers:
            continue
        if any(rules.cues[h.key].where == "question" for h in clause.hits
               if h.key in rules.cues and not h.negated):
            clause.question = clause.maybe_question = True


def _clause_spans(doc: Doc, markers: frozenset[str]) -> list[tuple[int, int]]:
    """Sentence spans; unpunctuated text is cut before discourse markers."""
    n = len(doc)
    if n == 0:
        return []
    spans: list[tuple[int, int]] = []
    start = 0
    punctuated = any(t.text in _SENT_END or "?" in t.text for t in doc)
    for i, tok in enumerate(doc):
        if punctuated:
            if tok.text in _SENT_END or "?" in tok.text or tok.text == "!":
                spans.append((start, i + 1))
                start = i + 1
        elif i > start and tok.lower_ in markers and i - start >= 2:
            spans.append((start, i))
            start = i
    if start < n:
        spans.append((start, n))
    # Drop spans made only of punctuation.
    return [(s, e) for s, e in spans if any(not doc[j].is_punct for j in range(s, e))]


def _is_question(
    doc: Doc, start: int, end: int, hits: list[Hit], punctuated: bool,
    fillers: frozenset[str], second: frozenset[str], qcues: dict[str, dict],
    max_pos: int, short: int,
) -> bool:
    last = doc[end - 1]
    if any(m in last.text for m in _QUESTION_MARKS):
        return True
    if punctuated and last.is_punct:
        return False
    # No punctuation to go by: interrogative words and their position.
    words = [j for j in range(start, end) if not doc[j].is_punct]
    content = [j for j in words if doc[j].lower_ not in fillers]
    first_content = content[0] if content else end
    n_words = len(words)
    has_you = any(doc[j].lemma_ in second or doc[j].lower_ in second for j in words)
    for h in hits:
        spec = qcues.get(h.key)
        if spec is None:
            continue
        pos = spec.get("position", "any")
        if pos == "any":
            return True
        if pos == "with_you" and has_you:
            return True
        if pos == "early":
            rank = sum(1 for j in content if j < h.start)
            if h.start < first_content:
                rank = 0
            if rank < max_pos or n_words <= short:
                return True
        if pos == "end" and words and h.start >= words[-1] and n_words <= short and has_you:
            return True
    return False


def _yes_no(doc: Doc, start: int, end: int, second: frozenset[str], first: frozenset[str],
            no_q: frozenset[str], max_words: int) -> bool:
    words = [doc[j] for j in range(start, end) if doc[j].is_alpha]
    if not words or len(words) > max_words:
        return False
    lemmas = {t.lemma_ for t in words} | {t.lower_ for t in words}
    return bool(lemmas & second) and not (lemmas & first) and not (lemmas & no_q)


def infer_roles(dialogue: Dialogue) -> None:
    """Forward-backward over turns with two hidden states, manager and client.

    Turns usually alternate; a long pause ("one moment, I'll check") makes the
    same speaker likelier to continue. Each turn's words give a log-odds clue
    (``roles`` cues in dialogue.json, plus: a question about "you" with a
    profile or needs cue is the manager's). Attributed turns are fixed.
    """
    turns = dialogue.turns
    if not turns:
        return
    logit = [_role_logit(t, dialogue.rules) for t in turns]
    n = len(turns)
    # Emission likelihoods (manager, client).
    em = []
    for t, lg in zip(turns, logit, strict=True):
        if t.attributed:
            em.append((1.0, 1e-9) if t.speaker == "manager" else (1e-9, 1.0))
        else:
            lg = max(-6.0, min(6.0, lg))
            em.append((math.exp(lg / 2), math.exp(-lg / 2)))
    sw = [_SWITCH]
    for a, b in zip(turns, turns[1:], strict=False):
        gap = b.segment.start - a.segment.end
        sw.append(_SWITCH_AFTER_PAUSE if gap >= _LONG_PAUSE_S else _SWITCH)
    fwd = [(0.0, 0.0)] * n
    m, c = 0.5 * em[0][0], 0.5 * em[0][1]
    z = m + c
    fwd[0] = (m / z, c / z)
    for i in range(1, n):
        s = sw[i]
        pm, pc = fwd[i - 1]
        m = (pm * (1 - s) + pc * s) * em[i][0]
        c = (pc * (1 - s) + pm * s) * em[i][1]
        z = m + c
        fwd[i] = (m / z, c / z)
    bwd = [(1.0, 1.0)] * n
    for i in range(n - 2, -1, -1):
        s = sw[i + 1]
        bm, bc = bwd[i + 1]
        m = (1 - s) * em[i + 1][0] * bm + s * em[i + 1][1] * bc
        c = s * em[i + 1][0] * bm + (1 - s) * em[i + 1][1] * bc
        z = m + c
        bwd[i] = (m / z, c / z)
    for i, t in enumerate(turns):
        if t.attributed:
            continue
        m = fwd[i][0] * bwd[i][0]
        c = fwd[i][1] * bwd[i][1]
        t.p_manager = m / (m + c) if m + c > 0 else 0.5


def _role_logit(turn: Turn, rules: RuleSet) -> float:
    """Log-odds that the manager said this turn, from its words alone."""
    score = 0.0
    seen: set[str] = set()
    selling = 0.0
    hints = rules.dialogue.get("role_hints", {})
    for clause in turn.clauses:
        for h in clause.hits:
            if h.key in hints and h.key not in seen and not h.negated:
                seen.add(h.key)
                score += float(hints[h.key])
        for h in clause.section_hits("roles"):
            if h.key in seen:
                continue
            seen.add(h.key)
            score += rules.cues[h.key].weight
        if clause.question and (clause.has_section("profile") or clause.has_section("needs")):
            score += 0.8
        if not clause.question:
            # Talking up the company and the product is the seller's part.
            keys = {h.key for h in clause.section_hits("presentation")}
            selling += sum(rules.cues[k].weight for k in keys)
    # Proposing a call, a visit or a sample at a set time is the seller's move.
    proposes = any(
        c.has_section("time") and any(
            rules.cues[h.key].extra.get("action") in ("call", "meet", "trial")
            for h in c.section_hits("next_step"))
        for c in turn.clauses)
    return score + min(1.5, 0.6 * selling) + (0.8 if proposes else 0.0)
