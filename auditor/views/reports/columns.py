"""The columns of every report table, shared by the terminal, CSV and HTML renderers.

A column gives the raw value (a number, a string or None); each format only
decides how to show it, so the figures agree across formats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.records import STAGES, fmt_duration
from auditor.views.kpi import (
    VERDICT_KEYS,
    ManagerRow,
    Targets,
)

_SHORT_STAGE = {"profile": "Prof %", "needs": "Needs %", "presentation": "Pres %",
                "next_step": "Next %"}
# What fits a terminal; CSV and HTML get every column.
TERMINAL_TALK = ("manager", "day", "calls", "talk_min_per_day", "target_pct", "avg_duration_s",
                 "band", "short_pct", "short_exempt", "short_sales")
TERMINAL_QUALITY = ("manager", "day", "sales_calls", "coverage_profile", "coverage_needs",
                    "coverage_presentation", "coverage_next_step", "verdict_missed_opportunity",
                    "verdict_incomplete", "verdict_ok", "verdict_failed")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    get: Callable[[Any], Any]
    kind: str = "text"  # text | int | min | sec | pct | date | datetime | list
    long: str = ""  # the header where there is room (CSV, HTML); default: title

    @property
    def header(self) -> str:
        return self.long or self.title


def talk_columns(t: Targets, by_day: bool) -> list[Column]:
    cols = [Column("manager", "Manager", lambda r: r.manager)]
    if by_day:
        cols.append(Column("day", "Day", lambda r: r.day.isoformat() if r.day else None, "date"))
    cols += [
        Column("calls", "Calls", lambda r: r.calls, "int"),
        Column("days", "Days", lambda r: r.days, "int"),
        Column("talk_min", "Talk min", lambda r: r.talk_min, "min"),
        Column("talk_min_per_day", "Min/day", lambda r: r.talk_min_per_day, "min",
               f"Talk min/day (target {t.daily_target_min:g})"),
        Column("target_pct", "% target", lambda r: r.target_pct, "pct", "% of target"),
        Column("avg_duration_s", "Avg call", lambda r: r.avg_duration_s, "sec",
               f"Avg call, s (band {t.band_min_s:g}-{t.band_max_s:g})"),
        Column("band", "Band", lambda r: r.band),
        Column("short_calls", "Short", lambda r: r.short_calls, "int",
               f"Short calls (<{t.short_call_s:g} s)"),
        Column("short_pct", "Short %", lambda r: r.short_pct, "pct"),
    ]
    return cols


_SHORT_VERDICT = {"missed_opportunity": "Missed", "incomplete": "Incompl.", "ok": "OK",
                  "exempt": "Exempt", "no_contact": "No contact", "failed": "Failed",
                  "pending": "Pending"}


def _cov(stage: str) -> Callable[[ManagerRow], Any]:
    return lambda r: r.coverage_pct.get(stage)


def _verdict(v: str) -> Callable[[ManagerRow], Any]:
    return lambda r: r.verdicts.get(v, 0)


def summary_columns(t: Targets, by_day: bool, verdicts: Sequence[str] = VERDICT_KEYS
                    ) -> list[Column]:
    cols = talk_columns(t, by_day)
    cols += [
        Column("short_exempt", "Short exempt", lambda r: r.short_exempt, "int",
               "Short exempt (organisational)"),
        Column("short_sales", "Short sales", lambda r: r.short_sales, "int",
               "Short sales calls (leaks)"),
        Column("sales_calls", "Sales calls", lambda r: r.sales_calls, "int"),
    ]
    cols += [Column(f"coverage_{s}", _SHORT_STAGE[s], _cov(s), "pct", f"{s} %")
             for s in STAGES]
    cols += [Column(f"verdict_{v}", _SHORT_VERDICT.get(v, v), _verdict(v), "int", v)
             for v in verdicts]
    return cols + score_columns(t)


# The score figures of ScoreFigures: key, short title, kind, the norm's words.
_FIGURES = (("avg_score", "Score", "num", "Avg checklist score"),
            ("talk_share", "Talk %", "pct", "Manager talk share %"),
            ("monologue_s", "Monologue", "sec", "Longest manager monologue, s"),
            ("questions_per_call", "Questions", "num", "Manager questions per call"),
            ("interruptions_per_call", "Interrupts", "num", "Interruptions per call"))
_ARROW = {"over": " ▲", "under": " ▼"}


def _norm_text(key: str, n: dict[str, float]) -> str:
    def g(k: str) -> str:
        return f"{n[k]:g}" if k in n else "?"

    return {"avg_score": f"norm ≥ {g('score_min')}",
            "talk_share": f"norm {g('talk_share_min')}-{g('talk_share_max')}",
            "monologue_s": f"norm ≤ {g('monologue_max_s')}",
            "questions_per_call": f"norm ≥ {g('questions_min')}",
            "interruptions_per_call": f"norm ≤ {g('interruptions_max')}"}[key]


def _fig(key: str) -> Callable[[Any], Any]:
    return lambda r: getattr(r.scores, key)


def _vs(key: str) -> Callable[[Any], Any]:
    return lambda r: r.scores.vs_norm.get(key, "-")


def _marked(key: str, kind: str) -> Callable[[Any], Any]:
    def get(r: Any) -> Any:
        v = getattr(r.scores, key)
        return None if v is None else fmt_cell(v, kind) + _ARROW.get(r.scores.vs_norm.get(key, ""), "")
    return get


def score_columns(t: Targets, marked: bool = False) -> list[Column]:
    """The checklist score and conversation metrics: raw figures and where each sits
    against its norm (CSV, JSON, HTML), or the figures marked ▲ over / ▼ under (terminal)."""
    cols = [Column("scored_calls", "Scored", lambda r: r.scores.scored_calls, "int",
                   "Scored calls"),
            Column("estimated_calls", "Mono est.", lambda r: r.scores.estimated_calls, "int",
                   "Calls with estimated (mono) metrics")]
    for key, title, kind, long in _FIGURES:
        header = f"{long} ({_norm_text(key, t.norms)})"
        if marked:
            cols.append(Column(key, title, _marked(key, kind), "text", header))
        else:
            cols += [Column(key, title, _fig(key), kind, header),
                     Column(f"{key}_vs_norm", f"{title} vs norm", _vs(key), "text")]
    return cols


def ranking_columns() -> list[Column]:
    return [Column("rank", "#", lambda r: r.rank, "int"),
            Column("manager", "Manager", lambda r: r.manager),
            Column("avg_score", "Avg score", lambda r: r.avg_score, "num"),
            Column("scored_calls", "Scored calls", lambda r: r.scored_calls, "int")]


def problem_columns() -> list[Column]:
    return [
        Column("id", "Call", lambda p: p.id, "int"),
        Column("manager", "Manager", lambda p: p.manager),
        Column("client", "Client", lambda p: p.client),
        Column("started_at", "Time",
               lambda p: p.started_at.isoformat(sep=" ") if p.started_at else None, "datetime"),
        Column("duration_s", "Duration", lambda p: p.duration_s, "sec", "Duration, s"),
        Column("verdict", "Verdict", lambda p: p.verdict),
        Column("missing", "Missing stages", lambda p: ", ".join(p.missing), "list"),
        Column("reason", "Reason", lambda p: p.reason),
        Column("speech_coverage", "Heard",
               lambda p: None if p.speech_coverage is None else round(100 * p.speech_coverage),
               "pct", "Speech heard, %"),
        Column("reviewed", "Reviewed", lambda p: "yes" if p.reviewed else "no"),
        Column("path", "File", lambda p: p.path),
    ]


def call_list_columns() -> list[Column]:
    """The call list export (``auditor calls --format csv``): raw keys as headers."""
    return [
        Column("id", "id", lambda r: r.id, "int"),
        Column("started_at", "started_at",
               lambda r: r.started_at.isoformat(sep=" ") if r.started_at else None, "datetime"),
        Column("manager", "manager", lambda r: r.manager),
        Column("client", "client", lambda r: r.client),
        Column("duration_s", "duration_s",
               lambda r: round(r.duration_s, 1) if r.duration_s is not None else None, "sec"),
        Column("status", "status", lambda r: r.status),
        Column("call_type", "call_type", lambda r: r.call_type),
        Column("verdict", "verdict", lambda r: r.verdict),
        Column("auto_verdict", "auto_verdict", lambda r: r.auto_verdict),
        Column("reviewed", "reviewed", lambda r: "yes" if r.reviewed else "no"),
        Column("reviewer", "reviewer", lambda r: r.reviewer),
        Column("review_note", "review_note", lambda r: r.review_note),
        Column("stages_missing", "stages_missing",
               lambda r: " ".join(r.stages_missing) if r.is_sales else None, "list"),
        Column("reason", "reason", lambda r: r.reason),
        Column("confidence", "confidence", lambda r: r.confidence),
        Column("score", "score", lambda r: r.score),
        Column("talk_share", "talk_share", lambda r: r.talk_share),
        Column("metrics_estimated", "metrics_estimated",
               lambda r: None if r.metrics is None else ("yes" if r.mono else "no")),
        Column("speech_coverage", "speech_coverage", lambda r: r.speech_coverage),
        Column("path", "path", lambda r: r.path),
    ]


def agreement_columns() -> list[Column]:
    return [
        Column("auto_verdict", "Automatic verdict", lambda a: a.auto_verdict),
        Column("reviewed", "Reviewed", lambda a: a.reviewed, "int"),
        Column("agreed", "Reviewer agreed", lambda a: a.agreed, "int"),
        Column("agree_pct", "Agreement %", lambda a: a.agree_pct, "pct"),
    ]


def used_verdicts(rows: Sequence[ManagerRow]) -> list[str]:
    """The verdict columns worth showing: the five verdicts, plus failed/pending if any."""
    return [v for v in VERDICT_KEYS
            if v not in ("failed", "pending") or any(r.verdicts.get(v) for r in rows)]


def tabulate(columns: Sequence[Column], rows: Sequence[Any]) -> list[list[Any]]:
    return [[c.get(r) for c in columns] for r in rows]


def fmt_cell(value: Any, kind: str) -> str:
    """How a value reads on screen (terminal and HTML)."""
    if value is None or value == "":
        return "-"
    if kind == "pct":
        return f"{value:.0f}%"
    if kind == "num":
        return f"{value:.1f}"
    if kind == "min":
        return f"{value:.1f}"
    if kind == "sec":
        return fmt_duration(value)
    if kind == "datetime":
        return str(value)[:16]
    return str(value)

