"""The four stages of a sales conversation, judged the way LABELING.md defines them.

- profile and needs: what the manager *asks* (a question carrying a profile or
  needs cue) or, for needs, how the manager restates the need ("so you need
  ..."). A client's own story counts only as context; a client's answer to the
  manager's question strengthens it.
- presentation: what the manager *states* about the company or product and
  its value. A bare price carries no value cue and does not count; a
  presentation the client cut off ("про компанию не надо") does not count.
- next_step: an action (call, meeting, visit, sample, order) with a concrete
  time, in the manager's words or agreed by the manager. Sending a catalogue
  alone, or "think it over and call us", is not a next step (nextstep.py).

With speakers attributed, only the manager's turns count. With a mono
transcript every turn counts in proportion to the inferred probability that
the manager said it, and the confidence is lower.
"""

from __future__ import annotations

from auditor.analysis.dialogue import Clause, Dialogue, Turn
from auditor.analysis.nextstep import score_next_step
from auditor.analysis.rules import RuleSet, threshold
from auditor.analysis.scoring import (
    Scored,
    StageScore,
    declined_after,
    manager_weight,
    short_text,
)
from auditor.records import STAGES, Evidence, StageResult

_MAX_EVIDENCE = 3
# The weights and thresholds of the stage scoring are in models/decision.toml
# [stages] (threshold("stages", ...)), so that editing one changes the ruleset
# version and `auditor rescore` re-runs the stored calls.
_LABELS = {"profile": "profile", "needs": "needs", "presentation": "presentation",
           "next_step": "next step"}


def score_stages(dialogue: Dialogue) -> dict[str, StageScore]:
    """Raw stage scores with their evidence (also used by the call-type rules)."""
    return {
        "profile": _score_asked(dialogue, "profile"),
        "needs": _score_asked(dialogue, "needs"),
        "presentation": _score_presentation(dialogue),
        "next_step": score_next_step(dialogue),
    }


def stage_results(dialogue: Dialogue, scores: dict[str, StageScore]) -> dict[str, StageResult]:
    """StageResults with evidence and a reason for every stage, found or not."""
    mono = not dialogue.attributed
    out: dict[str, StageResult] = {}
    for stage in STAGES:
        sc = scores[stage]
        if sc.found:
            items = sorted(sc.items, key=lambda s: -s.weight)[:_MAX_EVIDENCE]
            items.sort(key=lambda s: (s.clause.turn, s.clause.start))
            evidence = [_evidence(dialogue, s) for s in items]
            margin = min(1.0, sc.score / (2 * sc.threshold))
            confidence = round(0.6 + 0.4 * margin, 2)
            if mono:
                confidence = round(min(confidence, threshold("stages", "mono_confidence")), 2)
            reason = _found_reason(stage, items, mono)
            out[stage] = StageResult(stage, True, evidence, confidence, reason)
        else:
            confidence = 0.8 if not mono else 0.55
            if sc.items and sc.score >= 0.5 * sc.threshold:
                confidence = 0.6 if not mono else 0.5
            reason = sc.why_not or f"no {_LABELS[stage]} cue in the manager's words"
            out[stage] = StageResult(stage, False, [], confidence, reason)
    return out


def not_assessed(call_type: str) -> dict[str, StageResult]:
    """Stage results for calls the stage rules do not apply to."""
    why = {"post_sale": "not assessed: post-sale calls are exempt from the stage rules",
           "no_contact": "not assessed: no conversation with the decision maker"}[call_type]
    return {s: StageResult(s, False, [], 1.0, why) for s in STAGES}


# --- profile and needs: the manager's questions --------------------------------


