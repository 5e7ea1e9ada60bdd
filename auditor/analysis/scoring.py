"""What the stage rules share: scored evidence, the manager's weight of a turn, replies.

Split from stages.py (profile, needs, presentation) and nextstep.py so that both
can use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.analysis.dialogue import Clause, Turn

MONO_FULL_WEIGHT_P = 0.6
# Even a turn the inference gives to the client counts this much: on recognised
# mono calls the role inference errs often enough that a stage found only in a
# turn it misattributed would otherwise be reported missing (an accusation).
MONO_FLOOR = 0.4
EPS = 1e-6


@dataclass
class Scored:
    clause: Clause
    weight: float
    cues: list[str]
    note: str = ""


@dataclass
class StageScore:
    """The evidence of one stage before it becomes a StageResult."""

    stage: str
    score: float = 0.0
    threshold: float = 1.0
    items: list[Scored] = field(default_factory=list)
    why_not: str = ""

    min_cue_weight: float = 0.0
    strong_total: float = float("inf")
    strongest: float = 0.0
    likely_manager: float = 0.0  # score from turns more likely the manager's

    @property
    def found(self) -> bool:
        return (self.score >= self.threshold - EPS and bool(self.items)
                and (self.strongest >= self.min_cue_weight
                     or self.likely_manager >= self.strong_total))


def manager_weight(turn: Turn) -> float:
    """How much a turn's words count as the manager's: 1 or 0 when attributed.

    For an inferred speaker, a turn more likely than not the manager's counts
    almost fully and a turn probably the client's counts little: the role
    inference is right about nine turns in ten, not certain.
    """
    if turn.attributed:
        return 1.0 if turn.speaker == "manager" else 0.0
    return max(MONO_FLOOR, min(1.0, turn.p_manager / MONO_FULL_WEIGHT_P))


def declined_after(turns: list[Turn], turn: Turn, key_section: str) -> Clause | None:
    """The client's refusal in the turn right after a manager turn, if any."""
    if turn.p_manager < 0.5:
        return None
    nxt = turns[turn.index + 1] if turn.index + 1 < len(turns) else None
    if nxt is None or nxt.p_manager >= 0.5:
        return None
    section, _, name = key_section.partition(".")
    for c in nxt.clauses:
        if any(h.key == key_section for h in c.section_hits(section)):
            return c
    return None


def agrees(turns: list[Turn], index: int) -> bool:
    """The turn at index says yes (and does not refuse)."""
    if index >= len(turns):
        return False
    t = turns[index]
    return t.has_section("agreement") and not t.has_section("refusal")


def short_text(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
