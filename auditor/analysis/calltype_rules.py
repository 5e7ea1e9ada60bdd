"""Call type from hand-written cues: no_contact, post_sale, existing_client, new_client.

The trained model (calltype.py) sees what these rules decide as its features
``rules_*``; their evidence is quoted when those features weigh in its decision.

Order of the decision, each step with its evidence:

1. no_contact: a voicemail greeting or a wrong number decides alone (unless a
   real sales conversation follows); a bad line, a gatekeeper who does not put
   the call through, or "call me later" decide when there is next to no
   conversation (no needs discussed; for bad line / busy, almost no stage cue).
2. post_sale: organizational topics of a deal that already happened (shipment,
   delivery, documents, invoices, payment, reconciliation, passes, complaints)
   with little selling. Selling is measured by the stage evidence (profile,
   needs, presentation) and by a new order; a post-sale call that turns into
   selling is a sales call with a current customer (existing_client).
3. existing_client when there is a sign of past business with us ("as usual",
   "like last time", "you bought from us", a repeat order, a regular customer);
   otherwise new_client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.analysis.dialogue import Clause, Dialogue
from auditor.analysis.rules import threshold
from auditor.analysis.scoring import StageScore
from auditor.records import Evidence

MAX_EVIDENCE = 4


@dataclass
class CallTypeDecision:
    call_type: str
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    confidence: float = 0.8
    topics: list[str] = field(default_factory=list)
    selling: float = 0.0
    probabilities: dict[str, float] = field(default_factory=dict)


def rule_call_type(dialogue: Dialogue, scores: dict[str, StageScore]) -> CallTypeDecision:
    """Classify the call; the reason names the cues that decided it."""
    cfg = dialogue.rules.calltype
    clauses = dialogue.clauses()
    engagement = sum(scores[s].score for s in ("profile", "needs", "presentation"))
    ignores = set(cfg.get("post_sale", {}).get("selling_ignores", []))
    discount = {f"post_sale.{t}" for t in cfg.get("post_sale", {}).get("discount_topics", [])}
    needs = scores["needs"].score
    mono = not dialogue.attributed

    # 1. no_contact
    nc_cfg = cfg.get("no_contact", {})
    max_eng = float(nc_cfg.get("max_engagement", 1.0))
    client_side = [c for c in clauses if dialogue.turns[c.turn].p_manager < 0.5]
    manager_side = [c for c in clauses if dialogue.turns[c.turn].p_manager >= 0.5]
    voicemail = _with(clauses, "no_contact", {"voicemail"})
    asked = scores["profile"].score + scores["needs"].score
    if voicemail and (_client_words(dialogue, voicemail) <= threshold("calltype", "voicemail_reply_words")
                      or asked < 1.0):
        return decision(dialogue, "no_contact", voicemail,
                         "voicemail: nobody answered in person", 0.9, mono)
    wrong = _with(clauses, "no_contact", {"wrong_number"})
    if wrong and engagement < 3 * max_eng + 1:
        return decision(dialogue, "no_contact", wrong,
                         "wrong number and no sales conversation", 0.9, mono)
    gate = _with(client_side, "no_contact", {"gatekeeper"})
    put_through = _with(manager_side, "no_contact", {"connect"})
    needs_found = needs >= float(dialogue.rules.stages["needs"].get("threshold", 1.0))
    if gate and put_through and not needs_found:
        return decision(dialogue, "no_contact", put_through[:1] + gate,
                         "gatekeeper: the manager asked to be put through and was not "
                         "(no needs discussed)", 0.8, mono)
    later = _with(client_side, "no_contact", {"callback"})
    if later and engagement <= max_eng:
        said = later + _with(client_side, "no_contact", {"busy"})
        return decision(dialogue, "no_contact", said,
                         "the client asked to be called back later and the call ended "
                         "without a conversation", 0.8, mono)
    line = _with(clauses, "no_contact", {"bad_line"})
    if line and engagement <= max_eng:
        return decision(dialogue, "no_contact", line,
                         "bad line: the call broke off before any conversation", 0.8, mono)

    # 2. post_sale vs selling
    ps_cfg = cfg.get("post_sale", {})
    topic_clauses = [c for c in clauses if c.has_section("post_sale")]
    topics = sorted({h.key.split(".", 1)[1] for c in topic_clauses
                     for h in c.section_hits("post_sale")})
    order = [c for c in client_side if c.has_section("order_request")]
    extra = _selling_cues(dialogue, clauses)
    sell_items = _selling_items(dialogue, scores, ignores, discount)
    selling = sum(w for _, w in sell_items) + sum(
        dialogue.rules.cues[h.key].weight for c in extra for h in c.section_hits("selling"))
    exchanges = max(1.0, len(dialogue.turns) / 2)
    enough_topics = len(topics) >= int(ps_cfg.get("min_topics", 3)) or (
        "your_order" in topics and len(topics) >= int(ps_cfg.get("min_topics_with_reference", 2)))
    low_selling = selling < float(ps_cfg.get("max_selling", 2.5)) or (
        selling < float(ps_cfg.get("long_call_selling", 5.0))
        and selling / exchanges < float(ps_cfg.get("max_selling_rate", 0.25)))
    if enough_topics and not order and low_selling:
        d = decision(dialogue, "post_sale", topic_clauses,
                      f"organizational call about a past deal ({', '.join(topics)}) "
                      f"with no selling", 0.85 if selling < 1.0 else 0.7, mono)
        d.topics, d.selling = topics, selling
        return d
    first_selling = _first_selling_turn(sell_items)
    opening = _opening_topics(dialogue, first_selling)
    opened_post_sale = (len(opening) >= int(ps_cfg.get("opening_topics", 2))
                        and bool(set(opening) & set(ps_cfg.get("opening_requires", opening))))

    # 3. existing vs new
    existing = [c for c in clauses if c.has_section("existing")]
    if existing or order or opened_post_sale:
        why = []
        ev: list[Clause] = []
        if existing:
            why.append("refers to past business (" + ", ".join(_names(existing, "existing")) + ")")
            ev += existing
        if order:
            why.append("the client places a new order")
            ev += order
        if opened_post_sale:
            why.append(f"opens as an organizational call ({', '.join(opening)}) "
                       "and turns into selling")
            ev += [c for c in topic_clauses if c.turn < first_selling][:2]
        d = decision(dialogue, "existing_client", ev,
                      "sales call with a current customer: " + "; ".join(why), 0.75, mono)
    else:
        sales_ev = [s.clause for st in ("profile", "needs", "presentation")
                    for s in scores[st].items][:2]
        d = decision(dialogue, "new_client", sales_ev,
                      "sales conversation with no sign of past business with us", 0.7, mono)
    d.topics, d.selling = topics, selling
    return d


def _client_words(dialogue: Dialogue, exclude: list[Clause]) -> int:
    """Words said by the client side outside the given clauses' turns."""
    skip = {c.turn for c in exclude}
    return sum(t.words for t in dialogue.turns if t.p_manager < 0.5 and t.index not in skip)


