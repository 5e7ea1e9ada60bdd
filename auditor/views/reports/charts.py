"""Inline SVG charts for the HTML report: no scripts, no fonts, no network.

Every label is data (a manager's name, a date), so it is escaped here; the
result is marked safe for the template.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from markupsafe import Markup, escape

from auditor.records import STAGES
from auditor.views.kpi import ManagerRow, TalkRow

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
STAGE_COLORS = {"profile": "#4e79a7", "needs": "#f28e2b", "presentation": "#59a14f",
                "next_step": "#b07aa1"}
_FONT = 'font-family="system-ui,sans-serif" font-size="12"'


def _nice_max(v: float) -> float:
    for step in (10, 20, 30, 50, 100, 200, 300, 500, 1000):
        if v <= step * 6:
            return max(step, ((int(v) // step) + 1) * step)
    return float(int(v) + 1)


def _short(d: date) -> str:
    return d.strftime("%d.%m")


def _svg(width: float, height: float, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'{_FONT}><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def percent_grid(x: Callable[[float], float], height: float) -> list[str]:
    """Vertical grid lines and labels at 0, 25, ... 100% of a horizontal percent axis."""
    out = []
    for tick in range(0, 101, 25):
        out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="24" '
                   f'y2="{height - 26}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle" '
                   f'fill="#666">{tick}%</text>')
    return out


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    out: list[str] = []
    for i, (label, color) in enumerate(items):
        yy = y + i * 18
        out.append(f'<rect x="{x:.0f}" y="{yy - 10:.0f}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{x + 18:.0f}" y="{yy:.0f}">{escape(label)}</text>')
    return out


def talk_per_day_chart(days: Sequence[TalkRow], target_min: float) -> Markup:
    """Bars of talk minutes per day, one per manager, against the daily-target line."""
    managers = sorted({r.manager for r in days}, key=str.lower)
    dates = sorted({r.day for r in days if r.day is not None})
    if not managers or not dates:
        return Markup('<p class="empty">No dated calls to chart.</p>')
    colors = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(managers)}
    value = {(r.manager, r.day): r.talk_min for r in days if r.day is not None}
    top = _nice_max(max([target_min, *value.values()]) * 1.1)
    bar = max(6.0, min(28.0, 420.0 / (len(dates) * len(managers))))
    group = max(bar * len(managers) + 14, 480.0 / len(dates))
    left, right, top_pad, plot_h = 48, 200, 24, 220
    width = left + group * len(dates) + right
    height = top_pad + plot_h + 44
    y = lambda v: top_pad + plot_h - plot_h * v / top  # noqa: E731
    body: list[str] = []
    for tick in range(0, int(top) + 1, int(top / 5) or 1):
        body.append(f'<line x1="{left}" x2="{width - right:.0f}" y1="{y(tick):.1f}" '
                    f'y2="{y(tick):.1f}" stroke="#e5e5e5"/>')
        body.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                    f'fill="#666">{tick}</text>')
    for di, d in enumerate(dates):
        gx = left + di * group + (group - bar * len(managers)) / 2
        for mi, m in enumerate(managers):
            v = value.get((m, d))
            if v is None:
                continue
            x = gx + mi * bar
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y(v):.1f}" width="{bar - 1:.1f}" '
                f'height="{max(0.0, plot_h + top_pad - y(v)):.1f}" fill="{colors[m]}">'
                f'<title>{escape(m)}, {d.isoformat()}: {v:.1f} min</title></rect>')
        body.append(f'<text x="{left + di * group + group / 2:.1f}" y="{top_pad + plot_h + 16}" '
                    f'text-anchor="middle" fill="#444">{_short(d)}</text>')
    ty = y(target_min)
    body.append(f'<line class="target" x1="{left}" x2="{width - right:.0f}" y1="{ty:.1f}" '
                f'y2="{ty:.1f}" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>')
    body.append(f'<text x="{width - right - 4:.0f}" y="{ty - 6:.1f}" text-anchor="end" '
                f'fill="#d62728">target {target_min:g} min</text>')
    body.append(f'<text x="{left}" y="14" fill="#444">talk minutes per day</text>')
    body += _legend([(m, colors[m]) for m in managers], width - right + 16, top_pad + 14)
    return _svg(width, max(height, top_pad + 34 + 18 * len(managers)),
                "Talk minutes per day per manager against the daily target", body)


def coverage_chart(managers: Sequence[ManagerRow]) -> Markup:
    """Per manager, the share of sales calls in which each stage was found."""
    rows = [m for m in managers if m.sales_calls]
    if not rows:
        return Markup('<p class="empty">No analysed sales calls to chart.</p>')
    bar, gap, left, plot_w = 14, 14, 170, 360
    group = bar * len(STAGES) + gap
    height = 30 + group * len(rows) + 30
    width = left + plot_w + 150
    x = lambda pct: left + plot_w * pct / 100.0  # noqa: E731
    body: list[str] = []
    body += percent_grid(x, height)
    for ri, r in enumerate(rows):
        gy = 30 + ri * group
        label = f"{r.manager} ({r.sales_calls})"
        body.append(f'<text x="{left - 8}" y="{gy + bar * len(STAGES) / 2 + 4:.1f}" '
                    f'text-anchor="end">{escape(label)}</text>')
        for si, st in enumerate(STAGES):
            pct = r.coverage_pct.get(st) or 0.0
            yy = gy + si * bar
            body.append(
                f'<rect class="bar" x="{left}" y="{yy}" width="{max(1.0, x(pct) - left):.1f}" '
                f'height="{bar - 2}" fill="{STAGE_COLORS[st]}"><title>{escape(r.manager)}, '
                f'{st}: {pct:.0f}%</title></rect>')
            body.append(f'<text x="{x(pct) + 4:.1f}" y="{yy + bar - 4}" font-size="10" '
                        f'fill="#444">{pct:.0f}%</text>')
    body.append(f'<text x="{left}" y="14" fill="#444">stage coverage: share of sales calls '
                f'where the stage was found</text>')
    body += _legend([(s, STAGE_COLORS[s]) for s in STAGES], left + plot_w + 40, 44)
    return _svg(width, height, "Stage coverage per manager", body)
