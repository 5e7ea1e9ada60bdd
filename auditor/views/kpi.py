"""Per-manager KPIs of the sales method, computed from calls (no I/O here).

The method measures a manager by talk minutes per day against a target, by
the average call length against a band, and by what
the short calls were: exempt organisational calls, or sales calls where the
client leaked. Talk time counts every recording with a known length (a
voicemail is phone time too); minutes per day divide by the days on which the
manager made at least one call, so days off do not drag the figure down.

The targets are :class:`Targets`, always made from Settings (auditor.toml),
whose defaults are the method's: this module restates none of them.

Figures are rounded here, once, so that a table, a CSV and a JSON of the same
report show the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from auditor.config import Settings
from auditor.records import SALES_TYPES, STAGES, VERDICTS
from auditor.views.callrow import CallRow, sort_key
from auditor.views.scores import RankRow, ScoreFigures, distribution, ranking, score_figures

UNKNOWN_MANAGER = "(unknown)"
ALL_MANAGERS = "All managers"
# The calls a head of sales listens to: the accusing verdicts, and the calls the
# audio could not support a verdict on.
PROBLEM_VERDICTS = ("missed_opportunity", "incomplete", "inconclusive")
VERDICT_KEYS: tuple[str, ...] = (*VERDICTS, "failed", "pending")


class Timed(Protocol):
    """Anything with a manager, a start and a length (CallDuration, CallRow)."""

    @property
    def manager(self) -> str | None: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def duration_s(self) -> float | None: ...


@dataclass(frozen=True)
class Targets:
    """The method's targets, from Settings; shown in every report."""

    daily_target_min: float
    short_call_s: float
    band_min_s: float
    band_max_s: float
    min_speech_coverage: float
    # The conversation norms (models/metrics.toml [norms]): score, talk share, ...
    norms: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, s: Settings) -> Targets:
        from auditor.analysis.metrics import norms

        return cls(daily_target_min=s.daily_target_min, short_call_s=s.short_call_s,
                   band_min_s=s.band_min_s, band_max_s=s.band_max_s,
                   min_speech_coverage=s.min_speech_coverage, norms=norms())

    def band(self, avg_s: float | None) -> str:
        """Where an average call length sits against the band: below, in, above."""
        if avg_s is None:
            return "-"
        if avg_s < self.band_min_s:
            return "below"
        if avg_s > self.band_max_s:
            return "above"
        return "in"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class TalkRow:
    """Talk-time KPIs of one manager over the period, or of one manager-day."""

    manager: str
    day: date | None  # None: the whole period
    calls: int
    days: int
    talk_min: float
    talk_min_per_day: float
    target_pct: float | None  # talk minutes per day as % of the daily target
    avg_duration_s: float | None
    band: str  # below | in | above | -
    short_calls: int
    short_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["day"] = self.day.isoformat() if self.day else None
        return d


@dataclass
class ManagerRow(TalkRow):
    """TalkRow plus what the analysis says about the calls."""

    sales_calls: int = 0
    avg_sales_duration_s: float | None = None
    coverage_pct: dict[str, float | None] = field(default_factory=dict)  # stage -> % of sales
    verdicts: dict[str, int] = field(default_factory=dict)
    missed_opportunities: int = 0
    short_exempt: int = 0  # short organisational (post-sale) calls: fine
    short_no_contact: int = 0
    short_sales: int = 0  # short sales calls: where clients leak
    scores: ScoreFigures = field(default_factory=ScoreFigures)  # checklist score, metrics


@dataclass
class TalkSummary:
    managers: list[TalkRow]
    days: list[TalkRow]
    total: TalkRow


def _day(t: Timed) -> date | None:
    return t.started_at.date() if t.started_at else None