def _score_asked(dialogue: Dialogue, stage: str) -> StageScore:
    rules = dialogue.rules
    cfg = rules.stages[stage]
    weak_beside = {f"{stage}.{n}" for n in cfg.get("weak_beside_profile", [])}
    weak_beside_needs = {f"{stage}.{n}" for n in cfg.get("weak_beside_needs", [])}
    sc = StageScore(stage, threshold=float(cfg.get("threshold", 1.0)) * dialogue.threshold_scale)
    name_only: Clause | None = None
    client_said: Clause | None = None
    turns = dialogue.turns
    for turn in turns:
        for clause in turn.clauses:
            hits = clause.section_hits(stage)
            if stage == "profile" and clause.has_section("name_only"):
                # "How may I address you?" is a greeting; only what else the
                # clause asks ("... and which company are you from?") counts.
                names = [h for h in clause.section_hits("name_only")]
                hits = [h for h in hits if not any(n.start <= h.start < n.end or
                                                   h.start <= n.start < h.end for n in names)]
                if not hits:
                    if clause.maybe_question and turn.p_manager >= 0.5:
                        name_only = name_only or clause
                    continue
            if not hits:
                continue
            keys: set[str] = set()
            for h in hits:
                cue = rules.cues[h.key]
                if cue.where == "question" and not clause.maybe_question:
                    continue
                if cue.where == "restate" and clause.question:
                    continue
                if h.key in weak_beside and _strong(rules, clause, "profile"):
                    continue
                if h.key in weak_beside_needs and _strong(rules, clause, "needs"):
                    continue
                if cue.not_with and any(clause.has_section(x) for x in cue.not_with):
                    continue
                keys.add(h.key)
            if not keys:
                if turn.p_manager < 0.5 and stage == "needs" and not clause.maybe_question:
                    client_said = client_said or clause
                continue
            weight = sum(rules.cues[k].weight for k in keys)
            if not clause.question and any(rules.cues[k].where == "question" for k in keys):
                weight *= threshold("stages", "maybe_question_weight")
            if turn.p_manager < 0.5 and turn.attributed:
                # The client asking or telling on their own is context only.
                if stage == "needs":
                    client_said = client_said or clause
                continue
            factor = threshold("stages", "answered_weight" if _answered(turns, turn)
                               else "unanswered_weight")
            weight *= manager_weight(turn) * factor
            if weight <= threshold("stages", "min_clause_weight"):
                continue
            sc.items.append(Scored(clause, weight, sorted(k.split(".", 1)[1] for k in keys)))
            sc.score += weight
    if not sc.found:
        sc.why_not = _why_not_asked(stage, sc, name_only, client_said)
    return sc


def _strong(rules: RuleSet, clause: Clause, stage: str) -> bool:
    """The clause carries a full-weight question cue of the stage."""
    return any(rules.cues[h.key].weight >= 1.0 and rules.cues[h.key].where == "question"
               for h in clause.section_hits(stage))


def _answered(turns: list[Turn], turn: Turn) -> bool:
    """The next turn is the other party's and says something."""
    nxt = turns[turn.index + 1] if turn.index + 1 < len(turns) else None
    if nxt is None:
        return False
    other = (nxt.p_manager < 0.5) == (turn.p_manager >= 0.5)
    return other and nxt.words > 0 and not nxt.has_section("refusal")


def _why_not_asked(stage: str, sc: StageScore, name_only: Clause | None,
                   client_said: Clause | None) -> str:
    if stage == "profile":
        if name_only is not None and not sc.items:
            return (f"only greeting and the client's name («{short_text(name_only.text)}»); "
                    "nothing about the client's business, role, size or supplier")
        if sc.items:
            return (f"too little about who the client is (score {sc.score:.1f} of "
                    f"{sc.threshold:.1f})")
        return "the manager asked nothing about the client's business, role, size or supplier"
    if client_said is not None and not sc.items:
        return (f"the client described the need on their own («{short_text(client_said.text)}»); "
                "the manager asked no clarifying question")
    if sc.items:
        return f"too little clarification of the need (score {sc.score:.1f} of {sc.threshold:.1f})"
    return "the manager asked no question about the task, quantities, deadline or budget"


# --- presentation: the manager's statements ----------------------------------------


