"""Checklist scores and conversation metrics per manager, against the norms (no I/O here).

Averages are over a manager's sales calls (effective type) that have the
figure: the score over the scored calls (a reviewer's corrections applied),
the per-speaker metrics over the calls where they could be measured (mono
calls with inferred speakers count, and are counted in ``estimated_calls``).
The norms are models/metrics.toml [norms] (auditor.analysis.metrics.norms),
passed in through Targets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from auditor.records import CallMetrics
from auditor.views.callrow import CallRow

# Distribution buckets of the score: 0-9, 10-19, ..., 90-100.
BUCKETS = tuple(range(0, 100, 10))


@dataclass
class ScoreFigures:
    """One manager's (or manager-day's, or everybody's) averages and where they sit."""

    scored_calls: int = 0
    avg_score: float | None = None
    measured_calls: int = 0
    estimated_calls: int = 0  # of the measured ones: mono, inferred speakers
    talk_share: float | None = None  # the manager's share of the talk time, %
    monologue_s: float | None = None  # the longest manager monologue, s
    questions_per_call: float | None = None
    interruptions_per_call: float | None = None
    # figure -> "over" | "under" | "in" | "-" (no figure, or no norm)
    vs_norm: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RankRow:
    rank: int
    manager: str
    avg_score: float | None
    scored_calls: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _figure(calls: Sequence[CallRow], get: Callable[[CallMetrics], float | int | None]
            ) -> float | None:
    return _mean([float(v) for c in calls if c.metrics is not None
                  for v in [get(c.metrics)] if v is not None])


def _vs(value: float | None, lo: float | None, hi: float | None) -> str:
    if value is None or (lo is None and hi is None):
        return "-"
    if lo is not None and value < lo:
        return "under"
    if hi is not None and value > hi:
        return "over"
    return "in"


def score_figures(calls: Sequence[CallRow], norms: dict[str, float]) -> ScoreFigures:
    """The averages over the sales calls among ``calls``, each against its norm."""
    sales = [c for c in calls if c.is_sales and c.status == "done"]
    scored = [c.score for c in sales if c.score is not None]
    measured = [c for c in sales if c.metrics is not None and c.metrics.manager_talk_pct is not None]
    f = ScoreFigures(
        scored_calls=len(scored), avg_score=_mean(scored), measured_calls=len(measured),
        estimated_calls=sum(1 for c in measured if c.mono),
        talk_share=_figure(measured, lambda m: m.manager_talk_pct),
        monologue_s=_figure(measured, lambda m: m.manager_monologue_s),
        questions_per_call=_figure(measured, lambda m: m.questions),
        interruptions_per_call=_figure(measured, lambda m: m.manager_interruptions),
    )
    n = norms.get
    f.vs_norm = {
        "avg_score": _vs(f.avg_score, n("score_min"), None),
        "talk_share": _vs(f.talk_share, n("talk_share_min"), n("talk_share_max")),
        "monologue_s": _vs(f.monologue_s, None, n("monologue_max_s")),
        "questions_per_call": _vs(f.questions_per_call, n("questions_min"), None),
        "interruptions_per_call": _vs(f.interruptions_per_call, None, n("interruptions_max")),
    }
    return f


def ranking(rows: Sequence[Any]) -> list[RankRow]:
    """Managers (rows with .manager and .scores) with a score, by average score, best first."""
    ordered = sorted((r for r in rows if r.scores.avg_score is not None),
                     key=lambda r: (-(r.scores.avg_score or 0.0), r.manager.lower()))
    return [RankRow(i + 1, r.manager, r.scores.avg_score, r.scores.scored_calls)
            for i, r in enumerate(ordered)]


def distribution(calls: Sequence[CallRow]) -> list[dict[str, int]]:
    """How many scored calls fall in each ten points of the score (100 in the last)."""
    counts = dict.fromkeys(BUCKETS, 0)
    for c in calls:
        if c.score is not None:
            counts[min(90, int(c.score // 10) * 10)] += 1
    return [{"from": b, "to": b + 10 if b < 90 else 100, "calls": n} for b, n in counts.items()]