def _talk_row(manager: str, day: date | None, calls: Sequence[Timed], days: int,
              targets: Targets, cls: type[TalkRow] = TalkRow) -> Any:
    durations = [float(c.duration_s) for c in calls if c.duration_s is not None]
    talk_min = sum(durations) / 60.0
    per_day = talk_min / days if days else talk_min
    avg = sum(durations) / len(durations) if durations else None
    short = sum(1 for d in durations if d < targets.short_call_s)
    return cls(
        manager=manager, day=day, calls=len(calls), days=days,
        talk_min=round(talk_min, 1), talk_min_per_day=round(per_day, 1),
        target_pct=_pct(per_day, targets.daily_target_min),
        avg_duration_s=round(avg, 1) if avg is not None else None,
        band=targets.band(avg), short_calls=short, short_pct=_pct(short, len(durations)),
    )


def _groups(calls: Iterable[Timed]) -> dict[str, list[Timed]]:
    groups: dict[str, list[Timed]] = {}
    for c in calls:
        groups.setdefault(c.manager or UNKNOWN_MANAGER, []).append(c)
    return dict(sorted(groups.items(), key=lambda kv: kv[0].lower()))


def _n_days(calls: Sequence[Timed]) -> int:
    return max(1, len({_day(c) for c in calls})) if calls else 0


def _by_day(calls: Sequence[Timed]) -> dict[date | None, list[Timed]]:
    out: dict[date | None, list[Timed]] = {}
    for c in calls:
        out.setdefault(_day(c), []).append(c)
    return dict(sorted(out.items(), key=lambda kv: kv[0] or date.min))


def talk_time(calls: Iterable[Timed], targets: Targets) -> TalkSummary:
    """Per manager, per manager-day and overall talk-time KPIs."""
    calls = list(calls)
    groups = _groups(calls)
    managers = [_talk_row(m, None, cs, _n_days(cs), targets) for m, cs in groups.items()]
    days = [_talk_row(m, d, ds, 1, targets)
            for m, cs in groups.items() for d, ds in _by_day(cs).items()]
    manager_days = sum(_n_days(cs) for cs in groups.values())
    total = _talk_row(ALL_MANAGERS, None, calls, manager_days, targets)
    return TalkSummary(managers=managers, days=days, total=total)


# --- the report over analysed calls ---------------------------------------


@dataclass
class ProblemCall:
    """A missed opportunity or incomplete call, for the worst-first list."""

    id: int
    manager: str
    client: str | None
    started_at: datetime | None
    duration_s: float | None
    verdict: str
    call_type: str | None
    missing: list[str]
    reason: str
    reviewed: bool
    path: str
    speech_coverage: float | None = None  # the least-heard channel's share of sound decoded

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["started_at"] = self.started_at.isoformat() if self.started_at else None
        return d


@dataclass
class AgreementRow:
    """How often a reviewer kept the automatic verdict."""

    auto_verdict: str  # a verdict, or "all"
    reviewed: int
    agreed: int
    agree_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """Everything a report shows; every output format renders this one object."""

    targets: Targets
    generated_at: datetime
    date_from: date | None
    date_to: date | None
    manager: str | None
    by: str  # manager | day
    managers: list[ManagerRow]
    days: list[ManagerRow]
    total: ManagerRow
    problems: list[ProblemCall]
    agreement: list[AgreementRow]
    calls: list[CallRow] = field(default_factory=list)
    ranking: list[RankRow] = field(default_factory=list)  # managers by average score
    score_distribution: list[dict[str, int]] = field(default_factory=list)

    @property
    def partly_heard(self) -> int:
        """Problem calls whose least-heard channel reached the recogniser only in part."""
        return sum(1 for p in self.problems if p.speech_coverage is not None
                   and p.speech_coverage < self.targets.min_speech_coverage)

    @property
    def summary_rows(self) -> list[ManagerRow]:
        return self.days if self.by == "day" else self.managers

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "filters": {"from": self.date_from.isoformat() if self.date_from else None,
                        "to": self.date_to.isoformat() if self.date_to else None,
                        "manager": self.manager, "by": self.by},
            "targets": self.targets.to_dict(),
            "managers": [r.to_dict() for r in self.managers],
            "days": [r.to_dict() for r in self.days],
            "total": self.total.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
            "agreement": [a.to_dict() for a in self.agreement],
            "ranking": [r.to_dict() for r in self.ranking],
            "score_distribution": self.score_distribution,
        }