def _score_presentation(dialogue: Dialogue) -> StageScore:
    rules = dialogue.rules
    cfg = rules.stages["presentation"]
    sc = StageScore("presentation",
                    threshold=float(cfg.get("threshold", 1.0)) * dialogue.threshold_scale,
                    min_cue_weight=float(cfg.get("min_cue_weight", 0.0)),
                    strong_total=float(cfg.get("strong_total", float("inf"))))
    turns = dialogue.turns
    declined: Clause | None = None
    priced: Clause | None = None
    for turn in turns:
        if turn.p_manager < 0.5 and turn.attributed:
            continue
        cut = declined_after(turns, turn, "refusal.presentation")
        for clause in turn.clauses:
            if clause.question or (clause.maybe_question and _short_clause(turn, clause) and (
                    clause.has_section("profile") or clause.has_section("needs"))):
                continue
            keys = {h.key for h in clause.section_hits("presentation")
                    if rules.cues[h.key].where == "statement"}
            if not keys:
                if priced is None and turn.p_manager >= 0.5 and _mentions_price(turn, clause):
                    priced = clause
                continue
            if cut is not None:
                declined = cut
                continue
            weight = sum(rules.cues[k].weight for k in keys) * manager_weight(turn)
            if clause.has_section("introduction"):
                weight *= threshold("stages", "introduction_weight")
            if _proposes_next_step(clause):
                weight *= threshold("stages", "proposal_weight")
            if weight <= threshold("stages", "min_clause_weight"):
                continue
            # A mono call's inferred roles are not sure enough to rule out the
            # strongest cue of a turn given to the client (scoring.MONO_FLOOR).
            if (turn.p_manager >= 0.5 or not turn.attributed) and not clause.has_section(
                    "introduction"):
                sc.strongest = max(sc.strongest, max(rules.cues[k].weight for k in keys))
                sc.likely_manager += weight
            sc.items.append(Scored(clause, weight, sorted(k.split(".", 1)[1] for k in keys)))
            sc.score += weight
    if not sc.found:
        if declined is not None:
            sc.why_not = (f"the client declined the presentation («{short_text(declined.text)}»); "
                          "what was said before does not count")
        elif priced is not None and sc.score < 0.5 * sc.threshold:
            sc.why_not = (f"only a price was given («{short_text(priced.text)}»); "
                          "a bare price is not a presentation")
        elif sc.items:
            sc.why_not = (f"too little about the company or product value (score "
                          f"{sc.score:.1f} of {sc.threshold:.1f})")
        else:
            sc.why_not = "the manager said nothing about the company, product or its value"
    return sc


def _proposes_next_step(clause: Clause) -> bool:
    """A call, meeting, trial or sending proposed ("I'll make a free test by Friday");
    an order mentioned ("free delivery on orders over ...") is not a proposal."""
    return any(h.key != "next_step.order" for h in clause.section_hits("next_step"))


def _short_clause(turn: Turn, clause: Clause) -> bool:
    """Short enough for an unpunctuated clause to be one question, not a pitch."""
    return sum(1 for t in turn.doc[clause.start:clause.end] if t.is_alpha) <= threshold(
        "stages", "short_clause_words")


def _mentions_price(turn: Turn, clause: Clause) -> bool:
    """A price: a number with a price word, or a clause that is mostly numbers."""
    words = [t for t in turn.doc[clause.start:clause.end] if not t.is_punct]
    numbers = sum(1 for t in words if t.like_num)
    return numbers > 0 and (clause.has_section("price") or numbers * 2 >= len(words))


# --- evidence and reasons ------------------------------------------------------------------


def _evidence(dialogue: Dialogue, s: Scored) -> Evidence:
    seg = dialogue.turns[s.clause.turn].segment
    cue = ", ".join(s.cues)
    if s.note:
        cue = f"{cue} ({s.note})" if cue else s.note
    turn = dialogue.turns[s.clause.turn]
    if not turn.attributed:
        cue += f" [speaker inferred: {turn.role}, p={turn.p_manager:.2f}]"
    return Evidence(quote=s.clause.text, speaker=seg.speaker, start=seg.start, end=seg.end,
                    cue=cue)


def _found_reason(stage: str, items: list[Scored], mono: bool) -> str:
    first = items[0]
    cues = sorted({c for s in items for c in s.cues})
    who = "the manager (inferred from a mono recording)" if mono else "the manager"
    verb = {"profile": "asked about the client", "needs": "clarified the need",
            "presentation": "presented", "next_step": "agreed a next step"}[stage]
    return f"{who} {verb} ({', '.join(cues)}): «{short_text(first.clause.text)}»"