def _selling_cues(dialogue: Dialogue, clauses: list[Clause]) -> list[Clause]:
    """Clauses with extra selling cues, said by the side the cue is meant for."""
    out = []
    for c in clauses:
        for h in c.section_hits("selling"):
            spec = dialogue.rules.cues[h.key].extra
            p = dialogue.turns[c.turn].p_manager
            who = spec.get("who", "any")
            if who == "manager" and p < 0.5 or who == "client" and p >= 0.5:
                continue
            if spec.get("question") and not c.maybe_question:
                continue
            out.append(c)
            break
    return out


def _selling_items(dialogue: Dialogue, scores: dict[str, StageScore], ignores: set[str],
                   discount: set[str]) -> list[tuple[int, float]]:
    """(turn, weight) of the stage evidence that is about selling, not running a delivery."""
    out = []
    cues = dialogue.rules.cues
    for stage in ("profile", "needs", "presentation"):
        for item in scores[stage].items:
            if any(h.key in discount for h in item.clause.section_hits("post_sale")):
                # "The unit is under warranty, the repair is free" is running the
                # deal, not selling: words said about an organizational matter.
                continue
            keys = [f"{stage}.{n}" for n in item.cues]
            kept = sum(cues[k].weight for k in keys if k in cues and k not in ignores)
            every = sum(cues[k].weight for k in keys if k in cues)
            if every > 0 and kept > 0:
                out.append((item.clause.turn, item.weight * kept / every))
    return out


def _first_selling_turn(items: list[tuple[int, float]]) -> int:
    return min((turn for turn, weight in items if weight >= 0.5), default=10**9)


def _opening_topics(dialogue: Dialogue, first: int) -> list[str]:
    """Post-sale topics raised before the first selling move of the manager."""
    if first >= len(dialogue.turns):
        return []
    return sorted({h.key.split(".", 1)[1] for t in dialogue.turns[:first]
                   for c in t.clauses for h in c.section_hits("post_sale")})


def _with(clauses: list[Clause], section: str, names: set[str]) -> list[Clause]:
    keys = {f"{section}.{n}" for n in names}
    return [c for c in clauses if any(h.key in keys for h in c.section_hits(section))]


def _names(clauses: list[Clause], section: str) -> list[str]:
    seen: list[str] = []
    for c in clauses:
        for h in c.section_hits(section):
            name = h.key.split(".", 1)[1]
            if name not in seen:
                seen.append(name)
    return seen


def decision(dialogue: Dialogue, call_type: str, clauses: list[Clause], reason: str,
              confidence: float, mono: bool) -> CallTypeDecision:
    evidence = []
    seen: set[tuple[int, int]] = set()
    for c in clauses:
        if (c.turn, c.start) in seen:
            continue
        seen.add((c.turn, c.start))
        seg = dialogue.turns[c.turn].segment
        cue = ", ".join(sorted({h.key for h in c.hits
                                if h.key.split(".", 1)[0] in ("no_contact", "post_sale",
                                                              "existing", "order_request",
                                                              "profile", "needs",
                                                              "presentation")}))
        evidence.append(Evidence(c.text, seg.speaker, seg.start, seg.end, cue))
        if len(evidence) >= MAX_EVIDENCE:
            break
    if mono:
        confidence = round(confidence * threshold("calltype", "mono_confidence_scale"), 2)
    return CallTypeDecision(call_type, reason, evidence, confidence)