def _quality(row: ManagerRow, calls: Sequence[CallRow], targets: Targets) -> ManagerRow:
    sales = [c for c in calls if c.is_sales and c.status == "done"]
    row.sales_calls = len(sales)
    sales_d = [c.duration_s for c in sales if c.duration_s is not None]
    row.avg_sales_duration_s = round(sum(sales_d) / len(sales_d), 1) if sales_d else None
    row.coverage_pct = {st: _pct(sum(1 for c in sales if st in c.stages_found), len(sales))
                        for st in STAGES}
    counts = dict.fromkeys(VERDICT_KEYS, 0)
    for c in calls:
        key = c.verdict or ("failed" if c.status == "failed" else "pending")
        counts[key] = counts.get(key, 0) + 1
    row.verdicts = counts
    row.missed_opportunities = counts.get("missed_opportunity", 0)
    short = [c for c in calls if c.duration_s is not None and c.duration_s < targets.short_call_s]
    row.short_exempt = sum(1 for c in short if c.call_type == "post_sale")
    row.short_no_contact = sum(1 for c in short if c.call_type == "no_contact")
    row.short_sales = sum(1 for c in short if c.call_type in SALES_TYPES)
    row.scores = score_figures(calls, targets.norms)
    return row


def agreement(calls: Iterable[CallRow]) -> list[AgreementRow]:
    """Per automatic verdict: reviewed calls and how many kept it; then all together."""
    per: dict[str, list[bool]] = {}
    for c in calls:
        if c.reviewed and c.auto_verdict:
            per.setdefault(c.auto_verdict, []).append(c.verdict == c.auto_verdict)
    rows = [AgreementRow(v, len(per[v]), sum(per[v]), _pct(sum(per[v]), len(per[v])))
            for v in VERDICT_KEYS if v in per]
    flat = [x for xs in per.values() for x in xs]
    rows.append(AgreementRow("all", len(flat), sum(flat), _pct(sum(flat), len(flat))))
    return rows


def problem_calls(calls: Iterable[CallRow]) -> list[ProblemCall]:
    """Missed opportunities, incomplete and inconclusive calls, worst first."""
    bad = sorted((c for c in calls if c.verdict in PROBLEM_VERDICTS), key=sort_key)
    return [ProblemCall(id=c.id, manager=c.manager or UNKNOWN_MANAGER, client=c.client,
                        started_at=c.started_at, duration_s=c.duration_s, verdict=c.verdict or "",
                        call_type=c.call_type, missing=list(c.stages_missing), reason=c.reason,
                        reviewed=c.reviewed, path=c.path, speech_coverage=c.speech_coverage)
            for c in bad]


def build_report(calls: list[CallRow], targets: Targets, by: str = "manager",
                 date_from: date | None = None, date_to: date | None = None,
                 manager: str | None = None, now: datetime | None = None) -> Report:
    """The report over calls from :func:`auditor.views.calls.query_calls` (effective verdicts)."""
    groups: dict[str, list[CallRow]] = _groups(calls)  # type: ignore[assignment]
    managers = [_quality(_talk_row(m, None, cs, _n_days(cs), targets, ManagerRow), cs, targets)
                for m, cs in groups.items()]
    days = [_quality(_talk_row(m, d, ds, 1, targets, ManagerRow), ds, targets)  # type: ignore[arg-type]
            for m, cs in groups.items() for d, ds in _by_day(cs).items()]
    manager_days = sum(_n_days(cs) for cs in groups.values())
    total = _quality(_talk_row(ALL_MANAGERS, None, calls, manager_days, targets, ManagerRow),
                     calls, targets)
    return Report(
        targets=targets, generated_at=now or datetime.now().replace(microsecond=0),
        date_from=date_from, date_to=date_to, manager=manager, by=by,
        managers=managers, days=days, total=total,
        problems=problem_calls(calls), agreement=agreement(calls), calls=calls,
        ranking=ranking(managers), score_distribution=distribution(calls),
    )
