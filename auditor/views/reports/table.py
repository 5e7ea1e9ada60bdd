"""Rich tables for the terminal. Returns renderables; the CLI prints them.

Every data row is one line at any width: the tables fit their columns to the
terminal when printed (FittedTable), cutting text short at 80 columns and
showing it whole where there is room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len, set_cell_size

from auditor.views.kpi import Report, TalkSummary, Targets
from auditor.views.reports.columns import (
    TERMINAL_QUALITY,
    TERMINAL_TALK,
    Column,
    agreement_columns,
    fmt_cell,
    problem_columns,
    ranking_columns,
    score_columns,
    summary_columns,
    talk_columns,
    used_verdicts,
)

_NUMERIC = {"int", "min", "sec", "pct", "num"}
_FIXED = _NUMERIC | {"date", "datetime"}
_VERDICT_STYLE = {"ok": "green", "missed_opportunity": "red", "incomplete": "yellow",
                  "exempt": "cyan", "no_contact": "dim", "failed": "red"}
# Where a terminal is too narrow for every column even with text cut short, these
# go first (highest first); CSV, JSON and HTML always have them.
_DROP = {"client": 2, "reason": 1}
_GAP = 2  # a rule and a space between columns (see FittedTable's box)


@dataclass(frozen=True)
class Fit:
    """How a column of a terminal table may be fitted to the width there is."""

    title: str
    numeric: bool = False  # right-aligned
    flexible: bool = True  # may be cut short (numbers and times never are)
    min_width: int = 8
    elide: str = "end"  # or "middle": for paths, whose start and end both tell
    drop: int = 0  # > 0: hidden when even the cut-short columns do not fit
    shrink: int = 1  # columns of a higher value are cut first (0: only when the others are)


def _header_width(title: str) -> int:
    return max((cell_len(w) for w in title.split()), default=0)


def fit_widths(cols: Sequence[Fit], cells: Sequence[Sequence[str]], width: int
               ) -> tuple[list[int], list[int]]:
    """(the columns kept, their widths) so that a row of cells fits on one line of width.

    Every column gets its natural width when there is room (the full width is
    used); else the widest flexible columns are cut (those of the highest
    ``shrink`` first), down to their minimum; else columns marked ``drop`` are
    hidden, the highest first.
    """
    natural = [max([_header_width(c.title), *(cell_len(r[i]) for r in cells)])
               for i, c in enumerate(cols)]
    kept = list(range(len(cols)))
    while True:
        widths = [natural[i] for i in kept]
        floor = [min(natural[i], cols[i].min_width) if cols[i].flexible else natural[i]
                 for i in kept]
        excess = sum(widths) + _GAP * (len(kept) - 1) - width
        if excess <= sum(widths) - sum(floor):
            while excess > 0:
                j = max((k for k in range(len(kept)) if widths[k] > floor[k]),
                        key=lambda k: (cols[kept[k]].shrink, widths[k]))
                widths[j] -= 1
                excess -= 1
            return kept, widths
        droppable = [i for i in kept if cols[i].drop > 0]
        if not droppable:
            return kept, floor
        kept.remove(max(droppable, key=lambda i: cols[i].drop))


def elide(text: str, width: int, where: str = "end") -> str:
    """text cut to width terminal cells with an ellipsis at its end or in its middle."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    if where == "middle":
        head_w = (width - 1) // 2
        head = set_cell_size(text, head_w)
        tail, n = "", 0
        for ch in reversed(text):
            if n + cell_len(ch) > width - 1 - cell_len(head):
                break
            tail, n = ch + tail, n + cell_len(ch)
        return head + "…" + tail
    return set_cell_size(text, width - 1) + "…"


@dataclass
class FittedTable:
    """A rich table whose rows stay one line each: columns fitted when it is printed.

    At 80 columns text is cut short (paths in the middle) and, if still too
    wide, the least needed columns are hidden, said in the caption; on a wide
    terminal every cell is shown whole.
    """

    title: str | None
    cols: Sequence[Fit]
    rows: list[list[tuple[str, str]]]  # (text, style) per cell
    caption: str | None = None
    sections: set[int] = field(default_factory=set)  # rows followed by a rule

    def build(self, width: int) -> Any:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        kept, widths = fit_widths(self.cols, [[t for t, _ in r] for r in self.rows], width)
        hidden = [self.cols[i].title for i in range(len(self.cols)) if i not in kept]
        caption = self.caption
        if hidden:
            note = (f"not shown at this width: {', '.join(hidden)} (a wider terminal or "
                    f"--format csv has them)")
            caption = f"{caption}\n{note}" if caption else note
        tb = Table(title=self.title, caption=caption, box=box.MINIMAL_HEAVY_HEAD,
                   collapse_padding=True, pad_edge=False, show_edge=False)
        for i, w in zip(kept, widths, strict=True):
            c = self.cols[i]
            # headers may wrap over lines, cells never do
            tb.add_column(Text(c.title, no_wrap=False), width=w, no_wrap=True,
                          overflow="ellipsis", justify="right" if c.numeric else "left")
        for n, r in enumerate(self.rows):
            tb.add_row(*(Text(elide(r[i][0], w, self.cols[i].elide), style=r[i][1])
                         for i, w in zip(kept, widths, strict=True)),
                       end_section=n in self.sections)
        return tb

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield self.build(options.max_width)


def _fit(c: Column) -> Fit:
    return Fit(c.title, numeric=c.kind in _NUMERIC, flexible=c.kind not in _FIXED,
               min_width=10 if c.key in ("verdict", "missing", "reason") else 8,
               drop=_DROP.get(c.key, 0))


def _style(col: Column, value: Any, row: Any, t: Targets) -> str:
    if isinstance(value, str) and value.endswith(("▲", "▼")):
        return "red"
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
          total: Any = None, caption: str | None = None) -> FittedTable:
    body = []
    for r in [*rows, *([total] if total is not None else [])]:
        # plain text, never markup: names and reasons are data
        body.append([(fmt_cell(c.get(r), c.kind), _style(c, c.get(r), r, t)) for c in columns])
    sections = {len(rows) - 1} if total is not None and rows else set()
    return FittedTable(title, [_fit(c) for c in columns], body, caption, sections)


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
    out.append(table(f"Checklist score and conversation metrics per {name} (sales calls)",
                     [c for c in summary_columns(t, report.by == "day", verdicts)
                      if c.key in ("manager", "day")] + score_columns(t, marked=True), rows, t,
                     total=report.total, caption="▲ over the norm, ▼ under it: "
                     + norm_line(t)))
    if report.ranking:
        out.append(table("Managers ranked by average checklist score", ranking_columns(),
                         report.ranking, t))
    out.append(table("Reviewer agreement with the automatic verdict", agreement_columns(),
                     report.agreement, t))
    return out


def norm_line(t: Targets) -> str:
    n = t.norms
    return (f"score ≥ {n.get('score_min', 0):g}; talk share {n.get('talk_share_min', 0):g}-"
            f"{n.get('talk_share_max', 100):g}%; monologue ≤ {n.get('monologue_max_s', 0):g} s; "
            f"questions ≥ {n.get('questions_min', 0):g}; interruptions ≤ "
            f"{n.get('interruptions_max', 0):g} (models/metrics.toml)")
