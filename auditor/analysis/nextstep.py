"""The next step: an action with a concrete time, agreed in the call.

A call, meeting, visit, sample or order counts when the manager commits to it or
proposes it with a concrete time (a weekday, "tomorrow at ten", a date) in the
same turn or the next two; a client's proposal counts once the manager accepts
it; a client's order taken by the manager with a delivery time is an order
placed. Sending a catalogue alone, a vague ending ("think it over and call us")
and a proposal the client turns down are not next steps.
"""

from __future__ import annotations

from auditor.analysis.dialogue import Clause, Dialogue, Turn
from auditor.analysis.scoring import Scored, StageScore, agrees, declined_after, manager_weight, short_text

_STRONG_ACTIONS = ("call", "meet", "trial", "order")
_COMMIT_WINDOW = 8  # words before a relative time ("через час") to look for "я"/"давайте"


def score_next_step(dialogue: Dialogue) -> StageScore:
    """Next-step evidence; the score is the manager's weight of the best one."""
    sc = StageScore("next_step", threshold=0.5)
    turns = dialogue.turns
    rules = dialogue.rules
    vague_seen: Clause | None = None
    send_only: Clause | None = None
    refused: Clause | None = None

    committed = frozenset(rules.dialogue.get("first_person", [])) | frozenset(
        rules.dialogue.get("proposal_words", []))

    def vague(c: Clause) -> bool:
        return c.has_section("vague")

    def timed(c: Clause) -> bool:
        """A concrete time; a relative one ("через час") only in a commitment."""
        hits = c.section_hits("time")
        if any(not rules.cues[h.key].extra.get("weak") for h in hits):
            return True
        if not hits:
            return False
        doc = turns[c.turn].doc
        for h in hits:
            near = doc[max(c.start, h.start - _COMMIT_WINDOW):h.end]
            if any(t.lower_ in committed or t.lemma_ in committed for t in near):
                return True
        return False

    def time_in(turn: Turn) -> Clause | None:
        for c in turn.clauses:
            if timed(c) and not vague(c):
                return c
        return None

    def actions(c: Clause) -> set[str]:
        return {str(rules.cues[h.key].extra.get("action", "")) for h in c.section_hits("next_step")}

    for turn in turns:
        is_manager = turn.p_manager >= 0.5 or not turn.attributed
        for clause in turn.clauses:
            if vague(clause):
                if turn.p_manager >= 0.5:
                    vague_seen = vague_seen or clause
                continue
            acts = actions(clause)
            if not acts:
                continue
            strong = acts & set(_STRONG_ACTIONS)
            if not strong:
                if "send" in acts and turn.p_manager >= 0.5 and time_in(turn) is not None:
                    send_only = send_only or clause
                continue
            if is_manager and turn.p_manager > 0.05:
                when = clause if timed(clause) else time_in(turn)
                near = 1.0
                if when is None:
                    for k in (1, 2):
                        if turn.index + k < len(turns):
                            when = time_in(turns[turn.index + k])
                            if when is not None:
                                near = 0.9
                                break
                if when is None:
                    continue
                decline = declined_after(turns, turn, "refusal.offer")
                if decline is not None and not agrees(turns, turn.index + 1):
                    refused = refused or decline
                    continue
                weight = manager_weight(turn) * near
                note = "agreed" if agrees(turns, turn.index + 1) else ""
                sc.items.append(Scored(clause, weight, sorted(strong), note))
                if when is not clause:
                    sc.items.append(Scored(when, weight * 0.5, ["time"]))
                sc.score = max(sc.score, weight)
            if turn.p_manager < 0.5 and timed(clause):
                # The client proposes an action with a time; it counts once the
                # manager accepts it in the next turn.
                nxt = turns[turn.index + 1] if turn.index + 1 < len(turns) else None
                if nxt is not None and nxt.p_manager >= 0.5 and (
                        agrees(turns, nxt.index) or any(actions(c) for c in nxt.clauses)):
                    weight = manager_weight(nxt) * 0.9
                    sc.items.append(Scored(clause, weight, sorted(strong), "proposed by client"))
                    sc.items.append(Scored(nxt.clauses[0], weight * 0.5, ["accepted"]))
                    sc.score = max(sc.score, weight)
    _order_placed(dialogue, sc)
    if not sc.found:
        if refused is not None:
            sc.why_not = f"the client turned the proposal down («{short_text(refused.text)}»)"
        elif vague_seen is not None:
            sc.why_not = (f"vague ending («{short_text(vague_seen.text)}»): no agreed action "
                          "with a time")
        elif send_only is not None:
            sc.why_not = (f"materials promised («{short_text(send_only.text)}») without an agreed "
                          "follow-up")
        else:
            sc.why_not = "no concrete next action (call, meeting, sample, order) with a time"
    return sc


def _order_placed(dialogue: Dialogue, sc: StageScore) -> None:
    """The client orders, the manager takes it and confirms when it happens."""
    turns = dialogue.turns
    for turn in turns:
        if turn.p_manager >= 0.5 and turn.attributed:
            continue
        if not turn.has_section("order_request"):
            continue
        nxt = turns[turn.index + 1] if turn.index + 1 < len(turns) else None
        if nxt is None or nxt.p_manager < 0.5:
            continue
        if not (agrees(turns, nxt.index) or nxt.has("next_step.order")):
            continue
        for later in turns[nxt.index:]:
            if later.p_manager < 0.5:
                continue
            when = next((c for c in later.clauses
                         if c.has_section("time") and not c.has_section("vague")), None)
            if when is not None:
                weight = min(manager_weight(nxt), manager_weight(later))
                request = next(c for c in turn.clauses if c.has_section("order_request"))
                sc.items.append(Scored(request, weight * 0.5, ["order"], "order placed"))
                sc.items.append(Scored(when, weight, ["order", "time"], "order placed"))
                sc.score = max(sc.score, weight)
                return
