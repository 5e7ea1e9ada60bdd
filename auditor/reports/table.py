"""Rich tables for the terminal. Returns renderables; the CLI prints them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.kpi import Report, TalkSummary, Targets
from auditor.reports.columns import (
    TERMINAL_QUALITY,
    TERMINAL_TALK,
    Column,
    agreement_columns,
    fmt_cell,
    problem_columns,
    summary_columns,
    talk_columns,
    used_verdicts,
)

_NUMERIC = {"int", "min", "sec", "pct"}
_VERDICT_STYLE = {"ok": "green", "missed_opportunity": "red", "incomplete": "yellow",
                  "exempt": "cyan", "no_contact": "dim", "failed": "red"}


def _style(col: Column, value: Any, row: Any, t: Targets) -> str:
    if col.key == "target_pct" and value is not None:
        return "green" if value >= 100 else "red"
    if col.key == "band":
        return {"in": "green", "below": "red", "above": "yellow"}.get(value, "")
    if col.key == "verdict":
        return _VERDICT_STYLE.get(value, "")
    if col.key == "short_sales" and value:
        return "red"
    if col.key == "speech_coverage" and value is not None and value < 100 * t.min_speech_coverage:
        return "red"
    return ""


def table(title: str, columns: Sequence[Column], rows: Sequence[Any], t: Targets,
          total: Any = None, caption: str | None = None) -> Any:
    from rich.table import Table
    from rich.text import Text

    tb = Table(title=title, caption=caption, show_lines=False)
    for c in columns:
        tb.add_column(c.title, justify="right" if c.kind in _NUMERIC else "left",
                      overflow="fold", no_wrap=c.key in ("manager", "day", "started_at"))
    for i, r in enumerate([*rows, *([total] if total is not None else [])]):
        cells = []
        for c in columns:
            v = c.get(r)
            # Text(), not markup: names and reasons are data, never rich markup.
            cells.append(Text(fmt_cell(v, c.kind), style=_style(c, v, r, t)))
        tb.add_row(*cells, end_section=(total is not None and i == len(rows) - 1))
    return tb


def targets_line(t: Targets) -> str:
    return (f"Targets: {t.daily_target_min:g} talk min/day; calls {t.band_min_s / 60:g}-"
            f"{t.band_max_s / 60:g} min ({t.band_min_s:g}-{t.band_max_s:g} s); short call "
            f"< {t.short_call_s:g} s")


def stats_tables(summary: TalkSummary, t: Targets, by: str) -> list[Any]:
    out: list[Any] = []
    if by == "day":
        out.append(table("Talk time per manager-day", talk_columns(t, True), summary.days, t))
    out.append(table("Talk time per manager", talk_columns(t, False), summary.managers, t,
                     total=summary.total, caption=targets_line(t)))
    return out


def report_tables(report: Report, limit: int | None = 50) -> list[Any]:
    t = report.targets
    rows = report.summary_rows
    verdicts = used_verdicts([*rows, report.total])
    cols = summary_columns(t, report.by == "day", verdicts)
    name = "manager-day" if report.by == "day" else "manager"
    out: list[Any] = [
        table(f"Talk time per {name}", [c for c in cols if c.key in TERMINAL_TALK], rows, t,
              total=report.total, caption=targets_line(t)),
        table(f"Stage coverage (% of sales calls) and verdicts per {name}",
              [c for c in cols if c.key in TERMINAL_QUALITY], rows, t, total=report.total),
    ]
    problems = report.problems[:limit] if limit else report.problems
    more = len(report.problems) - len(problems)
    notes = []
    if more > 0:
        notes.append(f"... and {more} more (use --format csv --table calls)")
    if report.partly_heard:
        notes.append(f"{report.partly_heard} of them heard only in part (speech coverage under "
                     f"{100 * t.min_speech_coverage:.0f}%): listen before acting on the verdict")
    out.append(table("Calls to listen to: missed, incomplete and inconclusive, worst first",
                     [c for c in problem_columns() if c.key not in ("path", "reviewed")],
                     problems, t, caption="\n".join(notes) or None))
    out.append(table("Reviewer agreement with the automatic verdict", agreement_columns(),
                     report.agreement, t))
    return out
