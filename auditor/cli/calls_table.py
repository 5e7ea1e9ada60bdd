"""The table of `auditor calls`: every figure on a wide terminal, the essentials within 80 columns."""

from __future__ import annotations

from typing import Any

from auditor.cli.common import fmt_when, make_console, verdict_markup
from auditor.cli.scorecard import talk_cell
from auditor.records import fmt_duration

# Below this many columns the table drops the call type and the confidence,
# writes the start without the year and the stages missing by their initials.
WIDE = 120
_INITIALS = {"profile": "P", "needs": "N", "presentation": "Pr", "next_step": "Ns"}


def review_cell(row: Any) -> str:
    if not row.reviewed:
        return ""
    who = row.reviewer or "?"
    if row.overridden:
        return f"{who} (auto: {row.auto_verdict or '-'})"
    return f"{who} (confirmed)"


def calls_table(rows: list[Any], short_s: float, total: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    if not rows:
        console.print("no calls match")
        return
    wide = console.width >= WIDE
    names = (("id", "started", "manager", "dur", "type", "verdict", "conf", "score", "talk",
              "missing", "review") if wide else
             ("id", "started", "manager", "dur", "verdict", "score", "talk", "missing"))
    right = ("id", "dur", "conf", "score", "talk")
    table = Table(box=None, pad_edge=False, header_style="bold",
                  padding=(0, 1) if wide else (0, 1, 0, 0))
    for name in names:
        table.add_column(name, no_wrap=True, overflow="ellipsis",
                         justify="right" if name in right else "left",
                         max_width=None if wide or name != "manager" else 14)
    for r in rows:
        dur = fmt_duration(r.duration_s)
        if r.duration_s is not None and r.duration_s < short_s:
            dur = f"[yellow]{dur}[/yellow]"
        verdict = verdict_markup(r.verdict) + (" [bold]✎[/bold]" if r.reviewed else "")
        score = "-" if r.score is None else f"{r.score:.0f}"
        started = fmt_when(r.started_at)
        if wide:
            missing = " ".join(r.stages_missing) if r.is_sales else ""
            last = (escape(review_cell(r)) if r.reviewed else
                    escape(r.error or "") if r.status == "failed" else "")
            table.add_row(str(r.id), started, escape(r.manager or "-"), dur, r.call_type or "-",
                          verdict, "-" if r.confidence is None else f"{r.confidence:.2f}",
                          score, talk_cell(r), missing, last)
        else:
            missing = " ".join(_INITIALS[s] for s in r.stages_missing) if r.is_sales else ""
            table.add_row(str(r.id), started[5:], escape(r.manager or "-"), dur, verdict, score,
                          talk_cell(r), missing)
    console.print(table)
    reviewed = sum(1 for r in rows if r.reviewed)
    shown = f"showing {len(rows)} of {total} calls" if total > len(rows) else f"{total} calls"
    console.print(f"{shown}, {reviewed} reviewed (✎ = verdict set by a reviewer)")
    console.print("talk: the manager's share of the talk time (~ mono estimate)"
                  + ("" if wide else "; P N Pr Ns: stages"))
